// Isolated verification of inlinable kfunc instances, end to end with the
// inliner's rewrite: per-call-site facts fold each instance differently.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assembleKernel } from '../../src/isa/asm-kernel.js';
import { dumpXlated } from '../../src/isa/disasm-kernel.js';
import type { Insn } from '../../src/isa/insn.js';
import { makeInstances } from '../../src/inline/instances.js';
import { rewriteInstances } from '../../src/inline/rewrite.js';
import { modelLayout } from '../../src/kernel/layout.js';
import { verify, type VerifyOptions } from '../../src/verifier/verify.js';
import type { KfuncDescriptor } from '../../src/verifier/kfunc/index.js';
import { modelId, modelIds } from '../verifier/kfunc-util.js';

const TC = 3;
const XDP = 6;
const KF_SEL = 900001;
const KF_NULL = 900002;
const EXTRA: KfuncDescriptor[] = [
  { id: KF_SEL, name: 'kf_test_sel', args: ['scalar'], ret: 'scalar' },
  { id: KF_NULL, name: 'kf_test_null', args: [{ mem: 4, nullable: true }], ret: 'scalar' },
];
const ids = new Map<string, number>([...modelIds, ['kf_test_sel', KF_SEL], ['kf_test_null', KF_NULL]]);

function asm(src: string): Insn[] {
  const p = assembleKernel(src.replace(/;\s*/g, '\n'), { kfuncs: [...ids.keys()] });
  const insns = p.insns.slice();
  for (const r of p.relocations) if (r.kind === 'kfunc') insns[r.index] = { ...insns[r.index], imm: ids.get(r.symbol)! };
  return insns;
}

/** Verifies `prog` with one instance per call of a kfunc in `bodies`, then rewrites. */
function inline(prog: string, bodies: Record<string, string>, progType: number, opts: VerifyOptions = {}) {
  const insns = asm(prog);
  const byId = new Map([...Object.entries(bodies)].map(([name, src]) => [ids.get(name)!, { name, insns: asm(src) }]));
  const w = makeInstances(insns, (call) => byId.get(call.imm));
  const r = verify({ insns: w.insns, progType }, { ...opts, instances: { progLen: w.progLen, list: w.instances }, kfuncs: { extra: EXTRA } });
  expect(r.error).toBeUndefined();
  const out = rewriteInstances(w, { reached: r.reached, edges: r.edges }, { callerDepth: () => r.stackDepth[0] });
  return { w, r, out, dump: dumpXlated(out.insns, { indexWidth: 0 }) };
}

const body = (dump: string): string[] => dump.trim().split('\n').map((l) => l.replace(/^\d+: \([0-9a-f]{2}\) /, ''));

