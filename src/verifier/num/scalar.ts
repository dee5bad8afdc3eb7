// Scalar bounds: the eight ranges plus the tnum of a SCALAR_VALUE register,
// synchronised the kernel's way. Mirrors the scalar parts of
// kernel/bpf/verifier.c (Linux 6.18).
//
// Scalars are IMMUTABLE plain objects: every function returns a new object
// and never modifies its arguments. Internally each function works on one
// mutable copy (`R`), like the kernel works on a bpf_reg_state in place.
//
// Field representation (see u64.ts): smin/smax are s64 bigints, umin/umax u64
// bigints, s32min/s32max s32 numbers, u32min/u32max u32 numbers.

import { KfError } from '../../util/errors.js';
import {
  Tnum,
  tnumUnknown,
  tnumConst,
  tnumRange,
  tnumIntersect,
  tnumSubreg,
  tnumClearSubreg,
  tnumOr,
  tnumIsConst,
  tnumAdd,
  tnumSub,
  tnumNeg,
  tnumMul,
  tnumAnd,
  tnumXor,
  tnumLshift,
  tnumRshift,
  tnumArshift,
  tnumConstSubreg,
  tnumIn,
  tnumEquals,
  tnumCast,
  tnumStep,
} from './tnum.js';
import { U64_MAX, S64_MAX, S64_MIN, U32_MAX, S32_MAX, S32_MIN } from './u64.js';
import { syncSmallInPlace } from './sync-small.js';

export interface Scalar {
  readonly varOff: Tnum;
  readonly smin: bigint;
  readonly smax: bigint;
  readonly umin: bigint;
  readonly umax: bigint;
  readonly s32min: number;
  readonly s32max: number;
  readonly u32min: number;
  readonly u32max: number;
}

/** The mutable working copy. */
export interface MutableScalar {
  varOff: Tnum;
  smin: bigint;
  smax: bigint;
  umin: bigint;
  umax: bigint;
  s32min: number;
  s32max: number;
  u32min: number;
  u32max: number;
}
type R = MutableScalar;

export type AluOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'mod' | 'smod'
  | 'or' | 'and' | 'xor' | 'lsh' | 'rsh' | 'arsh' | 'mov' | 'neg';

export type JmpOp = 'jeq' | 'jne' | 'jgt' | 'jge' | 'jlt' | 'jle' | 'jsgt' | 'jsge' | 'jslt' | 'jsle' | 'jset';

const M32N = 0xffff_ffffn;
const HI32N = 0xffff_ffff_0000_0000n;
const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const s32n = (x: bigint): number => Number(BigInt.asIntN(32, x));
const u32n = (x: bigint): number => Number(BigInt.asUintN(32, x));
const maxB = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const minB = (a: bigint, b: bigint): bigint => (a < b ? a : b);

const copy = (s: Scalar): R => ({
  varOff: s.varOff,
  smin: s.smin,
  smax: s.smax,
  umin: s.umin,
  umax: s.umax,
  s32min: s.s32min,
  s32max: s.s32max,
  u32min: s.u32min,
  u32max: s.u32max,
});

// ---------------------------------------------------------------- constructors

/** mirrors __mark_reg_unknown() for the numeric part: nothing known. */
export function scalarUnknown(): Scalar {
  return UNKNOWN;
}
// Scalars are immutable: every unknown scalar can be this one object.
const UNKNOWN: Scalar = Object.freeze({
  varOff: tnumUnknown,
  smin: S64_MIN,
  smax: S64_MAX,
  umin: 0n,
  umax: U64_MAX,
  s32min: S32_MIN,
  s32max: S32_MAX,
  u32min: 0,
  u32max: U32_MAX,
});

/** mirrors __mark_reg_known(): a 64-bit constant (taken modulo 2^64). */
export function scalarConst(v: bigint): Scalar {
  // small non-negative values: every view is the same number (no BigInt.asIntN/asUintN)
  if (v >= 0n && v <= S32_MAX_N) return scalarConstU32(Number(v), v);
  const u = u64(v);
  const s = s64(v);
  const l32u = u32n(v);
  const l32s = s32n(v);
  return { varOff: tnumConst(u), smin: s, smax: s, umin: u, umax: u, s32min: l32s, s32max: l32s, u32min: l32u, u32max: l32u };
}

const S32_MAX_N = 0x7fff_ffffn;

/** The constant u32 `n` zero-extended (`big`: BigInt(n) when the caller has it); shared for small values. */
function scalarConstU32(n: number, big?: bigint): Scalar {
  if (n < IMM_BIAS) {
    const hit = IMM_CACHE[n + IMM_BIAS];
    if (hit) return hit;
  }
  const u = big ?? BigInt(n);
  const s: Scalar = { varOff: { value: u, mask: 0n }, smin: u, smax: u, umin: u, umax: u, s32min: n | 0, s32max: n | 0, u32min: n, u32max: n };
  if (n < IMM_BIAS) IMM_CACHE[n + IMM_BIAS] = s;
  return s;
}

// Scalars are immutable: the constants of small immediates are shared.
const IMM_CACHE: (Scalar | undefined)[] = [];
const IMM_BIAS = 1024;

/** scalarConst(BigInt(imm)) for an instruction immediate (sign-extended), shared for small values. */
export function scalarConstImm(imm: number): Scalar {
  const k = imm + IMM_BIAS;
  if (k >= 0 && k < 2 * IMM_BIAS && Number.isInteger(imm)) return (IMM_CACHE[k] ??= scalarConst(BigInt(imm)));
  return scalarConst(BigInt(imm));
}

/** A 32-bit constant zero-extended to 64 bits (what `w0 = imm` produces). */
export function scalarConst32(v: number | bigint): Scalar {
  return scalarConst(BigInt.asUintN(32, BigInt(v)));
}

