// Path exploration: mirrors do_check(), push_stack()/pop_stack(),
// is_state_visited() and update_branch_counts() (kernel/bpf/verifier.c).
import type { Insn } from '../isa/insn.js';
import { checkAlu } from './check/alu.js';
import { checkFuncCall, checkHelperCall, checkLdAbs, checkLdImm, checkReturnCode, prepareFuncExit } from './check/call.js';
import { checkCondJmp } from './check/jmp.js';
import { Access, checkMemAccess } from './check/mem.js';
import { checkRegArg, markNotInit, Op } from './check/regs.js';
import { disasmKernel } from '../isa/disasm-kernel.js';
import type { Checkpoint, Env } from './env.js';
import { Reject } from './env.js';
import { markAllScalarsImprecise, propagatePrecision, pushInsnHistory } from './precision.js';
import { copyState, type VerifierState } from './state/frame.js';
import { regTypeStr } from './state/reg.js';
import { BPF_COMPLEXITY_LIMIT_INSNS, BPF_COMPLEXITY_LIMIT_JMP_SEQ, RegType } from './state/types.js';
import { statesEqual } from './prune.js';
import { stackLiveness } from './state/liveness.js';
import { markCallStackReads } from './check/call-live.js';
import { niEnter, niExit, niPrepare, niPush } from './inlined/index.js';
import { checkRegionCall, enterRegion, inRegion, regionInsn, regionInsnText, regionMemAccess, regionPathDone, regionSkipsPrune, regionStartingHere } from './inlined/index.js';
import { iterActiveDepthsDiffer } from './kfunc/iter.js';
import { enterHelperInstance } from './kfunc/instance.js';
import { onKernelCodePath } from './inlined/kernel-path.js';
import { checkDynptrHelper, checkKfuncCall, isDynptrHelper, iterLoopCheck, kfuncEnv } from './kfunc/index.js';
import { checkSubprogExit } from './global-func.js';
import { verboseLinfo } from './log-linfo.js';
import { addSccBackedge, incompleteReadMarks, maybeEnterScc, maybeExitScc, updatePeakStates } from './scc.js';

interface StackElem {
  st: VerifierState;
  insnIdx: number;
  prevInsnIdx: number;
  logPos: number;
}

const EDGE_FALLTHROUGH = 1;
const EDGE_TARGET = 2;

/** mirrors update_branch_counts(): a state whose paths are all explored may exit its loop visit. */
function updateBranchCounts(env: Env, st: VerifierState | null): void {
  while (st) {
    const br = --st.branches;
    if (br > 0) break;
    maybeExitScc(env, st);
    st = st.parent;
  }
}

/** mirrors explored_state(): the hash bucket of an instruction. */
function bucket(env: Env, idx: number): number {
  const cs = env.cur.frames[env.cur.curframe].callsite;
  return ((idx ^ cs) >>> 0) % env.insns.length;
}

/**
 * The `hit:` part of is_state_visited(): precision of the old state flows into
 * the current path; a `loop` hit (against a checkpoint whose marks are not final)
 * is kept as a back edge of the checkpoint's loop visit (add_scc_backedge()).
 */
function pruneHit(env: Env, idx: number, sl: Checkpoint, cur: VerifierState, loop: boolean): true {
  sl.hit++;
  if (env.aux[idx].jmpPoint) pushInsnHistory(env, cur, 0, null);
  propagatePrecision(env, sl.state, cur);
  if (loop) addSccBackedge(env, sl.state, cur, idx);
  return true;
}

