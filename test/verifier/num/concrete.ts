// Concrete BPF semantics (the ISA spec) for checking the abstract domains.
import fc from 'fast-check';
import type { AluOp, JmpOp, Scalar } from '../../../src/verifier/num/index.js';
import { scalarFromTnum, scalarConst, refineBranch, tnum, scalarContains } from '../../../src/verifier/num/index.js';

const M64 = (1n << 64n) - 1n;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);

/** dst op src on the 64-bit (is64) or 32-bit ALU; returns the new u64 register value. */
export function concreteAlu(op: AluOp, is64: boolean, x: bigint, y: bigint): bigint {
  const bits = is64 ? 64 : 32;
  const U = (v: bigint): bigint => BigInt.asUintN(bits, v);
  const S = (v: bigint): bigint => BigInt.asIntN(bits, v);
  const a = U(x);
  const b = U(y);
  let r: bigint;
  switch (op) {
    case 'add': r = a + b; break;
    case 'sub': r = a - b; break;
    case 'mul': r = a * b; break;
    case 'div': r = b === 0n ? 0n : a / b; break;
    case 'mod': r = b === 0n ? a : a % b; break;
    case 'sdiv': r = S(b) === 0n ? 0n : S(a) / S(b); break;
    case 'smod': r = S(b) === 0n ? a : S(a) % S(b); break;
    case 'or': r = a | b; break;
    case 'and': r = a & b; break;
    case 'xor': r = a ^ b; break;
    case 'lsh': r = a << (b & BigInt(bits - 1)); break;
    case 'rsh': r = a >> (b & BigInt(bits - 1)); break;
    case 'arsh': r = S(a) >> (b & BigInt(bits - 1)); break;
    case 'mov': r = b; break;
    case 'neg': r = -a; break;
  }
  return U(r!);
}

export function concreteJmp(op: JmpOp, is32: boolean, x: bigint, y: bigint): boolean {
  const bits = is32 ? 32 : 64;
  const a = BigInt.asUintN(bits, x);
  const b = BigInt.asUintN(bits, y);
  const sa = BigInt.asIntN(bits, x);
  const sb = BigInt.asIntN(bits, y);
  switch (op) {
    case 'jeq': return a === b;
    case 'jne': return a !== b;
    case 'jgt': return a > b;
    case 'jge': return a >= b;
    case 'jlt': return a < b;
    case 'jle': return a <= b;
    case 'jsgt': return sa > sb;
    case 'jsge': return sa >= sb;
    case 'jslt': return sa < sb;
    case 'jsle': return sa <= sb;
    case 'jset': return (a & b) !== 0n;
  }
}

export const ALU_OPS: AluOp[] = ['add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'mov', 'neg'];
export const JMP_OPS: JmpOp[] = ['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsge', 'jslt', 'jsle', 'jset'];

/** Interesting 64-bit values: small, negative, powers of two, boundaries, random. */
export const arbU64 = fc.oneof(
  fc.bigInt({ min: 0n, max: M64 }),
  fc.bigInt({ min: -300n, max: 300n }).map(u64),
  fc.integer({ min: 0, max: 63 }).map((k) => 1n << BigInt(k)),
  fc.integer({ min: 0, max: 63 }).map((k) => u64((1n << BigInt(k)) - 1n)),
  fc.constantFrom(0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0x1_0000_0000n, 1n << 63n, M64, u64(-0x8000_0000n)),
  fc.bigInt({ min: 0n, max: 0xffff_ffffn }),
);

const arbMask = fc.oneof(
  fc.constant(0n),
  fc.constant(M64),
  fc.bigInt({ min: 0n, max: M64 }),
  fc.tuple(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 63 })).map(([w, sh]) => u64(((1n << BigInt(w)) - 1n) << BigInt(sh))),
  fc.tuple(fc.bigInt({ min: 0n, max: M64 }), fc.bigInt({ min: 0n, max: M64 })).map(([a, b]) => a & b),
);

/** A concrete value x and a member-preserving abstract scalar built by tnum + branch refinements. */
export interface Member {
  s: Scalar;
  x: bigint;
}

export const arbMember: fc.Arbitrary<Member> = fc
  .record({
    x: arbU64,
    mask: arbMask,
    konst: fc.boolean(),
    refs: fc.array(
      fc.record({
        op: fc.constantFrom(...JMP_OPS),
        is32: fc.boolean(),
        delta: fc.oneof(fc.bigInt({ min: -20n, max: 20n }), arbU64),
      }),
      { maxLength: 4 },
    ),
  })
  .map(({ x, mask, konst, refs }) => {
    if (konst) return { s: scalarConst(x), x };
    let s = scalarFromTnum(tnum(x & ~mask, mask));
    for (const r of refs) {
      const c = u64(x + r.delta);
      const b = scalarConst(c);
      const taken = concreteJmp(r.op, r.is32, x, c);
      const out = refineBranch(r.op, r.is32, s, b, taken);
      if (out === null) throw new Error('refineBranch dropped the edge a member takes');
      s = out[0];
    }
    if (!scalarContains(s, x)) throw new Error('generator lost its member');
    return { s, x };
  });

export { u64, s64 };