describe('isolated verification of kfunc instances', () => {
  const SEL = 'r0 = 42; if r1 != 1 goto +1; r0 = 11; if r1 != 2 goto +1; r0 = 22; exit';

  it('folds each call site of a scalar switch to its own constant', () => {
    const { w, r, out, dump } = inline('r1 = 1; call kf_test_sel; r1 = 2; call kf_test_sel; r0 = 0; exit', { kf_test_sel: SEL }, TC);
    expect(w.instances.map((i) => i.site)).toEqual([1, 3]);
    // facts cover the instance slots: in the first instance only r0 = 11 is reached
    const [a, b] = w.instances;
    expect([...r.reached.subarray(a.start, a.start + a.len)]).toEqual([1, 1, 1, 1, 0, 1]);
    expect([...r.reached.subarray(b.start, b.start + b.len)]).toEqual([1, 1, 0, 1, 1, 1]);
    expect(out.sites.every((s) => s.inlined)).toBe(true);
    expect(body(dump)).toEqual(['r1 = 1', 'r0 = 42', 'r0 = 11', 'goto pc+0', 'r1 = 2', 'r0 = 42', 'r0 = 22', 'goto pc+0', 'r0 = 0', 'exit']);
  });

  it('keeps both branches for an unknown scalar argument', () => {
    const { dump } = inline('call 7; r1 = r0; call kf_test_sel; r0 = 0; exit', { kf_test_sel: SEL }, TC);
    expect(body(dump).filter((l) => l.startsWith('if '))).toHaveLength(2);
  });

  it('a NULL pointer argument prunes its branch; a real pointer becomes a KERNEL_VALUE', () => {
    const NULLB = 'w0 = 0; if r1 == 0 goto +1; r0 = *(u32 *)(r1 +0); exit';
    const { r, w, dump } = inline('r1 = 0; call kf_test_null; r1 = 0; *(u32 *)(r10 -8) = r1; r1 = r10; r1 += -8; call kf_test_null; r0 = 0; exit', { kf_test_null: NULLB }, TC, { logLevel: 2 });
    const lines = body(dump);
    expect(lines.slice(0, 4)).toEqual(['r1 = 0', 'w0 = 0', 'goto pc+0', 'r1 = 0']);
    // the second site keeps the load (through a KERNEL_VALUE) and its test
    expect(lines).toContain('r0 = *(u32 *)(r1 +0)');
    expect(lines.filter((l) => l.startsWith('if r1 == 0x0'))).toHaveLength(1);
    // instance instructions appear in the level-2 log, entered from the call site
    const b = w.instances[1];
    expect(r.log).toContain(`from ${b.site} to ${b.start}:`);
    expect(r.log).toMatch(new RegExp(`\\n${b.start + 2}: \\(61\\) r0 = \\*\\(u32 \\*\\)\\(r1 \\+0\\)\\s+; frame1: R0=kernel_value\\(\\)`));
  });

  const sizeOff = modelLayout().dynptr.sizeField;
  // type = (size & ~DYNPTR_RDONLY_BIT) >> DYNPTR_TYPE_SHIFT, then a switch on it
  const TYPE_SWITCH = `r2 = *(u32 *)(r1 +${sizeOff}); w2 &= 2147483647; w2 >>= 28; r0 = 1; if w2 != 3 goto +1; r0 = 3; if w2 != 4 goto +1; r0 = 4; exit`;
  for (const [kind, progType, ctor, want] of [['skb', TC, 'bpf_dynptr_from_skb', 'r0 = 3'], ['xdp', XDP, 'bpf_dynptr_from_xdp', 'r0 = 4']] as const) {
    it(`a dynptr's type switch folds to one constant for an ${kind} dynptr`, () => {
      const prog = `r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; ${ctor}_call; r1 = r10; r1 += -16; call bpf_dynptr_size; r0 = 0; exit`.replace(`${ctor}_call`, `call ${ctor}`);
      const { out, dump } = inline(prog, { bpf_dynptr_size: TYPE_SWITCH }, progType);
      expect(out.sites).toHaveLength(1);
      const lines = body(dump);
      expect(lines.filter((l) => l.startsWith('if '))).toEqual([]);
      expect(lines).toContain(want);
      expect(lines).not.toContain(want === 'r0 = 3' ? 'r0 = 4' : 'r0 = 3');
      expect(modelId('bpf_dynptr_size')).toBeGreaterThan(0);
    });
  }

  it('an instance exits without returning to the caller, and the caller continues as a kfunc call', () => {
    const { r, w } = inline('r1 = 1; call kf_test_sel; r6 = r0; r0 = 0; exit', { kf_test_sel: SEL }, TC, { logLevel: 2 });
    expect(r.accepted).toBe(true);
    const i = w.instances[0];
    expect(r.reached[i.start + i.len - 1]).toBe(1);
    expect(r.log).not.toContain('returning from callee');
  });

  it('rejects kernel-function calls with pointer arguments inside an instance', () => {
    const prog = asm('r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r1 = r10; r1 += -16; call bpf_dynptr_size; r0 = 0; exit');
    const bodyInsns = asm(`r1 = r10; r1 += -8; r2 = 0; r3 = 0; r4 = 0; call skb_copy_bits; exit`);
    const w = makeInstances(prog, (c) => (c.imm === modelId('bpf_dynptr_size') ? { name: 'bpf_dynptr_size', insns: bodyInsns } : undefined));
    const r = verify({ insns: w.insns, progType: TC }, { instances: { progLen: w.progLen, list: w.instances }, logLevel: 1 });
    expect(r.accepted).toBe(false);
    expect(r.error).toMatch(/^R1 type=fp expected=scalar, kernel_value/);
  });

  it('rejects a malformed instance list with a KfError', () => {
    const prog = asm('r1 = 1; call kf_test_sel; r0 = 0; exit');
    expect(() => verify({ insns: prog, progType: TC }, { instances: { progLen: 4, list: [{ site: 0, kfunc: 'x', start: 4, len: 1 }] } })).toThrow(/not a kfunc call/);
    expect(() => verify({ insns: prog, progType: TC }, { instances: { progLen: 9, list: [] } })).toThrow(/progLen 9/);
  });
});

const LIB = 'kernel/build/inlinable_kfuncs.o';
const noLib = existsSync(LIB) ? '' : `${LIB} is not built`;

describe('isolated verification with the model kfunc library', () => {
  it.skipIf(!!noLib)(`the library bodies verify isolated on the dynptr examples, and their dynptr type switches fold${noLib ? ` (skipped: ${noLib})` : ''}`, async () => {
    const { loadKfuncLibrary } = await import('../../src/inline/library.js');
    const { linkedExample } = await import('../verifier/kfunc-util.js');
    const lib = loadKfuncLibrary(readFileSync(LIB), modelLayout().structs.btf);
    const byId = new Map([...lib.bodies.values()].map((b) => [b.btfId, b]));
    for (const f of ['dynptr_skb', 'dynptr_slice']) {
      const { linked } = linkedExample(f);
      const w = makeInstances(linked.insns, (c) => {
        const b = byId.get(c.imm);
        return b && { name: b.name, insns: b.insns };
      });
      expect(w.instances.length).toBeGreaterThan(1);
      const r = verify({ insns: w.insns, progType: linked.progType, maps: linked.maps }, { instances: { progLen: w.progLen, list: w.instances } });
      expect(r.error).toBeUndefined();
      // every instance was entered and its exit reached
      for (const i of w.instances) expect(r.reached[i.start + i.len - 1] || r.reached.subarray(i.start, i.start + i.len).some((x) => x)).toBeTruthy();
      const out = rewriteInstances(w, { reached: r.reached, edges: r.edges }, { callerDepth: () => r.stackDepth[0] });
      const slices = out.sites.filter((s) => s.kfunc === 'bpf_dynptr_slice');
      expect(slices.length).toBeGreaterThan(0);
      for (const s of slices) {
        expect(s.inlined).toBe(true);
        expect(s.branchesFolded).toBeGreaterThan(1);
        expect(s.insnsAfterDce).toBeLessThan(s.insnsBefore);
      }
    }
  });
});
