// Tracked numbers: mirrors kernel/bpf/tnum.c (Linux 6.18).
//
// A tnum knows each bit of a 64-bit value as 0, 1 or unknown: `mask` has the
// unknown bits set, `value` the known-one bits (value & mask === 0 always).
// Both are bigints in [0, 2^64). Tnums are immutable plain objects.

import { KfError } from '../../util/errors.js';
import { U64_MAX, fls64 } from './u64.js';

export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

const M32 = 0xffff_ffffn;
const HI32 = 0xffff_ffff_0000_0000n;

const T = (value: bigint, mask: bigint): Tnum => ({ value, mask });

/** A completely unknown value. */
export const tnumUnknown: Tnum = Object.freeze(T(0n, U64_MAX));
/** Known zero. */
export const tnumZero: Tnum = Object.freeze(T(0n, 0n));

/** Raw constructor; inputs are taken modulo 2^64, value bits under mask cleared. */
export function tnum(value: bigint, mask: bigint): Tnum {
  const m = BigInt.asUintN(64, mask);
  return T(BigInt.asUintN(64, value) & ~m, m);
}

/** mirrors tnum_const() */
export function tnumConst(v: bigint): Tnum {
  return T(BigInt.asUintN(64, v), 0n);
}

/** mirrors tnum_range(): the smallest tnum containing [min, max] (u64). */
export function tnumRange(min: bigint, max: bigint): Tnum {
  const chi = min ^ max;
  const bits = fls64(chi);
  if (bits > 63) return tnumUnknown;
  const delta = (1n << BigInt(bits)) - 1n;
  return T(min & ~delta, delta);
}

function checkShift(shift: number, bitness: number, what: string): void {
  if (!Number.isInteger(shift) || shift < 0 || shift >= bitness)
    throw new KfError(`${what}: shift ${shift} out of range for ${bitness}-bit operation`);
}

/** mirrors tnum_lshift(); with insnBitness 32 the result is truncated to 32 bits. */
export function tnumLshift(a: Tnum, shift: number, insnBitness: 32 | 64 = 64): Tnum {
  checkShift(shift, insnBitness, 'tnumLshift');
  const s = BigInt(shift);
  const m = insnBitness === 32 ? M32 : U64_MAX;
  return T((a.value << s) & m, (a.mask << s) & m);
}

/** mirrors tnum_rshift(); with insnBitness 32 the low 32 bits are shifted. */
export function tnumRshift(a: Tnum, shift: number, insnBitness: 32 | 64 = 64): Tnum {
  checkShift(shift, insnBitness, 'tnumRshift');
  const s = BigInt(shift);
  if (insnBitness === 32) return T((a.value & M32) >> s, (a.mask & M32) >> s);
  return T(a.value >> s, a.mask >> s);
}

/** mirrors tnum_arshift() */
export function tnumArshift(a: Tnum, shift: number, insnBitness: 32 | 64 = 64): Tnum {
  checkShift(shift, insnBitness, 'tnumArshift');
  const s = BigInt(shift);
  if (insnBitness === 32)
    return T(
      BigInt.asUintN(32, BigInt.asIntN(32, a.value) >> s),
      BigInt.asUintN(32, BigInt.asIntN(32, a.mask) >> s),
    );
  return T(BigInt.asUintN(64, BigInt.asIntN(64, a.value) >> s), BigInt.asUintN(64, BigInt.asIntN(64, a.mask) >> s));
}

/** mirrors tnum_add() */
export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = a.mask + b.mask;
  const sv = a.value + b.value;
  const chi = BigInt.asUintN(64, sm + sv) ^ BigInt.asUintN(64, sv);
  const mu = chi | a.mask | b.mask;
  return T(BigInt.asUintN(64, sv) & ~mu, mu);
}

/** mirrors tnum_sub() */
export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = BigInt.asUintN(64, a.value - b.value);
  const alpha = BigInt.asUintN(64, dv + a.mask);
  const beta = BigInt.asUintN(64, dv - b.mask);
  const mu = (alpha ^ beta) | a.mask | b.mask;
  return T(dv & ~mu, mu);
}

/** mirrors tnum_neg() */
export function tnumNeg(a: Tnum): Tnum {
  return tnumSub(tnumZero, a);
}

/** mirrors tnum_and() */
export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return T(v, alpha & beta & ~v);
}

/** mirrors tnum_or() */
export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  return T(v, (a.mask | b.mask) & ~v);
}

/** mirrors tnum_xor() */
export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const mu = a.mask | b.mask;
  return T((a.value ^ b.value) & ~mu, mu);
}

/** mirrors tnum_mul() (6.18: long multiplication with the union of partial products). */
export function tnumMul(a: Tnum, b: Tnum): Tnum {
  let acc: Tnum = tnumZero;
  let av = a.value;
  let am = a.mask;
  let bt = b;
  while (av !== 0n || am !== 0n) {
    if (av & 1n) acc = tnumAdd(acc, bt);
    else if (am & 1n) acc = tnumUnion(acc, tnumAdd(acc, bt));
    av >>= 1n;
    am >>= 1n;
    bt = T((bt.value << 1n) & U64_MAX, (bt.mask << 1n) & U64_MAX);
  }
  return acc;
}

