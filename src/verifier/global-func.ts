// Global (BTF_FUNC_GLOBAL) subprograms: their prototypes from BTF and the
// checks at a call. Mirrors btf_prepare_func_args() and btf_is_prog_ctx_type()
// (kernel/bpf/btf.c), btf_check_subprog_call() / btf_check_func_arg_match()
// and the global half of check_func_call() (kernel/bpf/verifier.c, Linux 6.18).
//
// A global function is verified once on its own (check-subprogs.ts) with its
// arguments set up from its prototype; a call only checks the arguments
// against the prototype and does not descend.
import type { Btf } from '../btf/index.js';
import { Reject, type Env } from './env.js';
import { helperProto } from './helpers-proto.js';
import { isPseudoCall } from './cfg.js';
import { regTypeStr } from './state/reg.js';
import { PTR_MAYBE_NULL, RegType } from './state/types.js';

/** One BTF func_info record: the first instruction of a subprogram and its BTF FUNC id. */
export interface FuncInfoEntry {
  readonly insn: number;
  readonly typeId: number;
}

/** mirrors struct bpf_subprog_arg_info: ARG_ANYTHING, ARG_PTR_TO_CTX, ARG_PTR_TO_MEM[|PTR_MAYBE_NULL]. */
export type SubprogArg =
  | { readonly kind: 'scalar' }
  | { readonly kind: 'ctx' }
  | { readonly kind: 'mem'; readonly size: number; readonly nullable: boolean };

/** mirrors the per-subprogram part of bpf_func_info_aux and bpf_subprog_info. */
interface SubprogBtf {
  /** BTF FUNC id (0: none). */
  typeId: number;
  name: string;
  global: boolean;
  unreliable: boolean;
  called: boolean;
  verified: boolean;
  /** args_cached: the prototype once btf_prepare_func_args() succeeded. */
  args: SubprogArg[] | null;
  /** changes_pkt_data: the subprogram or one it calls may move packet data. */
  changesPktData: boolean;
}

export class GlobalFuncs {
  /** Per subprogram index (env.subprogs order). */
  readonly subs: SubprogBtf[];
  /** Decl tags "arg:<tag>" per FUNC id, per parameter. */
  private readonly argTags = new Map<number, Map<number, string[]>>();

  constructor(private readonly env: Env, readonly btf: Btf, funcInfo: readonly FuncInfoEntry[]) {
    const byInsn = new Map<number, number>();
    for (const fi of funcInfo) byInsn.set(fi.insn, fi.typeId);
    this.subs = env.subprogs.map((s) => {
      const typeId = byInsn.get(s.start) ?? 0;
      let name = '';
      let global = false;
      if (typeId > 0 && typeId < btf.count) {
        const t = btf.typeById(typeId);
        if (t.kind === 'FUNC') {
          name = t.name;
          global = t.linkage === 'global';
        }
      }
      return { typeId, name, global, unreliable: false, called: false, verified: false, args: null, changesPktData: false };
    });
    for (let id = 1; id < btf.count; id++) {
      const t = btf.typeById(id);
      if (t.kind !== 'DECL_TAG' || t.componentIdx < 0 || !t.name.startsWith('arg:')) continue;
      let m = this.argTags.get(t.type);
      if (!m) this.argTags.set(t.type, (m = new Map()));
      const l = m.get(t.componentIdx) ?? [];
      l.push(t.name.slice(4));
      m.set(t.componentIdx, l);
    }
    this.markChangesPktData();
  }

  /** mirrors mark_subprog_changes_pkt_data() + merge of callee effects: transitive over calls. */
  private markChangesPktData(): void {
    const env = this.env;
    const sp = env.subprogs;
    const subOf = (idx: number): number => {
      let k = 0;
      while (k + 1 < sp.length && sp[k + 1].start <= idx) k++;
      return k;
    };
    const callees: Set<number>[] = sp.map(() => new Set());
    for (let i = 0; i < env.insns.length; i++) {
      const insn = env.insns[i];
      if (insn.code !== 0x85) continue;
      const s = subOf(i);
      if (isPseudoCall(insn)) {
        const t = sp.findIndex((x) => x.start === i + insn.imm + 1);
        if (t >= 0) callees[s].add(t);
      } else if (insn.src === 0 && helperProto(insn.imm, env.progType)?.pktChange) this.subs[s].changesPktData = true;
    }
    for (let changed = true; changed; ) {
      changed = false;
      for (let s = 0; s < sp.length; s++) {
        if (this.subs[s].changesPktData) continue;
        for (const t of callees[s]) if (this.subs[t].changesPktData) { this.subs[s].changesPktData = true; changed = true; break; }
      }
    }
  }

