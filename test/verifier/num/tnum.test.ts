// tnum: soundness of every operation and the kernel's textual forms.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  type Tnum, tnum, tnumConst, tnumRange, tnumAdd, tnumSub, tnumMul, tnumAnd, tnumOr, tnumXor, tnumNeg,
  tnumLshift, tnumRshift, tnumArshift, tnumUnion, tnumIntersect, tnumCast, tnumIn, tnumContains, tnumStep,
  tnumOverlap, tnumSbin, tnumStr, tnumSubreg, tnumClearSubreg, tnumWithSubreg, tnumConstSubreg, tnumIsAligned,
  tnumUnknown, tnumIsConst, tnumIsUnknown, tnumEqualsConst, tnumBswap,
} from '../../../src/verifier/num/index.js';
import { KfError } from '../../../src/util/errors.js';
import { arbU64, u64 } from './concrete.js';

const M64 = (1n << 64n) - 1n;
/** A tnum with a member x. */
const arbT = fc.tuple(arbU64, fc.oneof(arbU64, fc.constant(0n), fc.tuple(arbU64, arbU64).map(([a, b]) => a & b))).map(([x, m]) => ({ t: tnum(x & ~m, m), x }));

const bin: [string, (a: Tnum, b: Tnum) => Tnum, (x: bigint, y: bigint) => bigint][] = [
  ['add', tnumAdd, (x, y) => u64(x + y)],
  ['sub', tnumSub, (x, y) => u64(x - y)],
  ['mul', tnumMul, (x, y) => u64(x * y)],
  ['and', tnumAnd, (x, y) => x & y],
  ['or', tnumOr, (x, y) => x | y],
  ['xor', tnumXor, (x, y) => x ^ y],
  ['union(x)', tnumUnion, (x) => x],
  ['union(y)', tnumUnion, (_x, y) => y],
];

describe('tnum soundness', () => {
  for (const [name, f, c] of bin) {
    it(name, () => {
      fc.assert(fc.property(arbT, arbT, (a, b) => {
        const r = f(a.t, b.t);
        expect(r.value & r.mask).toBe(0n);
        expect(tnumContains(r, c(a.x, b.x))).toBe(true);
      }), { numRuns: 1000 });
    });
  }
  it('neg, shifts, cast, subreg ops, bswap', () => {
    fc.assert(fc.property(arbT, arbT, fc.integer({ min: 0, max: 63 }), (a, b, sh) => {
      const x = a.x;
      expect(tnumContains(tnumNeg(a.t), u64(-x))).toBe(true);
      expect(tnumContains(tnumLshift(a.t, sh), u64(x << BigInt(sh)))).toBe(true);
      expect(tnumContains(tnumRshift(a.t, sh), x >> BigInt(sh))).toBe(true);
      expect(tnumContains(tnumArshift(a.t, sh, 64), u64(BigInt.asIntN(64, x) >> BigInt(sh)))).toBe(true);
      const s32 = sh & 31;
      expect(tnumContains(tnumLshift(a.t, s32, 32), BigInt.asUintN(32, x << BigInt(s32)))).toBe(true);
      expect(tnumContains(tnumRshift(a.t, s32, 32), BigInt.asUintN(32, x) >> BigInt(s32))).toBe(true);
      expect(tnumContains(tnumArshift(a.t, s32, 32), BigInt.asUintN(32, BigInt.asIntN(32, x) >> BigInt(s32)))).toBe(true);
      for (const n of [1, 2, 4, 8] as const) expect(tnumContains(tnumCast(a.t, n), BigInt.asUintN(n * 8, x))).toBe(true);
      expect(tnumContains(tnumSubreg(a.t), x & 0xffff_ffffn)).toBe(true);
      expect(tnumContains(tnumClearSubreg(a.t), x & ~0xffff_ffffn & M64)).toBe(true);
      expect(tnumContains(tnumWithSubreg(a.t, b.t), (x & ~0xffff_ffffn & M64) | (b.x & 0xffff_ffffn))).toBe(true);
      expect(tnumContains(tnumConstSubreg(a.t, 7), (x & ~0xffff_ffffn & M64) | 7n)).toBe(true);
      if (tnumContains(b.t, x)) {
        expect(tnumContains(tnumIntersect(a.t, b.t), x)).toBe(true);
        expect(tnumOverlap(a.t, b.t)).toBe(true);
      }
      expect(tnumIn(tnumUnion(a.t, b.t), a.t)).toBe(true);
      expect(tnumIn(a.t, tnumConst(x))).toBe(true);
      let sw = 0n;
      for (let i = 0; i < 4; i++) sw = (sw << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
      expect(tnumContains(tnumBswap(a.t, 32), sw)).toBe(true);
    }), { numRuns: 1000 });
  });
  it('tnumRange contains the whole range', () => {
    fc.assert(fc.property(arbU64, arbU64, arbU64, (p, q, r) => {
      const [lo, hi] = p <= q ? [p, q] : [q, p];
      const t = tnumRange(lo, hi);
      const mid = lo + (r % (hi - lo + 1n));
      expect(tnumContains(t, lo) && tnumContains(t, hi) && tnumContains(t, mid)).toBe(true);
    }));
  });
  it('tnumStep is the next member (brute force on 8 bits)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (v0, m0, z0) => {
      const m = BigInt(m0);
      const t = tnum(BigInt(v0) & ~m, m);
      const z = BigInt(z0);
      const tmax = t.value | t.mask;
      let want = tmax;
      if (z < t.value) want = t.value;
      else if (z < tmax) for (let k = z + 1n; k <= tmax; k++) if (tnumContains(t, k)) { want = k; break; }
      expect(tnumStep(t, z)).toBe(want);
    }), { numRuns: 2000 });
  });
});

describe('tnum known results', () => {
  it('mul example of the kernel comment: 0b11 * 0bx1 = 0bx0x1', () => {
    expect(tnumMul(tnum(1n, 2n), tnumConst(3n))).toEqual(tnum(1n, 0b1010n));
  });
  it('tnum_range and predicates', () => {
    expect(tnumRange(0n, 255n)).toEqual(tnum(0n, 0xffn));
    expect(tnumRange(16n, 16n)).toEqual(tnumConst(16n));
    expect(tnumRange(0n, M64)).toEqual(tnumUnknown);
    expect(tnumIsConst(tnumConst(5n)) && tnumIsUnknown(tnumUnknown) && tnumEqualsConst(tnumConst(-1n), M64)).toBe(true);
    expect(tnumIsAligned(tnum(8n, 0xf0n), 8)).toBe(true);
    expect(tnumIsAligned(tnum(4n, 0xf0n), 8)).toBe(false);
  });
  it('text forms: tnum_strn and tnum_sbin', () => {
    expect(tnumStr(tnum(0n, 0xffn))).toBe('(0x0; 0xff)');
    expect(tnumStr(tnumUnknown)).toBe('(0x0; 0xffffffffffffffff)');
    expect(tnumSbin(tnum(2n, 1n))).toBe('0'.repeat(62) + '1x');
  });
  it('bad shifts and casts raise KfError', () => {
    expect(() => tnumLshift(tnumUnknown, 64)).toThrow(KfError);
    expect(() => tnumRshift(tnumUnknown, 32, 32)).toThrow(KfError);
    expect(() => tnumCast(tnumUnknown, 3 as 4)).toThrow(KfError);
  });
});
