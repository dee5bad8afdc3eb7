// The 64-bit sign-extending move `rX = (s8|s16|s32)rX` (coerce_reg_to_size_sx())
// and the 32-bit one (coerce_subreg_to_size_sx()) on directed inputs. The
// expected strings are what the 6.18.44 oracle kernel printed: unlike 6.18.0,
// it takes the result's 64-bit bounds from the source's 32-bit signed bounds
// when the 64-bit bounds do not give it and the 32-bit ones fit the target
// width (see scalarSext()); the sign-extending load (ldsx) uses the same
// function. The model must print them; when bpf() is usable,
// the running kernel is loaded with the same programs and must print them too.
import { describe, it, expect } from 'vitest';
import {
  type Scalar, type JmpOp, scalarUnknown, scalarConst, scalarAlu, scalarMovsx, refineBranchKernel, formatScalar,
} from '../../../src/verifier/num/index.js';
import { kernelMissing, loadPrograms, parseLog, stripIds, enc, concat } from './oracle/kernel.js';

/** A step applied to r6 before the movsx: "exit unless" a condition, or `r6 &= mask`. */
type Step = { exit: JmpOp; is32: boolean; imm: bigint } | { and: bigint };
interface Case {
  name: string;
  steps: Step[];
  bits: 8 | 16 | 32;
  is64: boolean;
  want: string;
  /** spill r6 to the stack and read it back with a sign-extending load (BPF_LDX | BPF_MEMSX) instead of movsx */
  load?: boolean;
}

// r6 is refined so that it stays in [lo, hi] (signed, 32- or 64-bit)
const s32 = (lo: number, hi: number): Step[] => [
  { exit: 'jsgt', is32: true, imm: BigInt(hi) },
  { exit: 'jslt', is32: true, imm: BigInt(lo) },
];
const s64 = (lo: bigint, hi: bigint): Step[] => [
  { exit: 'jsgt', is32: false, imm: hi },
  { exit: 'jslt', is32: false, imm: lo },
];
const u32 = (lo: number, hi: number): Step[] => [
  { exit: 'jgt', is32: true, imm: BigInt(hi) },
  { exit: 'jlt', is32: true, imm: BigInt(lo) },
];

