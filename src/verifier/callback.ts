// Synchronous callbacks (bpf_loop): mirrors push_callback_call(),
// setup_func_entry() with set_loop_callback_state(), the callback part of
// prepare_func_exit(), find_prev_entry() and widen_imprecise_scalars()
// (kernel/bpf/verifier.c, 6.18).
//
// The helper call queues a path that enters the callback in a new frame and
// goes on after the call itself; the callback's exit returns to the call
// instruction, which runs again (another iteration) until a checkpoint at the
// call covers the state (the loop converged) or the iteration bound is reached.
import { markChainPrecision } from './precision.js';
import type { Env } from './env.js';
import { markPtr, markUnknown } from './check/regs.js';
import { scalarEquals } from './num/scalar.js';
import { newFrame, type VerifierState } from './state/frame.js';
import { copyReg, type RegState } from './state/reg.js';
import { BPF_REG_SIZE, MAX_CALL_FRAMES, RegType, SlotType } from './state/types.js';

type Push = (target: number) => VerifierState;

/** mirrors push_callback_call() + setup_func_entry() + set_loop_callback_state() */
export function pushLoopCallback(env: Env, subprog: number, push: Push): void {
  const cur = env.cur;
  const caller = cur.frames[cur.curframe];
  const start = env.subprogs[subprog].start;
  const st = push(start);
  if (st.curframe + 1 >= MAX_CALL_FRAMES) env.reject(`the call stack of ${st.curframe + 2} frames is too deep`);
  const callerCopy = st.frames[st.curframe];
  const callee = newFrame(st.curframe + 1, env.insnIdx, subprog);
  markPtr(callee.regs[10], RegType.PTR_TO_STACK);
  callee.regs[10].frameno = callee.frameno;
  // bpf_loop(nr_loops, callback_fn, callback_ctx, flags) -> callback_fn(u64 index, void *ctx)
  markUnknown(callee.regs[1]);
  callee.regs[2] = copyReg(callerCopy.regs[3]);
  callee.inCallbackFn = true;
  callee.callbackRet = [0n, 1n];
  st.frames.push(callee);
  st.curframe++;
  st.callbackUnrollDepth++;
  callerCopy.callbackDepth = (callerCopy.callbackDepth ?? 0) + 1;
  caller.callbackDepth = 0;
}

/** The bpf_loop rule of check_helper_call(): R1 precise, then another iteration or the bound. */
export function loopHelper(env: Env, subprog: number, push: Push): void {
  markChainPrecision(env, 1);
  const f = env.cur.frames[env.cur.curframe];
  const r1 = f.regs[1];
  if (BigInt(f.callbackDepth ?? 0) < r1.s.umax) {
    pushLoopCallback(env, subprog, push);
  } else {
    f.callbackDepth = 0;
    if (env.log.level & 2) env.verbose(`frame${env.cur.curframe} bpf_loop iteration limit reached\n`);
  }
}

/** The callback part of prepare_func_exit(): checks R0 before the frame is dropped. */
export function callbackReturnCheck(env: Env): void {
  const f = env.cur.frames[env.cur.curframe];
  const r0 = f.regs[0];
  if (r0.type !== RegType.SCALAR_VALUE) env.reject('R0 not a scalar value');
  markChainPrecision(env, 0);
  const [lo, hi] = f.callbackRet ?? [0n, 0n];
  if (r0.s.smin < lo || r0.s.smax > hi) env.reject(invalidScalar('At callback return', 'R0', r0, lo, hi));
}

/** mirrors verbose_invalid_scalar() */
export function invalidScalar(ctx: string, name: string, r: RegState, lo: bigint, hi: bigint): string {
  let s = `${ctx} the register ${name} has`;
  let unknown = true;
  if (r.s.smin > -(1n << 63n)) {
    s += ` smin=${r.s.smin}`;
    unknown = false;
  }
  if (r.s.smax < (1n << 63n) - 1n) {
    s += ` smax=${r.s.smax}`;
    unknown = false;
  }
  if (unknown) s += ' unknown scalar value';
  return `${s} should have been in [${lo}, ${hi}]`;
}

export const sameCallsites = (a: VerifierState, b: VerifierState): boolean => {
  if (a.curframe !== b.curframe) return false;
  for (let i = a.curframe; i >= 0; i--) if (a.frames[i].callsite !== b.frames[i].callsite) return false;
  return true;
};

/**
 * mirrors find_prev_entry(): the nearest checkpoint at `idx` strictly above
 * `cur` on the current path (the kernel: a state at `idx` with branches and
 * dfs_depth < cur's). The candidates are the few states at `idx` in its
 * bucket; the walk up the path stops at the first of them, so a loop costs one
 * iteration's states per call, not the whole path's (a never-converging loop
 * of k iterations would otherwise cost k^2).
 */
export function findPrevEntry(env: Env, cur: VerifierState, idx: number): VerifierState | null {
  const cs = cur.frames[cur.curframe].callsite;
  const head = env.explored[((idx ^ cs) >>> 0) % env.insns.length];
  let candidates: Set<VerifierState> | undefined;
  for (const sl of head) {
    const st = sl.state;
    if (st.insnIdx !== idx || !st.branches || !sameCallsites(st, cur)) continue;
    (candidates ??= new Set()).add(st);
  }
  if (!candidates) return null;
  for (let p = cur.parent; p; p = p.parent) if (candidates.has(p)) return p;
  return null;
}

/** mirrors maybe_widen_reg() */
function maybeWiden(o: RegState, c: RegState): void {
  if (o.type !== RegType.SCALAR_VALUE || c.type !== RegType.SCALAR_VALUE) return;
  if (o.precise || c.precise || (o.id === c.id && scalarEquals(o.s, c.s))) return;
  markUnknown(c);
}

/** mirrors widen_imprecise_scalars(): imprecise scalars that changed since `old` become unknown. */
export function widenImpreciseScalars(old: VerifierState, cur: VerifierState): void {
  for (let fr = old.curframe; fr >= 0; fr--) {
    const fo = old.frames[fr], fc = cur.frames[fr];
    for (let i = 0; i < fo.regs.length; i++) maybeWiden(fo.regs[i], fc.regs[i]);
    const n = Math.min(fo.stack.length, fc.stack.length);
    for (let i = 0; i < n; i++) {
      if (fo.stack[i].slotType[BPF_REG_SIZE - 1] !== SlotType.SPILL || fc.stack[i].slotType[BPF_REG_SIZE - 1] !== SlotType.SPILL) continue;
      maybeWiden(fo.stack[i].spilled, fc.stack[i].spilled);
    }
  }
}