/** mirrors is_state_visited(): true when the current state is pruned. */
function isStateVisited(env: Env, idx: number): boolean {
  const cur = env.cur;
  // a long jump history forces a checkpoint too (it would grow without bound)
  const force = env.testStateFreq || env.aux[idx].forceCheckpoint || cur.history.length > 40;
  let addNew = force;
  if (env.jmpsProcessed - env.prevJmpsProcessed >= 2 && env.insnProcessed - env.prevInsnProcessed >= 8) addNew = true;
  const head = env.explored[bucket(env, idx)];
  stackLiveness(env).cleanLiveStates(idx, head);
  let statesCnt = 0;
  for (let k = 0; k < head.length; k++) {
    const sl = head[k];
    statesCnt++;
    if (sl.state.insnIdx !== idx) continue;
    if (sl.state.branches > 0) {
      const iterLoop = iterLoopCheck(env, idx, sl.state, cur);
      if (iterLoop === 1) return pruneHit(env, idx, sl, cur, true);
      // may_goto and callback loops converge on RANGE_WITHIN equality
      const loopHit =
        iterLoop < 0 &&
        ((env.insns[idx].code === 0xe5 && sl.state.mayGotoDepth !== cur.mayGotoDepth) || env.aux[idx].callsCallback) &&
        statesEqual(env, sl.state, cur, 'range_within');
      if (loopHit) return pruneHit(env, idx, sl, cur, true);
      if (iterLoop < 0 && !env.aux[idx].callsCallback && sl.state.mayGotoDepth === cur.mayGotoDepth &&
        sl.state.callbackUnrollDepth === cur.callbackUnrollDepth && !iterActiveDepthsDiffer(sl.state, cur) && statesEqual(env, sl.state, cur, true)) {
        if (onKernelCodePath(env)) {
          // kernel code (an instance, a region) is trusted to terminate: an exact repeat is covered
          stackLiveness(env).incomplete = true;
          return pruneHit(env, idx, sl, cur, false);
        }
        verboseLinfo(env, idx, '; ');
        env.verbose(`infinite loop detected at insn ${idx}\n`);
        env.verbose('cur state:');
        env.printState(cur, cur.curframe, true);
        env.verbose('old state:');
        env.printState(sl.state, cur.curframe, true);
        // the kernel returns -EINVAL here: the message above is the last line of the log
        throw new Reject(`infinite loop detected at insn ${idx}`);
      }
      if (!force && env.jmpsProcessed - env.prevJmpsProcessed < 20 && env.insnProcessed - env.prevInsnProcessed < 100) addNew = false;
    } else {
      // a checkpoint of a loop still being explored has incomplete marks: compare it whole
      const loop = incompleteReadMarks(env, sl.state);
      if (statesEqual(env, sl.state, cur, loop ? 'range_within' : 'not_exact')) return pruneHit(env, idx, sl, cur, loop);
    }
    if (addNew) sl.miss++;
    const n = env.aux[idx].forceCheckpoint && sl.state.branches > 0 ? 64 : 3;
    if (sl.miss > sl.hit * n + n) {
      head.splice(k, 1);
      k--;
      env.exploredSize--;
    }
  }
  if (env.maxStatesPerInsn < statesCnt) env.maxStatesPerInsn = statesCnt;
  if (!addNew) return false;
  env.totalStates++;
  env.exploredSize++;
  updatePeakStates(env);
  env.prevJmpsProcessed = env.jmpsProcessed;
  env.prevInsnProcessed = env.insnProcessed;
  markAllScalarsImprecise(cur);
  const nw = copyState(cur);
  nw.insnIdx = idx;
  maybeEnterScc(env, nw);
  cur.parent = nw;
  cur.firstInsnIdx = idx;
  cur.history = [];
  head.unshift({ state: nw, hit: 0, miss: 0 });
  return false;
}

