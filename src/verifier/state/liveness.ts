// Stack slot liveness: mirrors kernel/bpf/liveness.c (Linux 6.18) and its use
// by clean_live_states()/clean_func_state() in kernel/bpf/verifier.c.
//
// While the verifier explores paths it records, per (call chain, instruction),
// the stack slots an instruction may read ("may_read", a union over visits)
// and the slots it surely writes ("must_write", an intersection over visits;
// only full 8-byte writes at a fixed offset count). A textbook backward data
// flow turns these into "live_before" per instruction; a subprogram's entry
// marks flow to its call site in the caller's instance. Explored states whose
// subtrees are complete (branches == 0) are then "cleaned": their dead stack
// slots become STACK_INVALID, so stacksafe() ignores them when comparing.
//
// Masks are u64 sets of slots (spi 0..63), kept as two int32 halves.
import type { Env } from '../env.js';
import type { VerifierState } from './frame.js';
import { regNotInit } from './reg.js';
import { BPF_REG_SIZE, MAX_CALL_FRAMES, SlotType } from './types.js';
import { subprogPostorder } from '../liveness-regs.js';
import { incompleteReadMarks } from '../scc.js';

// per instruction and frame: may_read, must_write, must_write_acc, live_before (lo, hi each)
const MAY = 0, MW = 2, MWA = 4, LB = 6, W = 8;

/** mirrors struct func_instance: the marks of one subprogram under one call chain. */
interface Instance {
  /** callsites[0..curframe-1]: call instructions; callsites[curframe]: the subprogram's start. */
  callsites: number[];
  /** subprogram starts of frames 0..curframe */
  spStarts: number[];
  curframe: number;
  start: number;
  cnt: number;
  updated: boolean;
  mustWriteDropped: boolean;
  frames: (Int32Array | null)[];
  mustWriteSet: Uint8Array;
}

const keyOf = (callsites: readonly number[], n: number): string => {
  let k = '';
  for (let i = 0; i < n; i++) k += callsites[i] + ',';
  return k;
};

/** mirrors struct bpf_liveness */
export class StackLiveness {
  private readonly instances = new Map<string, Instance>();
  // the instance of the current state's innermost frame (ensure_cur_instance), by identity of state and frame
  private curState: VerifierState | null = null;
  private curFrameObj: object | null = null;
  private curInst: Instance | null = null;
  // write marks of the instruction being checked (write_masks_acc, write_insn_idx)
  private readonly wLo = new Int32Array(MAX_CALL_FRAMES);
  private readonly wHi = new Int32Array(MAX_CALL_FRAMES);
  private wInst: Instance | null = null;
  private wIdx = 0;
  private wDirty = false;
  private readonly cleaned = new WeakSet<VerifierState>();
  /** Set when kernel code (an inlined instance) repeated a state exactly: its marks may be incomplete, stop cleaning. */
  incomplete = false;
  /** Something this model does not follow (a frame without a subprogram): never clean. */
  private broken = false;

  constructor(private readonly env: Env) {}

  private subprogEnd(start: number): number {
    let end = this.env.insns.length;
    for (const s of this.env.subprogs) if (s.start > start && s.start < end) end = s.start;
    return end;
  }

  private lookupChain(callsites: number[], spStarts: number[], curframe: number): Instance {
    const key = keyOf(callsites, curframe + 1);
    let inst = this.instances.get(key);
    if (inst) return inst;
    const start = spStarts[curframe];
    const cnt = Math.max(0, this.subprogEnd(start) - start);
    inst = {
      callsites: callsites.slice(0, curframe + 1), spStarts: spStarts.slice(0, curframe + 1), curframe, start, cnt,
      updated: false, mustWriteDropped: false, frames: new Array<Int32Array | null>(curframe + 1).fill(null), mustWriteSet: new Uint8Array(cnt),
    };
    this.instances.set(key, inst);
    return inst;
  }

  /** mirrors lookup_instance(): compute_callchain() of `st` at depth `frameno`. */
  private lookup(st: VerifierState, frameno: number): Instance {
    const callsites: number[] = [];
    const spStarts: number[] = [];
    for (let i = 0; i <= frameno; i++) {
      const sp = this.env.subprogs[st.frames[i].subprogno];
      if (!sp) this.broken = true;
      spStarts.push(sp ? sp.start : 0);
      callsites.push(i < frameno ? st.frames[i + 1].callsite : spStarts[i]);
    }
    return this.lookupChain(callsites, spStarts, frameno);
  }

