// The verification passes: mirrors do_check_common(), do_check_main() and
// do_check_subprogs() (kernel/bpf/verifier.c, Linux 6.18).
//
// The main program is explored first; a call of a global function only checks
// the arguments against the prototype and marks the function called
// (check/call.ts). Then every called global function is verified once on its
// own, frame 0 set up from its BTF prototype, until no new one was called.
// Processed instructions and states add up over the passes.
import { markPtr, markUnknown } from './check/regs.js';
import { Reject, type Env } from './env.js';
import { doCheck } from './explore.js';
import { globalFuncs, lastLogLine, prepareFuncArgs } from './global-func.js';
import { newFrame } from './state/frame.js';
import { PTR_MAYBE_NULL, RegType } from './state/types.js';

/**
 * mirrors free_states(): a pass starts without explored states. The count of
 * explored states is not reset (peak_states is over the whole verification).
 */
function freeStates(env: Env): void {
  for (const l of env.explored) l.length = 0;
}

/** mirrors do_check_common(): one pass from the start of `subprog` (0: the main program). */
export function doCheckCommon(env: Env, subprog: number): void {
  const popLog = !(env.log.level & 2);
  const start = env.subprogs[subprog]?.start ?? 0;
  freeStates(env);
  const f0 = newFrame(0, -1, subprog);
  const regs = f0.regs;
  markPtr(regs[10], RegType.PTR_TO_STACK);
  env.cur = { frames: [f0], curframe: 0, refs: [], parent: null, branches: 1, insnIdx: start, mayGotoDepth: 0, firstInsnIdx: start, lastInsnIdx: -1, history: [], callbackUnrollDepth: 0 };
  const gf = globalFuncs(env);
  if (subprog) {
    if (env.log.level & 3) env.verbose(`Validating ${gf?.name(subprog) ?? ''}() func#${subprog}...\n`);
    const p = prepareFuncArgs(env, subprog);
    if ('err' in p) throw new Reject(lastLogLine(env));
    p.args.forEach((arg, i) => {
      const reg = regs[i + 1];
      if (arg.kind === 'ctx') markPtr(reg, RegType.PTR_TO_CTX);
      else if (arg.kind === 'scalar') markUnknown(reg);
      else {
        markPtr(reg, RegType.PTR_TO_MEM, arg.nullable ? PTR_MAYBE_NULL : 0);
        reg.memSize = arg.size;
        if (arg.nullable) reg.id = env.nextId();
      }
    });
  } else {
    // with BTF func_info the main program's prototype is checked too (and marked unreliable if odd)
    if (gf && env.btfFuncInfo) {
      const p = prepareFuncArgs(env, 0);
      if ('err' in p || p.args.length !== 1 || p.args[0].kind !== 'ctx') gf.subs[0].unreliable = true;
    }
    markPtr(regs[1], RegType.PTR_TO_CTX);
  }
  env.insnIdx = start;
  env.scratch.all();
  doCheck(env);
  if (popLog) env.log.reset(0);
}

/** mirrors do_check_main() */
export function doCheckMain(env: Env): void {
  doCheckCommon(env, 0);
}

/** mirrors do_check_subprogs(): each global function that was called, once, until no new one is. */
export function doCheckSubprogs(env: Env): void {
  const gf = globalFuncs(env);
  if (!gf || !env.btfFuncInfo) return;
  for (;;) {
    let newCnt = 0;
    for (let i = 1; i < env.subprogs.length; i++) {
      const sub = gf.subs[i];
      if (!sub?.global || !sub.called || sub.verified) continue;
      doCheckCommon(env, i);
      if (env.log.level & 3) env.verbose(`Func#${i} ('${sub.name}') is safe for any args that match its prototype\n`);
      // it may have called global functions not verified yet: another round
      sub.verified = true;
      newCnt++;
    }
    if (!newCnt) return;
  }
}