/** An unsigned range [umin, umax] (u64), synchronised. */
export function scalarRange(umin: bigint, umax: bigint): Scalar {
  if (umin > umax || umin < 0n || umax > U64_MAX) throw new KfError(`scalarRange: bad range [${umin}, ${umax}]`);
  const r = copy(scalarUnknown());
  r.umin = umin;
  r.umax = umax;
  r.varOff = tnumRange(umin, umax);
  syncInPlace(r);
  return r;
}

/** A scalar known only through its tnum, synchronised. */
export function scalarFromTnum(t: Tnum): Scalar {
  const r = copy(scalarUnknown());
  r.varOff = t;
  syncInPlace(r);
  return r;
}

// ------------------------------------------------------------ mark helpers

function markKnown(r: R, v: bigint): void {
  const u = u64(v);
  r.varOff = tnumConst(u);
  r.smin = r.smax = s64(u);
  r.umin = r.umax = u;
  r.s32min = r.s32max = s32n(u);
  r.u32min = r.u32max = u32n(u);
}

// mirrors __mark_reg32_known()
function markKnown32(r: R, v: bigint): void {
  r.varOff = tnumConstSubreg(r.varOff, v);
  r.s32min = r.s32max = s32n(v);
  r.u32min = r.u32max = u32n(v);
}

// mirrors __mark_reg64_unbounded()
function mark64Unbounded(r: R): void {
  r.smin = S64_MIN;
  r.smax = S64_MAX;
  r.umin = 0n;
  r.umax = U64_MAX;
}

// mirrors __mark_reg32_unbounded()
function mark32Unbounded(r: R): void {
  r.s32min = S32_MIN;
  r.s32max = S32_MAX;
  r.u32min = 0;
  r.u32max = U32_MAX;
}

function markUnknown(r: R): void {
  r.varOff = tnumUnknown;
  mark64Unbounded(r);
  mark32Unbounded(r);
}

// ------------------------------------------------------------ synchronisation

// mirrors __update_reg32_bounds()
function updateReg32Bounds(r: R): void {
  const v = Number(r.varOff.value & M32N);
  const m = Number(r.varOff.mask & M32N);
  // min signed is max(sign bit) | min(other bits)
  const sminT = (v | (m & 0x8000_0000)) | 0;
  const smaxT = (v | (m & 0x7fff_ffff)) | 0;
  if (sminT > r.s32min) r.s32min = sminT;
  if (smaxT < r.s32max) r.s32max = smaxT;
  if (v > r.u32min) r.u32min = v;
  const umaxT = (v | m) >>> 0;
  if (umaxT < r.u32max) r.u32max = umaxT;
}

// mirrors __update_reg64_bounds()
function updateReg64Bounds(r: R): void {
  const v = r.varOff.value;
  const m = r.varOff.mask;
  const sminT = s64(v | (m & 0x8000_0000_0000_0000n));
  const smaxT = s64(v | (m & S64_MAX));
  if (sminT > r.smin) r.smin = sminT;
  if (smaxT < r.smax) r.smax = smaxT;
  if (v > r.umin) r.umin = v;
  const umaxT = v | m;
  if (umaxT < r.umax) r.umax = umaxT;
  // the u64 range and the tnum may overlap in a single value
  const next = tnumStep(r.varOff, r.umin);
  const uminIn = (r.umin & ~m) === v;
  if (uminIn && next > r.umax) markKnown(r, r.umin);
  else if (!uminIn && next === umaxT) markKnown(r, umaxT);
  else if (!uminIn && next <= r.umax && tnumStep(r.varOff, next) > r.umax) markKnown(r, next);
}

// mirrors __update_reg_bounds()
function updateRegBounds(r: R): void {
  updateReg32Bounds(r);
  updateReg64Bounds(r);
}

const s32of = (x: number): number => x | 0;
const u32of = (x: number): number => x >>> 0;

// mirrors __reg32_deduce_bounds()
function reg32DeduceBounds(r: R): void {
  const uminHi = r.umin >> 32n;
  const umaxHi = r.umax >> 32n;
  if (uminHi === umaxHi) {
    const lo = u32n(r.umin);
    const hi = u32n(r.umax);
    if (lo > r.u32min) r.u32min = lo;
    if (hi < r.u32max) r.u32max = hi;
    if ((lo | 0) <= (hi | 0)) {
      if ((lo | 0) > r.s32min) r.s32min = lo | 0;
      if ((hi | 0) < r.s32max) r.s32max = hi | 0;
    }
  }
  if (r.smin >> 32n === r.smax >> 32n) {
    const lo = u32n(r.smin);
    const hi = u32n(r.smax);
    if (lo <= hi) {
      if (lo > r.u32min) r.u32min = lo;
      if (hi < r.u32max) r.u32max = hi;
    }
    if ((lo | 0) <= (hi | 0)) {
      if ((lo | 0) > r.s32min) r.s32min = lo | 0;
      if ((hi | 0) < r.s32max) r.s32max = hi | 0;
    }
  }
  // upper halves form two sequential numbers and the low halves a proper
  // s32 range crossing from negative to positive
  if (((Number(uminHi & M32N) + 1) >>> 0) === Number(umaxHi & M32N)) {
    const lo = s32n(r.umin);
    const hi = s32n(r.umax);
    if (lo < 0 && hi >= 0) {
      if (lo > r.s32min) r.s32min = lo;
      if (hi < r.s32max) r.s32max = hi;
    }
  }
  if (((u32n(r.smin >> 32n) + 1) >>> 0) === u32n(r.smax >> 32n)) {
    const lo = s32n(r.smin);
    const hi = s32n(r.smax);
    if (lo < 0 && hi >= 0) {
      if (lo > r.s32min) r.s32min = lo;
      if (hi < r.s32max) r.s32max = hi;
    }
  }
  // u32 range forms a valid s32 range
  if (s32of(r.u32min) <= s32of(r.u32max)) {
    if (s32of(r.u32min) > r.s32min) r.s32min = s32of(r.u32min);
    if (s32of(r.u32max) < r.s32max) r.s32max = s32of(r.u32max);
  }
  // s32 range does not cross the sign boundary: combine with u32
  if (u32of(r.s32min) <= u32of(r.s32max)) {
    if (u32of(r.s32min) > r.u32min) r.u32min = u32of(r.s32min);
    if (u32of(r.s32max) < r.u32max) r.u32max = u32of(r.s32max);
  } else if (r.u32max < u32of(r.s32min)) {
    // the s32 range crosses the sign boundary, the u32 range only meets its low part
    r.s32min = r.u32min | 0;
    r.u32max = Math.min(r.u32max, u32of(r.s32max));
  } else if (u32of(r.s32max) < r.u32min) {
    // ... or only its high (negative) part
    r.s32max = r.u32max | 0;
    r.u32min = Math.max(r.u32min, u32of(r.s32min));
  }
}

