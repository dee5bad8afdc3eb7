// The verifier's entry point: mirrors bpf_check() (kernel/bpf/verifier.c).
import type { Insn } from '../isa/insn.js';
import { KfError } from '../util/errors.js';
import { checkCfg, checkSubprogs, computeLiveRegs, isKfuncCall, isPseudoCall, resolveLdImm64 } from './cfg.js';
import { Env, Reject } from './env.js';
import { doCheckMain, doCheckSubprogs } from './check-subprogs.js';
import { attachGlobalFuncs, checkFuncInfoEarly, checkFuncInfoLayout, type FuncInfoEntry } from './global-func.js';
import type { Btf } from '../btf/index.js';
import type { MapDesc } from './state/reg.js';
import { MAX_BPF_STACK, MAX_CALL_FRAMES } from './state/types.js';
import { inlinedEnv, prepareInlined, type InlinedRegion } from './inlined/index.js';
import { attachLineInfo, type LineInfoEntry } from './log-linfo.js';
import { computeCfgInfo, logLiveRegs } from './liveness-regs.js';
import { attachKfuncEnv, checkProgramAndInstances, markIterNextCheckpoints, type InstancesOption, type KfuncOptions } from './kfunc/index.js';

export interface VerifyProgram {
  insns: readonly Insn[];
  progType: number;
  /** Maps by the fd that BPF_PSEUDO_MAP_FD / MAP_VALUE loads name. */
  maps?: ReadonlyMap<number, MapDesc> | readonly MapDesc[];
  /** prog_flags: BPF_F_STRICT_ALIGNMENT (1), BPF_F_TEST_STATE_FREQ (8). */
  flags?: number;
  /** expected_attach_type (enum bpf_attach_type); default 0. */
  expectedAttachType?: number;
  /** Whether BTF func_info comes with the program (callbacks need it); default true. Raw instruction arrays: false. */
  btfFuncInfo?: boolean;
  /** nr_cpu_ids of the kernel modelled (bpf_get_smp_processor_id's range); default 1. */
  nrCpuIds?: number;
  /** attach_btf_id: tracing, LSM and extension programs must name their target. */
  attachBtfId?: number;
  /**
   * The object's BTF and the program's func_info (BpfObject.btf, BpfProgram.funcInfo):
   * with both, functions of BTF linkage global are verified on their own from their
   * prototypes (global-func.ts), as the kernel does; without, every subprogram is static.
   */
  btf?: Btf;
  funcInfo?: readonly FuncInfoEntry[];
  /**
   * The program's BTF line_info (BpfProgram.lineInfo, slots of this program):
   * the log then shows the source line before the instructions of each new
   * record, as the kernel's does (`; <source> @ <file>:<line>`).
   */
  lineInfo?: readonly LineInfoEntry[];
}

export interface VerifyOptions {
  /** 0 none, 1 the failing path, 2 everything; | 4 adds the statistics lines. */
  logLevel?: number;
  /** Inlinable kfunc instances appended to the program (src/inline/instances.ts), verified isolated. */
  instances?: InstancesOption;
  /**
   * Inlined regions of a rewritten program (src/verifier/inlined): each stands
   * for a call of its kfunc; its own code is checked in kernel mode.
   */
  inlined?: readonly InlinedRegion[];
  /** The BTF kfunc calls refer to (default: the model kernel's) and extra test kfuncs. */
  kfuncs?: KfuncOptions;
}

export interface VerifyResult {
  accepted: boolean;
  /** The error line (the last line the kernel would print before the statistics). */
  error?: string;
  log: string;
  processed: number;
  totalStates: number;
  peakStates: number;
  maxStatesPerInsn: number;
  /** Stack depth per subprogram. */
  stackDepth: number[];
  /** 1 for every instruction some path reached. */
  reached: Uint8Array;
  /** Conditional jumps: bit 0 fall-through taken, bit 1 target taken. */
  edges: Uint8Array;
  timeUs: number;
  /** With `inlined`: instructions processed on paths through the regions (included in `processed`). */
  inlinedProcessed?: number;
}

/** mirrors check_max_stack_depth_subprog() from the main program. */
function checkMaxStackDepth(env: Env): void {
  const sp = env.subprogs;
  const insns = env.insns;
  const round = (d: number): number => Math.ceil(d / 16) * 16;
  const endOf = (idx: number): number => (idx + 1 < sp.length ? sp[idx + 1].start : insns.length);
  let depth = 0, frame = 0, idx = 0, i = 0;
  const retInsn: number[] = [];
  const retProg: number[] = [];
  for (;;) {
    // process_func
    depth += round(sp[idx].stackDepth);
    if (depth > MAX_BPF_STACK) env.reject(`combined stack size of ${frame + 1} calls is ${depth}. Too large`);
    let called = false;
    // continue_func
    for (;;) {
      const end = endOf(idx);
      for (; i < end; i++) {
        if (!isPseudoCall(insns[i])) continue;
        retInsn[frame] = i + 1;
        retProg[frame] = idx;
        const next = i + insns[i].imm + 1;
        const sidx = sp.findIndex((s) => s.start === next);
        if (sidx < 0) throw new KfError(`internal: no subprogram at insn ${next}`);
        i = next;
        idx = sidx;
        frame++;
        if (frame >= MAX_CALL_FRAMES) env.reject(`the call stack of ${frame} frames is too deep !`);
        called = true;
        break;
      }
      if (called) break;
      if (frame === 0) return;
      depth -= round(sp[idx].stackDepth);
      frame--;
      i = retInsn[frame];
      idx = retProg[frame];
    }
  }
}

