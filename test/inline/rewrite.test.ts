// The rewrite half of inlining (dead code, splice, patching) on hand-written
// bodies with hand-stated verifier facts. The facts of each case are what any
// sound verifier must conclude for it; the end-to-end tests with kfinline's
// verifier live beside this file.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assembleKernel } from '../../src/isa/asm-kernel.js';
import { dumpXlated } from '../../src/isa/disasm-kernel.js';
import { insn, type Insn } from '../../src/isa/insn.js';
import { removeDeadCode } from '../../src/inline/dce.js';
import { EDGE_FALLTHROUGH, EDGE_TARGET, type InsnFacts } from '../../src/inline/facts.js';
import { makeInstances } from '../../src/inline/instances.js';
import { applyPatches } from '../../src/inline/patch.js';
import { rewriteInstances } from '../../src/inline/rewrite.js';
import { bodyStackDepth, r10Escape, spliceBody, usedCalleeSaved } from '../../src/inline/splice.js';

const asm = (s: string): Insn[] => assembleKernel(s).insns;
const xlated = (insns: readonly Insn[]): string[] => dumpXlated(insns, { indexWidth: 0 }).trimEnd().split('\n').map((l) => l.replace(/^(\d+): \([0-9a-f]{2}\) /, '$1: '));

function facts(n: number, reached: number[], edges: Record<number, number> = {}): InsnFacts {
  const r = new Uint8Array(n);
  for (const i of reached) r[i] = 1;
  const e = new Uint8Array(n);
  for (const [k, v] of Object.entries(edges)) e[Number(k)] = v;
  return { reached: r, edges: e };
}

// A body comparing a scalar argument with two constants.
const SCALAR_BODY = `
  r0 = 42
  if r1 != 1 goto +1
  r0 = 11
  if r1 != 2 goto +1
  r0 = 22
  exit`;

