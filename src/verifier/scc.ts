// Loop visits over strongly connected components (Linux 6.18, kernel/bpf/verifier.c):
// mirrors compute_scc_callchain(), scc_visit_lookup()/scc_visit_alloc(),
// format_callchain(), maybe_enter_scc(), maybe_exit_scc(), add_scc_backedge(),
// incomplete_read_marks() and propagate_backedges().
//
// A checkpoint created inside a loop (an instruction with an SCC number,
// liveness-regs.ts computes them as compute_scc() does) enters the loop's
// "visit" for its call chain when the visit has no entry state yet. A state
// pruned against a checkpoint of a visit that is still being explored is a
// back edge: its copy is kept, and while a visit holds back edges its
// checkpoints' marks are incomplete (they compare RANGE_WITHIN and are not
// cleaned). When the entry state's subtree is fully explored (branches == 0)
// the visit is exited: precision flows from each back edge's equal state
// along the back edge's path until nothing changes, then the back edges go.
import type { Env } from './env.js';
import { insnScc } from './liveness-regs.js';
import { markAllScalarsPrecise, propagatePrecision } from './precision.js';
import { copyState, type VerifierState } from './state/frame.js';

/** mirrors struct bpf_scc_backedge: a copy of the pruned state and the checkpoint it equalled. */
interface Backedge {
  state: VerifierState;
  equal: VerifierState;
}

/** mirrors struct bpf_scc_visit */
interface SccVisit {
  entry: VerifierState | null;
  backedges: Backedge[];
}

interface SccEnv {
  visits: Map<string, SccVisit>;
  /** env->num_backedges */
  numBackedges: number;
}

const byEnv = new WeakMap<Env, SccEnv>();

function sccEnv(env: Env): SccEnv {
  let s = byEnv.get(env);
  if (!s) {
    s = { visits: new Map(), numBackedges: 0 };
    byEnv.set(env, s);
  }
  return s;
}

/** env->num_backedges: back edges kept (they count in peak_states). */
export function sccBackedgeCount(env: Env): number {
  return byEnv.get(env)?.numBackedges ?? 0;
}

/** mirrors frame_insn_idx() */
const frameInsnIdx = (st: VerifierState, i: number): number => (i === st.curframe ? st.insnIdx : st.frames[i + 1].callsite);

/**
 * mirrors compute_scc_callchain(): the call sites of the frames up to the
 * first one whose instruction is in a loop, and that loop's SCC, as
 * "callsite,...,scc" (the visits' key); null when no frame is in a loop.
 */
function callchain(env: Env, st: VerifierState): string | null {
  let key = '';
  for (let i = 0; i <= st.curframe; i++) {
    const idx = frameInsnIdx(st, i);
    const scc = insnScc(env, idx);
    if (scc) return key + scc;
    if (i === st.curframe) return null;
    key += `${idx},`;
  }
  return null;
}

/** mirrors format_callchain(): "(callsite#1,callsite#2,...,scc)", the call sites up to the first zero one. */
function formatCallchain(key: string): string {
  const parts = key.split(',');
  const scc = parts.pop();
  const z = parts.indexOf('0');
  return `(${(z < 0 ? parts : parts.slice(0, z)).map((p) => p + ',').join('')}${scc})`;
}

/** mirrors maybe_enter_scc(): a new checkpoint `st` inside a loop enters its visit unless one is under way. */
export function maybeEnterScc(env: Env, st: VerifierState): void {
  const chain = callchain(env, st);
  if (chain === null) return;
  const s = sccEnv(env);
  let visit = s.visits.get(chain);
  if (!visit) {
    visit = { entry: null, backedges: [] };
    s.visits.set(chain, visit);
  }
  if (!visit.entry) {
    visit.entry = st;
    if (env.log.level & 2) env.verbose(`SCC enter ${formatCallchain(chain)}\n`);
  }
}

/** mirrors maybe_exit_scc(): `st` (branches now 0) was its visit's entry: the loop is explored, propagate over its back edges. */
export function maybeExitScc(env: Env, st: VerifierState): void {
  const chain = callchain(env, st);
  if (chain === null) return;
  const s = sccEnv(env);
  const visit = s.visits.get(chain);
  // no visit: only a speculative path can stop inside a loop without one (the kernel's verifier_bug otherwise)
  if (!visit || visit.entry !== st) return;
  if (env.log.level & 2) env.verbose(`SCC exit ${formatCallchain(chain)}\n`);
  visit.entry = null;
  s.numBackedges -= visit.backedges.length;
  propagateBackedges(env, visit);
}

/** mirrors add_scc_backedge() with the copy is_state_visited() makes: `cur` was found equal to checkpoint `equal`. */
export function addSccBackedge(env: Env, equal: VerifierState, cur: VerifierState, idx: number): void {
  const chain = callchain(env, equal);
  const visit = chain === null ? undefined : sccEnv(env).visits.get(chain);
  // the kernel's verifier_bug("add backedge: ..."): cannot happen for a checkpoint with incomplete marks
  if (!visit) return;
  const state = copyState(cur);
  state.insnIdx = idx;
  if (env.log.level & 2) env.verbose(`SCC backedge ${formatCallchain(chain as string)}\n`);
  visit.backedges.unshift({ state, equal });
  const s = sccEnv(env);
  s.numBackedges++;
  updatePeakStates(env);
}

/** mirrors incomplete_read_marks(): `st` is in a loop visit that has back edges waiting. */
export function incompleteReadMarks(env: Env, st: VerifierState): boolean {
  const s = byEnv.get(env);
  if (!s) return false;
  const chain = callchain(env, st);
  if (chain === null) return false;
  const visit = s.visits.get(chain);
  return !!visit && visit.backedges.length > 0;
}

/** mirrors update_peak_states() */
export function updatePeakStates(env: Env): void {
  const cur = env.exploredSize + sccBackedgeCount(env);
  if (cur > env.peakStates) env.peakStates = cur;
}

const MAX_BACKEDGE_ITERS = 64;

/** mirrors propagate_backedges(): precision from each back edge's equal state along its path, to a fixed point. */
function propagateBackedges(env: Env, visit: SccVisit): void {
  let i = 0;
  let changed: boolean;
  do {
    if (i++ > MAX_BACKEDGE_ITERS) {
      if (env.log.level & 2) env.verbose('propagate_backedges: too many iterations\n');
      for (const b of visit.backedges) markAllScalarsPrecise(env, b.state);
      break;
    }
    changed = false;
    for (const b of visit.backedges) if (propagatePrecision(env, b.equal, b.state)) changed = true;
  } while (changed);
  visit.backedges = [];
}
