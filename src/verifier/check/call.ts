// Calls and returns: mirrors check_helper_call() / check_func_arg(),
// check_func_call() / setup_func_entry(), prepare_func_exit(),
// check_return_code() and check_ld_abs() / check_ld_imm().
import type { Insn } from '../../isa/insn.js';
import { ctxAccess, mayAccessSkb, ProgType } from '../ctx-access.js';
import type { Env } from '../env.js';
import { ArgType, helperName, helperProto, MAX_HELPER_ID, RetType } from '../helpers-proto.js';
import { newFrame } from '../state/frame.js';
import { copyReg, isKnownZero, regTypeStr, type RegState } from '../state/reg.js';
import { MAX_CALL_FRAMES, PTR_MAYBE_NULL, RegType, SlotType } from '../state/types.js';
import { forEachReg } from './jmp.js';
import { checkMemRegion, checkPacketAccess, checkPtrOffReg } from './mem.js';
import { checkRegArg, markKnown, markNotInit, markPtr, markUnknown, Op } from './regs.js';
import { checkStackAccessWithinBounds, stackFrame } from './stack.js';
import { scalarRange } from '../num/scalar.js';
import { markChainPrecision, markChainPrecisionBatch } from '../precision.js';
import { callbackReturnCheck, findPrevEntry, invalidScalar, loopHelper, widenImpreciseScalars } from '../callback.js';
import type { VerifierState } from '../state/frame.js';

const BPF_MAX_VAR_SIZ = 1 << 29;

function clearCallerSaved(env: Env): void {
  for (let i = 0; i <= 5; i++) {
    markNotInit(env.regs[i]);
    env.scratch.reg(i);
  }
}

/** mirrors check_helper_mem_access() */
function helperMem(env: Env, regno: number, size: number, write: boolean, zeroOk: boolean): void {
  const reg = env.regs[regno];
  switch (reg.type) {
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
      checkPacketAccess(env, regno, reg, reg.off, size, zeroOk);
      return;
    case RegType.PTR_TO_MAP_KEY:
      if (write) env.reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      checkMemRegion(env, regno, reg, reg.off, size, reg.map?.keySize ?? 0, false);
      return;
    case RegType.PTR_TO_MAP_VALUE:
      checkMemRegion(env, regno, reg, reg.off, size, reg.map?.valueSize ?? 0, zeroOk);
      return;
    case RegType.PTR_TO_MEM:
      checkMemRegion(env, regno, reg, reg.off, size, reg.memSize, zeroOk);
      return;
    case RegType.PTR_TO_STACK: {
      if (size === 0 && zeroOk) return;
      checkStackAccessWithinBounds(env, regno, reg.off, size, ' indirect access to');
      const f = stackFrame(env, reg);
      const base = Number(BigInt.asIntN(64, reg.s.varOff.value)) + reg.off;
      const lo = reg.s.varOff.mask === 0n ? base : Number(reg.s.smin) + reg.off;
      const hi = reg.s.varOff.mask === 0n ? base + size : Number(reg.s.smax) + reg.off + size;
      for (let i = lo; i < hi; i++) {
        const slot = -i - 1;
        const spi = Math.floor(slot / 8);
        env.scratch.slot(spi);
        if (!write) continue;
        const s = f.stack[spi];
        if (s.slotType[7] === SlotType.SPILL) {
          markUnknown(s.spilled);
          for (let j = 0; j < 8; j++) if (s.slotType[j] !== SlotType.INVALID) s.slotType[j] = SlotType.MISC;
        }
        s.slotType[slot % 8] = SlotType.MISC;
      }
      return;
    }
    default:
      if (zeroOk && size === 0 && isKnownZero(reg)) return;
      env.reject(`R${regno} type=${regTypeStr(reg)} expected=fp`);
  }
}

const MEM_TYPES = [RegType.PTR_TO_STACK, RegType.PTR_TO_PACKET, RegType.PTR_TO_PACKET_META, RegType.PTR_TO_MAP_KEY, RegType.PTR_TO_MAP_VALUE, RegType.PTR_TO_MEM];
const MEM_NAMES = 'fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_';

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
  for (let i = 0; i < 5; i++) {
    const at = fn.args[i] ?? ArgType.DONTCARE;
    if (at === ArgType.DONTCARE) continue;
    const regno = i + 1;
    checkRegArg(env, regno, Op.SRC);
    const reg = env.regs[regno];
    if (at === ArgType.ANYTHING) continue;
    if (reg.type === RegType.KERNEL_VALUE) continue;
    const bad = (exp: string): never => env.reject(`R${regno} type=${regTypeStr(reg)} expected=${exp}`);
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
        helperMem(env, regno, at === ArgType.PTR_TO_MAP_KEY ? (map?.keySize ?? 0) : (map?.valueSize ?? 0), false, false);
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
        if (isKnownZero(reg)) break;
        if (!MEM_TYPES.includes(reg.type) || reg.flags & PTR_MAYBE_NULL) bad(MEM_NAMES);
        break;
      case ArgType.PTR_TO_MEM:
      case ArgType.PTR_TO_UNINIT_MEM:
        if (!MEM_TYPES.includes(reg.type) || reg.flags & PTR_MAYBE_NULL) bad(MEM_NAMES);
        break;
      case ArgType.CONST_SIZE:
      case ArgType.CONST_SIZE_OR_ZERO: {
        if (reg.type !== RegType.SCALAR_VALUE) bad('scalar');
        const zeroOk = at === ArgType.CONST_SIZE_OR_ZERO;
        if (reg.s.smin < 0n) env.reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`);
        if (reg.s.umin === 0n && !zeroOk) env.reject(`R${regno} invalid zero-sized read: u64=[${reg.s.umin},${reg.s.umax}]`);
        if (reg.s.umax >= BigInt(BPF_MAX_VAR_SIZ)) env.reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
        const prev = fn.args[i - 1];
        const prevReg = env.regs[regno - 1];
        if (prev === ArgType.PTR_TO_MEM_OR_NULL && isKnownZero(prevReg)) break;
        helperMem(env, regno - 1, Number(reg.s.umax), prev === ArgType.PTR_TO_UNINIT_MEM, zeroOk);
        markChainPrecision(env, regno);
        break;
      }
    }
  }
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

/** mirrors __check_func_call() + setup_func_entry() for a static subprogram. */
export function checkFuncCall(env: Env, insn: Insn): number {
  const target = env.insnIdx + insn.imm + 1;
  const subprog = env.subprogs.findIndex((s) => s.start === target);
  if (subprog < 0) env.reject(`verifier bug: no subprog at insn ${target}`);
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

/** mirrors prepare_func_exit(); returns the instruction to continue at. */
export function prepareFuncExit(env: Env): number {
  const st = env.cur;
  const callee = st.frames[st.curframe];
  const r0 = callee.regs[0];
  if (r0.type === RegType.PTR_TO_STACK) env.reject('cannot return stack pointer to the caller');
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
