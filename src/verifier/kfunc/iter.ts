// Open-coded iterators on the stack: mirrors process_iter_arg(),
// is_iter_reg_valid_uninit/init(), mark/unmark_stack_slots_iter(),
// process_iter_next_call(), widen_imprecise_scalars() and the iterator rule
// of is_state_visited() (kernel/bpf/verifier.c).
import type { Env } from '../env.js';
import { Access, checkMemAccess } from '../check/mem.js';
import { markKnown, markNotInit, markUnknown } from '../check/regs.js';
import { stackFrame } from '../check/stack.js';
import { statesEqual } from '../prune.js';
import type { VerifierState } from '../state/frame.js';
import { regNotInit, type RegState } from '../state/reg.js';
import { BPF_REG_SIZE, PTR_MAYBE_NULL, RegType, SlotType } from '../state/types.js';
import { getSpi, stackObjSpi } from './dynptr.js';
import { KF_ITER_NEW, KF_ITER_DESTROY, KF_ITER_NEXT } from '../../kernel/catalogue.js';
import type { KfuncMeta } from './proto.js';
import { kfuncEnv } from './context.js';
import { IterState, isIterSlot, iterBtfId, iterState, iterDepth, registerIterName, setIter, setIterState } from './slots.js';
import { findPrevEntry, sameCallsites, widenImpreciseScalars } from '../callback.js';

const ERANGE = -34;

export interface IterRef {
  frameno: number;
  spi: number;
}

const isSpecial = (t: SlotType): boolean => t === SlotType.DYNPTR || t === SlotType.ITER;

/** mirrors process_iter_arg(); returns where the iterator lives (for iter_next). */
export function processIterArg(env: Env, regno: number, meta: KfuncMeta, a: { btfId: number; iterName: string; nrSlots: number }): IterRef {
  const reg = env.regs[regno];
  if (reg.type !== RegType.PTR_TO_STACK) env.reject(`arg#${regno - 1} expected pointer to an iterator on stack`);
  registerIterName(a.btfId, a.iterName);
  const f = stackFrame(env, reg);
  if (meta.flags & KF_ITER_NEW) {
    // mirrors is_iter_reg_valid_uninit()
    const spi = stackObjSpi(env, reg, a.nrSlots, 'iter');
    let ok = !(spi < 0 && spi !== ERANGE);
    if (ok && spi >= 0) for (let i = 0; i < a.nrSlots; i++) if (f.stack[spi - i].slotType.some(isSpecial)) ok = false;
    if (!ok) env.reject(`expected uninitialized ${a.iterName} as arg #${regno - 1}`);
    for (let i = 0; i < a.nrSlots * BPF_REG_SIZE; i += BPF_REG_SIZE) checkMemAccess(env, regno, i, 8, Access.WRITE, -1, false, false);
    // mirrors mark_stack_slots_iter()
    const s0 = getSpi(reg.off + Number(BigInt.asIntN(64, reg.s.varOff.value)));
    const id = env.nextId();
    env.cur.refs.push({ id, insnIdx: env.insnIdx });
    for (let i = 0; i < a.nrSlots; i++) {
      const slot = f.stack[s0 - i];
      slot.spilled = { ...regNotInit(), s: regNotInit().s };
      markKnown(slot.spilled, 0n);
      setIter(slot.spilled, a.btfId, IterState.ACTIVE, 0, i === 0 ? id : 0);
      for (let j = 0; j < BPF_REG_SIZE; j++) slot.slotType[j] = SlotType.ITER;
      env.scratch.slot(s0 - i);
    }
    return { frameno: reg.frameno, spi: s0 };
  }
  // mirrors is_iter_reg_valid_init()
  const spi = stackObjSpi(env, reg, a.nrSlots, 'iter');
  let ok = spi >= 0;
  for (let i = 0; ok && i < a.nrSlots; i++) {
    const slot = f.stack[spi - i];
    const st = slot.spilled;
    if (!isIterSlot(slot) || iterBtfId(st) !== a.btfId) ok = false;
    else if (i === 0 ? !st.refObjId || !env.cur.refs.some((r) => r.id === st.refObjId) : st.refObjId !== 0) ok = false;
  }
  if (!ok) env.reject(`expected an initialized ${a.iterName} as arg #${regno - 1}`);
  for (let i = 0; i < a.nrSlots; i++) env.scratch.slot(spi - i);
  if (meta.flags & KF_ITER_DESTROY) {
    // mirrors unmark_stack_slots_iter() + release_reference()
    const ref = f.stack[spi].spilled.refObjId;
    const k = env.cur.refs.findIndex((r) => r.id === ref);
    if (k >= 0) env.cur.refs.splice(k, 1);
    for (let i = 0; i < a.nrSlots; i++) {
      const slot = f.stack[spi - i];
      markNotInit(slot.spilled);
      for (let j = 0; j < BPF_REG_SIZE; j++) slot.slotType[j] = SlotType.INVALID;
    }
  }
  return { frameno: reg.frameno, spi };
}