/** mirrors tnum_intersect(): numbers satisfying both a and b. */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return T(v & ~mu, mu);
}

/** mirrors tnum_union(): a tnum containing every member of a and of b. */
export function tnumUnion(a: Tnum, b: Tnum): Tnum {
  const v = a.value & b.value;
  const mu = (a.value ^ b.value) | a.mask | b.mask;
  return T(v & ~mu, mu);
}

/** mirrors tnum_cast(): keep the lowest `size` bytes. */
export function tnumCast(a: Tnum, size: 1 | 2 | 4 | 8): Tnum {
  if (size === 8) return a;
  if (size !== 1 && size !== 2 && size !== 4) throw new KfError(`tnumCast: bad size ${String(size)}`);
  const m = (1n << BigInt(size * 8)) - 1n;
  return T(a.value & m, a.mask & m);
}

/** mirrors tnum_is_aligned() */
export function tnumIsAligned(a: Tnum, size: number | bigint): boolean {
  const s = BigInt(size);
  if (s === 0n) return true;
  return ((a.value | a.mask) & (s - 1n)) === 0n;
}

/** mirrors tnum_in(): is every member of b a member of a? */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  if (b.mask & ~a.mask) return false;
  return a.value === (b.value & ~a.mask);
}

/** Is the concrete u64 `x` a member of a? */
export function tnumContains(a: Tnum, x: bigint): boolean {
  return (x & ~a.mask) === a.value;
}

/** mirrors tnum_overlap(): do a and b agree on the bits both know? */
export function tnumOverlap(a: Tnum, b: Tnum): boolean {
  const mu = ~a.mask & ~b.mask;
  return (a.value & mu) === (b.value & mu);
}

/**
 * mirrors tnum_step(): the smallest member of t greater than z, for
 * t.value <= z < tmax; tmax when z >= tmax and t.value when z < t.value.
 */
export function tnumStep(t: Tnum, z: bigint): bigint {
  const tmax = t.value | t.mask;
  if (z >= tmax) return tmax;
  if (z < t.value) return t.value;
  // members are value + s for the submasks s of mask: find the smallest s > d
  const d = z - t.value;
  const carry = (1n << BigInt(fls64(d & ~t.mask & U64_MAX))) - 1n;
  const filled = (d | carry | (~t.mask & U64_MAX)) & U64_MAX;
  const inc = (filled + 1n) & t.mask;
  return t.value | inc;
}

/** mirrors tnum_is_const() */
export const tnumIsConst = (a: Tnum): boolean => a.mask === 0n;
/** mirrors tnum_is_unknown() */
export const tnumIsUnknown = (a: Tnum): boolean => a.mask === U64_MAX;
/** mirrors tnum_equals_const() */
export const tnumEqualsConst = (a: Tnum, v: bigint): boolean => a.mask === 0n && a.value === BigInt.asUintN(64, v);
/** Structural equality. */
export const tnumEquals = (a: Tnum, b: Tnum): boolean => a.value === b.value && a.mask === b.mask;

/** mirrors tnum_subreg(): the low 32 bits. */
export function tnumSubreg(a: Tnum): Tnum {
  return T(a.value & M32, a.mask & M32);
}
/** mirrors tnum_clear_subreg(): the high 32 bits, low 32 bits known zero. */
export function tnumClearSubreg(a: Tnum): Tnum {
  return T(a.value & HI32, a.mask & HI32);
}
/** mirrors tnum_with_subreg(): high half of reg, low half of subreg. */
export function tnumWithSubreg(reg: Tnum, subreg: Tnum): Tnum {
  return tnumOr(tnumClearSubreg(reg), tnumSubreg(subreg));
}
/** mirrors tnum_const_subreg() */
export function tnumConstSubreg(a: Tnum, v: number | bigint): Tnum {
  return tnumWithSubreg(a, tnumConst(BigInt.asUintN(32, BigInt(v))));
}
/** 32-bit view helpers used by the scalar code. */
export const tnumSubregIsConst = (a: Tnum): boolean => (a.mask & M32) === 0n;

/** mirrors tnum_sbin(): 64 characters of 0, 1 and x, most significant first. */
export function tnumSbin(a: Tnum): string {
  let s = '';
  for (let i = 63n; i >= 0n; i--) {
    s += (a.mask >> i) & 1n ? 'x' : (a.value >> i) & 1n ? '1' : '0';
  }
  return s;
}

/** mirrors tnum_strn(): "(0x0; 0xff)" — the kernel's "(%#llx; %#llx)". */
export function tnumStr(a: Tnum): string {
  return `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;
}
