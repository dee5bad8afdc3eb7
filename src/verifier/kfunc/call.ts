// Kfunc calls: mirrors check_kfunc_call() and check_kfunc_args()
// (kernel/bpf/verifier.c, 6.18), for prototypes from BTF (proto.ts).
import type { Insn } from '../../isa/insn.js';
import type { Env } from '../env.js';
import { Reject } from '../env.js';
import { checkPtrOffReg } from '../check/mem.js';
import { checkRegArg, markNotInit, markPtr, markUnknown, Op } from '../check/regs.js';
import { mayWritePkt } from '../../kernel/ctx-access.js';
import { tnumIsConst } from '../num/tnum.js';
import { markChainPrecision } from '../precision.js';
import type { VerifierState } from '../state/frame.js';
import { isKnownZero, regTypeStr } from '../state/reg.js';
import { MEM_RDONLY, PTR_MAYBE_NULL, RegType } from '../state/types.js';
import { KF_ITER_NEXT, KF_RET_NULL } from '../../kernel/catalogue.js';
import { kfuncEnv } from './context.js';
import { processDynptrFunc } from './dynptr.js';
import { enterInstance, checkInternalCall, type DistillInfo } from './instance.js';
import { processIterArg, processIterNextCall, type IterRef } from './iter.js';
import { checkHelperMem, checkMemSizeReg } from './mem-arg.js';
import type { KfuncMeta } from './proto.js';
import { DynptrType } from './slots.js';
import { noteSliceBuf } from '../check/stack.js';

type Push = (target: number) => VerifierState;

const SPECIAL_DYNPTR_CTOR: Record<string, number> = { bpf_dynptr_from_skb: DynptrType.SKB, bpf_dynptr_from_xdp: DynptrType.XDP };
const SLICES = new Set(['bpf_dynptr_slice', 'bpf_dynptr_slice_rdwr']);

interface ArgMeta {
  constant?: bigint;
  dynptr?: { type: number; id: number };
  iter?: IterRef;
  distill: DistillInfo;
  /** A stack buffer__opt: its frame and the range of its start offsets (the slice's RegState.buf*). */
  stackBuf?: { frame: number; lo: number; hi: number };
}

/** mirrors check_kfunc_args() */
function checkKfuncArgs(env: Env, meta: KfuncMeta): ArgMeta {
  const regs = env.regs;
  const am: ArgMeta = { distill: { dynptrTypes: new Map() } };
  const args = meta.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const regno = i + 1;
    checkRegArg(env, regno, Op.SRC);
    const reg = regs[regno];
    if (a.kind === 'scalar') {
      if (reg.type !== RegType.SCALAR_VALUE) env.reject(`R${regno} is not a scalar`);
      if (a.konst) {
        if (!tnumIsConst(reg.s.varOff)) env.reject(`R${regno} must be a known constant`);
        am.constant = reg.s.varOff.value;
      }
      continue;
    }
    const isNull = isKnownZero(reg);
    const nullable = (a.kind === 'mem' || a.kind === 'ptr' || a.kind === 'dynptr') && a.nullable;
    // every 6.18 kfunc in the model is KF_TRUSTED_ARGS in effect
    if ((isNull || (reg.flags & PTR_MAYBE_NULL && reg.type !== RegType.SCALAR_VALUE)) && !nullable && !(a.kind === 'mem_size' && a.opt))
      env.reject(`Possibly NULL pointer passed to trusted arg${i}`);
    if (isNull && nullable) continue; // KF_ARG_PTR_TO_NULL
    switch (a.kind) {
      case 'ctx':
        if (reg.type !== RegType.PTR_TO_CTX) env.reject(`arg#${i} expected pointer to ctx, but got ${regTypeStr(reg)}`);
        checkPtrOffReg(env, reg, regno, false);
        break;
      case 'dynptr': {
        const ctor = SPECIAL_DYNPTR_CTOR[meta.name] ?? 0;
        const type = processDynptrFunc(env, regno, { uninit: a.uninit, type: ctor, rdonly: reg.type === RegType.CONST_PTR_TO_DYNPTR });
        am.distill.dynptrTypes.set(regno, type);
        if (!a.uninit) {
          const id = reg.type === RegType.CONST_PTR_TO_DYNPTR ? reg.id : dynptrId(env, regno);
          am.dynptr = { type, id };
        }
        break;
      }
      case 'iter':
        am.iter = processIterArg(env, regno, meta, a);
        break;
      case 'mem_size': {
        const sizeReg = regno + 1;
        const next = args[i + 1];
        if (!(isNull && a.opt)) {
          try {
            checkRegArg(env, sizeReg, Op.SRC);
            // the kernel clobbers stack buffers handed to kfuncs (they become STACK_MISC)
            checkMemSizeReg(env, sizeReg, reg.type === RegType.PTR_TO_STACK, true);
          } catch (e) {
            if (!(e instanceof Reject)) throw e;
            env.reject(`arg#${i} arg#${i + 1} memory, len pair leads to invalid memory access`);
          }
        } else {
          // mirrors check_kfunc_args() KF_ARG_PTR_TO_MEM_SIZE on the running kernel: a NULL __opt buffer skips the checks, so its NULL-ness is made precise
          markChainPrecision(env, regno);
        }
        if (!isNull && reg.type === RegType.PTR_TO_STACK)
          am.stackBuf = { frame: reg.frameno, lo: reg.off + Number(reg.s.smin), hi: reg.off + Number(reg.s.smax) };
        if (a.szk) {
          const sr = regs[sizeReg];
          if (sr.type !== RegType.SCALAR_VALUE || !tnumIsConst(sr.s.varOff)) env.reject(`R${sizeReg} must be a known constant`);
          am.constant = sr.s.varOff.value;
          // __szk sizes the returned memory: the running kernel marks it precise after the constant check
          markChainPrecision(env, sizeReg);
        } else if (next?.kind === 'scalar' && regs[sizeReg].type !== RegType.SCALAR_VALUE) {
          env.reject(`R${sizeReg} is not a scalar`);
        }
        i++;
        break;
      }
      case 'mem':
        if (reg.type === RegType.SCALAR_VALUE) env.reject(`arg#${i} pointer type must point to scalar, or struct with scalar`);
        checkHelperMem(env, regno, a.size, false, false);
        break;
      case 'ptr':
        if (reg.type === RegType.SCALAR_VALUE) env.reject(`arg#${i} expected pointer, but got scalar`);
        break;
    }
  }
  return am;
}

