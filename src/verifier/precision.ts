// Precision tracking: mirrors push_insn_history(), backtrack_insn(),
// __mark_chain_precision(), mark_chain_precision_batch(), propagate_precision(),
// mark_all_scalars_precise()/imprecise() and the linked-register helpers
// collect_linked_regs()/bt_sync_linked_regs() (kernel/bpf/verifier.c, 6.18).
//
// A scalar is "precise" in a checkpoint when some later decision (a branch
// outcome, a pointer offset, a helper size, a return value) depended on its
// exact value; only precise scalars must match when a state is compared for
// pruning. Marks are found by walking the instructions of the current path
// backwards, checkpoint by checkpoint, with the jump history recorded per state.
import { disasmKernel } from '../isa/disasm-kernel.js';
import type { Env } from './env.js';
import type { HistEntry, LinkedReg, VerifierState } from './state/frame.js';
import type { RegState } from './state/reg.js';
import { BPF_REG_SIZE, MAX_BPF_STACK, MAX_CALL_FRAMES, RegType, SlotType } from './state/types.js';
import { KfError } from '../util/errors.js';
import { niLeavesBodyAt } from './inlined/ni-backtrack.js';
import { subprogIsGlobal } from './global-func.js';

/** mirrors INSN_F_STACK_ACCESS and the frameno/spi packing of insn_stack_access_flags(). */
export const INSN_F_STACK_ACCESS = 1 << 9;
const INSN_F_FRAMENO_MASK = 0x7;
const INSN_F_SPI_SHIFT = 3;
const INSN_F_SPI_MASK = 0x3f;
export const stackAccessFlags = (frameno: number, spi: number): number => INSN_F_STACK_ACCESS | (spi << INSN_F_SPI_SHIFT) | frameno;
const flagSpi = (f: number): number => (f >> INSN_F_SPI_SHIFT) & INSN_F_SPI_MASK;
const flagFrame = (f: number): number => f & INSN_F_FRAMENO_MASK;
const REGMASK_ARGS = 0x3e;
/** mirrors LINKED_REGS_MAX */
const LINKED_REGS_MAX = 6;
/** Backtracking gave up (the kernel's -ENOTSUPP): every scalar becomes precise. */
const ENOTSUPP = 1;

/**
 * mirrors struct backtrack_state. The per-frame u64 stack masks are kept as
 * two 32-bit halves (slots 0-31 and 32-63: the stack has at most 64 slots)
 * so that the backtracking loop does no BigInt work.
 */
export class Backtrack {
  frame = 0;
  readonly regs = new Int32Array(MAX_CALL_FRAMES);
  readonly stackLo = new Int32Array(MAX_CALL_FRAMES);
  readonly stackHi = new Int32Array(MAX_CALL_FRAMES);
  reset(): void {
    this.frame = 0;
    this.regs.fill(0);
    this.stackLo.fill(0);
    this.stackHi.fill(0);
  }
  empty(): boolean {
    for (let i = 0; i <= this.frame; i++) if ((this.regs[i] | this.stackLo[i] | this.stackHi[i]) !== 0) return false;
    return true;
  }
  setReg(fr: number, r: number): void {
    this.regs[fr] |= 1 << r;
  }
  clearReg(fr: number, r: number): void {
    this.regs[fr] &= ~(1 << r);
  }
  isReg(fr: number, r: number): boolean {
    return (this.regs[fr] & (1 << r)) !== 0;
  }
  setSlot(fr: number, spi: number): void {
    checkSpi(spi);
    if (spi < 32) this.stackLo[fr] |= 1 << spi;
    else this.stackHi[fr] |= 1 << (spi - 32);
  }
  clearSlot(fr: number, spi: number): void {
    checkSpi(spi);
    if (spi < 32) this.stackLo[fr] &= ~(1 << spi);
    else this.stackHi[fr] &= ~(1 << (spi - 32));
  }
  isSlot(fr: number, spi: number): boolean {
    if (spi < 0 || spi >= MAX_STACK_SLOTS) return false;
    return spi < 32 ? (this.stackLo[fr] & (1 << spi)) !== 0 : (this.stackHi[fr] & (1 << (spi - 32))) !== 0;
  }
  /** Any stack slot requested in frame `fr`? */
  stackAny(fr: number): boolean {
    return (this.stackLo[fr] | this.stackHi[fr]) !== 0;
  }
  /** The frame's stack mask as the kernel's u64 (for the log). */
  stackMask(fr: number): bigint {
    return (BigInt(this.stackHi[fr] >>> 0) << 32n) | BigInt(this.stackLo[fr] >>> 0);
  }
  /** One past the highest requested slot of frame `fr` (0 when none). */
  stackEnd(fr: number): number {
    const hi = this.stackHi[fr];
    return hi !== 0 ? 64 - Math.clz32(hi) : 32 - Math.clz32(this.stackLo[fr]);
  }
}

