// The control-flow facts the 6.18 verifier computes before do_check(): the
// postorder of each subprogram (mirrors compute_postorder()), the strongly
// connected components (mirrors compute_scc()), and the level-2 dump of
// compute_live_registers(): "Live regs before insn:" with the SCC column.
// The liveness itself is cfg.ts computeLiveRegs() (a fixed point: the
// visiting order does not change it).
import type { Insn } from '../isa/insn.js';
import { disasmKernel } from '../isa/disasm-kernel.js';
import type { Env } from './env.js';

/** mirrors bpf_insn_successors(): fall-through first, then the jump target. */
export function insnSuccessors(insns: readonly Insn[], idx: number, out: number[]): number {
  const x = insns[idx];
  const cls = x.code & 7;
  let n = 0;
  if (cls === 5 || cls === 6) {
    const op = x.code & 0xf0;
    if (op === 0x90) return 0; // exit
    if (op === 0x00) {
      out[0] = idx + (cls === 6 ? x.imm : x.off) + 1; // ja: no fall-through
      return 1;
    }
    out[n++] = idx + 1;
    if (op !== 0x80) out[n++] = idx + x.off + 1; // conditional jumps (calls only fall through)
    return n;
  }
  out[n++] = idx + (x.code === 0x18 ? 2 : 1);
  return n;
}

interface CfgInfo {
  /** env->cfg.insn_postorder */
  postorder: number[];
  /** subprog_info[i].postorder_start, with the end as a last element */
  postorderStart: number[];
  /** insn_aux_data[i].scc (0: in no loop) */
  scc: Uint32Array;
}

const byEnv = new WeakMap<Env, CfgInfo>();

/** mirrors compute_postorder(): each subprogram's instructions in DFS postorder. */
function computePostorder(env: Env): Pick<CfgInfo, 'postorder' | 'postorderStart'> {
  const insns = env.insns;
  const n = insns.length;
  const DISCOVERED = 1, EXPLORED = 2;
  const state = new Uint8Array(n);
  const postorder: number[] = [];
  const postorderStart: number[] = [];
  const succ = [0, 0];
  for (const sp of env.subprogs) {
    postorderStart.push(postorder.length);
    if (sp.start >= n) continue;
    const stack = [sp.start];
    do {
      const top = stack[stack.length - 1];
      state[top] |= DISCOVERED;
      if (state[top] & EXPLORED) {
        postorder.push(top);
        stack.pop();
        continue;
      }
      const cnt = insnSuccessors(insns, top, succ);
      for (let s = 0; s < cnt; s++) {
        const w = succ[s];
        if (w < 0 || w >= n || state[w]) continue;
        stack.push(w);
        state[w] |= DISCOVERED;
      }
      state[top] |= EXPLORED;
    } while (stack.length);
  }
  postorderStart.push(postorder.length);
  return { postorder, postorderStart };
}

/**
 * mirrors compute_scc(): Tarjan's algorithm without recursion over every
 * instruction. A component gets a number (from 1) when it has two or more
 * instructions, a self edge, or calls a callback (an implicit loop).
 */
function computeScc(env: Env): Uint32Array {
  const insns = env.insns;
  const n = insns.length;
  const NOT_ON_STACK = 0xffffffff;
  const scc = new Uint32Array(n);
  const pre = new Uint32Array(n);
  const low = new Uint32Array(n);
  const stack: number[] = [];
  const dfs: number[] = [];
  const succ = [0, 0];
  let nextPre = 1, nextScc = 1;
  for (let i = 0; i < n; i++) {
    if (pre[i]) continue;
    stack.length = 0;
    dfs.length = 0;
    dfs.push(i);
    outer: while (dfs.length) {
      const w = dfs[dfs.length - 1];
      if (pre[w] === 0) {
        low[w] = pre[w] = nextPre++;
        stack.push(w);
      }
      const cnt = insnSuccessors(insns, w, succ);
      for (let j = 0; j < cnt; j++) {
        const s = succ[j];
        if (s < 0 || s >= n) continue;
        if (pre[s]) low[w] = Math.min(low[w], low[s]);
        else {
          dfs.push(s);
          continue outer;
        }
      }
      // keep w on the stack while something above it is reachable from it
      if (low[w] < pre[w]) {
        dfs.pop();
        continue;
      }
      let assign = stack[stack.length - 1] !== w;
      for (let j = 0; j < cnt; j++) if (succ[j] === w) assign = true;
      if (env.aux[w]?.callsCallback) assign = true;
      let t: number;
      do {
        t = stack.pop()!;
        low[t] = NOT_ON_STACK;
        if (assign) scc[t] = nextScc;
      } while (t !== w);
      if (assign) nextScc++;
      dfs.pop();
    }
  }
  return scc;
}

/** Postorder and SCCs of env's program (after check_cfg(): subprograms known, every jump in range). */
export function computeCfgInfo(env: Env): void {
  byEnv.set(env, { ...computePostorder(env), scc: computeScc(env) });
}

/** The postorder of the subprogram starting at `start` (env->cfg.insn_postorder[po_start..po_end)), or undefined. */
export function subprogPostorder(env: Env, start: number): readonly number[] | undefined {
  const info = byEnv.get(env);
  if (!info) return undefined;
  const i = env.subprogs.findIndex((s) => s.start === start);
  if (i < 0 || i + 1 >= info.postorderStart.length) return undefined;
  return info.postorder.slice(info.postorderStart[i], info.postorderStart[i + 1]);
}

/** The SCC number of instruction `idx` (0 when not in a loop). */
export function insnScc(env: Env, idx: number): number {
  return byEnv.get(env)?.scc[idx] ?? 0;
}

/** mirrors the BPF_LOG_LEVEL2 dump at the end of compute_live_registers(). */
export function logLiveRegs(env: Env): void {
  if (!(env.log.level & 2)) return;
  const insns = env.insns;
  let out = 'Live regs before insn:\n';
  for (let i = 0; i < insns.length; i++) {
    const scc = insnScc(env, i);
    out += scc ? `${String(scc).padStart(3)} ` : '    ';
    out += `${String(i).padStart(3)}: `;
    const live = env.aux[i].liveRegs;
    for (let r = 0; r < 10; r++) out += live & (1 << r) ? String(r) : '.';
    out += ` ${disasmKernel(insns, i)}\n`;
    if (insns[i].code === 0x18) i++;
  }
  env.verbose(out);
}