// mirrors __reg64_deduce_bounds()
function reg64DeduceBounds(r: R): void {
  if (s64(r.umin) <= s64(r.umax)) {
    r.smin = maxB(r.smin, s64(r.umin));
    r.smax = minB(r.smax, s64(r.umax));
  }
  const usmin = u64(r.smin);
  const usmax = u64(r.smax);
  if (usmin <= usmax) {
    r.umin = maxB(usmin, r.umin);
    r.umax = minB(usmax, r.umax);
  } else {
    // the s64 range crosses the sign boundary; the u64 range may overlap
    // only one end of it
    if (r.umax < usmin) {
      r.smin = s64(r.umin);
      r.umax = minB(r.umax, usmax);
    } else if (usmax < r.umin) {
      r.smax = s64(r.umax);
      r.umin = maxB(r.umin, usmin);
    }
  }
}

// mirrors __reg_deduce_mixed_bounds()
function regDeduceMixedBounds(r: R): void {
  const u32min = BigInt(r.u32min);
  const u32max = BigInt(r.u32max);
  const newUmin = (r.umin & HI32N) | u32min;
  const newUmax = (r.umax & HI32N) | u32max;
  r.umin = maxB(r.umin, newUmin);
  r.umax = minB(r.umax, newUmax);
  const newSmin = s64((u64(r.smin) & HI32N) | u32min);
  const newSmax = s64((u64(r.smax) & HI32N) | u32max);
  r.smin = maxB(r.smin, newSmin);
  r.smax = minB(r.smax, newSmax);
  // after a sign-extending load the upper bits are all 0s or all 1s
  if (r.s32min >= 0 && r.smin >= BigInt(S32_MIN) && r.smax <= BigInt(S32_MAX)) {
    r.smin = BigInt(r.s32min);
    r.smax = BigInt(r.s32max);
    r.umin = BigInt(r.s32min);
    r.umax = BigInt(r.s32max);
    r.varOff = tnumIntersect(r.varOff, tnumRange(r.umin, r.umax));
  }
}

// mirrors __reg_deduce_bounds()
function regDeduceBounds(r: R): void {
  reg32DeduceBounds(r);
  reg64DeduceBounds(r);
  regDeduceMixedBounds(r);
}

// mirrors __reg_bound_offset()
function regBoundOffset(r: R): void {
  const var64 = tnumIntersect(r.varOff, tnumRange(r.umin, r.umax));
  const var32 = tnumIntersect(tnumSubreg(var64), tnumRange(BigInt(r.u32min), BigInt(r.u32max)));
  r.varOff = tnumOr(tnumClearSubreg(var64), var32);
}

// mirrors reg_bounds_sync()
function syncInPlace(r: R): void {
  if (!syncSmallInPlace(r)) syncBigInPlace(r);
}

// reg_bounds_sync() in BigInt arithmetic: the reference for every fast path
function syncBigInPlace(r: R): void {
  updateRegBounds(r);
  // three rounds since 6.17 ("bounds deduction cross sign boundary"): the
  // third lets the 32-bit ranges learn from a 64-bit range the second refined
  regDeduceBounds(r);
  regDeduceBounds(r);
  regDeduceBounds(r);
  regBoundOffset(r);
  updateRegBounds(r);
}

/** mirrors reg_bounds_sync(): __update_reg_bounds, __reg_deduce_bounds (three times), __reg_bound_offset, __update_reg_bounds. */
export function boundsSync(s: Scalar): Scalar {
  const r = copy(s);
  syncInPlace(r);
  return r;
}

/** reg_bounds_sync() without the fast paths (sync-small.ts): the reference the tests compare against. */
export function boundsSyncReference(s: Scalar): Scalar {
  const r = copy(s);
  syncBigInPlace(r);
  return r;
}

/**
 * Are the bounds well formed? mirrors reg_bounds_sanity_check(): each min is
 * at most its max and the tnum agrees with each range.
 */
export function scalarIsWellFormed(s: Scalar): boolean {
  if (s.umin > s.umax || s.smin > s.smax || s.u32min > s.u32max || s.s32min > s.s32max) return false;
  const t = s.varOff;
  if ((t.value & t.mask) !== 0n) return false;
  // var_off must contain a value inside [umin, umax]: its min must not exceed umax, its max not below umin
  if (t.value > s.umax || (t.value | t.mask) < s.umin) return false;
  const v32 = Number(t.value & M32N);
  const vm32 = Number((t.value | t.mask) & M32N);
  if (v32 > s.u32max || vm32 < s.u32min) return false;
  return true;
}

// ------------------------------------------------------------ 32 <-> 64

// mirrors __reg_assign_32_into_64()
function assign32Into64(r: R): void {
  r.umin = BigInt(r.u32min);
  r.umax = BigInt(r.u32max);
  if (r.s32min >= 0 && r.s32max >= 0) {
    r.smin = BigInt(r.s32min);
    r.smax = BigInt(r.s32max);
  } else {
    r.smin = 0n;
    r.smax = BigInt(U32_MAX);
  }
}

// mirrors zext_32_to_64()
function zext32In(r: R): void {
  r.varOff = tnumSubreg(r.varOff);
  assign32Into64(r);
}