  isGlobal(subprog: number): boolean {
    return this.subs[subprog]?.global ?? false;
  }

  /** mirrors subprog_name() */
  name(subprog: number): string {
    return this.subs[subprog]?.name ?? '';
  }

  tagsOf(fnId: number, arg: number): readonly string[] {
    return this.argTags.get(fnId)?.get(arg) ?? [];
  }
}

const ENVS = new WeakMap<Env, GlobalFuncs>();

/**
 * mirrors check_btf_func_early(): the records in increasing instruction
 * order from 0, each naming a FUNC. The kernel's messages have no newline.
 */
export function checkFuncInfoEarly(btf: Btf, funcInfo: readonly FuncInfoEntry[]): string | undefined {
  let prev = 0;
  for (let i = 0; i < funcInfo.length; i++) {
    const { insn, typeId } = funcInfo[i];
    if (i === 0) {
      if (insn !== 0) return `nonzero insn_off ${insn >>> 0} for the first func info record`;
    } else if (insn <= prev) {
      return `same or smaller insn offset (${insn >>> 0}) than previous func info record (${prev >>> 0})`;
    }
    prev = insn;
    if (!Number.isInteger(typeId) || typeId <= 0 || typeId >= btf.count || btf.kindOf(typeId) !== 'FUNC') return `invalid type id ${typeId | 0} in func info`;
  }
  return undefined;
}

/**
 * mirrors check_btf_func(): one record per subprogram, record i at the start
 * of subprogram i. Subprograms from `progLen` on (kfunc instances appended
 * to the program) have none. Returns the kernel's error line, or undefined.
 */
export function checkFuncInfoLayout(env: Env, funcInfo: readonly FuncInfoEntry[], progLen = env.insns.length): string | undefined {
  const n = env.subprogs.filter((s) => s.start < progLen).length;
  if (funcInfo.length !== n) return "number of funcs in func_info doesn't match number of subprogs";
  if (!funcInfo.every((f, i) => env.subprogs[i].start === f.insn)) return "func_info BTF section doesn't match subprog layout in BPF program";
  return undefined;
}

/**
 * Attach the program's BTF and func_info to a verification (bpf_check_btf_info()),
 * once checkFuncInfoEarly() and checkFuncInfoLayout() passed.
 */
export function attachGlobalFuncs(env: Env, btf: Btf, funcInfo: readonly FuncInfoEntry[]): GlobalFuncs {
  const g = new GlobalFuncs(env, btf, funcInfo);
  ENVS.set(env, g);
  return g;
}

/** The BTF view of the subprograms, when the program came with func_info. */
export function globalFuncs(env: Env): GlobalFuncs | undefined {
  return ENVS.get(env);
}

/** mirrors bpf_subprog_is_global() */
export function subprogIsGlobal(env: Env, subprog: number): boolean {
  return ENVS.get(env)?.isGlobal(subprog) ?? false;
}

/** The user-visible ctx struct of each program type (bpf_ctx_convert, include/linux/bpf_types.h); '' when none. */
const CTX_STRUCT: Record<number, string> = {
  1: '__sk_buff', 2: 'pt_regs', 3: '__sk_buff', 4: '__sk_buff', 6: 'xdp_md', 7: 'bpf_perf_event_data',
  8: '__sk_buff', 9: 'bpf_sock', 10: '__sk_buff', 11: '__sk_buff', 12: '__sk_buff', 13: 'bpf_sock_ops',
  14: '__sk_buff', 15: 'bpf_cgroup_dev_ctx', 16: 'sk_msg_md', 17: 'bpf_raw_tracepoint_args', 18: 'bpf_sock_addr',
  19: '__sk_buff', 21: 'sk_reuseport_md', 22: '__sk_buff', 23: 'bpf_sysctl', 24: 'bpf_raw_tracepoint_args',
  25: 'bpf_sockopt', 30: 'bpf_sk_lookup', 32: 'bpf_nf_ctx',
};
/** mirrors btf_is_projection_of(): the kernel struct a uapi ctx stands for. */
const PROJECTION: Record<string, string> = { __sk_buff: 'sk_buff', xdp_md: 'xdp_buff' };

const MODIFIERS = new Set(['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG']);

function skipMods(btf: Btf, id: number): number {
  for (let depth = 0; depth < 32; depth++) {
    const t = btf.typeById(id);
    if (!MODIFIERS.has(t.kind)) return id;
    id = (t as { type: number }).type;
  }
  return id;
}

/** mirrors btf_type_str() */
function kindStr(btf: Btf, id: number): string {
  const k = btf.kindOf(id);
  return k === 'VOID' ? 'UNKNOWN' : k;
}