const CASES: Case[] = [
  // 64-bit movsx: the 32-bit signed bounds give the result
  { name: 's32 [5, 10], (s32)', steps: s32(5, 10), bits: 32, is64: true,
    want: 'scalar(smin=umin=smin32=umin32=5,smax=umax=smax32=umax32=10,var_off=(0x0; 0xf))' },
  { name: 's32 [-10, 10], (s32)', steps: s32(-10, 10), bits: 32, is64: true, want: 'scalar(smin=smin32=-10,smax=smax32=10)' },
  { name: 's32 [-128, 127], (s16)', steps: s32(-128, 127), bits: 16, is64: true, want: 'scalar(smin=smin32=-128,smax=smax32=127)' },
  { name: 's32 [-3, 5], (s16)', steps: s32(-3, 5), bits: 16, is64: true, want: 'scalar(smin=smin32=-3,smax=smax32=5)' },
  { name: 's32 [-100, 100], (s8)', steps: s32(-100, 100), bits: 8, is64: true, want: 'scalar(smin=smin32=-100,smax=smax32=100)' },
  { name: 's32 [1, 127], (s8)', steps: s32(1, 127), bits: 8, is64: true,
    want: 'scalar(smin=umin=smin32=umin32=1,smax=umax=smax32=umax32=127,var_off=(0x0; 0x7f))' },
  { name: 's32 [-128, -1], (s8)', steps: s32(-128, -1), bits: 8, is64: true,
    want: 'scalar(smin=smin32=-128,smax=smax32=-1,umin=0xffffffffffffff80,umin32=0xffffff80,var_off=(0xffffffffffffff80; 0x7f))' },
  { name: 's32 [-32768, -1], (s16)', steps: s32(-32768, -1), bits: 16, is64: true,
    want: 'scalar(smin=smin32=-32768,smax=smax32=-1,umin=0xffffffffffff8000,umin32=0xffff8000,var_off=(0xffffffffffff8000; 0x7fff))' },
  { name: 's32 [-2^31, -9], (s32)', steps: [{ exit: 'jsge', is32: true, imm: -8n }], bits: 32, is64: true,
    want: 'scalar(smin=0xffffffff80000000,smax=smax32=-9,umin=0xffffffff80000000,umax=0xfffffffffffffff7,umin32=0x80000000,umax32=0xfffffff7,var_off=(0xffffffff80000000; 0x7fffffff))' },
  { name: 'w6 == -256, (s32)', steps: [{ exit: 'jne', is32: true, imm: -256n }], bits: 32, is64: true, want: '-256' },
  // straddling zero: the 32-bit unsigned bounds are kept
  { name: 's32 [-100, 100] u32 [5, 0xfffffff0], (s16)', steps: [...s32(-100, 100), ...u32(5, 0xfffffff0)], bits: 16, is64: true,
    want: 'scalar(smin=smin32=-100,smax=smax32=100,umin=umin32=5,umax=0xfffffffffffffff0,umax32=0xfffffff0)' },
  { name: 'even, s32 [-11, 11], (s32)', steps: [{ and: 0xfffffffffffffffen }, ...s32(-11, 11)], bits: 32, is64: true,
    want: 'scalar(smin=smin32=-11,smax=smax32=11,umax=0xfffffffffffffffe,umax32=0xfffffffe)' },
  // the var_off is tnum_range() of the bounds, not the source's
  { name: 'r6 &= 0xffffffff00000006, (s8)', steps: [{ and: 0xffffffff00000006n }, ...s32(-100, 100)], bits: 8, is64: true,
    want: 'scalar(smin=smin32=0,smax=umax=smax32=umax32=6,var_off=(0x0; 0x7))' },
  // the 32-bit bounds do not fit the target width: set_sext64_default_val()
  { name: 's32 [-129, 0], (s8)', steps: s32(-129, 0), bits: 8, is64: true, want: 'scalar(smin=smin32=-128,smax=smax32=127)' },
  { name: 's32 [0, 128], (s8)', steps: s32(0, 128), bits: 8, is64: true, want: 'scalar(smin=smin32=-128,smax=smax32=127)' },
  { name: 's32 [0x105, 0x107], (s8)', steps: s32(0x105, 0x107), bits: 8, is64: true, want: 'scalar(smin=smin32=-128,smax=smax32=127)' },
  { name: 's32 [0x10005, 0x10007], (s16)', steps: s32(0x10005, 0x10007), bits: 16, is64: true, want: 'scalar(smin=smin32=-32768,smax=smax32=32767)' },
  { name: 's32 [-32769, -1], (s16)', steps: s32(-32769, -1), bits: 16, is64: true, want: 'scalar(smin=smin32=-32768,smax=smax32=32767)' },
  { name: 'unknown, (s32)', steps: [], bits: 32, is64: true, want: 'scalar(smin=0xffffffff80000000,smax=0x7fffffff)' },
  // the sign-extending load of a spilled scalar goes through the same coerce_reg_to_size_sx()
  { name: 'ldsx s8 of a spilled s32 [-100, 100]', steps: s32(-100, 100), bits: 8, is64: true, load: true, want: 'scalar(smin=smin32=-100,smax=smax32=100)' },
  { name: 'ldsx s32 of a spilled s32 [5, 10]', steps: s32(5, 10), bits: 32, is64: true, load: true,
    want: 'scalar(smin=umin=smin32=umin32=5,smax=umax=smax32=umax32=10,var_off=(0x0; 0xf))' },
  { name: 'ldsx s16 of a spilled s32 [0x10005, 0x10007]', steps: s32(0x10005, 0x10007), bits: 16, is64: true, load: true,
    want: 'scalar(smin=smin32=-32768,smax=smax32=32767)' },
  // the 64-bit signed bounds give the result (as in 6.18.0)
  { name: 's64 [0x100000005, 0x100000007], (s8)', steps: s64(0x100000005n, 0x100000007n), bits: 8, is64: true,
    want: 'scalar(smin=umin=smin32=umin32=5,smax=umax=smax32=umax32=7,var_off=(0x4; 0x3))' },
  { name: 's64 [-5, 3], (s32)', steps: s64(-5n, 3n), bits: 32, is64: true, want: 'scalar(smin=smin32=-5,smax=smax32=3)' },
  // the 32-bit movsx is unchanged
  { name: 's32 [0x105, 0x107], w6 = (s8)w6', steps: s32(0x105, 0x107), bits: 8, is64: false,
    want: 'scalar(smin=umin=smin32=umin32=5,smax=umax=smax32=umax32=7,var_off=(0x4; 0x3))' },
  { name: 's32 [-3, 5], w6 = (s16)w6', steps: s32(-3, 5), bits: 16, is64: false,
    want: 'scalar(smin=0,smax=umax=0xffffffff,smin32=-32768,smax32=32767,var_off=(0x0; 0xffffffff))' },
];