/** mirrors zext_32_to_64() followed by reg_bounds_sync(). */
export function scalarZext32(s: Scalar): Scalar {
  const r = copy(s);
  zext32In(r);
  syncInPlace(r);
  return r;
}

/** mirrors coerce_reg_to_size(): a zero-extending load of `sizeBytes` (1, 2, 4 or 8). */
export function scalarTruncate(s: Scalar, sizeBytes: number): Scalar {
  if (sizeBytes === 8) return s;
  if (sizeBytes !== 1 && sizeBytes !== 2 && sizeBytes !== 4) throw new KfError(`scalarTruncate: bad size ${sizeBytes}`);
  const r = copy(s);
  r.varOff = tnumCast(r.varOff, sizeBytes);
  const mask = (1n << BigInt(sizeBytes * 8)) - 1n;
  if ((r.umin & ~mask) === (r.umax & ~mask)) {
    r.umin &= mask;
    r.umax &= mask;
  } else {
    r.umin = 0n;
    r.umax = mask;
  }
  r.smin = r.umin;
  r.smax = r.umax;
  if (sizeBytes < 4) mark32Unbounded(r);
  syncInPlace(r);
  return r;
}

const sextN = (x: bigint, bits: number): bigint => BigInt.asIntN(bits, x);

/**
 * mirrors coerce_reg_to_size_sx(): sign-extend the low `sizeBytes` bytes to 64 bits. No
 * reg_bounds_sync() afterwards (the caller, check_alu_op()/check_mem_access(), does none).
 *
 * As the 6.18.44 kernel on the oracle machine does it: when the 64-bit
 * signed bounds do not give the result (their bits above the extended width
 * differ, or the extended bounds straddle zero), and the source's 32-bit
 * signed bounds lie in the target's signed range (always true for s32), the
 * result is smin/smax = smin32/smax32 with the 32-bit bounds kept and the
 * unsigned bounds and var_off re-derived by reg_bounds_sync(); otherwise
 * set_sext64_default_val(). E.g. s32 [-10, 10] -> (s8) gives
 * smin=smin32=-10,smax=smax32=10 (6.18.0 gave [-128, 127]); s32 [5, 10] ->
 * (s32) gives [5, 10] with umin/umax and var_off=(0x0; 0xf).
 * Established by probing the running kernel (test/verifier/num/sext-kernel.test.ts);
 * no upstream or stable patch text for it was found. coerce_subreg_to_size_sx()
 * (the 32-bit movsx) is unchanged there.
 */
export function scalarSext(s: Scalar, sizeBytes: 1 | 2 | 4): Scalar {
  if (sizeBytes !== 1 && sizeBytes !== 2 && sizeBytes !== 4) throw new KfError(`scalarSext: bad size ${String(sizeBytes)}`);
  const r = copy(s);
  const bits = sizeBytes * 8;
  if (tnumIsConst(r.varOff)) {
    markKnown(r, sextN(r.varOff.value, bits));
    return r;
  }
  const nb = BigInt(bits);
  const topMax = (u64(r.smax) >> nb) << nb;
  const topMin = (u64(r.smin) >> nb) << nb;
  if (topMax === topMin) {
    const a = sextN(r.smax, bits);
    const b = sextN(r.smin, bits);
    const mx = maxB(a, b);
    const mn = minB(a, b);
    if (mx >= 0n === mn >= 0n) {
      r.smin = mn;
      r.smax = mx;
      r.s32min = Number(mn);
      r.s32max = Number(mx);
      r.umin = u64(mn);
      r.umax = u64(mx);
      r.u32min = u32n(mn);
      r.u32max = u32n(mx);
      r.varOff = tnumRange(u64(mn), u64(mx));
      return r;
    }
  }
  const lo = -(1n << (nb - 1n));
  const hi = (1n << (nb - 1n)) - 1n;
  // the source's 32-bit signed bounds already lie in the target's signed
  // range, so sign extension keeps each such value as it is: the 64-bit
  // signed bounds become the 32-bit ones, the 32-bit bounds stay, the rest
  // is re-derived (reg_bounds_sync())
  if (BigInt(r.s32min) >= lo && BigInt(r.s32max) <= hi) {
    r.smin = BigInt(r.s32min);
    r.smax = BigInt(r.s32max);
    r.umin = 0n;
    r.umax = U64_MAX;
    r.varOff = tnumUnknown;
    syncInPlace(r);
    return r;
  }
  setSext64In(r, lo, hi);
  return r;
}

// mirrors set_sext64_default_val() (with the signed bounds as parameters)
function setSext64In(r: R, lo: bigint, hi: bigint): void {
  r.smin = lo;
  r.smax = hi;
  r.s32min = Number(lo);
  r.s32max = Number(hi);
  r.umin = 0n;
  r.umax = U64_MAX;
  r.u32min = 0;
  r.u32max = U32_MAX;
  r.varOff = tnumUnknown;
}

// mirrors coerce_subreg_to_size_sx(): sign-extend the low bytes within the 32-bit subregister
function subregSextIn(r: R, sizeBytes: 1 | 2): void {
  const bits = sizeBytes * 8;
  if (tnumIsConst(r.varOff)) {
    const v = sextN(r.varOff.value, bits);
    r.varOff = tnumConst(u64(v));
    r.s32min = r.s32max = s32n(v);
    r.u32min = r.u32max = u32n(v);
    return;
  }
  const topMax = ((r.s32max >>> 0) >>> bits) << bits;
  const topMin = ((r.s32min >>> 0) >>> bits) << bits;
  if (topMax === topMin) {
    const shift = 32 - bits;
    const a = (r.s32max << shift) >> shift;
    const b = (r.s32min << shift) >> shift;
    const mx = Math.max(a, b);
    const mn = Math.min(a, b);
    if (mn >= 0 === mx >= 0) {
      r.s32min = mn;
      r.s32max = mx;
      r.u32min = mn >>> 0;
      r.u32max = mx >>> 0;
      r.varOff = tnumSubreg(tnumRange(u64(BigInt(mn)), u64(BigInt(mx))));
      return;
    }
  }
  // mirrors set_sext32_default_val()
  r.s32min = sizeBytes === 1 ? -128 : -32768;
  r.s32max = sizeBytes === 1 ? 127 : 32767;
  r.u32min = 0;
  r.u32max = U32_MAX;
  r.varOff = tnumSubreg(tnumUnknown);
}