/** The stack has MAX_BPF_STACK / BPF_REG_SIZE slots: one u64 mask covers them. */
const MAX_STACK_SLOTS = MAX_BPF_STACK / BPF_REG_SIZE;
function checkSpi(spi: number): void {
  if (!(spi >= 0 && spi < MAX_STACK_SLOTS)) throw new KfError(`internal: precision tracking of stack slot ${spi} (the stack has ${MAX_STACK_SLOTS})`);
}

/** mirrors fmt_reg_mask(): "r1,r6" */
function fmtRegMask(m: number): string {
  const a: string[] = [];
  for (let i = 0; i < 32; i++) if (m & (1 << i)) a.push(`r${i}`);
  return a.join(',');
}

/** mirrors bpf_fmt_stack_mask(): "-8,-16" */
function fmtStackMask(m: bigint): string {
  const a: string[] = [];
  for (let i = 0; m >> BigInt(i); i++) if ((m >> BigInt(i)) & 1n) a.push(String(-(i + 1) * BPF_REG_SIZE));
  return a.join(',');
}

/**
 * mirrors push_insn_history(): records (insn, previous insn, flags) in the current
 * state; a second record for the same instruction merges into the first.
 */
export function pushInsnHistory(env: Env, st: VerifierState, flags: number, linked: LinkedReg[] | null): void {
  const e = env.curHistEnt;
  if (e && e.idx === env.insnIdx && st.history[st.history.length - 1] === e) {
    e.flags |= flags;
    if (linked) e.linked = linked;
    return;
  }
  const n: HistEntry = { idx: env.insnIdx, prevIdx: env.prevInsnIdx, flags, linked };
  st.history.push(n);
  env.curHistEnt = n;
}

/** mirrors collect_linked_regs(): scalars sharing `id`, in live registers and spill slots. */
export function collectLinkedRegs(env: Env, vs: VerifierState, id: number, out: LinkedReg[]): void {
  for (let i = vs.curframe; i >= 0; i--) {
    const f = vs.frames[i];
    const at = i === vs.curframe ? vs.insnIdx : vs.frames[i + 1].callsite;
    const live = env.aux[at]?.liveRegs ?? 0x7ff;
    const add = (r: RegState, regno: number, isReg: boolean): void => {
      if (r.type !== RegType.SCALAR_VALUE || r.id !== id) return;
      if (out.some((e) => e.frameno === i && e.isReg === isReg && e.no === regno)) return;
      if (out.length < LINKED_REGS_MAX) out.push({ frameno: i, no: regno, isReg });
    };
    for (let j = 0; j < 10; j++) if (live & (1 << j)) add(f.regs[j], j, true);
    for (let j = 0; j < f.stack.length; j++) if (f.stack[j].slotType[BPF_REG_SIZE - 1] === SlotType.SPILL) add(f.stack[j].spilled, j, false);
  }
}

/** mirrors bt_sync_linked_regs() */
function syncLinked(bt: Backtrack, h: HistEntry | null): void {
  if (!h || !h.linked) return;
  const some = h.linked.some((e) => (e.isReg ? bt.isReg(e.frameno, e.no) : bt.isSlot(e.frameno, e.no)));
  if (!some) return;
  for (const e of h.linked) {
    if (e.isReg) bt.setReg(e.frameno, e.no);
    else bt.setSlot(e.frameno, e.no);
  }
}

const isPseudoCall = (env: Env, i: number): boolean => {
  const x = env.insns[i];
  return !!x && x.code === 0x85 && x.src === 1;
};

