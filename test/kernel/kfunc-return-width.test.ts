// A kfunc returning int leaves the upper half of r0 zero (the JIT calls
// native code that writes eax): -EINVAL reaches the program as
// 0x00000000ffffffea. The model's natives and the kfuncs' BPF bodies must
// give the same r0 as the running kernel, in both engines.
import { describe, expect, it } from 'vitest';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { bodiesById } from '../../src/inline/pipeline.js';
import { testRun } from '../../src/vm/testrun.js';
import { asmWithKfuncs, modelId } from '../verifier/kfunc-util.js';
import { NO_BPF, bpfNote } from '../oracle/env.js';

const TC = 3;
const FROM_SKB = (flags: number) => `r6 = r1; r3 = r10; r3 += -16; r2 = ${flags}; r1 = r6; call bpf_dynptr_from_skb`;
/** [name, program before `exit` whose r0 is the result] */
const CASES: [string, string][] = [
  ['from_skb -EINVAL (bad flags), upper half', `${FROM_SKB(1)}; r0 >>= 32`],
  ['from_skb -EINVAL (bad flags), lower half', `${FROM_SKB(1)}`],
  ['from_skb 0, upper half', `${FROM_SKB(0)}; r0 >>= 32`],
  ['adjust -ERANGE (start > end), upper half', `${FROM_SKB(0)}; r1 = r10; r1 += -16; w2 = 8; w3 = 4; call bpf_dynptr_adjust; r0 >>= 32`],
  ['adjust -ERANGE, lower half', `${FROM_SKB(0)}; r1 = r10; r1 += -16; w2 = 8; w3 = 4; call bpf_dynptr_adjust`],
  ['iter_num_new -EINVAL (start > end), upper half', 'r1 = r10; r1 += -8; w2 = 5; w3 = 1; call bpf_iter_num_new; r6 = r0; r1 = r10; r1 += -8; call bpf_iter_num_destroy; r0 = r6; r0 >>= 32'],
  // a helper returns long: its errors are sign-extended (BPF_CALL_x returns u64)
  ['helper dynptr_read -EINVAL past the end, upper half (long: all ones)', `${FROM_SKB(0)}; r1 = r10; r1 += -32; w2 = 8; r3 = r10; r3 += -16; w4 = 1000; r5 = 0; call bpf_dynptr_read; r0 >>= 32`],
];
const EXTRA = ['bpf_dynptr_adjust'];
const bodies = bodiesById(defaultKfuncLibrary());
const model = (src: string, engine: 'interp' | 'jit', withBodies: boolean) =>
  testRun(asmWithKfuncs(`${src}; exit`, modelId, EXTRA), { progType: TC, data: new Uint8Array(64), engine, ...(withBodies && { bpfKfuncs: bodies }) }).r0;

describe('int-returning kfuncs: r0 as the kernel leaves it', () => {
  for (const [name, src] of CASES) {
    it(`${name}: natives and bodies agree in both engines`, () => {
      const want = model(src, 'interp', false);
      if (name.includes('upper half')) expect(want).toBe(name.includes('all ones') ? 0xffffffffn : 0n);
      for (const engine of ['interp', 'jit'] as const) for (const b of [false, true]) expect(model(src, engine, b), `${engine} ${b ? 'bodies' : 'natives'}`).toBe(want);
    });
  }
  it.skipIf(NO_BPF)(`the running kernel returns the same retval${bpfNote}`, async () => {
    const o = await import('../../src/oracle/index.js');
    const btf = o.vmlinuxBtf();
    const id = (n: string) => btf.findByNameKind(n, 'FUNC');
    for (const [name, src] of CASES) {
      const k = await o.loadRawProgram(asmWithKfuncs(`${src}; exit`, id, EXTRA), TC, { keep: true });
      expect(k.fd, `${name}: ${k.log}`).toBeGreaterThanOrEqual(0);
      try {
        const r = await o.testRun(k.fd!, { data: new Uint8Array(64) });
        expect({ name, retval: r.retval }).toEqual({ name, retval: Number(BigInt.asUintN(32, model(src, 'interp', false))) });
      } finally {
        await k.close();
      }
    }
  });
});