export function verify(prog: VerifyProgram, opts: VerifyOptions = {}): VerifyResult {
  const t0 = typeof performance !== 'undefined' ? performance.now() : Date.now();
  const level = opts.logLevel ?? 0;
  const maps = new Map<number, MapDesc>();
  if (prog.maps) {
    if (Array.isArray(prog.maps)) for (const m of prog.maps as readonly MapDesc[]) maps.set(m.fd, m);
    else for (const [k, v] of prog.maps as ReadonlyMap<number, MapDesc>) maps.set(k, v);
  }
  if (!Number.isInteger(prog.progType) || prog.progType < 0) throw new KfError(`invalid program type ${prog.progType}`);
  if (opts.inlined && opts.instances) throw new KfError('verify: `inlined` and `instances` cannot be combined');
  // with inlined regions the first slot of each reads as its call: a private copy
  const env = new Env(opts.inlined ? prog.insns.slice() : prog.insns, prog.progType, maps, level, prog.flags ?? 0);
  attachKfuncEnv(env, opts.kfuncs, opts.instances);
  env.expectedAttachType = prog.expectedAttachType ?? 0;
  env.btfFuncInfo = prog.btfFuncInfo ?? true;
  env.nrCpuIds = Math.max(1, prog.nrCpuIds ?? 1);
  if (prog.lineInfo?.length) attachLineInfo(env, prog.lineInfo);
  let error: string | undefined;
  // BTF func_info: with both the BTF and records (an empty list is no func_info)
  const funcInfo = prog.btf && prog.funcInfo?.length && env.btfFuncInfo ? prog.funcInfo : undefined;
  try {
    if (funcInfo) {
      // mirrors check_btf_func_early(), before the subprograms are known (its lines have no newline)
      const why = checkFuncInfoEarly(prog.btf!, funcInfo);
      if (why !== undefined) {
        env.log.write(why);
        throw new Reject(why);
      }
    }
    /** mirrors check_btf_func(), right after check_subprogs() */
    const checkLayout = (progLen?: number): void => {
      const why = funcInfo && checkFuncInfoLayout(env, funcInfo, progLen);
      if (why) env.reject(why);
    };
    if (opts.instances) {
      checkProgramAndInstances(env, opts.instances.progLen, opts.instances.list);
      checkLayout(opts.instances.progLen);
      computeCfgInfo(env);
    } else {
      checkSubprogs(env);
      checkLayout();
      resolveLdImm64(env);
    // mirrors check_attach_btf_id() for program types that attach to a BTF function
    if ((prog.progType === 26 || prog.progType === 28 || prog.progType === 29) && !prog.attachBtfId) env.reject('Tracing programs must provide btf_id');
      checkCfg(env);
      // mirrors compute_postorder(), compute_scc(), then compute_live_registers() with its level-2 table
      computeCfgInfo(env);
      computeLiveRegs(env);
      logLiveRegs(env);
    }
    if (opts.inlined) prepareInlined(env, opts.inlined);
    markIterNextCheckpoints(env);
    if (funcInfo) attachGlobalFuncs(env, prog.btf!, funcInfo);
    // mirrors bpf_check(): the main program, then the global functions it called
    doCheckMain(env);
    doCheckSubprogs(env);
    checkMaxStackDepth(env);
    for (let i = 0; i < env.insns.length; i++)
      if (env.reached[i] && isKfuncCall(env.insns[i]) && env.insns[i].imm === 0)
        env.reject('invalid kernel function call not eliminated in verifier pass');
  } catch (e) {
    if (!(e instanceof Reject)) throw e;
    error = e.line;
  }
  const timeUs = Math.round(((typeof performance !== 'undefined' ? performance.now() : Date.now()) - t0) * 1000);
  const stackDepth = env.subprogs.map((s) => s.stackDepth);
  if (level & 4) {
    env.log.write(`verification time ${timeUs} usec\n`);
    env.log.write(`stack depth ${stackDepth.join('+')}\n`);
  }
  env.log.write(
    `processed ${env.insnProcessed} insns (limit 1000000) max_states_per_insn ${env.maxStatesPerInsn} total_states ${env.totalStates} peak_states ${env.peakStates} mark_read 0\n`,
  );
  return {
    accepted: error === undefined,
    error,
    log: env.log.toString(),
    processed: env.insnProcessed,
    totalStates: env.totalStates,
    peakStates: env.peakStates,
    maxStatesPerInsn: env.maxStatesPerInsn,
    stackDepth,
    reached: env.reached,
    edges: env.edges,
    timeUs,
    ...(opts.inlined && { inlinedProcessed: inlinedEnv(env)?.processed ?? 0 }),
  };
}
