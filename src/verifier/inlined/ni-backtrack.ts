// Precision backtracking across a non-isolated body (nonisolated.ts): the
// caller's path jumps from the kfunc call at `site` to the body's first slot
// and from the body's exit back to site+1. Both transitions are recorded in
// the jump history (as jmp points, mirroring what check_cfg() marks for the
// targets of a call and its return), and backtrack_insn() leaves the body at
// the call like a static subprogram call: the body's r1..r5 were the caller's.
import type { Env } from '../env.js';
import { kfuncEnv } from '../kfunc/context.js';

/** Records the body entry/exit transitions of the instance at `site` in the jump history. */
export function markNiJmpPoints(env: Env, site: number, start: number): void {
  env.aux[start].jmpPoint = true;
  if (site + 1 < env.aux.length) env.aux[site + 1].jmpPoint = true;
}

/**
 * True when backtracking reaches the kfunc call at `idx` from the first slot
 * of its non-isolated body (`subseq`): the caller's path left the body there.
 */
export function niLeavesBodyAt(env: Env, idx: number, subseq: number): boolean {
  const k = kfuncEnv(env);
  if (k.mode !== 'non-isolated' || subseq < 0) return false;
  const inst = k.instanceAt.get(idx);
  return !!inst && inst.start === subseq;
}
