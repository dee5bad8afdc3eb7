// Conditional jumps: mirrors check_cond_jmp_op(), is_branch_taken(),
// reg_set_min_max(), mark_ptr_or_null_regs(), try_match_pkt_pointers()
// and find_good_pkt_pointers().
import type { Insn } from '../../isa/insn.js';
import type { Env } from '../env.js';
import { boundsSync, isBranchTaken, refineBranch, scalarConst, scalarZext32, type JmpOp, type Scalar } from '../num/scalar.js';
import { tnumAdd, tnumIsConst } from '../num/tnum.js';
import { S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, U64_MAX } from '../num/u64.js';
import type { LinkedReg, VerifierState } from '../state/frame.js';
import { markChainPrecision, pushInsnHistory } from '../precision.js';
import { assignReg, isPktPointer, maybeNull, type RegState } from '../state/reg.js';
import { PTR_MAYBE_NULL, RegType, SlotType } from '../state/types.js';
import { BPF_ADD_CONST, BPF_ADD_CONST32, scalarIdBase } from './alu.js';
import { checkRegArg, Op } from './regs.js';
import { findPrevEntry, widenImpreciseScalars } from '../callback.js';

const JOPS: Record<number, JmpOp> = {
  0x10: 'jeq', 0x20: 'jgt', 0x30: 'jge', 0x40: 'jset', 0x50: 'jne', 0x60: 'jsgt', 0x70: 'jsge',
  0xa0: 'jlt', 0xb0: 'jle', 0xc0: 'jslt', 0xd0: 'jsle',
};
const FLIP: Record<number, number> = { 0x20: 0xa0, 0xa0: 0x20, 0x30: 0xb0, 0xb0: 0x30, 0x60: 0xc0, 0xc0: 0x60, 0x70: 0xd0, 0xd0: 0x70 };
const flip = (op: number): number => FLIP[op] ?? op;
const MAX_PACKET_OFF = 0xffff;
const BEYOND_PKT_END = -2;
const AT_PKT_END = -1;

/** Every register of every frame, and every spilled register: bpf_for_each_reg_in_vstate. */
export function forEachReg(vs: VerifierState, fn: (r: RegState) => void): void {
  for (const f of vs.frames) {
    for (const r of f.regs) fn(r);
    for (const s of f.stack) if (s.spilled.type !== RegType.NOT_INIT) fn(s.spilled);
  }
}

const isPtr = (r: RegState): boolean => r.type !== RegType.SCALAR_VALUE && r.type !== RegType.NOT_INIT;

/** mirrors reg_not_null() */
function regNotNull(r: RegState): boolean {
  if (maybeNull(r)) return false;
  return r.type === RegType.PTR_TO_MAP_VALUE || r.type === RegType.PTR_TO_MAP_KEY || r.type === RegType.PTR_TO_MEM || r.type === RegType.CONST_PTR_TO_MAP;
}

const regConst = (r: RegState, is32: boolean): boolean =>
  r.type === RegType.SCALAR_VALUE && (is32 ? (r.s.varOff.mask & 0xffffffffn) === 0n : tnumIsConst(r.s.varOff));

/** mirrors is_branch_taken(): 1 taken, 0 not taken, -1 unknown. */
function branchTaken(a: RegState, b: RegState, op: number, is32: boolean): 1 | 0 | -1 {
  if (a.type === RegType.KERNEL_VALUE || b.type === RegType.KERNEL_VALUE) return -1;
  if (isPktPointerAny(a) && isPktPointerAny(b) && !is32) return pktBranchTaken(a, b, op);
  if (isPtr(a) || isPtr(b)) {
    if (!regConst(b, is32)) {
      op = flip(op);
      [a, b] = [b, a];
    }
    if (!regConst(b, is32)) return -1;
    if (!regNotNull(a)) return -1;
    const v = is32 ? b.s.varOff.value & 0xffffffffn : b.s.varOff.value;
    if (v !== 0n) return -1;
    if (op === 0x10) return 0;
    if (op === 0x50) return 1;
    return -1;
  }
  return isBranchTaken(JOPS[op], is32, a.s, b.s);
}

const isPktPointerAny = (r: RegState): boolean => isPktPointer(r) || r.type === RegType.PTR_TO_PACKET_END;

/** mirrors is_pkt_ptr_branch_taken() */
function pktBranchTaken(dst: RegState, src: RegState, op: number): 1 | 0 | -1 {
  let pkt: RegState;
  if (src.type === RegType.PTR_TO_PACKET_END) pkt = dst;
  else if (dst.type === RegType.PTR_TO_PACKET_END) {
    pkt = src;
    op = flip(op);
  } else return -1;
  if (pkt.range >= 0) return -1;
  switch (op) {
    case 0xb0:
    case 0x20:
      if (pkt.range === BEYOND_PKT_END) return op === 0x20 ? 1 : 0;
      break;
    case 0xa0:
    case 0x30:
      if (pkt.range === BEYOND_PKT_END || pkt.range === AT_PKT_END) return op === 0x30 ? 1 : 0;
      break;
  }
  return -1;
}

