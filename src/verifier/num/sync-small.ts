// Fast path of reg_bounds_sync() for the common case where every 64-bit part
// of a scalar lies in [0, 2^32): umin, umax, smin, smax and the tnum's value
// and mask. Then the upper halves are all zero, every 64-bit quantity is an
// exact double, and the kernel's sync (scalar.ts: syncInPlace) reduces to the
// steps below on plain numbers, without a single BigInt allocation.
//
// Every step mirrors the same-named function of scalar.ts specialised to zero
// upper halves; the fast path bails out (returns false, nothing written)
// whenever a step would leave that domain, so the BigInt code stays the
// reference. The numeric property tests and the kernel differential test
// cover both paths.

import type { MutableScalar } from './scalar.js';
import type { Tnum } from './tnum.js';

const TWO32N = 0x1_0000_0000n;

/** Small u64 values as shared bigints: converting back costs no allocation. */
const SMALL: bigint[] = Array.from({ length: 1024 }, (_, i) => BigInt(i));
const big = (n: number): bigint => (n < 1024 ? SMALL[n] : BigInt(n));

// The working registers (module scratch: no allocation per call).
let umin = 0, umax = 0, smin = 0, smax = 0, v = 0, m = 0;
let s32min = 0, s32max = 0, u32min = 0, u32max = 0;
// tnum scratch for tnum_range / tnum_intersect results
let tv = 0, tm = 0;

const fls32 = (x: number): number => (x === 0 ? 0 : 32 - Math.clz32(x));

// mirrors __mark_reg_known() within the domain
function markKnown(x: number): void {
  v = x;
  m = 0;
  smin = smax = umin = umax = x;
  s32min = s32max = x | 0;
  u32min = u32max = x;
}

// mirrors tnum_step() (tnum.ts: tnumStep) for a tnum below 2^32
function step(z: number): number {
  const tmax = (v | m) >>> 0;
  if (z >= tmax) return tmax;
  if (z < v) return v;
  const d = z - v;
  const carry = 2 ** fls32((d & ~m) >>> 0) - 1;
  const filled = (d | carry | ~m) >>> 0;
  const inc = ((filled + 1) & m) >>> 0;
  return (v | inc) >>> 0;
}

// mirrors tnum_range() into (tv, tm)
function range(lo: number, hi: number): void {
  const delta = 2 ** fls32((lo ^ hi) >>> 0) - 1;
  tv = (lo & ~delta) >>> 0;
  tm = delta;
}

// (v, m) = tnum_intersect((v, m), (tv, tm))
function intersectInto(): void {
  const val = (v | tv) >>> 0;
  const mu = (m & tm) >>> 0;
  v = (val & ~mu) >>> 0;
  m = mu;
}

// mirrors __update_reg32_bounds()
function updateReg32Bounds(): void {
  const sminT = v | (m & 0x8000_0000);
  const smaxT = v | (m & 0x7fff_ffff);
  if (sminT > s32min) s32min = sminT;
  if (smaxT < s32max) s32max = smaxT;
  if (v > u32min) u32min = v;
  const umaxT = (v | m) >>> 0;
  if (umaxT < u32max) u32max = umaxT;
}

// mirrors __update_reg64_bounds(): smin/umin from the value, smax/umax from value|mask
function updateReg64Bounds(): void {
  const vm = (v | m) >>> 0;
  if (v > smin) smin = v;
  if (vm < smax) smax = vm;
  if (v > umin) umin = v;
  if (vm < umax) umax = vm;
  const next = step(umin);
  const uminIn = ((umin & ~m) >>> 0) === v;
  if (uminIn && next > umax) markKnown(umin);
  else if (!uminIn && next === vm) markKnown(vm);
  else if (!uminIn && next <= umax && step(next) > umax) markKnown(next);
}

function updateRegBounds(): void {
  updateReg32Bounds();
  updateReg64Bounds();
}

