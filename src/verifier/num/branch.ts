// Conditional jumps on scalars: mirrors is_scalar_branch_taken(),
// regs_refine_cond_op() and reg_set_min_max() of kernel/bpf/verifier.c (6.18).

import { KfError } from '../../util/errors.js';
import { tnumIsConst, tnumOverlap, tnumSubreg, tnumIntersect, tnumWithSubreg, tnumOr, tnumAnd, tnumConst } from './tnum.js';
import { type Scalar, type JmpOp, type MutableScalar, mutableCopy, syncMutable, scalarIsWellFormed } from './scalar.js';
import { U64_MAX } from './u64.js';

const M32N = 0xffff_ffffn;
const JMP_OPS: ReadonlySet<string> = new Set(['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsge', 'jslt', 'jsle', 'jset']);

function checkOp(op: string): void {
  if (!JMP_OPS.has(op)) throw new KfError(`unknown conditional jump ${op}`);
}

// mirrors is_reg_const()
const isConst = (s: Scalar, is32: boolean): boolean => (is32 ? (s.varOff.mask & M32N) === 0n : s.varOff.mask === 0n);
// mirrors reg_const_value()
const constVal = (s: Scalar, is32: boolean): bigint => (is32 ? s.varOff.value & M32N : s.varOff.value);

/**
 * mirrors is_scalar_branch_taken(): 1 if the jump is always taken, 0 if it
 * is never taken, -1 if both directions are possible.
 */
export function isBranchTaken(op: JmpOp, is32: boolean, a: Scalar, b: Scalar): 1 | 0 | -1 {
  checkOp(op);
  let t1 = is32 ? tnumSubreg(a.varOff) : a.varOff;
  let t2 = is32 ? tnumSubreg(b.varOff) : b.varOff;
  const umin1 = is32 ? BigInt(a.u32min) : a.umin;
  const umax1 = is32 ? BigInt(a.u32max) : a.umax;
  const smin1 = is32 ? BigInt(a.s32min) : a.smin;
  const smax1 = is32 ? BigInt(a.s32max) : a.smax;
  const umin2 = is32 ? BigInt(b.u32min) : b.umin;
  const umax2 = is32 ? BigInt(b.u32max) : b.umax;
  const smin2 = is32 ? BigInt(b.s32min) : b.smin;
  const smax2 = is32 ? BigInt(b.s32max) : b.smax;
  switch (op) {
    case 'jeq':
    case 'jne': {
      const hit = op === 'jeq' ? 1 : 0;
      const miss = op === 'jeq' ? 0 : 1;
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value === t2.value ? hit : miss;
      if (!tnumOverlap(t1, t2)) return miss;
      if (umin1 > umax2 || umax1 < umin2) return miss;
      if (smin1 > smax2 || smax1 < smin2) return miss;
      if (!is32) {
        if (a.u32min > b.u32max || a.u32max < b.u32min) return miss;
        if (a.s32min > b.s32max || a.s32max < b.s32min) return miss;
      }
      return -1;
    }
    case 'jset': {
      let r2 = b;
      if (!isConst(b, is32)) {
        r2 = a;
        const t = t1;
        t1 = t2;
        t2 = t;
      }
      if (!isConst(r2, is32)) return -1;
      if ((~t1.mask & t1.value) & t2.value) return 1;
      if (((t1.mask | t1.value) & t2.value) === 0n) return 0;
      return -1;
    }
    case 'jgt':
      return umin1 > umax2 ? 1 : umax1 <= umin2 ? 0 : -1;
    case 'jsgt':
      return smin1 > smax2 ? 1 : smax1 <= smin2 ? 0 : -1;
    case 'jlt':
      return umax1 < umin2 ? 1 : umin1 >= umax2 ? 0 : -1;
    case 'jslt':
      return smax1 < smin2 ? 1 : smin1 >= smax2 ? 0 : -1;
    case 'jge':
      return umin1 >= umax2 ? 1 : umax1 < umin2 ? 0 : -1;
    case 'jsge':
      return smin1 >= smax2 ? 1 : smax1 < smin2 ? 0 : -1;
    case 'jle':
      return umax1 <= umin2 ? 1 : umin1 > umax2 ? 0 : -1;
    case 'jsle':
      return smax1 <= smin2 ? 1 : smin1 > smax2 ? 0 : -1;
  }
  return -1;
}