const JMP: Record<string, number> = { jgt: 0x20, jlt: 0xa0, jsgt: 0x60, jslt: 0xc0, jsge: 0x70, jne: 0x50 };

function model(c: Case): Scalar {
  let r6: Scalar = scalarUnknown();
  for (const st of c.steps) {
    if ('and' in st) r6 = scalarAlu('and', true, r6, scalarConst(st.and));
    else r6 = refineBranchKernel(st.exit, st.is32, r6, scalarConst(st.imm), false)!.a;
  }
  return scalarMovsx(r6, c.bits, c.is64);
}

function ldImm64(dst: number, v: bigint): Uint8Array[] {
  const u = BigInt.asUintN(64, v);
  return [enc(0x18, dst, 0, 0, Number(BigInt.asIntN(32, u & 0xffffffffn))), enc(0, 0, 0, 0, Number(BigInt.asIntN(32, u >> 32n)))];
}

/** r6 = unknown; the steps (each exit jumps to a common `r0 = 0; exit`); movsx r6; r0 = 0; exit. Returns the movsx index too. */
function program(c: Case): { bytes: Uint8Array; at: number } {
  const ins: Uint8Array[] = [enc(0x85, 0, 0, 0, 5), enc(0xbf, 6, 0, 0, 0)]; // call bpf_ktime_get_ns; r6 = r0
  const jumps: number[] = [];
  for (const st of c.steps) {
    if ('and' in st) {
      ins.push(...ldImm64(1, st.and), enc(0x5f, 6, 1, 0, 0));
    } else if (st.is32 || BigInt.asIntN(32, st.imm) === st.imm) {
      jumps.push(ins.length);
      ins.push(enc((st.is32 ? 0x06 : 0x05) | JMP[st.exit]!, 6, 0, 0, Number(BigInt.asIntN(32, st.imm))));
    } else {
      ins.push(...ldImm64(1, st.imm));
      jumps.push(ins.length);
      ins.push(enc(0x05 | JMP[st.exit]! | 0x08, 6, 1, 0, 0));
    }
  }
  if (c.load) ins.push(enc(0x7b, 10, 6, -8, 0)); // *(u64 *)(r10 -8) = r6
  const at = ins.length;
  const ldsx = { 8: 0x91, 16: 0x89, 32: 0x81 }[c.bits]; // r6 = *(s8/s16/s32 *)(r10 -8)
  ins.push(c.load ? enc(ldsx, 6, 10, -8, 0) : enc(c.is64 ? 0xbf : 0xbc, 6, 6, c.bits, 0), enc(0xb7, 0, 0, 0, 0), enc(0x95, 0, 0, 0, 0));
  const tail = ins.length;
  if (jumps.length) ins.push(enc(0xb7, 0, 0, 0, 0), enc(0x95, 0, 0, 0, 0)); // an unreachable tail is refused
  for (const j of jumps) new DataView(ins[j]!.buffer).setInt16(2, tail - j - 1, true);
  return { bytes: concat(ins), at };
}

describe('movsx bounds (6.18.44 oracle kernel)', () => {
  for (const c of CASES) it(`model: ${c.name}`, () => expect(formatScalar(model(c))).toBe(c.want));

  const missing = kernelMissing();
  if (missing) console.warn(`movsx kernel comparison skipped: ${missing}`);
  it.skipIf(missing !== null)('the running kernel prints the same', () => {
    const progs = CASES.map(program);
    const res = loadPrograms(progs.map((p) => p.bytes));
    const diffs: string[] = [];
    CASES.forEach((c, i) => {
      if (res[i]!.errno !== 0) return diffs.push(`${c.name}: kernel rejected (errno ${res[i]!.errno})`);
      const line = parseLog(res[i]!.log).lines.find((l) => l.idx === progs[i]!.at);
      const got = line?.regs.get(6);
      if (got === undefined) return diffs.push(`${c.name}: no R6 state logged at insn ${progs[i]!.at}`);
      if (stripIds(got) !== c.want) diffs.push(`${c.name}: kernel ${stripIds(got)}, expected ${c.want}`);
    });
    expect(diffs).toEqual([]);
  });
});