/** mirrors do_check(): explores every path from the current state. */
export function doCheck(env: Env): void {
  const insns = env.insns;
  const stack: StackElem[] = [];
  const live = stackLiveness(env);
  const popLog = env.log.level !== 0 && !(env.log.level & 2);
  let doPrintState = false;
  let prevInsnIdx = -1;

  const push = (target: number): VerifierState => {
    const st = copyState(env.cur);
    stack.push({ st, insnIdx: target, prevInsnIdx: env.insnIdx, logPos: env.log.pos });
    if (stack.length > BPF_COMPLEXITY_LIMIT_JMP_SEQ) env.reject(`The sequence of ${stack.length} jumps is too complex.`);
    if (st.parent) st.parent.branches++;
    return st;
  };
  /** process_bpf_exit: returns false when nothing is left to explore. */
  const exitPath = (): boolean => {
    env.scratch.all();
    updateBranchCounts(env, env.cur);
    // bpf_update_live_stack() for the path that ended, before pop_stack() (also after the last one)
    stackLiveness(env).update();
    const e = stack.pop();
    if (!e) return false;
    env.cur = e.st;
    if (popLog) env.log.reset(e.logPos);
    env.insnIdx = e.insnIdx;
    prevInsnIdx = e.prevInsnIdx;
    doPrintState = true;
    return true;
  };

  for (;;) {
    env.prevInsnIdx = prevInsnIdx;
    if (regionPathDone(env)) {
      if (!exitPath()) break;
      continue;
    }
    if (env.insnIdx < 0 || env.insnIdx >= insns.length) env.reject(`invalid insn idx ${env.insnIdx} insn_cnt ${insns.length}`);
    const insn = regionInsn(env, insns);
    const cls = insn.code & 7;
    if (++env.insnProcessed > BPF_COMPLEXITY_LIMIT_INSNS)
      env.reject(`BPF program is too large. Processed ${env.insnProcessed} insn`);
    prevInsnIdx = env.insnIdx;
    env.curHistEnt = null;
    env.cur.lastInsnIdx = env.prevInsnIdx;
    env.cur.insnIdx = env.insnIdx;

    if (env.aux[env.insnIdx].prunePoint && !regionSkipsPrune(env)) {
      if (isStateVisited(env, env.insnIdx)) {
        if (env.log.level) {
          if (doPrintState) env.verbose(`\nfrom ${env.prevInsnIdx} to ${env.insnIdx}: safe\n`);
          else env.verbose(`${env.insnIdx}: safe\n`);
        }
        if (!exitPath()) break;
        continue;
      }
    }
    if (env.aux[env.insnIdx].jmpPoint) pushInsnHistory(env, env.cur, 0, null);
    // stack liveness: the previous instruction's writes are committed, this one's collected
    live.beginInsn();
    const region = regionStartingHere(env);
    if (region) {
      // an inlined region (re-verification): the call it stands for, then its end
      env.insnIdx = enterRegion(env, region, push);
      continue;
    }
    if (env.log.level & 2 && doPrintState) {
      env.verbose(`\nfrom ${env.prevInsnIdx} to ${env.insnIdx}:`);
      env.printState(env.cur, env.cur.curframe, true);
      doPrintState = false;
    }
    if (env.log.level) {
      if (env.scratch.any()) env.printInsnState(env.cur);
      verboseLinfo(env, env.insnIdx, '; ');
      env.prevLogPos = env.log.pos;
      env.verbose(`${env.insnIdx}: ${regionInsnText(env) ?? disasmKernel(insns, env.insnIdx)}\n`);
      env.prevInsnPrintPos = env.log.pos - env.prevLogPos;
      env.prevLogPos = env.log.pos;
    }
    env.reached[env.insnIdx] = 1;
    env.aux[env.insnIdx].seen = true;

    if (cls === 4 || cls === 7) {
      checkAlu(env, insn);
    } else if (cls === 1) {
      checkRegArg(env, insn.src, Op.SRC);
      checkRegArg(env, insn.dst, Op.DST_NO_MARK);
      const t = env.regs[insn.src].type;
      regionMemAccess(env, insn.src, insn.off, sizeOf(insn), Access.READ, insn.dst, false, (insn.code & 0xe0) === 0x80);
      saveAuxPtrType(env, t);
    } else if (cls === 3) {
      if ((insn.code & 0xe0) === 0xc0) {
        checkAtomic(env, insn);
      } else {
        if ((insn.code & 0xe0) !== 0x60 || insn.imm !== 0) env.reject('BPF_STX uses reserved fields');
        checkRegArg(env, insn.src, Op.SRC);
        checkRegArg(env, insn.dst, Op.SRC);
        const t = env.regs[insn.dst].type;
        regionMemAccess(env, insn.dst, insn.off, sizeOf(insn), Access.WRITE, insn.src, false, false);
        saveAuxPtrType(env, t);
      }
    } else if (cls === 2) {
      if ((insn.code & 0xe0) !== 0x60 || insn.src !== 0) env.reject('BPF_ST uses reserved fields');
      checkRegArg(env, insn.dst, Op.SRC);
      const t = env.regs[insn.dst].type;
      regionMemAccess(env, insn.dst, insn.off, sizeOf(insn), Access.WRITE, -1, false, false);
      saveAuxPtrType(env, t);
    } else if (cls === 5 || cls === 6) {
      const op = insn.code & 0xf0;
      env.jmpsProcessed++;
      if (op === 0x80) {
        if ((insn.code & 8) || (insn.src !== 2 && insn.off !== 0) || (insn.src !== 0 && insn.src !== 1 && insn.src !== 2) || insn.dst !== 0 || cls === 6)
          env.reject('BPF_CALL uses reserved fields');
        if (insn.src !== 1) markCallStackReads(env, insn);
        if (insn.src === 1) {
          env.insnIdx = checkFuncCall(env, insn);
          continue;
        } else if (insn.src === 2) {
          if (inRegion(env)) checkRegionCall(env, insn);
          else {
            // non-isolated instances: the call's checks, then the caller's path enters the body
            const ni = niPrepare(env, insn);
            checkKfuncCall(env, insn, ni ? niPush(ni, push) : push);
            if (ni) {
              env.insnIdx = niEnter(env, ni);
              doPrintState = true;
              continue;
            }
          }
        } else {
          enterHelperInstance(env, insn, push); // a helper call with an inlinable body's instance (isolated)
          if (isDynptrHelper(insn)) checkDynptrHelper(env, insn);
          else checkHelperCall(env, insn, push);
        }
        env.scratch.reg(0);
      } else if (op === 0x00) {
        if ((insn.code & 8) || insn.src !== 0 || insn.dst !== 0 || (cls === 5 && insn.imm !== 0) || (cls === 6 && insn.off !== 0))
          env.reject('BPF_JA uses reserved fields');
        env.insnIdx += (cls === 5 ? insn.off : insn.imm) + 1;
        continue;
      } else if (op === 0x90) {
        if ((insn.code & 8) || insn.imm !== 0 || insn.src !== 0 || insn.dst !== 0 || cls === 6) env.reject('BPF_EXIT uses reserved fields');
        if (env.cur.curframe === 0 && env.cur.refs.length)
          env.reject(`Unreleased reference id=${env.cur.refs[0].id} alloc_insn=${env.cur.refs[0].insnIdx}`, 'BPF_EXIT instruction in main prog would lead to reference leak');
        const niRet = niExit(env);
        if (niRet >= 0) {
          env.insnIdx = niRet;
          doPrintState = true;
          continue;
        }
        if (kfuncEnv(env).inInstance(env.insnIdx)) {
          // an instance path ends at its exit
          if (!exitPath()) break;
          continue;
        }
        if (env.cur.curframe) {
          live.update();
          env.insnIdx = prepareFuncExit(env);
          doPrintState = true;
          continue;
        }
        // a global function verified on its own returns a scalar; the main program its type's range
        if (env.cur.frames[0].subprogno) checkSubprogExit(env, () => checkRegArg(env, 0, Op.SRC));
        else checkReturnCode(env);
        if (!exitPath()) break;
        continue;
      } else {
        const at = env.insnIdx;
        const pred = checkCondJmp(env, insn, push);
        env.edges[at] |= pred === 1 ? EDGE_TARGET : pred === 0 ? EDGE_FALLTHROUGH : EDGE_TARGET | EDGE_FALLTHROUGH;
        if (pred === 1) {
          env.insnIdx += insn.off + 1;
          continue;
        }
      }
    } else if (cls === 0) {
      const mode = insn.code & 0xe0;
      if (mode === 0x20 || mode === 0x40) checkLdAbs(env, insn);
      else if (mode === 0x00) {
        checkLdImm(env, insn);
        env.insnIdx++;
        env.reached[env.insnIdx] = 1;
      } else env.reject('invalid BPF_LD mode');
    } else {
      env.reject(`unknown insn class ${cls}`);
    }
    env.insnIdx++;
  }
}

