// Calls and returns: mirrors check_helper_call() / check_func_arg(),
// check_func_call() / setup_func_entry(), prepare_func_exit(),
// check_return_code() and check_ld_abs() / check_ld_imm().
import type { Insn } from '../../isa/insn.js';
import { ctxAccess, mayAccessSkb, ProgType } from '../../kernel/ctx-access.js';
import type { Env } from '../env.js';
import { ArgType, helperName, helperProto, MAX_HELPER_ID, RetType } from '../helpers-proto.js';
import { newFrame } from '../state/frame.js';
import { copyReg, isKnownZero, regTypeStr, type RegState } from '../state/reg.js';
import { MAX_BPF_STACK, MAX_CALL_FRAMES, PTR_MAYBE_NULL, RegType, SlotType } from '../state/types.js';
import { forEachReg } from './jmp.js';
import { checkPtrOffReg } from './mem.js';
import { Access, checkHelperMemAccess, checkMemSizeReg, markRawModeWrites, newMemArgMeta } from './helper-mem.js';
import { checkRegArg, copyInto, markKnown, markNotInit, markPtr, markUnknown, Op } from './regs.js';
import { invalidateFrameSlices, stackFrame } from './stack.js';
import { scalarRange } from '../num/scalar.js';
import { markChainPrecision, markChainPrecisionBatch } from '../precision.js';
import { callbackReturnCheck, findPrevEntry, invalidScalar, loopHelper, widenImpreciseScalars } from '../callback.js';
import type { VerifierState } from '../state/frame.js';
import { checkSubprogCall, globalFuncs, lastLogLine, type GlobalFuncs } from '../global-func.js';
import { stackLiveness } from '../state/liveness.js';

function clearCallerSaved(env: Env): void {
  for (let i = 0; i <= 5; i++) {
    markNotInit(env.regs[i]);
    env.scratch.reg(i);
  }
}

const MEM_TYPES = [RegType.PTR_TO_STACK, RegType.PTR_TO_PACKET, RegType.PTR_TO_PACKET_META, RegType.PTR_TO_MAP_KEY, RegType.PTR_TO_MAP_VALUE, RegType.PTR_TO_MEM];
const MEM_NAMES = 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';
/** The modelled argument types with PTR_MAYBE_NULL (type_may_be_null(arg_type)). */
const NULLABLE_ARGS: ReadonlySet<ArgType> = new Set([ArgType.PTR_TO_MEM_OR_NULL, ArgType.PTR_TO_STACK_OR_NULL]);