/** mirrors mark_ptr_or_null_regs() */
function markPtrOrNull(vs: VerifierState, regno: number, isNull: boolean): void {
  const regs = vs.frames[vs.curframe].regs;
  const id = regs[regno].id;
  const refObjId = regs[regno].refObjId;
  if (refObjId && refObjId === id && isNull) vs.refs = vs.refs.filter((r) => r.id !== id);
  forEachReg(vs, (r) => {
    if (!maybeNull(r) || r.id !== id || !id) return;
    if (isNull) {
      r.type = RegType.SCALAR_VALUE;
      r.flags = 0;
      r.id = 0;
      r.refObjId = 0;
      r.s = scalarConst(0n);
      r.off = 0;
      r.map = null;
      return;
    }
    r.flags &= ~PTR_MAYBE_NULL;
    r.id = 0;
  });
}

/** mirrors find_good_pkt_pointers() */
function findGoodPkt(vs: VerifierState, dst: RegState, type: RegType, rightOpen: boolean): void {
  if (dst.off < 0 || (dst.off === 0 && rightOpen)) return;
  if (dst.s.umax > BigInt(MAX_PACKET_OFF) || dst.s.umax + BigInt(dst.off) > BigInt(MAX_PACKET_OFF)) return;
  let newRange = dst.off;
  if (rightOpen) newRange--;
  const id = dst.id;
  forEachReg(vs, (r) => {
    if (r.type === type && r.id === id) r.range = Math.max(r.range, newRange);
  });
}

/** mirrors mark_pkt_end() */
function markPktEnd(vs: VerifierState, regno: number, rangeOpen: boolean): void {
  const r = vs.frames[vs.curframe].regs[regno];
  if (r.type !== RegType.PTR_TO_PACKET) return;
  r.range = rangeOpen ? BEYOND_PKT_END : AT_PKT_END;
}

const initPkt = (r: RegState): boolean => r.type === RegType.PTR_TO_PACKET && r.off === 0 && tnumIsConst(r.s.varOff) && r.s.varOff.value === 0n;

/** mirrors try_match_pkt_pointers(); thisB = fall-through state, other = taken state. */
function matchPkt(insn: Insn, thisB: VerifierState, other: VerifierState): boolean {
  if (!(insn.code & 8) || (insn.code & 7) === 6) return false;
  const d = thisB.frames[thisB.curframe].regs[insn.dst];
  const s = thisB.frames[thisB.curframe].regs[insn.src];
  const od = other.frames[other.curframe].regs[insn.dst];
  const os = other.frames[other.curframe].regs[insn.src];
  const left = (d.type === RegType.PTR_TO_PACKET && s.type === RegType.PTR_TO_PACKET_END) || (d.type === RegType.PTR_TO_PACKET_META && initPkt(s));
  const right = (d.type === RegType.PTR_TO_PACKET_END && s.type === RegType.PTR_TO_PACKET) || (initPkt(d) && s.type === RegType.PTR_TO_PACKET_META);
  const op = insn.code & 0xf0;
  // [state to mark good, reg, rightOpen], [state to mark end, regno, open]
  const good = (vs: VerifierState, r: RegState, open: boolean): void => findGoodPkt(vs, r, r.type, open);
  switch (op) {
    case 0x20: // JGT
      if (left) { good(thisB, d, false); markPktEnd(other, insn.dst, true); }
      else if (right) { good(other, os, true); markPktEnd(thisB, insn.src, false); }
      else return false;
      break;
    case 0xa0: // JLT
      if (left) { good(other, od, true); markPktEnd(thisB, insn.dst, false); }
      else if (right) { good(thisB, s, false); markPktEnd(other, insn.src, true); }
      else return false;
      break;
    case 0x30: // JGE
      if (left) { good(thisB, d, true); markPktEnd(other, insn.dst, false); }
      else if (right) { good(other, os, false); markPktEnd(thisB, insn.src, true); }
      else return false;
      break;
    case 0xb0: // JLE
      if (left) { good(other, od, false); markPktEnd(thisB, insn.dst, true); }
      else if (right) { good(thisB, s, true); markPktEnd(other, insn.src, false); }
      else return false;
      break;
    default:
      return false;
  }
  return true;
}

/** mirrors LINKED_REGS_MAX */
const LINKED_REGS_MAX = 6;

