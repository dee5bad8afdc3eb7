// Original vs inlined, on thousands of random inputs: identical return values,
// packet bytes and map contents, in both engines.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { inlineProgram } from '../../src/inline/pipeline.js';
import { linkProgram } from '../../src/kernel/link.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { loadObject } from '../../src/object/index.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { prng, randomPacket, runOnce, type Input } from './harness.js';

const EXAMPLES = join(__dirname, '../../examples/build');
const ids = new ModelKernel(new AddressSpace()).kfuncIds;
const lib = defaultKfuncLibrary();
const RUNS = Number(process.env.KF_EQUIV_RUNS ?? 1000);

let jitAvailable = false;
try {
  await import('../../src/vm/jit/jit.js');
  jitAvailable = true;
} catch {
  jitAvailable = false;
}

const cases: { file: string; prog: string }[] = [
  { file: 'dynptr_slice.bpf.o', prog: 'dynptr_slice_bench' },
  { file: 'dynptr_skb.bpf.o', prog: 'tc_dynptr_parse' },
];

function inputs(seed: number, n: number): Input[] {
  const rand = prng(seed);
  const out: Input[] = [];
  for (let i = 0; i < n; i++) {
    const data = randomPacket(rand);
    const shape = rand();
    if (shape < 0.5) out.push({ data });
    else {
      // non-linear: the linear part keeps at least the Ethernet header
      const linearLen = 14 + Math.floor(rand() * (data.length - 14 + 1));
      out.push({ data, linearLen });
    }
  }
  return out;
}

describe('equivalence of inlined programs', () => {
  for (const c of cases) {
    const obj = loadObject(readFileSync(join(EXAMPLES, c.file)), { objectName: c.file.replace(/\.bpf\.o$/, '') });
    const prog = obj.programs.find((p) => p.name === c.prog)!;
    const linked = linkProgram(obj, prog, (n) => ids.get(n));
    for (const dce of [true, false]) {
      it(`${c.file} ${c.prog} (${dce ? 'with' : 'without'} dead-code removal): ${RUNS} random inputs agree in the interpreter${jitAvailable ? ' and the JIT' : ''}`, () => {
        const r = inlineProgram({ insns: linked.insns, progType: linked.progType, maps: linked.maps }, lib, { dce });
        expect(r.sites.some((s) => s.inlined)).toBe(true);
        const engines = jitAvailable ? (['interp', 'jit'] as const) : (['interp'] as const);
        let checked = 0;
        for (const input of inputs(c.file.length * 7 + (dce ? 1 : 2), RUNS)) {
          for (const e of engines) {
            const a = runOnce(linked, linked.insns, input, e);
            const b = runOnce(linked, r.insns, input, e, r.ctxPcs);
            expect(a.error).toBeUndefined();
            expect(b, `input of ${input.data.length} bytes, linear ${input.linearLen ?? 'all'}, engine ${e}`).toEqual(a);
            checked++;
          }
        }
        expect(checked).toBe(RUNS * engines.length);
      });
    }
  }
});