type RefOp = JmpOp | 'jset_false';

// mirrors rev_opcode(): the condition of the fall-through edge
function revOp(op: JmpOp): RefOp {
  switch (op) {
    case 'jeq': return 'jne';
    case 'jne': return 'jeq';
    case 'jgt': return 'jle';
    case 'jle': return 'jgt';
    case 'jge': return 'jlt';
    case 'jlt': return 'jge';
    case 'jsgt': return 'jsle';
    case 'jsle': return 'jsgt';
    case 'jsge': return 'jslt';
    case 'jslt': return 'jsge';
    case 'jset': return 'jset_false';
  }
}

const minN = (x: number, y: number): number => (x < y ? x : y);
const maxN = (x: number, y: number): number => (x > y ? x : y);
const minB = (x: bigint, y: bigint): bigint => (x < y ? x : y);
const maxB = (x: bigint, y: bigint): bigint => (x > y ? x : y);

// mirrors regs_refine_cond_op(); returns false when a bound underflows (the
// kernel relies on is_branch_taken() having excluded those cases)
function refineCondOp(r1: MutableScalar, r2: MutableScalar, op: RefOp, is32: boolean): boolean {
  switch (op) {
    case 'jge': case 'jgt': case 'jsge': case 'jsgt': {
      // flip_opcode() and swap
      const flipped: RefOp = op === 'jge' ? 'jle' : op === 'jgt' ? 'jlt' : op === 'jsge' ? 'jsle' : 'jslt';
      return refineCondOp(r2, r1, flipped, is32);
    }
    default:
      break;
  }
  switch (op) {
    case 'jeq':
      if (is32) {
        r1.u32min = maxN(r1.u32min, r2.u32min);
        r1.u32max = minN(r1.u32max, r2.u32max);
        r1.s32min = maxN(r1.s32min, r2.s32min);
        r1.s32max = minN(r1.s32max, r2.s32max);
        r2.u32min = r1.u32min;
        r2.u32max = r1.u32max;
        r2.s32min = r1.s32min;
        r2.s32max = r1.s32max;
        const t = tnumIntersect(tnumSubreg(r1.varOff), tnumSubreg(r2.varOff));
        r1.varOff = tnumWithSubreg(r1.varOff, t);
        r2.varOff = tnumWithSubreg(r2.varOff, t);
      } else {
        r1.umin = maxB(r1.umin, r2.umin);
        r1.umax = minB(r1.umax, r2.umax);
        r1.smin = maxB(r1.smin, r2.smin);
        r1.smax = minB(r1.smax, r2.smax);
        r2.umin = r1.umin;
        r2.umax = r1.umax;
        r2.smin = r1.smin;
        r2.smax = r1.smax;
        r1.varOff = tnumIntersect(r1.varOff, r2.varOff);
        r2.varOff = r1.varOff;
      }
      return true;
    case 'jne': {
      let x = r1;
      let c = r2;
      if (!isConst(c, is32)) {
        x = r2;
        c = r1;
      }
      if (!isConst(c, is32)) return true;
      const val = constVal(c, is32);
      if (is32) {
        const v = Number(val);
        const vs = v | 0;
        if (x.u32min === v) x.u32min = x.u32min + 1;
        if (x.u32max === v) x.u32max = x.u32max - 1;
        if (x.s32min === vs) x.s32min = x.s32min + 1;
        if (x.s32max === vs) x.s32max = x.s32max - 1;
      } else {
        const vs = BigInt.asIntN(64, val);
        if (x.umin === val) x.umin = x.umin + 1n;
        if (x.umax === val) x.umax = x.umax - 1n;
        if (x.smin === vs) x.smin = x.smin + 1n;
        if (x.smax === vs) x.smax = x.smax - 1n;
      }
      return true;
    }
    case 'jset':
    case 'jset_false': {
      let x = r1;
      let c = r2;
      if (!isConst(c, is32)) {
        x = r2;
        c = r1;
      }
      if (!isConst(c, is32)) return true;
      const val = constVal(c, is32);
      if (op === 'jset') {
        // only a single-bit mask teaches something on the taken edge
        if (val === 0n || (val & (val - 1n)) !== 0n) return true;
        if (is32) x.varOff = tnumWithSubreg(x.varOff, tnumOr(tnumSubreg(x.varOff), tnumConst(val)));
        else x.varOff = tnumOr(x.varOff, tnumConst(val));
      } else {
        // forget the ranges before narrowing the tnum (6.18: avoids invariant
        // violations on dead branches)
        x.smin = -0x8000_0000_0000_0000n;
        x.smax = 0x7fff_ffff_ffff_ffffn;
        x.umin = 0n;
        x.umax = U64_MAX;
        x.s32min = -0x8000_0000;
        x.s32max = 0x7fff_ffff;
        x.u32min = 0;
        x.u32max = 0xffff_ffff;
        const nv = tnumConst(val ^ U64_MAX);
        if (is32) x.varOff = tnumWithSubreg(x.varOff, tnumAnd(tnumSubreg(x.varOff), nv));
        else x.varOff = tnumAnd(x.varOff, nv);
      }
      return true;
    }
    case 'jle':
      if (is32) {
        r1.u32max = minN(r1.u32max, r2.u32max);
        r2.u32min = maxN(r1.u32min, r2.u32min);
      } else {
        r1.umax = minB(r1.umax, r2.umax);
        r2.umin = maxB(r1.umin, r2.umin);
      }
      return true;
    case 'jlt':
      if (is32) {
        if (r2.u32max === 0 || r1.u32min === 0xffff_ffff) return false;
        r1.u32max = minN(r1.u32max, r2.u32max - 1);
        r2.u32min = maxN(r1.u32min + 1, r2.u32min);
      } else {
        if (r2.umax === 0n || r1.umin === U64_MAX) return false;
        r1.umax = minB(r1.umax, r2.umax - 1n);
        r2.umin = maxB(r1.umin + 1n, r2.umin);
      }
      return true;
    case 'jsle':
      if (is32) {
        r1.s32max = minN(r1.s32max, r2.s32max);
        r2.s32min = maxN(r1.s32min, r2.s32min);
      } else {
        r1.smax = minB(r1.smax, r2.smax);
        r2.smin = maxB(r1.smin, r2.smin);
      }
      return true;
    case 'jslt':
      if (is32) {
        if (r2.s32max === -0x8000_0000 || r1.s32min === 0x7fff_ffff) return false;
        r1.s32max = minN(r1.s32max, r2.s32max - 1);
        r2.s32min = maxN(r1.s32min + 1, r2.s32min);
      } else {
        if (r2.smax === -0x8000_0000_0000_0000n || r1.smin === 0x7fff_ffff_ffff_ffffn) return false;
        r1.smax = minB(r1.smax, r2.smax - 1n);
        r2.smin = maxB(r1.smin + 1n, r2.smin);
      }
      return true;
  }
  return true;
}