/** mirrors check_helper_call() for the modelled helpers. */
export function checkHelperCall(env: Env, insn: Insn, push?: (target: number) => VerifierState): void {
  const id = insn.imm;
  const name = `${helperName(id) ?? 'unknown'}#${id}`;
  if (id < 0 || id > MAX_HELPER_ID) env.reject(`invalid func ${name}`);
  const fn = helperProto(id, env.progType);
  if (!fn) env.reject(`program of this type cannot use helper ${name}`);
  let map: RegState['map'] = null;
  let callback = -1;
  let constKey = -1n;
  const memMeta = newMemArgMeta();
  for (let i = 0; i < 5; i++) {
    const at = fn.args[i] ?? ArgType.DONTCARE;
    if (at === ArgType.DONTCARE) continue;
    const regno = i + 1;
    checkRegArg(env, regno, Op.SRC);
    const reg = env.regs[regno];
    if (at === ArgType.ANYTHING) continue;
    if (reg.type === RegType.KERNEL_VALUE) continue;
    const bad = (exp: string): never => env.reject(`R${regno} type=${regTypeStr(reg)} expected=${exp}`);
    // mirrors check_func_arg(): a NULL register passed where the argument may be
    // NULL skips the type checks, so that it was NULL must be precise (the running
    // kernel marks it, before the size argument's checks: csum_diff(NULL, -1)
    // logs r1's mark_precise lines and then "R2 min value is negative")
    if (NULLABLE_ARGS.has(at) && isKnownZero(reg)) markChainPrecision(env, regno);
    switch (at) {
      case ArgType.CONST_MAP_PTR:
        if (reg.type !== RegType.CONST_PTR_TO_MAP) bad('map_ptr');
        map = reg.map;
        break;
      case ArgType.PTR_TO_CTX:
        if (reg.type !== RegType.PTR_TO_CTX) bad('ctx');
        checkPtrOffReg(env, reg, regno, false);
        break;
      case ArgType.PTR_TO_MAP_KEY:
      case ArgType.PTR_TO_MAP_VALUE:
        if (!MEM_TYPES.includes(reg.type) || reg.flags & PTR_MAYBE_NULL) bad(MEM_NAMES);
        // the model has no MEM_UNINIT map values (bpf_map_pop_elem): a read
        memMeta.rawMode = false;
        if (at === ArgType.PTR_TO_MAP_KEY) checkHelperMemAccess(env, regno, map?.keySize ?? 0, Access.READ, false, null);
        else checkHelperMemAccess(env, regno, map?.valueSize ?? 0, Access.READ, false, memMeta);
        if (at === ArgType.PTR_TO_MAP_KEY && map && (map.type === 2 || map.type === 6)) constKey = constantMapKey(env, reg, map.keySize);
        break;
      case ArgType.PTR_TO_FUNC:
        if (reg.type !== RegType.PTR_TO_FUNC) bad('func');
        callback = reg.subprogno ?? -1;
        break;
      case ArgType.PTR_TO_STACK_OR_NULL:
        if (isKnownZero(reg)) break;
        if (reg.type !== RegType.PTR_TO_STACK) bad('fp');
        break;
      case ArgType.PTR_TO_MEM_OR_NULL:
      case ArgType.PTR_TO_MEM:
      case ArgType.PTR_TO_UNINIT_MEM:
        // checked with the size argument that follows; MEM_UNINIT: raw mode
        memMeta.rawMode = at === ArgType.PTR_TO_UNINIT_MEM;
        if (at === ArgType.PTR_TO_MEM_OR_NULL && isKnownZero(reg)) break;
        if (!MEM_TYPES.includes(reg.type) || reg.flags & PTR_MAYBE_NULL) bad(MEM_NAMES);
        break;
      case ArgType.CONST_SIZE:
      case ArgType.CONST_SIZE_OR_ZERO: {
        if (reg.type !== RegType.SCALAR_VALUE) bad('scalar');
        // ARG_PTR_TO_UNINIT_MEM is MEM_WRITE: the helper writes the memory
        const t = fn.args[i - 1] === ArgType.PTR_TO_UNINIT_MEM ? Access.WRITE : Access.READ;
        checkMemSizeReg(env, regno, t, at === ArgType.CONST_SIZE_OR_ZERO, memMeta);
        break;
      }
    }
  }
  markRawModeWrites(env, memMeta);
  if (id === 181 && callback >= 0 && push) loopHelper(env, callback, push);
  clearCallerSaved(env);
  const r0 = env.regs[0];
  switch (fn.ret) {
    case RetType.INTEGER:
      markUnknown(r0);
      // mirrors do_refine_retval_range()
      if (id === 8) r0.s = scalarRange(0n, BigInt(env.nrCpuIds - 1));
      break;
    case RetType.VOID:
      markNotInit(r0);
      break;
    case RetType.PTR_TO_MAP_VALUE_OR_NULL:
      // an array lookup with a constant in-range key cannot fail
      if (id === 1 && map && constKey >= 0n && constKey < BigInt(map.maxEntries)) {
        markPtr(r0, RegType.PTR_TO_MAP_VALUE);
        r0.map = map;
        break;
      }
      markPtr(r0, RegType.PTR_TO_MAP_VALUE, PTR_MAYBE_NULL);
      r0.map = map;
      r0.id = env.nextId();
      break;
  }
  if (fn.pktChange) {
    forEachReg(env.cur, (r) => {
      if (r.type === RegType.PTR_TO_PACKET || r.type === RegType.PTR_TO_PACKET_META || r.type === RegType.PTR_TO_PACKET_END) markUnknown(r);
    });
  }
}

