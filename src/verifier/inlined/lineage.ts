// Kernel-code paths (inlined regions, isolated instances) start their own
// lineage of states: their precision marks and checkpoints stay among them and
// never reach the program's checkpoints (whose frames they do not share). In
// exchange the program's path marks the call's scalar arguments precise, so
// that pruning the program never skips a value the kernel code was not
// explored for.
import type { Env } from '../env.js';
import { markChainPrecisionBatch } from '../precision.js';
import type { VerifierState } from '../state/frame.js';
import { RegType } from '../state/types.js';

/** Makes `st` (just pushed, to start at `start`) the root of a new lineage. */
export function detachLineage(st: VerifierState, start: number): void {
  if (st.parent) st.parent.branches--;
  st.parent = null;
  st.branches = 1;
  st.history = [];
  st.firstInsnIdx = start;
  st.lastInsnIdx = -1;
}

/** mark_chain_precision() of the scalar argument registers r1..r`nargs` of the current path. */
export function markScalarArgsPrecise(env: Env, nargs: number): void {
  const fr = env.cur.curframe;
  env.bt.reset();
  env.bt.frame = fr;
  for (let a = 1; a <= nargs; a++) if (env.regs[a].type === RegType.SCALAR_VALUE) env.bt.setReg(fr, a);
  markChainPrecisionBatch(env);
}