/**
 * mirrors reg_set_min_max() for one edge: the states of `a` (the jump's dst)
 * and `b` (its src, scalarConst(BigInt(imm)) for an immediate) on the taken
 * (`taken` true) or fall-through edge, each passed through reg_bounds_sync().
 * Returns null when the edge is impossible: is_scalar_branch_taken() excludes
 * it, or the refined bounds become empty (ill-formed). When the edge is
 * certain, the inputs are returned unchanged, as the kernel does not refine.
 */
export function refineBranch(op: JmpOp, is32: boolean, a: Scalar, b: Scalar, taken: boolean, sameReg = false): [Scalar, Scalar] | null {
  checkOp(op);
  const pred = isBranchTaken(op, is32, a, b);
  if (pred !== -1) {
    if ((pred === 1) === taken) return [a, b];
    return null;
  }
  // the same register on both sides (the kernel compares the register pointers)
  if (sameReg) return [a, b];
  const r1 = mutableCopy(a);
  const r2 = mutableCopy(b);
  if (!refineCondOp(r1, r2, taken ? op : revOp(op), is32)) return null;
  if (!scalarIsWellFormed(r1) || !scalarIsWellFormed(r2)) return null;
  syncMutable(r1);
  syncMutable(r2);
  if (!scalarIsWellFormed(r1) || !scalarIsWellFormed(r2)) return null;
  return [r1, r2];
}

