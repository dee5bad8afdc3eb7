// The constant fast path of scalarAlu() (both operands exact constants)
// against the reference transfer functions (scalarAluReference()): the same
// nine fields for every operation, width and constant, edges included.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { scalarAlu, scalarAluReference, scalarConst, scalarConstImm, scalarEquals, scalarRange, type AluOp, type Scalar } from '../../../src/verifier/num/index.js';

const RUNS = Number(process.env.KF_NUM_RUNS ?? 400) * 10;
const show = (s: unknown): string => JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));
const OPS: AluOp[] = ['add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'mov', 'neg'];
const edges = [
  0n, 1n, 2n, 3n, 7n, 31n, 32n, 33n, 63n, 64n, 65n, 1023n, 1024n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n,
  0x1_0000_0001n, 0x7fff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n, 0xffff_ffff_8000_0000n, 0xffff_ffff_ffff_fffen, 0xffff_ffff_ffff_ffffn,
];
const arbU64 = fc.oneof(
  fc.constantFrom(...edges),
  fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }),
  fc.bigInt({ min: 0n, max: 70n }),
  fc.bigInt({ min: -70n, max: -1n }).map((x) => BigInt.asUintN(64, x)),
);

function check(op: AluOp, is64: boolean, d: Scalar, s: Scalar): void {
  const fast = scalarAlu(op, is64, d, s);
  const ref = scalarAluReference(op, is64, d, s);
  if (!scalarEquals(fast, ref)) throw new Error(`${op}${is64 ? '64' : '32'} ${show(d)} ${show(s)}:\n fast ${show(fast)}\n ref  ${show(ref)}`);
}

describe('scalarAlu constant fast path', () => {
  it('equals the reference on every op, width and pair of constants', () => {
    fc.assert(
      fc.property(arbU64, arbU64, fc.constantFrom(...OPS), fc.boolean(), (a, b, op, is64) => check(op, is64, scalarConst(a), scalarConst(b))),
      { numRuns: RUNS },
    );
  });
  it('equals the reference on the edge constants exhaustively', () => {
    for (const a of edges) for (const b of edges) for (const op of OPS) for (const is64 of [false, true]) check(op, is64, scalarConst(a), scalarConst(b));
  });
  it('equals the reference on immediates and when only one side is constant', () => {
    for (const imm of [-1025, -1024, -1, 0, 1, 31, 32, 1023, 1024, 0x7fffffff, -0x80000000])
      for (const op of OPS) for (const is64 of [false, true]) {
        check(op, is64, scalarConst(5n), scalarConstImm(imm));
        check(op, is64, scalarRange(3n, 9n), scalarConstImm(imm));
        check(op, is64, scalarConstImm(imm), scalarRange(0n, 1n));
      }
  });
  it('gives the plain constant, shared for small values', () => {
    const r = scalarAlu('add', true, scalarConst(40n), scalarConst(2n));
    expect(r).toBe(scalarConst(42n));
    expect(r.umax).toBe(42n);
    expect(r.s32min).toBe(42);
    const w = scalarAlu('sub', false, scalarConst(0n), scalarConst(1n));
    expect(w.umin).toBe(0xffff_ffffn);
    expect(w.smin).toBe(0xffff_ffffn);
    expect(w.s32min).toBe(-1);
  });
});
