// Soundness properties of the scalar domain: for members x of A and y of B,
// the concrete result lies in the abstract result.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  scalarAlu, scalarContains, boundsSync, scalarEquals, isBranchTaken, refineBranch, scalarMovsx, scalarBswap,
  scalarEndian, scalarTruncate, scalarSext, scalarZext32, scalarWithin, scalarIsWellFormed,
} from '../../../src/verifier/num/index.js';
import { arbMember, ALU_OPS, JMP_OPS, concreteAlu, concreteJmp, u64 } from './concrete.js';

const RUNS = Number(process.env.KF_NUM_RUNS ?? 400);
const show = (m: { s: unknown; x: bigint }): string => JSON.stringify(m, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v));

describe('scalarAlu soundness', () => {
  for (const op of ALU_OPS) {
    for (const is64 of [true, false]) {
      it(`${op} ${is64 ? 'ALU64' : 'ALU32'}`, () => {
        fc.assert(
          fc.property(arbMember, arbMember, (a, b) => {
            const r = scalarAlu(op, is64, a.s, b.s);
            const z = concreteAlu(op, is64, a.x, b.x);
            if (!scalarContains(r, z)) throw new Error(`${op}: ${show(a)} ${show(b)} -> 0x${z.toString(16)} not in ${show({ s: r, x: z })}`);
            expect(scalarIsWellFormed(r)).toBe(true);
          }),
          { numRuns: RUNS },
        );
      });
    }
  }
});

describe('unary operations', () => {
  it('movsx, bswap, le/be, truncate, sext, zext32 are sound', () => {
    fc.assert(
      fc.property(arbMember, (a) => {
        const x = a.x;
        for (const bits of [8, 16, 32] as const) {
          expect(scalarContains(scalarMovsx(a.s, bits, true), u64(BigInt.asIntN(bits, x)))).toBe(true);
          if (bits !== 32) expect(scalarContains(scalarMovsx(a.s, bits, false), BigInt.asUintN(32, BigInt.asIntN(bits, x)))).toBe(true);
        }
        for (const bits of [16, 32, 64] as const) {
          const n = bits / 8;
          let sw = 0n;
          for (let i = 0; i < n; i++) sw = (sw << 8n) | ((x >> BigInt(8 * i)) & 0xffn);
          expect(scalarContains(scalarBswap(a.s, bits), sw)).toBe(true);
          expect(scalarContains(scalarEndian(a.s, bits, true), sw)).toBe(true);
          expect(scalarContains(scalarEndian(a.s, bits, false), BigInt.asUintN(bits, x))).toBe(true);
        }
        for (const size of [1, 2, 4, 8]) expect(scalarContains(scalarTruncate(a.s, size), BigInt.asUintN(size * 8, x))).toBe(true);
        for (const size of [1, 2, 4] as const) expect(scalarContains(scalarSext(a.s, size), u64(BigInt.asIntN(size * 8, x)))).toBe(true);
        expect(scalarContains(scalarZext32(a.s), BigInt.asUintN(32, x))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('boundsSync', () => {
  it('a state that needs a second sync (found by the property below)', () => {
    const s = {
      varOff: { value: 9224505778978939904n, mask: 2921086646185099296n },
      smin: -9222238294730611712n, smax: -6877621746697772031n, umin: 9224505778978939904n, umax: 11569122327011779585n,
      s32min: -392961024, s32max: -392961023, u32min: 3902006272, u32max: 3902006273,
    };
    const once = boundsSync(s);
    const twice = boundsSync(once);
    expect(scalarEquals(twice, once)).toBe(false);
    expect(twice.umax).toBe(11569122327011779584n);
    expect(scalarContains(twice, 11569122327011779584n)).toBe(true);
  });
  // Not idempotent, like the kernel's reg_bounds_sync() (three rounds of
  // __reg_deduce_bounds(), then var_off): a second sync may still tighten, e.g.
  // once the 32-bit half became constant the 64-bit bounds lose their low
  // bits. It never widens and never loses a member.
  it('keeps members; a second sync only tightens', () => {
    fc.assert(
      fc.property(arbMember, (a) => {
        const once = boundsSync(a.s);
        expect(scalarContains(once, a.x)).toBe(true);
        const twice = boundsSync(once);
        expect(scalarContains(twice, a.x)).toBe(true);
        const tighter =
          twice.smin >= once.smin && twice.smax <= once.smax && twice.umin >= once.umin && twice.umax <= once.umax &&
          twice.s32min >= once.s32min && twice.s32max <= once.s32max && twice.u32min >= once.u32min && twice.u32max <= once.u32max &&
          (twice.varOff.mask & ~once.varOff.mask) === 0n && (twice.varOff.value & ~once.varOff.mask) === (once.varOff.value & ~once.varOff.mask);
        expect(tighter).toBe(true);
      }),
      { numRuns: RUNS * 4 },
    );
  });
});

describe('branches', () => {
  it('isBranchTaken never contradicts a concrete pair', () => {
    fc.assert(
      fc.property(arbMember, arbMember, fc.constantFrom(...JMP_OPS), fc.boolean(), (a, b, op, is32) => {
        const t = isBranchTaken(op, is32, a.s, b.s);
        const c = concreteJmp(op, is32, a.x, b.x);
        if (t === 1) expect(c).toBe(true);
        if (t === 0) expect(c).toBe(false);
      }),
      { numRuns: RUNS * 4 },
    );
  });
  it('refineBranch keeps every concrete pair that takes the edge', () => {
    fc.assert(
      fc.property(arbMember, arbMember, fc.constantFrom(...JMP_OPS), fc.boolean(), (a, b, op, is32) => {
        const c = concreteJmp(op, is32, a.x, b.x);
        const r = refineBranch(op, is32, a.s, b.s, c);
        if (r === null) throw new Error(`edge ${c} of ${op}${is32 ? '32' : ''} dropped for ${show(a)} ${show(b)}`);
        expect(scalarContains(r[0], a.x)).toBe(true);
        expect(scalarContains(r[1], b.x)).toBe(true);
      }),
      { numRuns: RUNS * 4 },
    );
  });
  it('refineBranch against a member-equal constant keeps the member', () => {
    fc.assert(
      fc.property(arbMember, fc.constantFrom(...JMP_OPS), fc.boolean(), (a, op, is32) => {
        const b = { s: boundsSync(a.s), x: a.x };
        const c = concreteJmp(op, is32, a.x, b.x);
        const r = refineBranch(op, is32, a.s, b.s, c);
        expect(r).not.toBeNull();
      }),
      { numRuns: RUNS },
    );
  });
});

describe('pruning', () => {
  it('scalarWithin(old, cur) implies every member of cur sampled is in old', () => {
    fc.assert(
      fc.property(arbMember, arbMember, (a, b) => {
        if (scalarWithin(a.s, b.s)) expect(scalarContains(a.s, b.x)).toBe(true);
        expect(scalarWithin(a.s, a.s)).toBe(true);
      }),
      { numRuns: RUNS * 4 },
    );
  });
});