// mirrors __reg32_deduce_bounds() with zero upper halves
function reg32DeduceBounds(): void {
  // umin and umax share their (zero) upper half
  if (umin > u32min) u32min = umin;
  if (umax < u32max) u32max = umax;
  if ((umin | 0) <= (umax | 0)) {
    if ((umin | 0) > s32min) s32min = umin | 0;
    if ((umax | 0) < s32max) s32max = umax | 0;
  }
  // so do smin and smax
  if (smin <= smax) {
    if (smin > u32min) u32min = smin;
    if (smax < u32max) u32max = smax;
  }
  if ((smin | 0) <= (smax | 0)) {
    if ((smin | 0) > s32min) s32min = smin | 0;
    if ((smax | 0) < s32max) s32max = smax | 0;
  }
  // (the "sequential upper halves" cases cannot apply: both halves are 0)
  if ((u32min | 0) <= (u32max | 0)) {
    if ((u32min | 0) > s32min) s32min = u32min | 0;
    if ((u32max | 0) < s32max) s32max = u32max | 0;
  }
  if (s32min >>> 0 <= s32max >>> 0) {
    if (s32min >>> 0 > u32min) u32min = s32min >>> 0;
    if (s32max >>> 0 < u32max) u32max = s32max >>> 0;
  } else if (u32max < s32min >>> 0) {
    s32min = u32min | 0;
    u32max = Math.min(u32max, s32max >>> 0);
  } else if (s32max >>> 0 < u32min) {
    s32max = u32max | 0;
    u32min = Math.max(u32min, s32min >>> 0);
  }
}

// mirrors __reg64_deduce_bounds(): all values are non-negative as s64 too
function reg64DeduceBounds(): void {
  if (umin <= umax) {
    if (umin > smin) smin = umin;
    if (umax < smax) smax = umax;
  }
  if (smin <= smax) {
    if (smin > umin) umin = smin;
    if (smax < umax) umax = smax;
  } else if (umax < smin) {
    smin = umin;
    if (smax < umax) umax = smax;
  } else if (smax < umin) {
    smax = umax;
    if (smin > umin) umin = smin;
  }
}

// mirrors __reg_deduce_mixed_bounds(); false when it would leave the domain
function regDeduceMixedBounds(): boolean {
  if (u32min > umin) umin = u32min;
  if (u32max < umax) umax = u32max;
  if (u32min > smin) smin = u32min;
  if (u32max < smax) smax = u32max;
  if (s32min >= 0 && smax <= 0x7fff_ffff) {
    if (s32max < 0) return false;
    smin = umin = s32min;
    smax = umax = s32max;
    range(umin, umax);
    intersectInto();
  }
  return true;
}

function regDeduceBounds(): boolean {
  reg32DeduceBounds();
  reg64DeduceBounds();
  return regDeduceMixedBounds();
}

// mirrors __reg_bound_offset(): the upper half of var64 is zero, so the result is var32
function regBoundOffset(): void {
  range(umin, umax);
  intersectInto();
  range(u32min, u32max);
  intersectInto();
}

/**
 * reg_bounds_sync() in place when every 64-bit part of `r` is below 2^32 and
 * non-negative as s64; false (r untouched) when the fast path does not apply.
 */
export function syncSmallInPlace(r: MutableScalar): boolean {
  const t = r.varOff;
  if (r.smin < 0n || r.smin >= TWO32N || r.smax < 0n || r.smax >= TWO32N || r.umin >= TWO32N || r.umax >= TWO32N || t.value >= TWO32N || t.mask >= TWO32N) return false;
  const umin0 = Number(r.umin), umax0 = Number(r.umax), smin0 = Number(r.smin), smax0 = Number(r.smax);
  const v0 = Number(t.value), m0 = Number(t.mask);
  umin = umin0; umax = umax0; smin = smin0; smax = smax0; v = v0; m = m0;
  s32min = r.s32min; s32max = r.s32max; u32min = r.u32min; u32max = r.u32max;
  updateRegBounds();
  if (!regDeduceBounds() || !regDeduceBounds() || !regDeduceBounds()) return false;
  regBoundOffset();
  updateRegBounds();
  if (umin !== umin0) r.umin = big(umin);
  if (umax !== umax0) r.umax = big(umax);
  if (smin !== smin0) r.smin = big(smin);
  if (smax !== smax0) r.smax = big(smax);
  if (v !== v0 || m !== m0) r.varOff = { value: big(v), mask: big(m) } satisfies Tnum;
  r.s32min = s32min;
  r.s32max = s32max;
  r.u32min = u32min;
  r.u32max = u32max;
  return true;
}