/** mirrors get_constant_map_key(): the key's value when the stack holds a known constant, else -1. */
function constantMapKey(env: Env, key: RegState, keySize: number): bigint {
  if (key.type !== RegType.PTR_TO_STACK || key.s.varOff.mask !== 0n) return -1n;
  const f = stackFrame(env, key);
  const stackOff = key.off + Number(BigInt.asIntN(64, key.s.varOff.value));
  const slot = -stackOff - 1;
  const spi = Math.floor(slot / 8);
  const off = slot % 8;
  const st = f.stack[spi];
  if (!st) return -1n;
  let zero = 0;
  for (let i = off; i >= 0 && st.slotType[i] === SlotType.ZERO; i--) zero++;
  if (zero >= keySize) return 0n;
  if (st.slotType[7] !== SlotType.SPILL || st.spilled.type !== RegType.SCALAR_VALUE) return -1n;
  let spill = 0;
  for (let i = off; i >= 0 && st.slotType[i] === SlotType.SPILL; i--) spill++;
  if (spill !== keySize || st.spilled.s.varOff.mask !== 0n) return -1n;
  // the lookup relies on this constant: it must be precise
  env.bt.setSlot(key.frameno, spi);
  markChainPrecisionBatch(env);
  return BigInt.asIntN(64, st.spilled.s.varOff.value);
}

/** mirrors check_func_arg_reg_off() for the types a subprogram argument may have. */
function checkFuncArgRegOff(env: Env, regno: number): void {
  const reg = env.regs[regno];
  const t = reg.type;
  const plain = !(reg.flags & PTR_MAYBE_NULL);
  // fixed and variable offsets are fine for these
  if (t === RegType.SCALAR_VALUE || t === RegType.PTR_TO_STACK || t === RegType.PTR_TO_PACKET || t === RegType.PTR_TO_PACKET_META) return;
  if (plain && (t === RegType.PTR_TO_MAP_KEY || t === RegType.PTR_TO_MAP_VALUE || t === RegType.PTR_TO_MEM)) return;
  checkPtrOffReg(env, reg, regno, t === RegType.PTR_TO_BTF_ID || t === RegType.PTR_TO_FUNC);
}

/** mirrors check_mem_reg() for a global subprogram's memory argument: read and write access of `size` bytes. */
function checkSubprogMemArg(env: Env, regno: number, size: number): void {
  checkFuncArgRegOff(env, regno);
  const reg = env.regs[regno];
  if (reg.type === RegType.SCALAR_VALUE && isKnownZero(reg)) return; // NULL is fine for any pointer argument
  const mayBeNull = (reg.flags & PTR_MAYBE_NULL) !== 0;
  const saved = copyReg(reg);
  if (mayBeNull) reg.flags &= ~PTR_MAYBE_NULL;
  try {
    if (reg.type === RegType.PTR_TO_STACK) {
      // check_stack_range_initialized() reads the slots (stack liveness)
      const base = Number(BigInt.asIntN(64, reg.s.varOff.value)) + reg.off;
      const lo = reg.s.varOff.mask === 0n ? base : Number(reg.s.smin) + reg.off;
      const hi = reg.s.varOff.mask === 0n ? base : Number(reg.s.smax) + reg.off;
      if (size > 0) stackLiveness(env).readRange(reg.frameno, Math.max(lo, -MAX_BPF_STACK), Math.min(hi + size, 0));
    }
    checkHelperMemAccess(env, regno, size, Access.READ, true, null);
    checkHelperMemAccess(env, regno, size, Access.WRITE, true, null);
  } finally {
    if (mayBeNull) copyInto(reg, saved);
  }
}

/**
 * mirrors check_func_call(): the BTF prototype check (btf_check_subprog_call()),
 * then a global subprogram is assumed valid (verified on its own later,
 * check-subprogs.ts) while a static one is entered. Returns the next instruction.
 */