  /** mirrors ensure_cur_instance() */
  private current(): Instance {
    const st = this.env.cur;
    const f = st.frames[st.curframe];
    if (this.curInst && this.curState === st && this.curFrameObj === f) return this.curInst;
    this.curState = st;
    this.curFrameObj = f;
    this.curInst = this.lookup(st, st.curframe);
    return this.curInst;
  }

  private masks(inst: Instance, frame: number): Int32Array {
    let a = inst.frames[frame];
    if (!a) {
      a = new Int32Array(inst.cnt * W);
      inst.frames[frame] = a;
    }
    return a;
  }

  /** mirrors mark_stack_read() */
  private read(inst: Instance, frame: number, idx: number, lo: number, hi: number): void {
    const rel = idx - inst.start;
    if (rel < 0 || rel >= inst.cnt || frame > inst.curframe) {
      this.broken = true;
      return;
    }
    const a = this.masks(inst, frame);
    const p = rel * W;
    const nLo = a[p + MAY] | lo, nHi = a[p + MAY + 1] | hi;
    if ((nLo !== a[p + MAY] || nHi !== a[p + MAY + 1]) && ((nLo | a[p + LB]) !== a[p + LB] || (nHi | a[p + LB + 1]) !== a[p + LB + 1])) inst.updated = true;
    a[p + MAY] = nLo;
    a[p + MAY + 1] = nHi;
  }

  /** bpf_mark_stack_read() for the slots holding bytes [lo, hi) below the frame pointer of `frameno` (offsets < 0). */
  readRange(frameno: number, loOff: number, hiOff: number): void {
    let mLo = 0, mHi = 0;
    for (let o = loOff; o < hiOff; o++) {
      const spi = Math.floor((-o - 1) / BPF_REG_SIZE);
      if (spi < 0) continue;
      if (spi < 32) mLo |= 1 << spi;
      else if (spi < 64) mHi |= 1 << (spi - 32);
    }
    if (mLo || mHi) this.read(this.current(), frameno, this.env.insnIdx, mLo, mHi);
  }

  /** bpf_mark_stack_write(): a full 8-byte write of slot `spi` of frame `frameno`. */
  write(frameno: number, spi: number): void {
    if (frameno >= MAX_CALL_FRAMES || spi < 0 || spi >= 64) return;
    if (spi < 32) this.wLo[frameno] |= 1 << spi;
    else this.wHi[frameno] |= 1 << (spi - 32);
    this.wDirty = true;
  }

  /** mirrors commit_stack_write_marks() */
  private commit(inst: Instance, idx: number, wLo: Int32Array, wHi: Int32Array): void {
    const rel = idx - inst.start;
    if (rel < 0 || rel >= inst.cnt) return;
    for (let frame = 0; frame <= inst.curframe; frame++) {
      let mLo = wLo[frame], mHi = wHi[frame];
      if (mLo === 0 && mHi === 0 && (!inst.mustWriteSet[rel] || !inst.frames[frame])) continue;
      const a = this.masks(inst, frame);
      const p = rel * W;
      const oLo = a[p + MW], oHi = a[p + MW + 1];
      if (inst.mustWriteSet[rel]) {
        mLo &= oLo;
        mHi &= oHi;
      }
      if (oLo !== mLo || oHi !== mHi) {
        a[p + MW] = mLo;
        a[p + MW + 1] = mHi;
        inst.updated = true;
      }
      if (oLo & ~mLo || oHi & ~mHi) inst.mustWriteDropped = true;
    }
    inst.mustWriteSet[rel] = 1;
  }

  /** bpf_commit_stack_write_marks() of the previous instruction, then bpf_reset_stack_write_marks() for the current one. */
  beginInsn(): void {
    this.commitPending();
    this.wInst = this.current();
    this.wIdx = this.env.insnIdx;
  }

  private commitPending(): void {
    if (!this.wInst) return;
    this.commit(this.wInst, this.wIdx, this.wLo, this.wHi);
    this.wInst = null;
    if (this.wDirty) {
      this.wLo.fill(0);
      this.wHi.fill(0);
      this.wDirty = false;
    }
  }

  private successors(idx: number, out: number[]): number {
    const insn = this.env.insns[idx];
    const cls = insn.code & 7;
    if (cls === 5 || cls === 6) {
      const op = insn.code & 0xf0;
      if (op === 0x90) return 0;
      if (op === 0x00) {
        out[0] = idx + (cls === 6 ? insn.imm : insn.off) + 1;
        return 1;
      }
      if (op === 0x80) {
        out[0] = idx + 1;
        return 1;
      }
      out[0] = idx + 1;
      out[1] = idx + insn.off + 1;
      return 2;
    }
    out[0] = idx + (insn.code === 0x18 ? 2 : 1);
    return 1;
  }