/**
 * The movsx instruction (`r1 = (s8)r2`, `w1 = (s16)w2`): mirrors the
 * BPF_MOV/off!=0 path of check_alu_op(). For 64-bit: coerce_reg_to_size_sx;
 * for 32-bit: coerce_subreg_to_size_sx, zext_32_to_64, reg_bounds_sync.
 */
export function scalarMovsx(src: Scalar, fromBits: 8 | 16 | 32, is64: boolean): Scalar {
  if (fromBits !== 8 && fromBits !== 16 && fromBits !== 32) throw new KfError(`movsx: bad source width ${String(fromBits)}`);
  if (is64) return scalarSext(src, (fromBits / 8) as 1 | 2 | 4);
  if (fromBits === 32) throw new KfError('movsx: 32-bit movsx from 32 bits is not a valid instruction');
  const r = copy(src);
  subregSextIn(r, (fromBits / 8) as 1 | 2);
  zext32In(r);
  syncInPlace(r);
  return r;
}

function bswapBits(x: bigint, bytes: number): bigint {
  let r = 0n;
  for (let i = 0; i < bytes; i++) r = (r << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
  return r;
}

/** tnum of a byte swap of the low `bits` bits (upper bits become known zero). */
export function tnumBswap(t: Tnum, bits: 16 | 32 | 64): Tnum {
  const n = bits / 8;
  return { value: bswapBits(t.value, n), mask: bswapBits(t.mask, n) };
}

function fromTnumIn(r: R, t: Tnum): void {
  markUnknown(r);
  r.varOff = t;
  syncInPlace(r);
}

/**
 * The unconditional byte swap (ALU64 BPF_END, `r1 = bswap16 r1`): the 6.18
 * verifier swaps the tnum, forgets the ranges and re-derives them from the
 * tnum (reg_bounds_sync()).
 */
export function scalarBswap(src: Scalar, bits: 16 | 32 | 64): Scalar {
  if (bits !== 16 && bits !== 32 && bits !== 64) throw new KfError(`bswap: bad width ${String(bits)}`);
  const r = copy(src);
  fromTnumIn(r, tnumBswap(src.varOff, bits));
  return r;
}

/**
 * `r1 = le16 r1` / `r1 = be32 r1` (ALU BPF_END) on a little-endian machine:
 * to_be swaps like scalarBswap, to_le truncates like coerce_reg_to_size()
 * (le64 is a no-op).
 */
export function scalarEndian(src: Scalar, bits: 16 | 32 | 64, toBe: boolean): Scalar {
  if (bits !== 16 && bits !== 32 && bits !== 64) throw new KfError(`endian: bad width ${String(bits)}`);
  if (toBe) return scalarBswap(src, bits);
  return scalarTruncate(src, bits / 8);
}

// ------------------------------------------------------------ ALU

/**
 * mirrors is_safe_to_compute_dst_reg_range(): add/sub/neg/and/xor/or/mul
 * always; shifts only by a constant below the operation width; div/mod
 * never (the result is unknown).
 */
function safeToCompute(op: AluOp, is64: boolean, src: Scalar): boolean {
  switch (op) {
    case 'add': case 'sub': case 'neg': case 'and': case 'xor': case 'or': case 'mul':
      return true;
    case 'lsh': case 'rsh': case 'arsh': {
      if (is64) {
        const c = tnumIsConst(src.varOff) && src.smin === src.smax && src.umin === src.umax;
        return c && src.umax < 64n;
      }
      const c = (src.varOff.mask & M32N) === 0n && src.s32min === src.s32max && src.u32min === src.u32max;
      // the kernel compares the 64-bit umax here, even for 32-bit shifts
      return c && src.umax < 32n;
    }
    default:
      return false;
  }
}

// ---- add / sub (mirror scalar{,32}_min_max_add/sub with check_*_overflow)

function add32(d: R, s: Scalar): void {
  const smin = d.s32min + s.s32min;
  const smax = d.s32max + s.s32max;
  if (smin < S32_MIN || smin > S32_MAX || smax < S32_MIN || smax > S32_MAX) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = smin;
    d.s32max = smax;
  }
  const umin = d.u32min + s.u32min;
  const umax = d.u32max + s.u32max;
  const minOv = umin > U32_MAX;
  const maxOv = umax > U32_MAX;
  d.u32min = umin >>> 0;
  d.u32max = umax >>> 0;
  if (!minOv && maxOv) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  }
}

function add64(d: R, s: Scalar): void {
  const smin = d.smin + s.smin;
  const smax = d.smax + s.smax;
  if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin = smin;
    d.smax = smax;
  }
  const umin = d.umin + s.umin;
  const umax = d.umax + s.umax;
  const minOv = umin > U64_MAX;
  const maxOv = umax > U64_MAX;
  d.umin = u64(umin);
  d.umax = u64(umax);
  if (!minOv && maxOv) {
    d.umin = 0n;
    d.umax = U64_MAX;
  }
}

function sub32(d: R, s: Scalar): void {
  const smin = d.s32min - s.s32max;
  const smax = d.s32max - s.s32min;
  if (smin < S32_MIN || smin > S32_MAX || smax < S32_MIN || smax > S32_MAX) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = smin;
    d.s32max = smax;
  }
  const umin = d.u32min - s.u32max;
  const umax = d.u32max - s.u32min;
  const minUf = umin < 0;
  const maxUf = umax < 0;
  d.u32min = umin >>> 0;
  d.u32max = umax >>> 0;
  if (minUf && !maxUf) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  }
}