export function checkFuncCall(env: Env, insn: Insn): number {
  const target = env.insnIdx + insn.imm + 1;
  const subprog = env.subprogs.findIndex((s) => s.start === target);
  if (subprog < 0) env.reject(`verifier bug: no subprog at insn ${target}`);
  const gf = globalFuncs(env);
  const err = gf ? checkSubprogCall(env, subprog, (r, size) => checkSubprogMemArg(env, r, size), (r) => checkFuncArgRegOff(env, r)) : 'inval';
  if (err === 'fault') env.reject(lastLogLine(env));
  if (gf?.isGlobal(subprog)) return globalFuncCall(env, gf, subprog, err === 'ok');
  const st = env.cur;
  if (st.curframe + 1 >= MAX_CALL_FRAMES) env.reject(`the call stack of ${st.curframe + 2} frames is too deep`);
  const caller = st.frames[st.curframe];
  const callee = newFrame(st.curframe + 1, env.insnIdx, subprog);
  markPtr(callee.regs[10], RegType.PTR_TO_STACK);
  callee.regs[10].frameno = callee.frameno;
  for (let i = 1; i <= 5; i++) callee.regs[i] = copyReg(caller.regs[i]);
  st.frames.push(callee);
  st.curframe++;
  for (let i = 0; i <= 5; i++) {
    markNotInit(caller.regs[i]);
  }
  if (env.log.level) {
    env.verbose('caller:\n');
    env.printState(st, caller.frameno, true);
    env.verbose('callee:\n');
    env.printState(st, st.curframe, true);
  }
  // init_func_state() marks the whole state scratched
  env.scratch.all();
  return target;
}

/** The global half of check_func_call(): arguments checked, R0 an unknown scalar, no descent. */
function globalFuncCall(env: Env, gf: GlobalFuncs, subprog: number, argsOk: boolean): number {
  const name = gf.name(subprog);
  if (!argsOk) env.reject(`Caller passes invalid args into func#${subprog} ('${name}')`);
  if (env.log.level & 3) env.verbose(`Func#${subprog} ('${name}') is global and assumed valid.\n`);
  if (gf.subs[subprog].changesPktData) clearAllPktPointers(env);
  // mark the global subprogram for verifying after the main program
  gf.subs[subprog].called = true;
  clearCallerSaved(env);
  // all global functions return a 64-bit SCALAR_VALUE
  markUnknown(env.regs[0]);
  env.scratch.reg(0);
  return env.insnIdx + 1;
}

/** mirrors clear_all_pkt_pointers() */
function clearAllPktPointers(env: Env): void {
  forEachReg(env.cur, (r) => {
    if (r.type === RegType.PTR_TO_PACKET || r.type === RegType.PTR_TO_PACKET_META || r.type === RegType.PTR_TO_PACKET_END) markUnknown(r);
  });
}

/** mirrors prepare_func_exit(); returns the instruction to continue at. */
export function prepareFuncExit(env: Env): number {
  const st = env.cur;
  const callee = st.frames[st.curframe];
  const r0 = callee.regs[0];
  if (r0.type === RegType.PTR_TO_STACK) env.reject('cannot return stack pointer to the caller');
  // slices whose buffer is on the callee's stack die with it (the kernel does it before "returning from callee:")
  invalidateFrameSlices(env, callee.frameno);
  const caller = st.frames[st.curframe - 1];
  const inCallback = !!callee.inCallbackFn;
  // a callback returns to its helper call, which runs again (the next iteration)
  if (inCallback) callbackReturnCheck(env);
  else caller.regs[0] = copyReg(r0);
  const next = inCallback ? callee.callsite : callee.callsite + 1;
  if (env.log.level) {
    env.verbose('returning from callee:\n');
    env.printState(st, callee.frameno, true);
    env.verbose(`to caller at ${next}:\n`);
    env.printState(st, caller.frameno, true);
  }
  st.frames.pop();
  st.curframe--;
  if (inCallback) {
    const prev = findPrevEntry(env, st, next);
    if (prev) widenImpreciseScalars(prev, st);
  }
  return next;
}

/** mirrors check_return_code() for the main program: the return-value range of each program type. */
export function checkReturnCode(env: Env): void {
  checkRegArg(env, 0, Op.SRC);
  const r0 = env.regs[0];
  const range = returnRange(env.progType, env.expectedAttachType);
  if (!range) return;
  const [lo, hi] = range;
  if (r0.type !== RegType.SCALAR_VALUE) env.reject(`At program exit the register R0 is not a known value (${regTypeStr(r0)})`);
  markChainPrecision(env, 0);
  if (r0.s.smin < lo || r0.s.smax > hi) env.reject(invalidScalar('At program exit', 'R0', r0, lo, hi));
}

/**
 * The range check_return_code() enforces, or undefined when the program type
 * returns anything (socket filter, tc, xdp, lwt, sk_skb, kprobe, tracepoint,
 * perf_event, raw tracepoint: the kernel checks those at run time, if at all).
 */
