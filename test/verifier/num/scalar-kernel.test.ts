// Specific results the running 6.18 kernel printed (collected with
// test/verifier/num/oracle/vlog.c, log_level 2) reproduced by the model.
import { describe, it, expect } from 'vitest';
import {
  scalarUnknown, scalarConst, scalarAlu, refineBranch, refineBranchKernel, formatScalar, scalarBswap, scalarEndian,
  scalarMovsx, isBranchTaken, scalarRange, scalarConstValue, scalarIsConst, scalarsEqualForPruning, boundsSync,
} from '../../../src/verifier/num/index.js';
import { KfError } from '../../../src/util/errors.js';

const k = (v: number): ReturnType<typeof scalarConst> => scalarConst(BigInt(v));
const unk = scalarUnknown();

describe('kernel log strings', () => {
  it('r0 &= 255; r0 <<= 2; if r0 > 0xa', () => {
    const a = scalarAlu('and', true, unk, k(255));
    expect(formatScalar(a)).toBe('scalar(smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff))');
    const b = scalarAlu('lsh', true, a, k(2));
    expect(formatScalar(b)).toBe('scalar(smin=smin32=0,smax=umax=smax32=umax32=1020,var_off=(0x0; 0x3fc))');
    const fall = refineBranch('jgt', false, b, k(10), false)!;
    expect(formatScalar(fall[0])).toBe('scalar(smin=smin32=0,smax=umax=smax32=umax32=10,var_off=(0x0; 0xc))');
    const taken = refineBranch('jgt', false, b, k(10), true)!;
    expect(formatScalar(taken[0])).toBe('scalar(smin=umin=smin32=umin32=11,smax=umax=smax32=umax32=1020,var_off=(0x0; 0x3fc))');
  });
  it('constants and unknowns', () => {
    expect(formatScalar(unk)).toBe('scalar()');
    expect(formatScalar(k(0))).toBe('0');
    expect(formatScalar(k(-393))).toBe('-393');
    expect(formatScalar(k(721010330))).toBe('0x2af9be9a');
    expect(formatScalar(scalarConst(0x34120000n))).toBe('0x34120000');
    expect(formatScalar(scalarConst(0x1000000n), { precise: true })).toBe('P0x1000000');
    expect(formatScalar(unk, { id: 'id=1' })).toBe('scalar(id=1)');
  });
  it('if r0 < 0x1f; if r0 & 0x8 (jset edges)', () => {
    const a = refineBranch('jlt', false, unk, k(31), false)![0];
    expect(formatScalar(a)).toBe('scalar(umin=31)');
    const fall = refineBranch('jset', false, a, k(8), false)![0];
    expect(formatScalar(fall)).toBe('scalar(smax=0x7ffffffffffffff7,umax=0xfffffffffffffff7,smax32=0x7ffffff7,umax32=0xfffffff7,var_off=(0x0; 0xfffffffffffffff7))');
    const taken = refineBranch('jset', false, a, k(8), true)![0];
    expect(formatScalar(taken)).toBe('scalar(smin=0x8000000000000008,umin=31,smin32=0x80000008,umin32=8,var_off=(0x8; 0xfffffffffffffff7))');
    const w = refineBranch('jset', true, a, k(-256), false)![0];
    expect(formatScalar(w)).toBe('scalar(smax=0x7fffffff000000ff,umax=0xffffffff000000ff,smin32=0,smax32=umax32=255,var_off=(0x0; 0xffffffff000000ff))');
  });
  it('byte swaps, 32-bit division, movsx', () => {
    const a = scalarAlu('and', true, unk, k(0xff0));
    expect(formatScalar(scalarEndian(a, 16, true))).toBe('scalar(smin=smin32=0,smax=umax=smax32=umax32=0xf00f,var_off=(0x0; 0xf00f))');
    expect(formatScalar(scalarEndian(k(0x1234), 16, true))).toBe('13330');
    expect(formatScalar(scalarBswap(k(0x1234), 32))).toBe('0x34120000');
    expect(formatScalar(scalarEndian(a, 32, false))).toBe(formatScalar(a));
    expect(formatScalar(scalarAlu('div', false, a, k(3)))).toBe('scalar()');
    expect(formatScalar(scalarMovsx(unk, 8, false))).toBe('scalar(smin=0,smax=umax=0xffffffff,smin32=-128,smax32=127,var_off=(0x0; 0xffffffff))');
    expect(formatScalar(scalarMovsx(unk, 8, true))).toBe('scalar(smin=smin32=-128,smax=smax32=127)');
  });
  it('a refinement that empties the range: the kernel logs an invariant violation and resets', () => {
    // 12: if w6 s>= 0x39 (fall-through), 13: if w6 s<= 0xa, with r6 *= 1073741824 before
    const r6 = scalarAlu('mul', true, unk, k(1073741824));
    expect(formatScalar(r6)).toBe('scalar(smax=0x7fffffffc0000000,umax=0xffffffffc0000000,smax32=0x40000000,umax32=0xc0000000,var_off=(0x0; 0xffffffffc0000000))');
    const f12 = refineBranch('jsge', true, r6, k(0x39), false)![0];
    expect(formatScalar(f12)).toBe('scalar(smax=0x7fffffffc0000000,umax=0xffffffffc0000000,smax32=56,umax32=0xc0000000,var_off=(0x0; 0xffffffffc0000000))');
    expect(refineBranch('jsle', true, f12, k(10), false)).toBeNull();
    const kr = refineBranchKernel('jsle', true, f12, k(10), false)!;
    expect(kr.violations).toEqual([
      'REG INVARIANTS VIOLATION (false_reg1): range bounds violation u64=[0xb, 0xffffffff00000000] s64=[0x800000000000000b, 0x7fffffff00000000] u32=[0xb, 0x0] s32=[0xb, 0x0] var_off=(0x0, 0xffffffff00000000)',
    ]);
    expect(formatScalar(kr.a)).toBe('scalar(var_off=(0x0; 0xffffffff00000000))');
  });
});

describe('api behaviour', () => {
  it('constant queries and pruning', () => {
    expect(scalarIsConst(k(5))).toBe(true);
    expect(scalarConstValue(k(-1))).toBe(0xffff_ffff_ffff_ffffn);
    expect(() => scalarConstValue(unk)).toThrow(KfError);
    const r = scalarRange(0n, 100n);
    expect(scalarsEqualForPruning(r, scalarRange(10n, 20n))).toBe(true);
    expect(scalarsEqualForPruning(scalarRange(10n, 20n), r)).toBe(false);
    expect(scalarsEqualForPruning(r, boundsSync(r), true)).toBe(true);
    expect(isBranchTaken('jeq', false, scalarAlu('and', true, unk, k(0xf0)), k(1))).toBe(0);
  });
  it('bad input raises KfError', () => {
    expect(() => scalarAlu('foo' as 'add', true, unk, unk)).toThrow(KfError);
    expect(() => isBranchTaken('jfoo' as 'jeq', true, unk, unk)).toThrow(KfError);
    expect(() => scalarRange(5n, 1n)).toThrow(KfError);
    expect(() => scalarMovsx(unk, 32, false)).toThrow(KfError);
  });
});