function sub64(d: R, s: Scalar): void {
  const smin = d.smin - s.smax;
  const smax = d.smax - s.smin;
  if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin = smin;
    d.smax = smax;
  }
  const umin = d.umin - s.umax;
  const umax = d.umax - s.umin;
  const minUf = umin < 0n;
  const maxUf = umax < 0n;
  d.umin = u64(umin);
  d.umax = u64(umax);
  if (minUf && !maxUf) {
    d.umin = 0n;
    d.umax = U64_MAX;
  }
}

// ---- mul (mirror scalar{,32}_min_max_mul, 6.18)

function mul32(d: R, s: Scalar): void {
  const umax = d.u32max * s.u32max; // exact in a double: < 2^64, compared below 2^32
  const umin = d.u32min * s.u32min;
  if (umax > U32_MAX || umin > U32_MAX) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = umin;
    d.u32max = umax;
  }
  const p0 = d.s32min * s.s32min;
  const p1 = d.s32min * s.s32max;
  const p2 = d.s32max * s.s32min;
  const p3 = d.s32max * s.s32max;
  const ov = (p: number): boolean => p < S32_MIN || p > S32_MAX;
  if (ov(p0) || ov(p1) || ov(p2) || ov(p3)) {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  } else {
    d.s32min = Math.min(p0, p1, p2, p3);
    d.s32max = Math.max(p0, p1, p2, p3);
  }
}

function mul64(d: R, s: Scalar): void {
  const umax = d.umax * s.umax;
  const umin = d.umin * s.umin;
  if (umax > U64_MAX || umin > U64_MAX) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin = umin;
    d.umax = umax;
  }
  const p0 = d.smin * s.smin;
  const p1 = d.smin * s.smax;
  const p2 = d.smax * s.smin;
  const p3 = d.smax * s.smax;
  const ov = (p: bigint): boolean => p < S64_MIN || p > S64_MAX;
  if (ov(p0) || ov(p1) || ov(p2) || ov(p3)) {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  } else {
    d.smin = minB(minB(p0, p1), minB(p2, p3));
    d.smax = maxB(maxB(p0, p1), maxB(p2, p3));
  }
}

// ---- and / or / xor (dst.varOff already holds the result tnum)

function s32FromU32(d: R): void {
  if ((d.u32min | 0) <= (d.u32max | 0)) {
    d.s32min = d.u32min | 0;
    d.s32max = d.u32max | 0;
  } else {
    d.s32min = S32_MIN;
    d.s32max = S32_MAX;
  }
}
function s64FromU64(d: R): void {
  if (s64(d.umin) <= s64(d.umax)) {
    d.smin = s64(d.umin);
    d.smax = s64(d.umax);
  } else {
    d.smin = S64_MIN;
    d.smax = S64_MAX;
  }
}

function bit32(op: 'and' | 'or' | 'xor', d: R, s: Scalar): void {
  const srcKnown = (s.varOff.mask & M32N) === 0n;
  const dstKnown = (d.varOff.mask & M32N) === 0n;
  const v = Number(d.varOff.value & M32N);
  const m = Number(d.varOff.mask & M32N);
  if (srcKnown && dstKnown) {
    markKnown32(d, BigInt(v));
    return;
  }
  if (op === 'and') {
    d.u32min = v;
    d.u32max = Math.min(d.u32max, s.u32max);
  } else if (op === 'or') {
    d.u32min = Math.max(d.u32min, s.u32min);
    d.u32max = (v | m) >>> 0;
  } else {
    d.u32min = v;
    d.u32max = (v | m) >>> 0;
  }
  s32FromU32(d);
}

function bit64(op: 'and' | 'or' | 'xor', d: R, s: Scalar): void {
  const srcKnown = s.varOff.mask === 0n;
  const dstKnown = d.varOff.mask === 0n;
  const v = d.varOff.value;
  if (srcKnown && dstKnown) {
    markKnown(d, v);
    return;
  }
  if (op === 'and') {
    d.umin = v;
    d.umax = minB(d.umax, s.umax);
  } else if (op === 'or') {
    d.umin = maxB(d.umin, s.umin);
    d.umax = v | d.varOff.mask;
  } else {
    d.umin = v;
    d.umax = v | d.varOff.mask;
  }
  s64FromU64(d);
  updateRegBounds(d);
}

// ---- shifts

// mirrors __scalar32_min_max_lsh()
function lsh32Bounds(d: R, uminVal: bigint, umaxVal: bigint): void {
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  if (umaxVal > 31n || BigInt(d.u32max) > 1n << (31n - umaxVal)) {
    d.u32min = 0;
    d.u32max = U32_MAX;
  } else {
    d.u32min = u32n(BigInt(d.u32min) << uminVal);
    d.u32max = u32n(BigInt(d.u32max) << umaxVal);
  }
}

// mirrors scalar32_min_max_lsh()
function lsh32(d: R, s: Scalar): void {
  const umin = BigInt(s.u32min);
  const umax = BigInt(s.u32max);
  const sub = tnumSubreg(d.varOff);
  lsh32Bounds(d, umin, umax);
  d.varOff = tnumSubreg(tnumLshift(sub, Number(umin)));
  mark64Unbounded(d);
  updateReg32Bounds(d);
}

// mirrors scalar_min_max_lsh() / __scalar64_min_max_lsh()
function lsh64(d: R, s: Scalar): void {
  const umin = s.umin;
  const umax = s.umax;
  // shifting by exactly 32 (the <<32 s>>32 sign-extension idiom): the s64
  // range is the s32 range times 2^32 (6.18 keeps negative bounds too)
  if (umin === 32n && umax === 32n) {
    d.smax = BigInt(d.s32max) << 32n;
    d.smin = BigInt(d.s32min) << 32n;
  } else {
    d.smax = S64_MAX;
    d.smin = S64_MIN;
  }
  if (d.umax > 1n << (63n - umax)) {
    d.umin = 0n;
    d.umax = U64_MAX;
  } else {
    d.umin = u64(d.umin << umin);
    d.umax = u64(d.umax << umax);
  }
  lsh32Bounds(d, umin, umax);
  d.varOff = tnumLshift(d.varOff, Number(umin));
  updateRegBounds(d);
}

