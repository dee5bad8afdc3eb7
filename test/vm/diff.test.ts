// Differential property test: random programs give identical r0 and stack in both engines.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { insn, type Insn } from '../../src/isa/insn.js';
import { interpreter } from '../../src/vm/interp.js';
import { jit } from '../../src/vm/jit/jit.js';
import { runWith } from './engines.js';

type Item = { kind: 'insn'; x: Insn[] } | { kind: 'jmp'; code: number; dst: number; src: number; imm: number; to: number };

const ALU_OPS = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 0xc0];
const JMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
const SIZES = [0x00, 0x08, 0x10, 0x18];
const bytesOf = (s: number): number => (s === 0x00 ? 4 : s === 0x08 ? 2 : s === 0x10 ? 1 : 8);

const reg = fc.integer({ min: 0, max: 9 });
const interesting = fc.oneof(
  fc.integer({ min: -0x80000000, max: 0x7fffffff }),
  fc.constantFrom(0, 1, -1, 2, 31, 32, 63, 64, 0x7fffffff, -0x80000000, 0xff, 0xffff, 8, 16),
);
const imm64 = fc.oneof(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.constantFrom(0n, -1n, 1n, -(1n << 63n), (1n << 63n) - 1n, 0xffffffffn));

function lddw(dst: number, v: bigint): Insn[] {
  const u = BigInt.asUintN(64, v);
  return [insn(0x18, dst, 0, 0, Number(BigInt.asIntN(32, u))), insn(0, 0, 0, 0, Number(BigInt.asIntN(32, u >> 32n)))];
}

const aluItem: fc.Arbitrary<Item> = fc
  .record({ is64: fc.boolean(), op: fc.constantFrom(...ALU_OPS), x: fc.boolean(), dst: reg, src: reg, imm: interesting, signed: fc.boolean() })
  .map(({ is64, op, x, dst, src, imm, signed }) => {
    const cls = is64 ? 0x07 : 0x04;
    if (op === 0x80) return { kind: 'insn', x: [insn(cls | op, dst, 0, 0, 0)] };
    const off = (op === 0x30 || op === 0x90) && signed ? 1 : 0;
    return { kind: 'insn', x: [x ? insn(cls | op | 8, dst, src, off, 0) : insn(cls | op, dst, 0, off, imm)] };
  });
const movsxItem: fc.Arbitrary<Item> = fc
  .record({ is64: fc.boolean(), w: fc.constantFrom(8, 16, 32), dst: reg, src: reg })
  .map(({ is64, w, dst, src }) => ({ kind: 'insn', x: [insn(is64 ? 0xbf : 0xbc, dst, src, is64 ? w : Math.min(w, 16), 0)] }));
const endItem: fc.Arbitrary<Item> = fc
  .record({ code: fc.constantFrom(0xd4, 0xdc, 0xd7), w: fc.constantFrom(16, 32, 64), dst: reg })
  .map(({ code, w, dst }) => ({ kind: 'insn', x: [insn(code, dst, 0, 0, w)] }));
const ldImmItem: fc.Arbitrary<Item> = fc.record({ dst: reg, v: imm64 }).map(({ dst, v }) => ({ kind: 'insn', x: lddw(dst, v) }));
const slot = (size: number) => fc.integer({ min: 1, max: 64 }).map((k) => -k * 8 + (8 - size) * 0);
const memItem: fc.Arbitrary<Item> = fc
  .record({ kind: fc.constantFrom('ldx', 'ldxs', 'st', 'stx', 'atomic'), size: fc.constantFrom(...SIZES), dst: reg, src: reg, imm: interesting, k: fc.integer({ min: 1, max: 63 }), aop: fc.constantFrom(0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1) })
  .map(({ kind, size, dst, src, imm, k, aop }) => {
    const off = -k * 8 + (k % 2 ? 0 : 8 - bytesOf(size));
    if (kind === 'ldx') return { kind: 'insn', x: [insn(0x61 | size, dst, 10, off, 0)] };
    if (kind === 'ldxs') return { kind: 'insn', x: [insn(0x81 | (size === 0x18 ? 0 : size), dst, 10, off, 0)] };
    if (kind === 'st') return { kind: 'insn', x: [insn(0x62 | size, 10, 0, off, imm)] };
    if (kind === 'stx') return { kind: 'insn', x: [insn(0x63 | size, 10, src, off, 0)] };
    const sz = size === 0x18 ? 0x18 : 0x00;
    return { kind: 'insn', x: [insn(0xc3 | sz, 10, src, -k * 8, aop)] };
  });