const iterOf = (st: VerifierState, it: IterRef): RegState => st.frames[it.frameno].stack[it.spi].spilled;

/** mirrors process_iter_next_call(): queue the ACTIVE continuation, continue as DRAINED with r0 = 0. */
export function processIterNextCall(env: Env, it: IterRef, push: (target: number) => VerifierState): void {
  const cur = env.cur;
  const curIter = iterOf(cur, it);
  const state = iterState(curIter);
  if (state !== IterState.ACTIVE && state !== IterState.DRAINED)
    env.reject(`verifier internal error: unexpected iterator state ${state} (<invalid>)`);
  if (state === IterState.ACTIVE) {
    if (!cur.parent || cur.parent.insnIdx !== env.insnIdx || !sameCallsites(cur.parent, cur))
      env.reject('verifier internal error: bad parent state for iter next call');
    // find_prev_entry(env, cur_st->parent, ...): an earlier visit of this insn on the path, not the checkpoint just made
    const prev = findPrevEntry(env, cur.parent, env.insnIdx);
    const queued = push(env.insnIdx + 1);
    const qIter = iterOf(queued, it);
    setIterState(qIter, IterState.ACTIVE, iterDepth(qIter) + 1);
    if (prev) widenImpreciseScalars(prev, queued);
    // mirrors mark_ptr_not_null_reg()
    queued.frames[queued.curframe].regs[0].flags &= ~PTR_MAYBE_NULL;
  }
  setIterState(curIter, IterState.DRAINED, iterDepth(curIter));
  markKnown(env.regs[0], 0n);
}

/** mirrors is_iter_next_insn() */
export function isIterNextInsn(env: Env, idx: number): boolean {
  const x = env.insns[idx];
  if (x.code !== 0x85 || x.src !== 2) return false;
  const m = kfuncEnv(env).meta(x.imm);
  return !!m && (m.flags & KF_ITER_NEXT) !== 0;
}

/**
 * The iterator rule of is_state_visited() for a checkpoint `old` still on the
 * current path (branches > 0): -1 when `idx` is not an iter_next call; 1 when
 * `cur` is equivalent to `old` with the iterator ACTIVE (the loop converged:
 * prune); 0 otherwise (no infinite-loop check for iterator loops).
 */
export function iterLoopCheck(env: Env, idx: number, old: VerifierState, cur: VerifierState): -1 | 0 | 1 {
  if (!isIterNextInsn(env, idx)) return -1;
  if (!statesEqual(env, old, cur, false)) return 0;
  const r1 = cur.frames[cur.curframe].regs[1];
  if (r1.type !== RegType.PTR_TO_STACK) return 0;
  const spi = getSpi(r1.off + Number(BigInt.asIntN(64, r1.s.varOff.value)));
  const st = cur.frames[r1.frameno]?.stack[spi]?.spilled;
  return st && iterState(st) === IterState.ACTIVE ? 1 : 0;
}

/** mirrors the prune/force-checkpoint marks check_cfg() puts on iter_next calls. */
export function markIterNextCheckpoints(env: Env): void {
  for (let i = 0; i < env.insns.length; i++) {
    if (!isIterNextInsn(env, i)) continue;
    env.aux[i].prunePoint = true;
    env.aux[i].forceCheckpoint = true;
  }
}

export const ITER_FLAGS = KF_ITER_NEW | KF_ITER_NEXT | KF_ITER_DESTROY;

/** mirrors iter_active_depths_differ(): an ACTIVE iterator one iteration deeper is progress, not an infinite loop. */
export function iterActiveDepthsDiffer(old: VerifierState, cur: VerifierState): boolean {
  for (let fr = old.curframe; fr >= 0; fr--) {
    const fo = old.frames[fr];
    const fc = cur.frames[fr];
    if (!fc) continue;
    for (let i = 0; i < fo.stack.length; i++) {
      const so = fo.stack[i];
      if (so.slotType[BPF_REG_SIZE - 1] !== SlotType.ITER || iterState(so.spilled) !== IterState.ACTIVE) continue;
      const sc = fc.stack[i];
      if (sc && iterDepth(so.spilled) !== iterDepth(sc.spilled)) return true;
    }
  }
  return false;
}
