// Non-isolated verification (--mode non-isolated): instances verified in the
// caller's state with the dual representation of stack objects. Accepts,
// re-verifies, removes at least the dead code isolated mode removes, and the
// inlined program agrees with the original on random inputs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { inlineProgram } from '../../src/inline/pipeline.js';
import { linkProgram } from '../../src/kernel/link.js';
import { loadObject } from '../../src/object/index.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { prng, randomPacket, runOnce } from './harness.js';
import { asmWithKfuncs, modelId } from '../verifier/kfunc-util.js';

const EXAMPLES = join(__dirname, '../../examples/build');
const lib = defaultKfuncLibrary();
const modelIds = new ModelKernel(new AddressSpace()).kfuncIds;
const FILES = ['dynptr_skb', 'dynptr_slice', 'parse_slices', 'xdp_frags', 'iter_num'];

describe('non-isolated verification of inlined examples', () => {
  for (const name of FILES) {
    const path = join(EXAMPLES, `${name}.bpf.o`);
    it.skipIf(!existsSync(path))(`${name}: accepted, re-verified, at least the isolated mode's dead code removed, same results`, () => {
      const obj = loadObject(readFileSync(path), { objectName: name });
      const p = obj.programs[0];
      const linked = linkProgram(obj, p, (n) => modelIds.get(n));
      const prog = { insns: linked.insns, progType: linked.progType, maps: linked.maps };
      // the same sites in both modes: helper calls with bodies are inlined in isolated mode only
      const iso = inlineProgram(prog, lib, { mode: 'isolated', helpers: false });
      const ni = inlineProgram(prog, lib, { mode: 'non-isolated' });
      expect(ni.verified.accepted).toBe(true);
      expect(ni.reverified.error).toBeUndefined();
      expect(ni.sites.map((s) => s.inlined)).toEqual(iso.sites.map((s) => s.inlined));
      ni.sites.forEach((s, k) => expect(s.insnsAfterDce, `site ${s.site} ${s.kfunc}`).toBeLessThanOrEqual(iso.sites[k].insnsAfterDce));
      const noDce = inlineProgram(prog, lib, { mode: 'non-isolated', dce: false });
      expect(noDce.reverified.accepted).toBe(true);
      const rand = prng(name.length * 13);
      const xdp = linked.progType === 6;
      for (let i = 0; i < 60; i++) {
        const data = randomPacket(rand, 14, xdp ? 3000 : 1500);
        const input = xdp ? { data, frags: data.length > 1500 ? [1500] : [] } : { data, ...(i % 2 ? { linearLen: 14 + Math.floor(rand() * (data.length - 13)) } : {}) };
        // the isolated rewrite is checked against the original in equivalence.test.ts
        const a = runOnce(linked, iso.insns, input as never, 'interp');
        const b = runOnce(linked, ni.insns, input as never, 'interp');
        expect(b, `input ${i} of ${data.length} bytes`).toEqual(a);
      }
    });
  }
});

describe('non-isolated verification of iterator loops', () => {
  const iterPath = join(EXAMPLES, 'iter_num.bpf.o');
  it.skipIf(!existsSync(iterPath))('iter_num: precision backtracks through the bodies, imprecise counters are widened, the loops converge', () => {
    const obj = loadObject(readFileSync(iterPath), { objectName: 'iter_num' });
    const linked = linkProgram(obj, obj.programs[0], (n) => modelIds.get(n));
    const prog = { insns: linked.insns, progType: linked.progType, maps: linked.maps };
    const iso = inlineProgram(prog, lib, { mode: 'isolated', helpers: false });
    const ni = inlineProgram(prog, lib, { mode: 'non-isolated', logLevel: 2 });
    expect(ni.verified.accepted).toBe(true);
    // backtracking walks from a body's first slot to its call (not into the previous instance's exit)
    expect(ni.verified.log).toContain('entering inlined bpf_iter_num_next (non-isolated)');
    expect(ni.verified.log).not.toContain('falling back to forcing all scalars precise');
    // the loop `kf_for(i, 5, 5) empty++` converges after the counter is widened, as in isolated mode
    expect(ni.verified.processed).toBeLessThan(2 * iso.verified.processed);
    expect(ni.reverified.accepted).toBe(true);
  });

  const TC = 3;
  const bodyLoop = (cmp: string): string =>
    [
      'r1 = r10; r1 += -8; w2 = 0; w3 = 1000000; call bpf_iter_num_new',
      'r6 = 0',
      'r1 = r10; r1 += -8; call bpf_iter_num_next',
      'if r0 == 0 goto +3',
      'r6 += 1',
      cmp,
      'goto -7',
      'r1 = r10; r1 += -8; call bpf_iter_num_destroy',
      'r0 = 0; exit',
    ].join('; ');
  it('an imprecise counter in an iterator loop converges in every mode', () => {
    const insns = asmWithKfuncs(bodyLoop('r7 = r6'), modelId);
    for (const mode of ['isolated', 'non-isolated'] as const) {
      const r = inlineProgram({ insns, progType: TC }, lib, { mode });
      expect(r.verified.accepted, mode).toBe(true);
      expect(r.verified.processed, mode).toBeLessThan(1000);
      expect(r.reverified.accepted, mode).toBe(true);
    }
  });
  it('a precise counter never converges: the 1M insn budget ends it with the kernel error', () => {
    // `if r6 == 900000` makes the counter precise: every iteration is a new state
    const insns = asmWithKfuncs(bodyLoop('if r6 == 900000 goto +0'), modelId);
    expect(() => inlineProgram({ insns, progType: TC }, lib, { mode: 'non-isolated' })).toThrow(/rejected by the verifier: BPF program is too large\. Processed 1000001 insn/);
    // isolated mode ends sooner, on the kernel's other complexity limit (each instance's path is queued)
    expect(() => inlineProgram({ insns, progType: TC }, lib, { mode: 'isolated' })).toThrow(/rejected by the verifier: (The sequence of \d+ jumps is too complex|BPF program is too large)/);
  });
});
