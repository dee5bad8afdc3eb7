// The numeric fast paths (sync-small.ts) against the BigInt reference:
// reg_bounds_sync() must give the same nine fields on every input, well
// formed or not, in the fast path's domain (all 64-bit parts below 2^32)
// and at its edges.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { boundsSync, boundsSyncReference, scalarEquals, type Scalar } from '../../../src/verifier/num/index.js';
import { arbMember } from './concrete.js';

const RUNS = Number(process.env.KF_NUM_RUNS ?? 400) * 10;
const show = (s: unknown): string => JSON.stringify(s, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));

const edges32 = [0, 1, 2, 3, 7, 8, 0xff, 0x100, 0x7fff_ffff, 0x8000_0000, 0x8000_0001, 0xffff_fffe, 0xffff_ffff];
/** u32 numbers near interesting edges, and anywhere. */
const arbU32 = fc.oneof(fc.constantFrom(...edges32), fc.integer({ min: 0, max: 0xffff_ffff }), fc.integer({ min: 0, max: 64 }));
/** u64 values mostly below 2^32 (the fast domain), sometimes just outside. */
const arbSmall64 = fc.oneof(
  { weight: 6, arbitrary: arbU32.map(BigInt) },
  { weight: 1, arbitrary: fc.constantFrom(0x1_0000_0000n, 0xffff_ffff_ffff_ffffn, 0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn) },
);
const s32 = (x: number): number => x | 0;

/** Nine arbitrary fields: ordered pairs, reversed pairs (malformed), constants. */
const arbRaw: fc.Arbitrary<Scalar> = fc
  .tuple(arbSmall64, arbSmall64, arbSmall64, arbSmall64, arbSmall64, arbSmall64, arbU32, arbU32, arbU32, arbU32, fc.integer({ min: 0, max: 3 }))
  .map(([a, b, c, d, tv, tm, e, f, g, h, shape]) => {
    const sort = (x: bigint, y: bigint): [bigint, bigint] => (shape === 1 || x <= y ? [x, y] : [y, x]);
    const [umin, umax] = sort(a, b);
    const [smin, smax] = sort(c, d);
    const [u32min, u32max] = shape === 1 || e <= f ? [e, f] : [f, e];
    const [s32min, s32max] = shape === 1 || s32(g) <= s32(h) ? [s32(g), s32(h)] : [s32(h), s32(g)];
    const mask = shape === 2 ? 0n : tm;
    const value = tv & ~mask & 0xffff_ffff_ffff_ffffn;
    if (shape === 3) return { varOff: { value, mask }, umin: value, umax: value | mask, smin: value, smax: value | mask, u32min, u32max, s32min, s32max };
    return { varOff: { value, mask }, umin, umax, smin, smax, u32min, u32max, s32min, s32max };
  });

describe('reg_bounds_sync fast path', () => {
  it('equals the BigInt reference on raw field combinations', () => {
    fc.assert(
      fc.property(arbRaw, (s) => {
        const fast = boundsSync(s);
        const ref = boundsSyncReference(s);
        if (!scalarEquals(fast, ref)) throw new Error(`${show(s)}:\n fast ${show(fast)}\n ref  ${show(ref)}`);
      }),
      { numRuns: RUNS },
    );
  });
  it('equals the BigInt reference on members built by refinements', () => {
    fc.assert(
      fc.property(arbMember, (a) => {
        const fast = boundsSync(a.s);
        const ref = boundsSyncReference(a.s);
        expect(scalarEquals(fast, ref)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
  it('takes the fast path on small scalars (no fresh bigints for small results)', () => {
    // the reference allocates; the fast path hands back the shared small bigints
    const s: Scalar = { varOff: { value: 0n, mask: 7n }, umin: 0n, umax: 100n, smin: 0n, smax: 100n, u32min: 0, u32max: 100, s32min: 0, s32max: 100 };
    const a = boundsSync(s);
    expect(a.umax).toBe(7n);
    expect(scalarEquals(a, boundsSyncReference(s))).toBe(true);
  });
});