  /** mirrors update_insn(): one step of the data flow; true when something changed. */
  private updateInsn(inst: Instance, frame: number, a: Int32Array, idx: number, succ: number[]): boolean {
    const n = this.successors(idx, succ);
    if (n === 0) return false;
    const p = (idx - inst.start) * W;
    let aLo = 0, aHi = 0, wLo = -1, wHi = -1;
    for (let s = 0; s < n; s++) {
      const r = succ[s] - inst.start;
      if (r < 0 || r >= inst.cnt) continue;
      const q = r * W;
      aLo |= a[q + LB];
      aHi |= a[q + LB + 1];
      wLo &= a[q + MWA];
      wHi &= a[q + MWA + 1];
    }
    wLo |= a[p + MW];
    wHi |= a[p + MW + 1];
    const bLo = (aLo & ~a[p + MW]) | a[p + MAY];
    const bHi = (aHi & ~a[p + MW + 1]) | a[p + MAY + 1];
    const changed = bLo !== a[p + LB] || bHi !== a[p + LB + 1] || wLo !== a[p + MWA] || wHi !== a[p + MWA + 1];
    if (this.env.log.level & 2 && (a[p + MAY] || a[p + MAY + 1] || a[p + MW] || a[p + MW + 1] || idx === inst.start || this.env.aux[idx]?.prunePoint)) {
      this.logMaskChange(inst, 'live', frame, idx, a[p + LB], a[p + LB + 1], bLo, bHi);
      this.logMaskChange(inst, 'written', frame, idx, a[p + MWA], a[p + MWA + 1], wLo, wHi);
    }
    a[p + LB] = bLo;
    a[p + LB + 1] = bHi;
    a[p + MWA] = wLo;
    a[p + MWA + 1] = wHi;
    return changed;
  }

  /** mirrors update_instance(): fixed point of live_before / must_write_acc, then the caller's call site. */
  private updateInstance(inst: Instance): void {
    if (inst.mustWriteDropped)
      for (const a of inst.frames) if (a) for (let i = 0; i < inst.cnt; i++) a[i * W + MWA] = a[i * W + MWA + 1] = 0;
    const succ = [0, 0];
    // the subprogram's instructions in postorder (env->cfg.insn_postorder), as the kernel visits them
    const po = subprogPostorder(this.env, inst.start) ?? Array.from({ length: inst.cnt }, (_, i) => inst.start + inst.cnt - 1 - i);
    let changed: boolean;
    let cnt = 0;
    do {
      cnt++;
      changed = false;
      for (let frame = 0; frame <= inst.curframe; frame++) {
        const a = inst.frames[frame];
        if (!a) continue;
        for (const idx of po) {
          if (idx < inst.start || idx >= inst.start + inst.cnt) continue;
          if (this.updateInsn(inst, frame, a, idx, succ)) changed = true;
        }
      }
    } while (changed);
    if (this.env.log.level & 2) this.env.verbose(`${fmtCallchain(inst)} live stack update done in ${cnt} iterations\n`);
    if (inst.curframe > 0) this.propagateToOuter(inst);
  }

  /** mirrors log_mask_change() */
  private logMaskChange(inst: Instance, pfx: string, frame: number, idx: number, oLo: number, oHi: number, nLo: number, nHi: number): void {
    const cLo = oLo ^ nLo, cHi = oHi ^ nHi;
    if (!cLo && !cHi) return;
    let out = `${fmtCallchain(inst)} frame ${frame} insn ${idx} `;
    if (nLo & cLo || nHi & cHi) out += `+${pfx} ${fmtStackMask(nLo & cLo, nHi & cHi)} `;
    if (~nLo & cLo || ~nHi & cHi) out += `-${pfx} ${fmtStackMask(~nLo & cLo, ~nHi & cHi)}`;
    this.env.verbose(out + '\n');
  }

  /** mirrors propagate_to_outer_instance() */
  private propagateToOuter(inst: Instance): void {
    const cf = inst.curframe;
    const callsites = inst.callsites.slice(0, cf);
    callsites[cf - 1] = inst.spStarts[cf - 1];
    const outer = this.lookupChain(callsites, inst.spStarts, cf - 1);
    const callsite = inst.callsites[cf - 1];
    const wLo = new Int32Array(MAX_CALL_FRAMES), wHi = new Int32Array(MAX_CALL_FRAMES);
    for (let frame = 0; frame < cf; frame++) {
      const a = inst.frames[frame];
      if (!a) continue;
      wLo[frame] = a[MWA];
      wHi[frame] = a[MWA + 1];
      this.read(outer, frame, callsite, a[LB], a[LB + 1]);
    }
    this.commit(outer, callsite, wLo, wHi);
  }