const sizeOf = (insn: Insn): number => [4, 2, 1, 8][(insn.code & 0x18) >> 3];

/** mirrors save_aux_ptr_type() */
function saveAuxPtrType(env: Env, t: RegType): void {
  const aux = env.aux[env.insnIdx];
  if (aux.ptrType === -1) {
    aux.ptrType = t;
    return;
  }
  const okType = (x: number): boolean => x !== RegType.PTR_TO_CTX && x !== RegType.PTR_TO_BTF_ID;
  if (t !== aux.ptrType && (!okType(t) || !okType(aux.ptrType))) env.reject('same insn cannot be used with different pointers');
}

/** mirrors check_atomic() / check_atomic_rmw() */
function checkAtomic(env: Env, insn: Insn): void {
  const ok = [0x00, 0x01, 0x50, 0x51, 0x40, 0x41, 0xa0, 0xa1, 0xe1, 0xf1];
  if (!ok.includes(insn.imm)) {
    if (insn.imm === 0x100 || insn.imm === 0x110) env.reject(`BPF_ATOMIC uses invalid atomic opcode ${insn.imm.toString(16).padStart(2, '0')}`);
    env.reject(`BPF_ATOMIC uses invalid atomic opcode ${(insn.imm >>> 0).toString(16).padStart(2, '0')}`);
  }
  const size = sizeOf(insn);
  if (size !== 4 && size !== 8) env.reject('invalid atomic operand size');
  checkRegArg(env, insn.src, Op.SRC);
  checkRegArg(env, insn.dst, Op.SRC);
  if (insn.imm === 0xf1) checkRegArg(env, 0, Op.SRC);
  const dt = env.regs[insn.dst].type;
  if (dt === RegType.PTR_TO_CTX || dt === RegType.PTR_TO_PACKET || dt === RegType.PTR_TO_PACKET_META)
    env.reject(`BPF_ATOMIC stores into R${insn.dst} ${regTypeStr(env.regs[insn.dst])} is not allowed`);
  let load = -1;
  if (insn.imm & 1) {
    load = insn.imm === 0xf1 ? 0 : insn.src;
    checkRegArg(env, load, Op.DST);
  }
  checkMemAccess(env, insn.dst, insn.off, size, Access.READ, load, true, false);
  checkMemAccess(env, insn.dst, insn.off, size, Access.WRITE, -1, true, false);
}