/**
 * mirrors collect_linked_regs() (6.18.44, with "collect only live registers
 * in linked regs"): scalars whose id without BPF_ADD_CONST is `id`, among the
 * registers live before the instruction of each frame and the spilled
 * scalars. Past LINKED_REGS_MAX the leftover registers lose their id.
 */
function collectLinked(env: Env, vs: VerifierState, id: number, out: LinkedReg[]): void {
  id = scalarIdBase(id);
  const add = (r: RegState, frameno: number, no: number, isReg: boolean): void => {
    if (r.type !== RegType.SCALAR_VALUE || scalarIdBase(r.id) !== id) return;
    if (out.length < LINKED_REGS_MAX) out.push({ frameno, no, isReg });
    else {
      r.id = 0;
      r.off = 0;
    }
  };
  for (let i = vs.curframe; i >= 0; i--) {
    const f = vs.frames[i];
    const at = i === vs.curframe ? vs.insnIdx : vs.frames[i + 1].callsite;
    const live = env.aux[at]?.liveRegs ?? 0x7ff;
    for (let j = 0; j < 10; j++) if (live & (1 << j)) add(f.regs[j], i, j, true);
    for (let j = 0; j < f.stack.length; j++) if (f.stack[j].slotType[7] === SlotType.SPILL) add(f.stack[j].spilled, i, j, false);
  }
}

/** scalar32_min_max_add() + scalar_min_max_add() + tnum_add() of a known `delta`, without reg_bounds_sync(). */
function addDelta(s: Scalar, delta: bigint): Scalar {
  const d32 = Number(BigInt.asIntN(32, delta));
  const du32 = d32 >>> 0;
  let s32min = s.s32min + d32, s32max = s.s32max + d32;
  if (s32min < S32_MIN || s32min > S32_MAX || s32max < S32_MIN || s32max > S32_MAX) [s32min, s32max] = [S32_MIN, S32_MAX];
  let u32min = s.u32min + du32, u32max = s.u32max + du32;
  const u32minOv = u32min > U32_MAX, u32maxOv = u32max > U32_MAX;
  [u32min, u32max] = [u32min >>> 0, u32max >>> 0];
  if (!u32minOv && u32maxOv) [u32min, u32max] = [0, U32_MAX];
  let smin = s.smin + delta, smax = s.smax + delta;
  if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) [smin, smax] = [S64_MIN, S64_MAX];
  const du = BigInt.asUintN(64, delta);
  let umin = s.umin + du, umax = s.umax + du;
  const uminOv = umin > U64_MAX, umaxOv = umax > U64_MAX;
  [umin, umax] = [BigInt.asUintN(64, umin), BigInt.asUintN(64, umax)];
  if (!uminOv && umaxOv) [umin, umax] = [0n, U64_MAX];
  return { varOff: tnumAdd(s.varOff, scalarConst(delta).varOff), smin, smax, umin, umax, s32min, s32max, u32min, u32max };
}

/**
 * mirrors sync_linked_regs() (6.18.44): every collected scalar sharing the
 * known register's id becomes a copy of it, plus the constant delta between
 * the two (reg->off - known_reg->off) when either went through rX += const,
 * zero-extended when either link was made by alu32. Links of mixed widths
 * (one BPF_ADD_CONST32, the other BPF_ADD_CONST64) are skipped.
 */
function syncLinked(vs: VerifierState, known: RegState, linked: readonly LinkedReg[]): void {
  for (const e of linked) {
    const f = vs.frames[e.frameno];
    const reg = e.isReg ? f.regs[e.no] : f.stack[e.no].spilled;
    if (reg.type !== RegType.SCALAR_VALUE || reg === known) continue;
    if (scalarIdBase(reg.id) !== scalarIdBase(known.id)) continue;
    if (((reg.id ^ known.id) & BPF_ADD_CONST) >>> 0 === BPF_ADD_CONST) continue;
    if ((!(reg.id & BPF_ADD_CONST) && !(known.id & BPF_ADD_CONST)) || reg.off === known.off) {
      assignReg(reg, known);
      continue;
    }
    const { off, id } = reg;
    const delta = BigInt(reg.off) - BigInt(known.off);
    // reg = known_reg; reg += delta, keeping its own off and id
    assignReg(reg, known);
    reg.off = off;
    reg.id = id;
    reg.s = (reg.id | known.id) & BPF_ADD_CONST32 ? scalarZext32(addDelta(known.s, delta)) : boundsSync(addDelta(known.s, delta));
  }
}

export interface CondResult {
  /** 1: only the target, 0: only the fall-through, -1: both (other pushed). */
  pred: 1 | 0 | -1;
}