export function returnRange(progType: number, attach: number): [bigint, bigint] | undefined {
  switch (progType) {
    case 18: // CGROUP_SOCK_ADDR
      if ([19, 20, 51, 29, 30, 52, 31, 32, 53].includes(attach)) return [1n, 1n]; // recvmsg, getpeername, getsockname
      if (attach === 8 || attach === 9) return [0n, 3n]; // INET4_BIND, INET6_BIND
      return [0n, 1n];
    case ProgType.CGROUP_SKB:
      return attach === 1 ? [0n, 3n] : [0n, 1n]; // BPF_CGROUP_INET_EGRESS
    case ProgType.CGROUP_SOCK:
    case ProgType.SOCK_OPS:
    case 15: // CGROUP_DEVICE
    case 23: // CGROUP_SYSCTL
    case 25: // CGROUP_SOCKOPT
      return [0n, 1n];
    case 17: // RAW_TRACEPOINT: only with an attach type (BPF_TRACE_RAW_TP programs)
      return attach ? [0n, 1n] : undefined;
    case 26: // TRACING
      return attach === 24 || attach === 25 ? [0n, 0n] : undefined; // FENTRY, FEXIT
    case ProgType.KPROBE:
      return attach === 56 || attach === 57 ? [0n, 1n] : undefined; // KPROBE_SESSION, UPROBE_SESSION
    case 30: // SK_LOOKUP
      return [0n, 1n];
    case 32: // NETFILTER
      return [0n, 1n];
    default:
      return undefined;
  }
}

/** mirrors check_ld_abs() */
export function checkLdAbs(env: Env, insn: Insn): void {
  const mode = insn.code & 0xe0;
  if (!mayAccessSkb(env.progType)) env.reject('BPF_LD_[ABS|IND] instructions not allowed for this program type');
  if (insn.dst !== 0 || insn.off !== 0 || (insn.code & 0x18) === 0x18 || (mode === 0x20 && insn.src !== 0))
    env.reject('BPF_LD_[ABS|IND] uses reserved fields');
  checkRegArg(env, 6, Op.SRC);
  if (env.cur.refs.length) env.reject('BPF_LD_[ABS|IND] cannot be mixed with socket references');
  if (env.regs[6].type !== RegType.PTR_TO_CTX) env.reject('at the time of BPF_LD_ABS|IND R6 != pointer to skb');
  if (mode === 0x40) checkRegArg(env, insn.src, Op.SRC);
  checkPtrOffReg(env, env.regs[6], 6, false);
  clearCallerSaved(env);
  markUnknown(env.regs[0]);
}

/** mirrors check_ld_imm() */
export function checkLdImm(env: Env, insn: Insn): void {
  if ((insn.code & 0x18) !== 0x18) env.reject('invalid BPF_LD_IMM insn');
  if (insn.off !== 0) env.reject('BPF_LD_IMM64 uses reserved fields');
  checkRegArg(env, insn.dst, Op.DST);
  const dst = env.regs[insn.dst];
  const next = env.insns[env.insnIdx + 1];
  if (insn.src === 0) {
    markKnown(dst, (BigInt.asUintN(32, BigInt(next.imm)) << 32n) | BigInt.asUintN(32, BigInt(insn.imm)));
    return;
  }
  const map = env.maps.get(insn.imm);
  if (insn.src === 1 || insn.src === 2) {
    if (!map) env.reject(`fd ${insn.imm} is not pointing to valid bpf_map`);
    if (insn.src === 1) {
      markPtr(dst, RegType.CONST_PTR_TO_MAP);
    } else {
      markPtr(dst, RegType.PTR_TO_MAP_VALUE);
      dst.off = next.imm;
    }
    dst.map = map;
    return;
  }
  if (insn.src === 4) {
    // mirrors the BPF_PSEUDO_FUNC case: a callback needs BTF func_info
    if (!env.btfFuncInfo) env.reject('missing btf func_info');
    markPtr(dst, RegType.PTR_TO_FUNC);
    dst.subprogno = env.subprogs.findIndex((s) => s.start === env.insnIdx + insn.imm + 1);
    return;
  }
  // BTF ids, map indexes: opaque to this model
  markUnknown(dst);
  dst.type = RegType.KERNEL_VALUE;
}

export { ctxAccess };