// mirrors scalar32_min_max_rsh()
function rsh32(d: R, s: Scalar): void {
  const sub = tnumSubreg(d.varOff);
  const umax = s.u32max;
  const umin = s.u32min;
  d.s32min = S32_MIN;
  d.s32max = S32_MAX;
  d.varOff = tnumRshift(sub, umin);
  d.u32min = d.u32min >>> umax;
  d.u32max = d.u32max >>> umin;
  mark64Unbounded(d);
  updateReg32Bounds(d);
}

// mirrors scalar_min_max_rsh()
function rsh64(d: R, s: Scalar): void {
  d.smin = S64_MIN;
  d.smax = S64_MAX;
  d.varOff = tnumRshift(d.varOff, Number(s.umin));
  d.umin >>= s.umax;
  d.umax >>= s.umin;
  mark32Unbounded(d);
  updateRegBounds(d);
}

// mirrors scalar32_min_max_arsh()
function arsh32(d: R, s: Scalar): void {
  const sh = s.u32min;
  d.s32min = d.s32min >> sh;
  d.s32max = d.s32max >> sh;
  d.varOff = tnumArshift(tnumSubreg(d.varOff), sh, 32);
  d.u32min = 0;
  d.u32max = U32_MAX;
  mark64Unbounded(d);
  updateReg32Bounds(d);
}

// mirrors scalar_min_max_arsh()
function arsh64(d: R, s: Scalar): void {
  const sh = s.umin;
  d.smin >>= sh;
  d.smax >>= sh;
  d.varOff = tnumArshift(d.varOff, Number(sh), 64);
  d.umin = 0n;
  d.umax = U64_MAX;
  mark32Unbounded(d);
  updateRegBounds(d);
}

const ALU_OPS: ReadonlySet<string> = new Set([
  'add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'mov', 'neg',
]);

/**
 * mirrors adjust_scalar_min_max_vals() for two scalars (and the scalar
 * BPF_MOV of check_alu_op()). `src` for an immediate operand is
 * scalarConst(BigInt(imm)) (imm sign-extended to 64 bits, as the kernel's
 * __mark_reg_known(&off_reg, insn->imm) does, for ALU and ALU64 alike).
 * For 'neg' `src` is ignored. 32-bit results are zero-extended into 64 bits.
 * Where the kernel gives up (div/mod, shifts by a non-constant or too large
 * amount) the result is a completely unknown scalar.
 */
export function scalarAlu(op: AluOp, is64: boolean, dst: Scalar, src: Scalar): Scalar {
  // both operands exact constants: the result is the constant (see constAlu)
  if (dst.varOff.mask === 0n && (op === 'neg' || src.varOff.mask === 0n)) {
    const c = constAlu(op, is64, dst, src);
    if (c !== null) return c;
  }
  return scalarAluReference(op, is64, dst, src);
}

const TWO64 = 0x1_0000_0000_0000_0000n;

/** Is `s` exactly one value, every range a singleton agreeing with the tnum (what scalarConst() builds)? */
function exactConst(s: Scalar): boolean {
  const v = s.varOff.value;
  if (s.varOff.mask !== 0n || s.umin !== v || s.umax !== v || s.smin !== s.smax || s.u32min !== s.u32max || s.s32min !== s.s32max) return false;
  if (v <= S64_MAX ? s.smin !== v : s.smin !== v - TWO64) return false;
  const lo = v <= M32N ? Number(v) : Number(v & M32N);
  return s.u32min === lo && s.s32min === (lo | 0);
}

/**
 * Fast path of scalarAlu() for two exact constants (what the kernel's
 * adjust_scalar_min_max_vals() computes then): each bounds function is sound,
 * so every range of the result contains the concrete result, the result tnum
 * is that constant, and reg_bounds_sync() narrows every range to it. The
 * result is therefore scalarConst() of the concrete C result; null when the
 * operation is not computed (div/mod, out-of-range shifts: safeToCompute())
 * or an operand is not exact. The property tests compare it with
 * scalarAluReference().
 */
function constAlu(op: AluOp, is64: boolean, dst: Scalar, src: Scalar): Scalar | null {
  if (!exactConst(dst) || (op !== 'neg' && !exactConst(src))) return null;
  if (!is64) {
    const a = dst.u32min;
    const b = src.u32min;
    let r: number;
    switch (op) {
      case 'add': r = (a + b) >>> 0; break;
      case 'sub': r = (a - b) >>> 0; break;
      case 'mul': r = Math.imul(a, b) >>> 0; break;
      case 'and': r = (a & b) >>> 0; break;
      case 'or': r = (a | b) >>> 0; break;
      case 'xor': r = (a ^ b) >>> 0; break;
      case 'neg': r = -a >>> 0; break;
      // safeToCompute(): the 64-bit shift amount below 32
      case 'lsh': if (src.umax >= 32n) return null; r = (a << b) >>> 0; break;
      case 'rsh': if (src.umax >= 32n) return null; r = a >>> b; break;
      case 'arsh': if (src.umax >= 32n) return null; r = (a >> b) >>> 0; break;
      default: return null;
    }
    return scalarConstU32(r);
  }
  const a = dst.umin;
  const b = src.umin;
  let r: bigint;
  switch (op) {
    case 'add': r = u64(a + b); break;
    case 'sub': r = u64(a - b); break;
    case 'mul': r = u64(a * b); break;
    case 'and': r = a & b; break;
    case 'or': r = a | b; break;
    case 'xor': r = a ^ b; break;
    case 'neg': r = u64(-a); break;
    case 'lsh': if (b >= 64n) return null; r = u64(a << b); break;
    case 'rsh': if (b >= 64n) return null; r = a >> b; break;
    case 'arsh': if (b >= 64n) return null; r = u64(s64(a) >> b); break;
    default: return null;
  }
  return scalarConst(r);
}