/**
 * mirrors check_cond_jmp_op(). `push` queues the taken edge and returns its state.
 * Returns which edges continue.
 */
export function checkCondJmp(env: Env, insn: Insn, push: (target: number) => VerifierState): 1 | 0 | -1 {
  const op = insn.code & 0xf0;
  const is32 = (insn.code & 7) === 6;
  if (op === 0x00 || op > 0xe0 || op === 0x80 || op === 0x90) env.reject(`invalid BPF_JMP/JMP32 opcode ${(op >> 4).toString(16)}`);
  if (op === 0xe0) {
    if (insn.code !== 0xe5 || insn.src !== 0 || insn.dst !== 0 || insn.imm !== 0) env.reject(`invalid may_goto imm ${insn.imm}`);
    // find_prev_entry(env, cur_st->parent, idx): this insn's visit of an earlier iteration on the path
    const prev = env.cur.parent ? findPrevEntry(env, env.cur.parent, env.insnIdx) : null;
    const q = push(env.insnIdx + 1);
    q.mayGotoDepth++;
    // like iterators: what changed between iterations and is not precise becomes unknown, so the loop converges
    if (prev) widenImpreciseScalars(prev, q);
    return 1;
  }
  checkRegArg(env, insn.dst, Op.SRC);
  const regs = env.regs;
  const dst = regs[insn.dst];
  let src: RegState;
  if (insn.code & 8) {
    if (insn.imm !== 0) env.reject('BPF_JMP/JMP32 uses reserved fields');
    checkRegArg(env, insn.src, Op.SRC);
    src = regs[insn.src];
  } else {
    if (insn.src !== 0) env.reject('BPF_JMP/JMP32 uses reserved fields');
    src = { ...dst, type: RegType.SCALAR_VALUE, flags: 0, id: 0, off: 0, s: scalarConst(BigInt(insn.imm)) };
  }
  const pred = branchTaken(dst, src, op, is32);
  if (pred === 1 || pred === 0) {
    // the outcome depends on the exact values: they must be precise
    if (dst.type === RegType.SCALAR_VALUE) markChainPrecision(env, insn.dst);
    if (insn.code & 8 && src.type === RegType.SCALAR_VALUE) markChainPrecision(env, insn.src);
    if (env.log.level) env.printInsnState(env.cur);
    return pred;
  }
  const thisB = env.cur;
  // mirrors collect_linked_regs() + push_insn_history() before push_stack()
  const linked: LinkedReg[] = [];
  if (insn.code & 8 && src.type === RegType.SCALAR_VALUE && src.id) collectLinked(env, thisB, src.id, linked);
  if (dst.type === RegType.SCALAR_VALUE && dst.id) collectLinked(env, thisB, dst.id, linked);
  if (linked.length > 1) pushInsnHistory(env, thisB, 0, linked);
  const other = push(env.insnIdx + insn.off + 1);
  const oregs = other.frames[other.curframe].regs;
  const srcX = (insn.code & 8) !== 0;
  if (dst.type === RegType.SCALAR_VALUE && src.type === RegType.SCALAR_VALUE) {
    const jop = JOPS[op];
    const same = srcX && insn.src === insn.dst;
    const t = refineBranch(jop, is32, dst.s, src.s, true, same);
    const f = refineBranch(jop, is32, dst.s, src.s, false, same);
    if (t) {
      oregs[insn.dst].s = t[0];
      if (srcX) oregs[insn.src].s = t[1];
    }
    if (f) {
      dst.s = f[0];
      if (srcX) src.s = f[1];
    }
  }
  if (srcX && src.type === RegType.SCALAR_VALUE && src.id) {
    syncLinked(thisB, src, linked);
    syncLinked(other, oregs[insn.src], linked);
  }
  if (dst.type === RegType.SCALAR_VALUE && dst.id) {
    syncLinked(thisB, dst, linked);
    syncLinked(other, oregs[insn.dst], linked);
  }
  if (!is32 && srcX && isPtr(src) && isPtr(dst) && maybeNull(src) !== maybeNull(dst)) {
    const eq = op === 0x10 ? oregs : op === 0x50 ? regs : null;
    if (eq) {
      const r = maybeNull(src) ? eq[insn.src] : eq[insn.dst];
      r.flags &= ~PTR_MAYBE_NULL;
    }
  }
  if (!is32 && !srcX && insn.imm === 0 && (op === 0x10 || op === 0x50) && maybeNull(dst)) {
    markPtrOrNull(thisB, insn.dst, op === 0x50);
    markPtrOrNull(other, insn.dst, op === 0x10);
  } else {
    matchPkt(insn, thisB, other);
  }
  if (env.log.level) env.printInsnState(thisB);
  return -1;
}