const jmpItem = (n: number): fc.Arbitrary<Item> =>
  fc
    .record({ is32: fc.boolean(), op: fc.constantFrom(...JMP_OPS), x: fc.boolean(), dst: reg, src: reg, imm: interesting, to: fc.integer({ min: 0, max: n }) })
    .map(({ is32, op, x, dst, src, imm, to }) => ({ kind: 'jmp', code: (is32 ? 0x06 : 0x05) | op | (x ? 8 : 0), dst, src, imm, to }));

/** Lays out items; a jump at item i goes forward to item max(to, i+1) (n = the epilogue). */
function layout(init: bigint[], items: Item[]): Insn[] {
  const head: Insn[] = init.flatMap((v, r) => lddw(r, v));
  const pos: number[] = [];
  let p = head.length;
  for (const it of items) {
    pos.push(p);
    p += it.kind === 'insn' ? it.x.length : 1;
  }
  pos.push(p);
  const out = [...head];
  items.forEach((it, i) => {
    if (it.kind === 'insn') out.push(...it.x);
    else {
      const tgt = pos[Math.min(Math.max(it.to, i + 1), items.length)];
      out.push(insn(it.code, it.dst, it.src, tgt - pos[i] - 1, it.imm));
    }
  });
  // epilogue: r0 = r0 ^ r1 ^ ... ^ r9 (rotated so that every register matters)
  for (let r = 1; r <= 9; r++) {
    out.push(insn(0xbf, 0, 0, 0, 0), insn(0x67, 0, 0, 0, 7)); // r0 <<= 7 (after a copy: keep it simple)
    out.push(insn(0xaf, 0, r, 0, 0));
  }
  out.push(insn(0x95, 0, 0, 0, 0));
  return out;
}

const program = fc
  .record({
    init: fc.array(imm64, { minLength: 10, maxLength: 10 }),
    n: fc.integer({ min: 1, max: 40 }),
  })
  .chain(({ init, n }) =>
    fc
      .array(fc.oneof({ arbitrary: aluItem, weight: 6 }, { arbitrary: jmpItem(n), weight: 2 }, { arbitrary: memItem, weight: 3 }, movsxItem, endItem, ldImmItem), { minLength: n, maxLength: n })
      .map((items) => layout(init, items)),
  );

function same(insns: Insn[]): void {
  const a = runWith(interpreter, insns);
  const b = runWith(jit, insns);
  expect(b.r0.toString(16)).toBe(a.r0.toString(16));
  expect(Buffer.from(b.stack).equals(Buffer.from(a.stack))).toBe(true);
}

describe('interpreter and JIT agree', () => {
  it('on random straight-line and forward-branching programs', () => {
    fc.assert(fc.property(program, (insns) => same(insns)), { numRuns: 400 });
  });

  it('on random programs inside a counted loop', () => {
    const looped = program.map((body) => {
      // r9 = 5; body (minus its exit, with r9 rewritten to r8); r9 -= 1; if r9 != 0 goto start
      const core = body.slice(0, -1).map((x) => (x.code !== 0 && (x.dst === 9 || x.src === 9) && x.code !== 0x18) || (x.code === 0x18 && x.dst === 9) ? { ...x, dst: x.dst === 9 ? 8 : x.dst, src: x.src === 9 ? 8 : x.src } : x);
      const prog = [insn(0xb7, 9, 0, 0, 5), ...core, insn(0x07, 9, 0, 0, -1)];
      prog.push(insn(0x55, 9, 0, -(prog.length), 0), insn(0x95, 0, 0, 0, 0));
      return prog;
    });
    fc.assert(fc.property(looped, (insns) => same(insns)), { numRuns: 150 });
  });
});
