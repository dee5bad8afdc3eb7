// bpf_conformance and uBPF ISA cases, in every engine.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { assembleUbpfMini, parseCase } from './ubpf-asm.js';
import { assembleUbpf } from '../../src/isa/asm-ubpf.js';
import { ENGINES, runWith } from './engines.js';
import { ubpfEnv } from './ubpf-env.js';
import type { Insn } from '../../src/isa/insn.js';

const ROOT = '/work/shared/testsuites';
const DIRS = [join(ROOT, 'bpf_conformance/tests'), join(ROOT, 'ubpf/tests'), join(ROOT, 'ubpf/tests/extensions')];

interface Loaded {
  name: string;
  insns?: Insn[];
  mem?: Uint8Array;
  result?: bigint;
  skip?: string;
  /** An assembler case: `-- asm` must assemble to `-- raw` (uBPF's alu.data, ldx.data, ...). */
  asmOnly?: { asm: string; raw: Insn[] };
}

function load(dir: string, f: string): Loaded {
  const name = `${dir.includes('ubpf') ? (dir.endsWith('extensions') ? 'ubpf/extensions' : 'ubpf') : 'conformance'}/${f}`;
  const c = parseCase(readFileSync(join(dir, f), 'utf8'));
  if (c.sections.includes('unload') || c.sections.includes('reload')) return { name, skip: 'tests uBPF load/unload API' };
  if (c.result === undefined && c.asm !== undefined && c.raw && !c.error) return { name, asmOnly: { asm: c.asm, raw: c.raw } };
  if (c.result === undefined) return { name, skip: `no result (expects ${c.error ? 'a load error' : 'nothing'})` };
  // The project's assembler (src/isa/asm-ubpf.ts) first; the test's minimal one as a fallback.
  let insns: Insn[] | undefined;
  try {
    insns = c.asm !== undefined ? assembleUbpf(c.asm) : c.raw;
  } catch (e) {
    try {
      insns = c.asm !== undefined ? assembleUbpfMini(c.asm) : c.raw;
      fallbacks.push(`${name}: ${(e as Error).message}`);
    } catch (e2) {
      if (c.raw) insns = c.raw;
      else return { name, skip: `asm: ${(e2 as Error).message}` };
    }
  }
  if (!insns) return { name, skip: 'no program' };
  if (insns.some((x) => x.code === 0x8d)) return { name, skip: 'callx (BPF_JMP|BPF_CALL|BPF_X) is not in the kernel ISA' };
  const helpers = insns.filter((x) => x.code === 0x85 && x.src === 0).map((x) => x.imm);
  if (helpers.some((h) => ![0, 1, 4, 5].includes(h))) return { name, skip: `calls unknown harness helper(s) ${helpers.join(', ')}` };
  return { name, insns, mem: c.mem, result: c.result };
}

const fallbacks: string[] = [];
const cases: Loaded[] = [];
for (const d of DIRS) {
  if (!existsSync(d)) continue;
  for (const f of readdirSync(d).filter((x) => x.endsWith('.data')).sort()) cases.push(load(d, f));
}

describe('ISA conformance suites', () => {
  it('finds the suites', () => {
    expect(cases.length).toBeGreaterThan(300);
  });
  const skipped = cases.filter((c) => c.skip);
  it(`skips ${skipped.length} cases with reasons`, () => {
    for (const c of skipped) console.log(`skip ${c.name}: ${c.skip}`);
    for (const f of fallbacks) console.log(`assembled by the test's fallback assembler: ${f}`);
    expect(skipped.length).toBeLessThanOrEqual(3); // callx, and uBPF's load/unload API tests
  });
  describe('the assembler (src/isa/asm-ubpf.ts) on the asm-only cases', () => {
    for (const c of cases.filter((x) => x.asmOnly)) {
      it(c.name, () => {
        const want = c.asmOnly!.raw.map((x) => [x.code, x.dst, x.src, x.off, x.imm]);
        expect(assembleUbpf(c.asmOnly!.asm).map((x) => [x.code, x.dst, x.src, x.off, x.imm])).toEqual(want);
      });
    }
  });
  for (const engine of ENGINES) {
    describe(engine.name, () => {
      for (const c of cases.filter((x) => !x.skip && !x.asmOnly)) {
        it(c.name, () => {
          const r = runWith(engine, c.insns!, c.mem, ubpfEnv);
          expect(r.r0.toString(16)).toBe(c.result!.toString(16));
        });
      }
    });
  }
});