/** mirrors backtrack_insn(): 0 to go on, ENOTSUPP to give up. */
function backtrackInsn(env: Env, idx: number, subseq: number, h: HistEntry | null, bt: Backtrack): number {
  const insn = env.insns[idx];
  if (insn.code === 0) return 0;
  const cls = insn.code & 7;
  const op = insn.code & 0xf0;
  const mode = insn.code & 0xe0;
  const dreg = insn.dst;
  const sreg = insn.src;
  const fr = bt.frame;
  if (env.log.level & 2)
    env.verbose(`mark_precise: frame${fr}: regs=${fmtRegMask(bt.regs[fr])} stack=${fmtStackMask(bt.stackMask(fr))} before ${idx}: ${disasmKernel(env.insns, idx)}\n`);
  syncLinked(bt, h);
  if (cls === 4 || cls === 7) {
    if (!bt.isReg(fr, dreg)) return 0;
    if (op === 0xd0 || op === 0x80) return 0;
    if (op === 0xb0) {
      bt.clearReg(fr, dreg);
      if (insn.code & 8 && sreg !== 10) bt.setReg(fr, sreg);
    } else if (insn.code & 8 && sreg !== 10) {
      bt.setReg(fr, sreg);
    }
  } else if (cls === 1 || (cls === 3 && mode === 0xc0 && insn.imm === 0x100)) {
    // LDX, or load_acquire
    if (!bt.isReg(fr, dreg)) return 0;
    bt.clearReg(fr, dreg);
    if (!h || !(h.flags & INSN_F_STACK_ACCESS)) return 0;
    bt.setSlot(flagFrame(h.flags), flagSpi(h.flags));
  } else if (cls === 3 || cls === 2) {
    if (bt.isReg(fr, dreg)) return ENOTSUPP;
    if (!h || !(h.flags & INSN_F_STACK_ACCESS)) return 0;
    const sf = flagFrame(h.flags), spi = flagSpi(h.flags);
    if (!bt.isSlot(sf, spi)) return 0;
    bt.clearSlot(sf, spi);
    if (cls === 3) bt.setReg(fr, sreg);
  } else if (cls === 5 || cls === 6) {
    if (op === 0x80 && insn.src === 2 && fr > 0 && niLeavesBodyAt(env, idx, subseq)) {
      // leaving a non-isolated kfunc body (src/verifier/inlined/ni-backtrack.ts): its r1..r5 were the caller's
      if (bt.regs[fr] & ~REGMASK_ARGS || bt.stackAny(fr)) return ENOTSUPP;
      for (let i = 1; i <= 5; i++) {
        if (bt.isReg(fr, i)) {
          bt.clearReg(fr, i);
          bt.setReg(fr - 1, i);
        }
      }
      bt.frame--;
      return 0;
    }
    if (op === 0x80 && insn.src === 1 && subprogIsGlobal(env, env.subprogs.findIndex((s) => s.start === idx + insn.imm + 1))) {
      // global subprogram call (mirrors backtrack_insn()): not descended into, so the
      // next instruction in the history is the one after the call
      if (idx + 1 !== subseq) env.reject('verifier bug: extra insn from subprog');
      // r1-r5 are invalidated after the call: none may be requested any more
      if (bt.regs[fr] & REGMASK_ARGS) env.reject(`verifier bug: global subprog unexpected regs ${(bt.regs[fr] >>> 0).toString(16)}`);
      // global subprog always sets R0
      bt.clearReg(fr, 0);
      return 0;
    }
    if (op === 0x80 && insn.src === 1) {
      // static subprogram call: we are leaving the callee
      if (bt.regs[fr] & ~REGMASK_ARGS || bt.stackAny(fr)) return ENOTSUPP;
      for (let i = 1; i <= 5; i++) {
        if (bt.isReg(fr, i)) {
          bt.clearReg(fr, i);
          if (fr > 0) bt.setReg(fr - 1, i);
        }
      }
      if (fr === 0) return ENOTSUPP;
      bt.frame--;
      return 0;
    }
    if (op === 0x80 && env.aux[idx].callsCallback && idx !== subseq - 1) {
      // exit from a callback back into the helper that calls it
      if (bt.regs[fr] & ~REGMASK_ARGS || bt.stackAny(fr)) return ENOTSUPP;
      for (let i = 1; i <= 5; i++) bt.clearReg(fr, i);
      if (fr === 0) return ENOTSUPP;
      bt.frame--;
      return 0;
    }
    if (op === 0x80) {
      if (insn.src === 2 && insn.imm === 0) return ENOTSUPP;
      bt.clearReg(fr, 0);
      if (bt.regs[fr] & REGMASK_ARGS) return ENOTSUPP;
    } else if (op === 0x90) {
      if (subseq >= 0 && env.aux[subseq]?.callsCallback) for (let i = 1; i <= 5; i++) bt.clearReg(fr, i);
      if (bt.regs[fr] & REGMASK_ARGS) return ENOTSUPP;
      const r0 = subseq - 1 >= 0 && isPseudoCall(env, subseq - 1) && bt.isReg(fr, 0);
      bt.clearReg(fr, 0);
      if (fr + 1 >= MAX_CALL_FRAMES) return ENOTSUPP;
      bt.frame++;
      if (r0) bt.setReg(bt.frame, 0);
      return 0;
    } else if (insn.code & 8) {
      if (!bt.isReg(fr, dreg) && !bt.isReg(fr, sreg)) return 0;
      bt.setReg(fr, sreg);
      bt.setReg(fr, dreg);
    }
  } else if (cls === 0) {
    if (!bt.isReg(fr, dreg)) return 0;
    bt.clearReg(fr, dreg);
    // ld_imm64 needs nothing further; ld_abs / ld_ind are not analysed
    if (mode === 0x20 || mode === 0x40) return ENOTSUPP;
  }
  syncLinked(bt, h);
  return 0;
}