/** The register after a failed sanity check: mirrors __mark_reg_unbounded() (var_off kept). */
function markUnbounded(r: MutableScalar): void {
  r.smin = -0x8000_0000_0000_0000n;
  r.smax = 0x7fff_ffff_ffff_ffffn;
  r.umin = 0n;
  r.umax = U64_MAX;
  r.s32min = -0x8000_0000;
  r.s32max = 0x7fff_ffff;
  r.u32min = 0;
  r.u32max = 0xffff_ffff;
}

const hx = (v: bigint | number): string => `0x${BigInt(v).toString(16)}`;

/**
 * mirrors reg_bounds_sanity_check(): null when the register is consistent,
 * else the message the kernel logs after "verifier bug: ".
 */
export function boundsSanityMessage(s: Scalar, ctx: string): string | null {
  let msg: string | null = null;
  if (s.umin > s.umax || s.smin > s.smax || s.u32min > s.u32max || s.s32min > s.s32max) msg = 'range bounds violation';
  else if (s.varOff.mask === 0n) {
    const u = s.varOff.value;
    const sv = BigInt.asIntN(64, u);
    if (s.umin !== u || s.umax !== u || s.smin !== sv || s.smax !== sv) msg = 'const tnum out of sync with range bounds';
  }
  if (msg === null && (s.varOff.mask & M32N) === 0n) {
    const u = Number(s.varOff.value & M32N);
    if (s.u32min !== u || s.u32max !== u || s.s32min !== (u | 0) || s.s32max !== (u | 0)) msg = 'const subreg tnum out of sync with range bounds';
  }
  if (msg === null) return null;
  return (
    `REG INVARIANTS VIOLATION (${ctx}): ${msg} u64=[${hx(s.umin)}, ${hx(s.umax)}] ` +
    `s64=[${hx(BigInt.asUintN(64, s.smin))}, ${hx(BigInt.asUintN(64, s.smax))}] ` +
    `u32=[${hx(s.u32min)}, ${hx(s.u32max)}] s32=[${hx(s.s32min >>> 0)}, ${hx(s.s32max >>> 0)}] ` +
    `var_off=(${hx(s.varOff.value)}, ${hx(s.varOff.mask)})`
  );
}

export interface KernelRefinement {
  a: Scalar;
  b: Scalar;
  /** "REG INVARIANTS VIOLATION ..." lines the kernel would log (as verifier bugs), in its order. */
  violations: string[];
}

/**
 * Exactly what 6.18 does on one edge of a conditional jump (reg_set_min_max()
 * followed by reg_bounds_sanity_check()): null when is_scalar_branch_taken()
 * excludes the edge, the inputs unchanged when the edge is certain, else the
 * refined pair. Where refining produces an empty range (the edge is in fact
 * dead) the kernel does not drop the edge: it logs a REG INVARIANTS
 * VIOLATION and resets that register's ranges (var_off kept). Use this to
 * reproduce the kernel's exploration and log; use refineBranch() for the
 * tightest sound answer.
 */
export function refineBranchKernel(op: JmpOp, is32: boolean, a: Scalar, b: Scalar, taken: boolean, sameReg = false): KernelRefinement | null {
  checkOp(op);
  const pred = isBranchTaken(op, is32, a, b);
  if (pred !== -1) return (pred === 1) === taken ? { a, b, violations: [] } : null;
  if (sameReg) return { a, b, violations: [] };
  const r1 = mutableCopy(a);
  const r2 = mutableCopy(b);
  const ok = refineCondOp(r1, r2, taken ? op : revOp(op), is32);
  if (!ok) {
    // a wrapped bound (the kernel's u64/s64 arithmetic wraps here too)
    return { a: r1, b: r2, violations: [] };
  }
  syncMutable(r1);
  syncMutable(r2);
  const violations: string[] = [];
  const side = taken ? 'true' : 'false';
  for (const [r, name] of [[r1, `${side}_reg1`], [r2, `${side}_reg2`]] as const) {
    const m = boundsSanityMessage(r, name);
    if (m) {
      violations.push(m);
      markUnbounded(r);
    }
  }
  return { a: r1, b: r2, violations };
}
