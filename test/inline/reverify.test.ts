// Re-verification of inlined programs: every example with inlinable kfunc
// calls, inlined with and without dead-code removal, verifies again with its
// regions standing for the calls they replaced.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { bodiesById, inlineProgram } from '../../src/inline/pipeline.js';
import { linkProgram } from '../../src/kernel/link.js';
import { loadObject } from '../../src/object/index.js';
import { verify } from '../../src/verifier/verify.js';
import { asmWithKfuncs, modelId, modelIds } from '../verifier/kfunc-util.js';

const EXAMPLES = join(__dirname, '../../examples/build');
const lib = defaultKfuncLibrary();
const byId = bodiesById(lib);

/** Programs of the built examples that call an inlinable kfunc. */
function examplesWithKfuncs() {
  const out: { file: string; name: string; prog: { insns: ReturnType<typeof linkProgram>['insns']; progType: number; maps: ReturnType<typeof linkProgram>['maps'] } }[] = [];
  if (!existsSync(EXAMPLES)) return out;
  for (const file of readdirSync(EXAMPLES).filter((f) => f.endsWith('.bpf.o')).sort()) {
    const obj = loadObject(readFileSync(join(EXAMPLES, file)), { objectName: file.replace(/\.bpf\.o$/, '') });
    for (const p of obj.programs) {
      const linked = linkProgram(obj, p, (n) => modelIds.get(n));
      if (!linked.insns.some((x) => x.code === 0x85 && x.src === 2 && byId.has(x.imm))) continue;
      out.push({ file, name: p.name, prog: { insns: linked.insns, progType: linked.progType, maps: linked.maps } });
    }
  }
  return out;
}

const progs = examplesWithKfuncs();

describe('re-verification of inlined examples', () => {
  it('finds the dynptr examples', () => {
    expect(progs.map((p) => p.file)).toEqual(expect.arrayContaining(['dynptr_skb.bpf.o', 'dynptr_slice.bpf.o']));
  });
  for (const p of progs) {
    for (const dce of [true, false]) {
      it(`${p.file} ${p.name} (${dce ? 'with' : 'without'} dead-code removal)`, () => {
        const r = inlineProgram(p.prog, lib, { dce });
        expect(r.inlined.length).toBeGreaterThan(0);
        expect(r.reverified.error).toBeUndefined();
        expect(r.reverified.accepted).toBe(true);
        // every region's kernel code was explored, and counted
        for (const g of r.inlined) expect(r.reverified.reached[g.start], `${g.kfunc} at ${g.start}`).toBe(1);
        expect(r.reverified.inlinedProcessed).toBeGreaterThan(0);
        expect(r.reverified.inlinedProcessed).toBeLessThan(r.reverified.processed);
        // the same rewritten program without its regions marked does not verify
        const plain = verify({ ...p.prog, insns: r.insns });
        expect(plain.accepted).toBe(false);
      });
    }
  }
});

describe('re-verification of an inlined iterator loop', () => {
  const TC = 3;
  const src = [
    'r1 = r10; r1 += -8; w2 = 0; w3 = 10; call bpf_iter_num_new',
    'r6 = 0',
    'r1 = r10; r1 += -8; call bpf_iter_num_next',
    'if r0 == 0 goto +3',
    'r2 = *(u32 *)(r0 +0)',
    'r6 += r2',
    'goto -7',
    'r1 = r10; r1 += -8; call bpf_iter_num_destroy',
    'r0 = r6; exit',
  ].join('; ');
  const insns = asmWithKfuncs(src, modelId);
  for (const dce of [true, false]) {
    it(`bpf_iter_num_new/next/destroy inlined ${dce ? 'with' : 'without'} dead-code removal verifies again`, () => {
      const r = inlineProgram({ insns, progType: TC }, lib, { dce });
      expect(r.sites.filter((s) => s.inlined).map((s) => s.kfunc)).toEqual(['bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy']);
      expect(r.reverified.error).toBeUndefined();
      expect(r.reverified.accepted).toBe(true);
    });
  }
});