/** mirrors btf_is_prog_ctx_type() for a PTR type `ptrId`. */
function isProgCtxType(btf: Btf, ptrId: number, progType: number): boolean {
  const ptr = btf.typeById(ptrId);
  if (ptr.kind !== 'PTR') return false;
  let id = ptr.type;
  if (progType === 2) {
    // KPROBE: the bpf_user_pt_regs_t typedef itself
    for (let d = 0; d < 32; d++) {
      const t = btf.typeById(id);
      if (t.kind === 'TYPEDEF') {
        if (t.name === 'bpf_user_pt_regs_t') return true;
        break;
      }
      if (!MODIFIERS.has(t.kind)) break;
      id = (t as { type: number }).type;
    }
  }
  const t = btf.typeById(skipMods(btf, id));
  if (t.kind !== 'STRUCT' && t.kind !== 'UNION') return false;
  const ctx = CTX_STRUCT[progType] ?? '';
  if (!ctx) return false;
  return t.name === ctx || PROJECTION[ctx] === t.name;
}

/** What btf_prepare_func_args() concluded: the arguments, or an error (the log lines already written). */
export type Prepared = { args: SubprogArg[] } | { err: 'inval' | 'fault' };

/**
 * mirrors btf_prepare_func_args(): the verifier types of a subprogram's
 * arguments from its BTF prototype (cached on success). Static functions
 * fail silently where a global one logs why.
 */
export function prepareFuncArgs(env: Env, subprog: number): Prepared {
  const g = ENVS.get(env);
  if (!g) return { err: 'inval' };
  const sub = g.subs[subprog];
  if (sub.args) return { args: sub.args };
  const btf = g.btf;
  const isGlobal = sub.global;
  const log = (s: string): void => env.verbose(s + '\n');
  if (!sub.typeId) {
    if (!isGlobal) return { err: 'inval' };
    log('Global functions need valid BTF');
    return { err: 'fault' };
  }
  if (sub.typeId >= btf.count || btf.kindOf(sub.typeId) !== 'FUNC') {
    log(`BTF of func#${subprog} doesn't point to KIND_FUNC`);
    return { err: 'fault' };
  }
  const fn = btf.typeById(sub.typeId);
  if (fn.kind !== 'FUNC') return { err: 'fault' };
  const tname = fn.name;
  const proto = fn.type < btf.count ? btf.typeById(fn.type) : undefined;
  if (!proto || proto.kind !== 'FUNC_PROTO') {
    log(`Invalid type of function ${tname}()`);
    return { err: 'fault' };
  }
  const nargs = proto.params.length;
  if (nargs > 5) {
    if (!isGlobal) return { err: 'inval' };
    log(`Global function ${tname}() with ${nargs} > 5 args. Buggy compiler.`);
    return { err: 'inval' };
  }
  // check that the function returns int (Linux 6.18 has no void global functions)
  const ret = btf.typeById(skipMods(btf, proto.type));
  if (ret.kind !== 'INT' && ret.kind !== 'ENUM' && ret.kind !== 'ENUM64') {
    if (!isGlobal) return { err: 'inval' };
    log(`Global function ${tname}() doesn't return scalar. Only those are supported.`);
    return { err: 'inval' };
  }
  const args: SubprogArg[] = [];
  for (let i = 0; i < nargs; i++) {
    let ctxTag = false, nonnull = false, nullable = false;
    for (const tag of g.tagsOf(sub.typeId, i)) {
      // disallow arg tags in static subprogs
      if (!isGlobal) {
        log(`arg#${i} type tag is not supported in static functions`);
        return { err: 'inval' };
      }
      if (tag === 'ctx') ctxTag = true;
      else if (tag === 'nonnull') nonnull = true;
      else if (tag === 'nullable') nullable = true;
      else if (tag === 'trusted' || tag === 'untrusted' || tag === 'arena') {
        // PTR_TO_BTF_ID and arena arguments are beyond the model kernel
        log(`arg#${i} tag arg:${tag} is not supported by kfinline`);
        return { err: 'inval' };
      } else {
        log(`arg#${i} has unsupported set of tags`);
        return { err: 'inval' };
      }
    }
    const argId = proto.params[i].type;
    const tid = skipMods(btf, argId);
    const t = btf.typeById(tid);
    if (t.kind === 'PTR') {
      if (ctxTag || isProgCtxType(btf, tid, env.progType)) {
        if (nonnull || nullable) {
          log(`arg#${i} has invalid combination of tags`);
          return { err: 'inval' };
        }
        args.push({ kind: 'ctx' });
        continue;
      }
      const target = btf.typeById(skipMods(btf, t.type));
      if ((target.kind === 'STRUCT' || (target.kind === 'FWD' && target.fwdKind === 'struct')) && target.name === 'bpf_dynptr') {
        log(`arg#${i} dynptr arguments of global functions are not supported by kfinline`);
        return { err: 'inval' };
      }
      if (isGlobal) {
        // generic user data pointer
        if (nullable) {
          log(`arg#${i} has invalid combination of tags`);
          return { err: 'inval' };
        }
        const refId = skipMods(btf, t.type);
        let size = -1;
        try {
          size = btf.resolveSize(refId);
        } catch {
          size = -1;
        }
        if (size < 0) {
          log(`arg#${i} reference type('${kindStr(btf, refId)} ${btf.nameOf(refId)}') size cannot be determined: -22`);
          return { err: 'inval' };
        }
        args.push({ kind: 'mem', size, nullable: !nonnull });
        continue;
      }
    }
    // skip_pointer:
    if (ctxTag || nonnull || nullable) {
      log(`arg#${i} has pointer tag, but is not a pointer type`);
      return { err: 'inval' };
    }
    if (t.kind === 'INT' || t.kind === 'ENUM' || t.kind === 'ENUM64') {
      args.push({ kind: 'scalar' });
      continue;
    }
    if (!isGlobal) return { err: 'inval' };
    log(`Arg#${i} type ${kindStr(btf, tid)} in ${tname}() is not supported yet.`);
    return { err: 'inval' };
  }
  sub.args = args;
  return { args };
}