/** scalarAlu() without the constant fast path: the reference the tests compare against. */
export function scalarAluReference(op: AluOp, is64: boolean, dst: Scalar, src: Scalar): Scalar {
  if (!ALU_OPS.has(op)) throw new KfError(`scalarAlu: unknown operation ${String(op)}`);
  if (op === 'mov') {
    if (is64) return src;
    const r = copy(src);
    zext32In(r);
    syncInPlace(r);
    return r;
  }
  const d = copy(dst);
  if (!safeToCompute(op, is64, src)) {
    markUnknown(d);
    return d;
  }
  const alu32 = !is64;
  switch (op) {
    case 'add':
      add32(d, src);
      add64(d, src);
      d.varOff = tnumAdd(d.varOff, src.varOff);
      break;
    case 'sub':
      sub32(d, src);
      sub64(d, src);
      d.varOff = tnumSub(d.varOff, src.varOff);
      break;
    case 'neg': {
      const fake = dst;
      markKnown(d, 0n);
      sub32(d, fake);
      sub64(d, fake);
      d.varOff = tnumNeg(fake.varOff);
      break;
    }
    case 'mul':
      d.varOff = tnumMul(d.varOff, src.varOff);
      mul32(d, src);
      mul64(d, src);
      break;
    case 'and':
      d.varOff = tnumAnd(d.varOff, src.varOff);
      bit32('and', d, src);
      bit64('and', d, src);
      break;
    case 'or':
      d.varOff = tnumOr(d.varOff, src.varOff);
      bit32('or', d, src);
      bit64('or', d, src);
      break;
    case 'xor':
      d.varOff = tnumXor(d.varOff, src.varOff);
      bit32('xor', d, src);
      bit64('xor', d, src);
      break;
    case 'lsh':
      if (alu32) lsh32(d, src);
      else lsh64(d, src);
      break;
    case 'rsh':
      if (alu32) rsh32(d, src);
      else rsh64(d, src);
      break;
    case 'arsh':
      if (alu32) arsh32(d, src);
      else arsh64(d, src);
      break;
    default:
      break;
  }
  if (alu32) zext32In(d);
  syncInPlace(d);
  return d;
}

// ------------------------------------------------------------ queries

/** tnum_is_const() of the scalar's var_off. */
export function scalarIsConst(s: Scalar, is32 = false): boolean {
  return is32 ? (s.varOff.mask & M32N) === 0n : s.varOff.mask === 0n;
}

/** The constant (u64, or u32 as a bigint when is32); throws KfError when not constant. */
export function scalarConstValue(s: Scalar, is32 = false): bigint {
  if (!scalarIsConst(s, is32)) throw new KfError(`scalar is not a constant: ${formatScalar(s)}`);
  return is32 ? s.varOff.value & M32N : s.varOff.value;
}

/** mirrors range_within(): every range of cur inside the same range of old. */
export function rangeWithin(old: Scalar, cur: Scalar): boolean {
  return (
    old.umin <= cur.umin &&
    old.umax >= cur.umax &&
    old.smin <= cur.smin &&
    old.smax >= cur.smax &&
    old.u32min <= cur.u32min &&
    old.u32max >= cur.u32max &&
    old.s32min <= cur.s32min &&
    old.s32max >= cur.s32max
  );
}

/** range_within(old, cur) && tnum_in(old.var_off, cur.var_off): cur's values are all old's. */
export function scalarWithin(old: Scalar, cur: Scalar): boolean {
  return rangeWithin(old, cur) && tnumIn(old.varOff, cur.varOff);
}

/** All nine fields equal (regs_exact() for the numeric part). */
export function scalarEquals(a: Scalar, b: Scalar): boolean {
  return (
    tnumEquals(a.varOff, b.varOff) &&
    a.smin === b.smin &&
    a.smax === b.smax &&
    a.umin === b.umin &&
    a.umax === b.umax &&
    a.s32min === b.s32min &&
    a.s32max === b.s32max &&
    a.u32min === b.u32min &&
    a.u32max === b.u32max
  );
}

/**
 * mirrors regsafe() for two precise SCALAR_VALUEs: with `exact`, regs_exact();
 * otherwise range_within() && tnum_in(). Precision marks and ids are the
 * caller's business (an imprecise old scalar matches anything in the kernel).
 */
export function scalarsEqualForPruning(old: Scalar, cur: Scalar, exact = false): boolean {
  return exact ? scalarEquals(old, cur) : scalarWithin(old, cur);
}

/** Is the concrete u64 value x a member of s (all eight ranges and the tnum)? */
export function scalarContains(s: Scalar, x: bigint): boolean {
  const u = u64(x);
  const sv = s64(u);
  const l = u32n(u);
  const ls = l | 0;
  return (
    (u & ~s.varOff.mask) === s.varOff.value &&
    u >= s.umin && u <= s.umax &&
    sv >= s.smin && sv <= s.smax &&
    l >= s.u32min && l <= s.u32max &&
    ls >= s.s32min && ls <= s.s32max
  );
}

// ------------------------------------------------------------ branches
export { isBranchTaken, refineBranch, refineBranchKernel, boundsSanityMessage, type KernelRefinement } from './branch.js';

// ------------------------------------------------------------ log format
import { formatScalar } from './format.js';
export { formatScalar, formatScalarRanges, type ScalarFormatExtra } from './format.js';

/** Internal: a mutable working copy (for branch.ts). */
export function mutableCopy(s: Scalar): MutableScalar {
  return copy(s);
}
/** Internal: reg_bounds_sync() in place (for branch.ts). */
export function syncMutable(r: MutableScalar): void {
  syncInPlace(r);
}