function dynptrId(env: Env, regno: number): number {
  const reg = env.regs[regno];
  const off = reg.off + Number(BigInt.asIntN(64, reg.s.varOff.value));
  return env.cur.frames[reg.frameno].stack[Math.floor((-off - 1) / 8)].spilled.id;
}

/** mirrors check_kfunc_call(); `push` queues a state (an instance entry, an iterator's next round). */
export function checkKfuncCall(env: Env, insn: Insn, push: Push): void {
  if (insn.imm === 0) return; // rejected after exploration: "not eliminated in verifier pass"
  if (insn.off !== 0) env.reject('kfunc calls into module BTFs are not supported by this model');
  const kenv = kfuncEnv(env);
  const meta = kenv.meta(insn.imm);
  if (!meta) env.reject(`kernel btf_id ${insn.imm >>> 0} is not a function`);
  if (kenv.inInstance(env.insnIdx)) {
    checkInternalCall(env, meta);
    return;
  }
  if (meta.kind === 'internal' || (meta.progTypes && !meta.progTypes.includes(env.progType)))
    env.reject(`calling kernel function ${meta.name} is not allowed`);
  const am = checkKfuncArgs(env, meta);
  const inst = kenv.instanceAt.get(env.insnIdx);
  // non-isolated: the caller's path itself enters the body (src/verifier/inlined/nonisolated.ts)
  if (inst && kenv.mode === 'isolated') enterInstance(env, meta, inst, am.distill, push);

  const regs = env.regs;
  for (let i = 0; i <= 5; i++) {
    markNotInit(regs[i]);
    env.scratch.reg(i);
  }
  const r0 = regs[0];
  const ret = meta.ret;
  if (SLICES.has(meta.name)) {
    if (am.constant === undefined) env.reject('verifier internal error: bpf_dynptr_slice() has no constant size');
    markPtr(r0, RegType.PTR_TO_MEM);
    r0.memSize = Number(am.constant);
    // the running kernel (6.18.44-fc, not mainline) records the stack buffer the slice may point into
    // (printed buf=fp[frame]off+len, the length covering a variable offset): none when that length is
    // 0 (size 0 at a fixed offset), but size 0 at a variable offset has one
    const len = am.stackBuf ? am.stackBuf.hi - am.stackBuf.lo + r0.memSize : 0;
    if (am.stackBuf && len > 0) {
      r0.bufFrame = am.stackBuf.frame;
      r0.bufOff = am.stackBuf.lo;
      r0.bufLen = len;
      noteSliceBuf(env);
    }
    if (meta.name === 'bpf_dynptr_slice') r0.flags |= MEM_RDONLY;
    else if (!mayWritePkt(env.progType)) env.reject('the prog does not allow writes to packet data');
  } else {
    switch (ret.kind) {
      case 'void':
        break;
      case 'scalar':
      case 'void_ptr':
        markUnknown(r0);
        break;
      case 'mem':
        markPtr(r0, RegType.PTR_TO_MEM, MEM_RDONLY);
        r0.memSize = ret.size;
        break;
      case 'ptr':
        markUnknown(r0);
        r0.type = RegType.KERNEL_VALUE;
        break;
    }
  }
  if (meta.flags & KF_RET_NULL && (r0.type === RegType.PTR_TO_MEM)) {
    r0.flags |= PTR_MAYBE_NULL;
    r0.id = env.nextId();
  }
  if (meta.flags & KF_ITER_NEXT) {
    if (!am.iter) env.reject(`verifier internal error: ${meta.name} has no iterator argument`);
    processIterNextCall(env, am.iter, push);
  }
}