  /** mirrors bpf_update_live_stack(): after a path ends (pop_stack) and before a subprogram exit. */
  update(): void {
    this.commitPending();
    const st = this.env.cur;
    for (let frame = st.curframe; frame >= 0; frame--) {
      const inst = this.lookup(st, frame);
      if (!inst.updated) continue;
      this.updateInstance(inst);
      inst.updated = false;
      inst.mustWriteDropped = false;
    }
  }

  private liveBefore(inst: Instance, idx: number, frameno: number, spi: number): boolean {
    const a = inst.frames[frameno];
    const rel = idx - inst.start;
    if (!a || rel < 0 || rel >= inst.cnt) return false;
    const v = spi < 32 ? a[rel * W + LB] >>> spi : a[rel * W + LB + 1] >>> (spi - 32);
    return (v & 1) !== 0;
  }

  /** mirrors bpf_stack_slot_alive() for the query of state `st` (bpf_live_stack_query_init()). */
  private alive(st: VerifierState, q: Instance[], frameno: number, spi: number): boolean {
    if (spi >= 64) return true;
    const cur = q[st.curframe];
    if (this.liveBefore(cur, st.insnIdx, frameno, spi)) return true;
    for (let i = frameno; i < st.curframe; i++) {
      const callsite = cur.callsites[i];
      const at = this.env.aux[callsite]?.callsCallback ? callsite : callsite + 1;
      if (this.liveBefore(q[i], at, frameno, spi)) return true;
    }
    return false;
  }

  /** mirrors clean_verifier_state() for the stack: dead slots of every frame become STACK_INVALID. */
  private clean(st: VerifierState): void {
    const q: Instance[] = [];
    for (let i = 0; i <= st.curframe; i++) q.push(this.lookup(st, i));
    if (this.broken) return;
    this.cleaned.add(st);
    for (let i = 0; i <= st.curframe; i++) {
      const f = st.frames[i];
      for (let spi = 0; spi < f.stack.length; spi++) {
        if (this.alive(st, q, i, spi)) continue;
        const slot = f.stack[spi];
        slot.spilled = regNotInit();
        for (let j = 0; j < BPF_REG_SIZE; j++) slot.slotType[j] = SlotType.INVALID;
      }
    }
  }

  /** Has clean_verifier_state() run on `st`? (then its dead registers were dropped too) */
  isCleaned(st: VerifierState): boolean {
    return this.cleaned.has(st);
  }

  /** mirrors clean_live_states(): clean the complete checkpoints at `idx` with the current call sites. */
  cleanLiveStates(idx: number, list: readonly { readonly state: VerifierState }[]): void {
    if (this.incomplete || this.broken) return;
    const cur = this.env.cur;
    for (let k = 0; k < list.length; k++) {
      const st = list[k].state;
      if (st.branches || st.insnIdx !== idx || this.cleaned.has(st)) continue;
      if (st.curframe !== cur.curframe) continue;
      let same = true;
      for (let i = 0; i <= st.curframe && same; i++) if (st.frames[i].callsite !== cur.frames[i].callsite) same = false;
      if (!same) continue;
      // a checkpoint of a loop visit with back edges waiting: its marks are not final (incomplete_read_marks())
      if (incompleteReadMarks(this.env, st)) continue;
      this.clean(st);
    }
  }
}

/** mirrors fmt_callchain(): "(callsite,...,subprogram start)" */
function fmtCallchain(inst: Instance): string {
  return `(${inst.callsites.slice(0, inst.curframe + 1).join(',')})`;
}

/** mirrors bpf_fmt_stack_mask(): the slots' frame offsets, "-8,-16", within the 320-byte tmp_str_buf. */
function fmtStackMask(lo: number, hi: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 64; i++) if (((i < 32 ? lo >>> i : hi >>> (i - 32)) & 1) !== 0) parts.push(String(-(i + 1) * 8));
  return parts.join(',').slice(0, 319);
}

const byEnv = new WeakMap<Env, StackLiveness>();

/** The stack liveness of a verification (created on first use). */
export function stackLiveness(env: Env): StackLiveness {
  let l = byEnv.get(env);
  if (!l) {
    l = new StackLiveness(env);
    byEnv.set(env, l);
  }
  return l;
}