/** mirrors mark_all_scalars_precise(): the parents of `st`, every scalar. */
export function markAllScalarsPrecise(env: Env, st: VerifierState): void {
  if (env.log.level & 2) env.verbose(`mark_precise: frame${st.curframe}: falling back to forcing all scalars precise\n`);
  for (let p = st.parent; p; p = p.parent) {
    for (let i = 0; i <= p.curframe; i++) {
      const f = p.frames[i];
      for (let j = 0; j < 10; j++) {
        const r = f.regs[j];
        if (r.type !== RegType.SCALAR_VALUE || r.precise) continue;
        r.precise = true;
        if (env.log.level & 2) env.verbose(`force_precise: frame${i}: forcing r${j} to be precise\n`);
      }
      for (let j = 0; j < f.stack.length; j++) {
        const s = f.stack[j];
        if (s.slotType[BPF_REG_SIZE - 1] !== SlotType.SPILL) continue;
        const r = s.spilled;
        if (r.type !== RegType.SCALAR_VALUE || r.precise) continue;
        r.precise = true;
        if (env.log.level & 2) env.verbose(`force_precise: frame${i}: forcing fp${-(j + 1) * BPF_REG_SIZE} to be precise\n`);
      }
    }
  }
}

/** mirrors mark_all_scalars_imprecise() */
export function markAllScalarsImprecise(st: VerifierState): void {
  for (let i = 0; i <= st.curframe; i++) {
    const f = st.frames[i];
    for (const r of f.regs) if (r.type === RegType.SCALAR_VALUE) r.precise = false;
    for (const s of f.stack) if (s.slotType[BPF_REG_SIZE - 1] === SlotType.SPILL && s.spilled.type === RegType.SCALAR_VALUE) s.spilled.precise = false;
  }
}

/** __mark_chain_precision()'s `*changed`: a parent state's register or slot became precise. */
let chainChanged = false;

/**
 * mirrors __mark_chain_precision(): backtracks the registers/slots already set
 * in env.bt (and `regno` in the current frame when >= 0) from `start`.
 */