describe('removeDeadCode', () => {
  it('folds both compares for r1 == 1 and drops what became dead', () => {
    const body = asm(SCALAR_BODY);
    // r1 == 1: the first jump never taken, the second always taken.
    const d = removeDeadCode(body, facts(6, [0, 1, 2, 3, 5], { 1: EDGE_FALLTHROUGH, 3: EDGE_TARGET }));
    expect(xlated(d.insns)).toEqual(['0: r0 = 42', '1: r0 = 11', '2: exit']);
    expect(d.branchesFolded).toBe(2);
    expect(d.removed).toBe(3);
  });
  it('for r1 == 2 keeps the other constant', () => {
    const body = asm(SCALAR_BODY);
    const d = removeDeadCode(body, facts(6, [0, 1, 3, 4, 5], { 1: EDGE_TARGET, 3: EDGE_FALLTHROUGH }));
    expect(xlated(d.insns)).toEqual(['0: r0 = 42', '1: r0 = 22', '2: exit']);
  });
  it('keeps a branch both of whose edges were taken, and remaps its offset', () => {
    const body = asm(`
      r0 = 0
      if r1 > 5 goto +2
      r0 = 1
      goto +1
      r0 = 2
      exit`);
    const d = removeDeadCode(body, facts(6, [0, 1, 2, 3, 4, 5], { 1: EDGE_FALLTHROUGH | EDGE_TARGET }));
    expect(d.insns).toEqual(body);
  });
  it('never removes a reached instruction, and keeps jump targets consistent (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (alive) => {
        // A chain of forward conditional jumps over single instructions.
        const src = ['r0 = 0', 'if r1 == 0 goto +1', 'r0 += 1', 'if r1 == 1 goto +1', 'r0 += 2', 'if r1 == 2 goto +1', 'r0 += 4', 'exit'];
        const body = asm(src.join('\n'));
        alive[0] = true;
        alive[7] = true;
        const reached = alive.flatMap((a, i) => (a ? [i] : []));
        const edges: Record<number, number> = {};
        for (const j of [1, 3, 5]) if (alive[j]) edges[j] = (alive[j + 1] ? EDGE_FALLTHROUGH : 0) | (alive[j + 2] ? EDGE_TARGET : 0);
        const d = removeDeadCode(body, facts(8, reached, edges));
        // every surviving ALU instruction was reached
        const aluKept = d.insns.filter((x) => (x.code & 7) === 7).length;
        const aluReached = [0, 2, 4, 6].filter((i) => alive[i]).length;
        expect(aluKept).toBe(aluReached);
        // the last instruction is still the exit and every jump lands inside
        expect(d.insns[d.insns.length - 1].code).toBe(0x95);
        d.insns.forEach((x, i) => {
          if ((x.code & 7) === 5 && x.code !== 0x95) expect(i + x.off + 1).toBeLessThan(d.insns.length);
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe('spliceBody', () => {
  it('turns exits into jumps to the end of the body', () => {
    const s = spliceBody(asm('r0 = 1\nif r1 == 0 goto +1\nexit\nr0 = 2\nexit'), 0);
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(xlated(s.insns)).toEqual(['0: r0 = 1', '1: if r1 == 0x0 goto pc+1', '2: goto pc+2', '3: r0 = 2', '4: goto pc+0']);
  });
  it('spills used r6/r7 just below the caller stack and fills them in reverse', () => {
    const body = asm('r0 = 0\nr1 = 1\nr2 = 2\nr6 = 3\nr7 = 4\nexit');
    expect(usedCalleeSaved(body)).toEqual([6, 7]);
    const s = spliceBody(body, 128);
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(xlated(s.insns)).toEqual([
      '0: *(u64 *)(r10 -136) = r6',
      '1: *(u64 *)(r10 -144) = r7',
      '2: r0 = 0',
      '3: r1 = 1',
      '4: r2 = 2',
      '5: r6 = 3',
      '6: r7 = 4',
      '7: goto pc+0',
      '8: r7 = *(u64 *)(r10 -144)',
      '9: r6 = *(u64 *)(r10 -136)',
    ]);
    expect(s.stackAdded).toBe(16);
  });
  it("moves the body's own stack slots below the spill slots", () => {
    const body = asm('r0 = 0\n*(u64 *)(r10 - 8) = r0\nr0 = *(u64 *)(r10 - 8)\nr6 = 1\nexit');
    expect(bodyStackDepth(body)).toBe(8);
    const s = spliceBody(body, 32);
    expect(s.ok).toBe(true);
    if (!s.ok) return;
    expect(xlated(s.insns)).toEqual([
      '0: *(u64 *)(r10 -40) = r6',
      '1: r0 = 0',
      '2: *(u64 *)(r10 -48) = r0',
      '3: r0 = *(u64 *)(r10 -48)',
      '4: r6 = 1',
      '5: goto pc+0',
      '6: r6 = *(u64 *)(r10 -40)',
    ]);
    expect(s.stackAdded).toBe(16);
    expect(s.deepest).toBe(-48);
  });
  it('refuses when r10 is stored as a value or copied', () => {
    expect(r10Escape(asm('r0 = 0\n*(u64 *)(r10 - 8) = r10\nexit'))).toMatch(/stored as a value/);
    expect(r10Escape(asm('r0 = 0\nr1 = r10\nexit'))).toMatch(/source operand/);
    expect(r10Escape(asm('r0 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = *(u64 *)(r10 - 8)\nexit'))).toBeUndefined();
    const s = spliceBody(asm('r0 = 0\nr1 = r10\nexit'), 0);
    expect(s.ok).toBe(false);
  });
  it('re-checks the 512-byte stack limit', () => {
    const body = asm('r0 = 0\n*(u64 *)(r10 - 64) = r0\nexit');
    expect(spliceBody(body, 448).ok).toBe(true);
    const s = spliceBody(body, 456);
    expect(s.ok).toBe(false);
    if (!s.ok) expect(s.reason).toMatch(/combined stack depth 520 exceeds 512/);
  });
});

describe('applyPatches', () => {
  it('re-aims jumps over a grown call site and onto deleted slots', () => {
    const prog = asm('r1 = 1\nif r1 == 0 goto +2\ncall 7\nr0 = 1\nexit');
    const p = applyPatches(prog, new Map([[2, [insn(0xb7, 0, 0, 0, 5), insn(0xb7, 2, 0, 0, 6)]], [3, []]]));
    expect(xlated(p.insns)).toEqual(['0: r1 = 1', '1: if r1 == 0x0 goto pc+2', '2: r0 = 5', '3: r2 = 6', '4: exit']);
    expect(Array.from(p.map)).toEqual([0, 1, 2, 4, 4, 5]);
  });
  it('re-aims bpf-to-bpf calls', () => {
    const prog = asm('f:\ncall g\nexit\ng:\nr0 = 1\nexit');
    const p = applyPatches(prog, new Map([[1, [insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)]]]));
    expect(p.insns[0].imm).toBe(2);
  });
});

describe('rewriteInstances', () => {
  it('gives two call sites of one kfunc their own dead code (the RFC two-call-site case)', () => {
    const body = asm(SCALAR_BODY);
    const call = insn(0x85, 0, 2, 0, 1000);
    const prog = [insn(0xb7, 1, 0, 0, 1), call, insn(0xb7, 1, 0, 0, 2), call, insn(0x95, 0, 0, 0, 0)];
    const w = makeInstances(prog, (x) => (x.imm === 1000 ? { name: 'kf', insns: body } : undefined));
    expect(w.instances.map((i) => [i.site, i.start])).toEqual([[1, 5], [3, 11]]);
    const reached = [0, 1, 2, 3, 4, 5 + 0, 5 + 1, 5 + 2, 5 + 3, 5 + 5, 11 + 0, 11 + 1, 11 + 3, 11 + 4, 11 + 5];
    const f = facts(w.insns.length, reached, { 6: EDGE_FALLTHROUGH, 8: EDGE_TARGET, 12: EDGE_TARGET, 14: EDGE_FALLTHROUGH });
    const r = rewriteInstances(w, f, { callerDepth: () => 0 });
    expect(xlated(r.insns)).toEqual(['0: r1 = 1', '1: r0 = 42', '2: r0 = 11', '3: goto pc+0', '4: r1 = 2', '5: r0 = 42', '6: r0 = 22', '7: goto pc+0', '8: exit']);
    expect(r.sites.map((s) => [s.inlined, s.insnsBefore, s.insnsAfterDce])).toEqual([[true, 6, 3], [true, 6, 3]]);
  });
  it('without dead-code removal splices the whole body', () => {
    const body = asm(SCALAR_BODY);
    const prog = [insn(0xb7, 1, 0, 0, 1), insn(0x85, 0, 2, 0, 1000), insn(0x95, 0, 0, 0, 0)];
    const w = makeInstances(prog, () => ({ name: 'kf', insns: body }));
    const f = facts(w.insns.length, [0, 1, 2, 3, 4, 5, 6, 8], { 4: EDGE_FALLTHROUGH, 6: EDGE_TARGET });
    const r = rewriteInstances(w, f, { dce: false, callerDepth: () => 0 });
    expect(r.insns.length).toBe(2 + 6);
  });
  it('leaves the call in place when r10 escapes, and says why', () => {
    const body = asm('r0 = 0\nr1 = r10\nexit');
    const prog = [insn(0x85, 0, 2, 0, 7), insn(0x95, 0, 0, 0, 0)];
    const w = makeInstances(prog, () => ({ name: 'kf', insns: body }));
    const r = rewriteInstances(w, facts(w.insns.length, [0, 1, 2, 3, 4]), { callerDepth: () => 0 });
    expect(r.insns).toEqual(prog);
    expect(r.sites[0].inlined).toBe(false);
    expect(r.sites[0].reason).toMatch(/r10 escapes/);
  });
});