/** The checks a call makes on a memory argument: check_mem_reg() (check/call.ts supplies it). */
export type MemArgCheck = (regno: number, size: number) => void;

/**
 * mirrors btf_check_subprog_call() + btf_check_func_arg_match(): 'ok', or
 * 'inval' / 'fault' with the reason logged. A failing check marks the
 * subprogram's BTF unreliable (later calls are not checked).
 */
export function checkSubprogCall(env: Env, subprog: number, memCheck: MemArgCheck, ctxOffCheck: (regno: number) => void): 'ok' | 'inval' | 'fault' {
  const g = ENVS.get(env);
  if (!g || !env.btfFuncInfo) return 'inval';
  const sub = g.subs[subprog];
  // a subprogram without func_info (an appended kfunc instance) has no prototype to check
  if (!sub.typeId || sub.unreliable) return 'inval';
  let r: 'ok' | 'inval' | 'fault';
  try {
    r = matchArgs(env, subprog, memCheck, ctxOffCheck);
  } catch (e) {
    // a failed register check has logged its line: the call's arguments do not match
    if (!(e instanceof Reject)) throw e;
    r = 'inval';
  }
  if (r !== 'ok') sub.unreliable = true;
  return r;
}

function matchArgs(env: Env, subprog: number, memCheck: MemArgCheck, ctxOffCheck: (regno: number) => void): 'ok' | 'inval' | 'fault' {
  const p = prepareFuncArgs(env, subprog);
  if ('err' in p) return p.err;
  const log = (s: string): void => env.verbose(s + '\n');
  for (let i = 0; i < p.args.length; i++) {
    const regno = i + 1;
    const reg = env.regs[regno];
    const arg = p.args[i];
    if (arg.kind === 'scalar') {
      if (reg.type !== RegType.SCALAR_VALUE) {
        log(`R${regno} is not a scalar`);
        return 'inval';
      }
    } else if (arg.kind === 'ctx') {
      ctxOffCheck(regno);
      // If the function expects ctx type in BTF, the caller must pass PTR_TO_CTX.
      if (reg.type !== RegType.PTR_TO_CTX) {
        log(`arg#${i} expects pointer to ctx`);
        return 'inval';
      }
    } else {
      memCheck(regno, arg.size);
      if (!arg.nullable && reg.flags & PTR_MAYBE_NULL && reg.type !== RegType.SCALAR_VALUE) {
        log(`arg#${i} is expected to be non-NULL`);
        return 'inval';
      }
    }
  }
  return 'ok';
}

/** The last line written to the log (the error a failed check reported). */
export function lastLogLine(env: Env): string {
  const lines = env.log.toString().split('\n').filter((l) => l !== '');
  return lines[lines.length - 1] ?? '';
}

/** mirrors check_return_code() for a global subprogram's exit: R0 must be a scalar. */
export function checkSubprogExit(env: Env, checkR0: () => void): void {
  checkR0();
  const r0 = env.regs[0];
  if (r0.type !== RegType.SCALAR_VALUE) env.reject(`At subprogram exit the register R0 is not a scalar value (${regTypeStr(r0)})`);
}