function markChain(env: Env, start: VerifierState, regno: number): void {
  const bt = env.bt;
  bt.frame = start.curframe;
  if (regno >= 0) {
    const r = start.frames[bt.frame].regs[regno];
    if (r.type !== RegType.SCALAR_VALUE) {
      bt.reset();
      return;
    }
    bt.setReg(bt.frame, regno);
  }
  if (bt.empty()) return;
  const fallback = (): void => {
    markAllScalarsPrecise(env, start);
    bt.reset();
  };
  let st: VerifierState | null = start;
  let firstIdx = st.firstInsnIdx;
  let lastIdx = start.insnIdx;
  let subseq = -1;
  let skipFirst = true;
  const level2 = (env.log.level & 2) !== 0;
  for (;;) {
    let cnt = st.history.length;
    if (level2) env.verbose(`mark_precise: frame${bt.frame}: last_idx ${lastIdx} first_idx ${firstIdx} subseq_idx ${subseq} \n`);
    if (lastIdx < 0) {
      // at the entry of a global function verified on its own: only its
      // arguments r1-r5 can be asked for (mirrors __mark_chain_precision())
      const f0 = st.frames[0];
      if (st.curframe === 0 && f0.subprogno > 0 && f0.callsite === -1 && !bt.stackAny(0) && !(bt.regs[0] & ~REGMASK_ARGS)) {
        for (let i = 0; i < 32; i++) {
          if (!bt.isReg(0, i)) continue;
          bt.clearReg(0, i);
          const r = f0.regs[i];
          if (r.type === RegType.SCALAR_VALUE) r.precise = true;
        }
        return;
      }
      return fallback();
    }
    const hist = st.history;
    const first = st.firstInsnIdx;
    const nInsns = env.insns.length;
    for (let i = lastIdx; ;) {
      // mirrors get_insn_hist_entry(): the entry of insn i, if the latest one is it
      const last = cnt > 0 ? hist[cnt - 1] : null;
      const h = last !== null && last.idx === i ? last : null;
      if (skipFirst) skipFirst = false;
      else if (backtrackInsn(env, i, subseq, h, bt) === ENOTSUPP) return fallback();
      if (bt.empty()) return;
      subseq = i;
      // mirrors get_prev_insn_idx()
      if (i === first && (cnt === 0 || (cnt === 1 && h !== null))) break;
      if (h !== null) {
        i = h.prevIdx;
        cnt--;
      } else {
        i--;
      }
      if (i < 0 || i >= nInsns) return fallback();
    }
    st = st.parent;
    if (!st) break;
    if (bt.frame > st.curframe) return fallback();
    for (let fr = bt.frame; fr >= 0; fr--) {
      const f = st.frames[fr];
      for (let i = 0; i < 32 && bt.regs[fr] >>> i; i++) {
        if (!(bt.regs[fr] & (1 << i))) continue;
        const r = f.regs[i];
        if (r.type !== RegType.SCALAR_VALUE || r.precise) bt.clearReg(fr, i);
        else {
          r.precise = true;
          chainChanged = true;
        }
      }
      for (let i = 0, end = bt.stackEnd(fr); i < end; i++) {
        if (!bt.isSlot(fr, i)) continue;
        const s = f.stack[i];
        if (!s) return fallback();
        if (s.slotType[BPF_REG_SIZE - 1] !== SlotType.SPILL || s.spilled.type !== RegType.SCALAR_VALUE || s.spilled.precise) bt.clearSlot(fr, i);
        else {
          s.spilled.precise = true;
          chainChanged = true;
        }
      }
      if (level2) {
        env.verbose(`mark_precise: frame${fr}: parent state regs=${fmtRegMask(bt.regs[fr])} stack=${fmtStackMask(bt.stackMask(fr))}: `);
        env.printState(st, fr, true);
      }
    }
    if (bt.empty()) return;
    subseq = firstIdx;
    lastIdx = st.lastInsnIdx;
    firstIdx = st.firstInsnIdx;
  }
  if (!bt.empty()) fallback();
}

/** mirrors mark_chain_precision(): register `regno` of the current frame. */
export function markChainPrecision(env: Env, regno: number): void {
  if (regno < 0) return;
  markChain(env, env.cur, regno);
}

/** mirrors mark_chain_precision_batch(): whatever env.bt holds. */
export function markChainPrecisionBatch(env: Env, start: VerifierState = env.cur): void {
  if (env.bt.empty()) return;
  markChain(env, start, -1);
}

/**
 * mirrors propagate_precision(): what is precise in `old` becomes precise along
 * `cur`'s path; true when some state on it changed (propagate_backedges()).
 */
export function propagatePrecision(env: Env, old: VerifierState, cur: VerifierState): boolean {
  const bt = env.bt;
  bt.reset();
  bt.frame = old.curframe;
  const level2 = (env.log.level & 2) !== 0;
  for (let fr = old.curframe; fr >= 0; fr--) {
    const f = old.frames[fr];
    let first = true;
    const note = (s: string): void => {
      if (level2) env.verbose(first ? `frame ${fr}: propagating ${s}` : `,${s}`);
      first = false;
    };
    for (let i = 0; i < 10; i++) {
      const r = f.regs[i];
      if (r.type !== RegType.SCALAR_VALUE || !r.precise) continue;
      note(`r${i}`);
      bt.setReg(fr, i);
    }
    for (let i = 0; i < f.stack.length; i++) {
      const s = f.stack[i];
      if (s.slotType[BPF_REG_SIZE - 1] !== SlotType.SPILL) continue;
      if (s.spilled.type !== RegType.SCALAR_VALUE || !s.spilled.precise) continue;
      note(`fp${(-i - 1) * BPF_REG_SIZE}`);
      bt.setSlot(fr, i);
    }
    if (!first && level2) env.verbose('\n');
  }
  chainChanged = false;
  markChain(env, cur, -1);
  return chainChanged;
}
