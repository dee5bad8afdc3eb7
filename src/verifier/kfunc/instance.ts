// Isolated verification of inlinable kfunc instances (the RFC "bpf: inlinable
// kfuncs for BPF", DESIGN.md "Isolated verification"): at a call site with an
// instance, a state entering the instance is pushed with frame #0 a fake frame
// holding the dynptrs the arguments point to and frame #1 the kfunc's frame
// with distilled arguments. Inside an instance, kernel functions take only
// scalars and KERNEL_VALUEs and return KERNEL_VALUE; `exit` ends the path.
import type { Env } from '../env.js';
import { Env as EnvClass, Reject } from '../env.js';
import { checkCfg, checkSubprogs, computeLiveRegs, resolveLdImm64 } from '../cfg.js';
import { checkRegArg, markKnown, markNotInit, markPtr, markUnknown, Op } from '../check/regs.js';
import { scalarFromTnum } from '../num/scalar.js';
import { tnum } from '../num/tnum.js';
import { growStack, newFrame, type FuncState, type VerifierState } from '../state/frame.js';
import { copyReg, isKnownZero, regTypeStr, type RegState } from '../state/reg.js';
import { BPF_REG_SIZE, RegType, SlotType } from '../state/types.js';
import { KfError } from '../../util/errors.js';
import type { InstanceDesc, KfuncEnv } from './context.js';
import type { KfuncMeta } from './proto.js';
import { detachLineage, markScalarArgsPrecise } from '../inlined/lineage.js';
import { HELPER_BODIES } from '../inlined/helper-bodies.js';
import type { Insn } from '../../isa/insn.js';
import { kfuncEnv } from './context.js';
import { dynptrReg, dynptrValidInit } from './dynptr.js';
import { dynptrType } from './slots.js';

export interface DistillInfo {
  /** Argument register → type of the dynptr it points to. */
  dynptrTypes: Map<number, number>;
}

/** bits 28..30 of bpf_dynptr_kern.size: the type; bit 31 read-only; 0..23 size (24..27 reserved). */
export const DYNPTR_TYPE_SHIFT = 28;
const SIZE_WORD_MASK = 0x8fffffffn;

function kernelValue(): RegState {
  const r = { ...newFrame(0, -1, -1).regs[0] };
  markUnknown(r);
  r.type = RegType.KERNEL_VALUE;
  return r;
}

/** Frame #0 of an instance: two slots per dynptr, at fp-16*(k+1). */
function fakeFrame(types: number[]): FuncState {
  const f = newFrame(0, -1, -1);
  growStack(f, 16 * types.length);
  types.forEach((type, k) => {
    const data = f.stack[2 * k + 1];
    data.slotType.fill(SlotType.SPILL);
    data.spilled = kernelValue();
    const size = f.stack[2 * k];
    // the size word (offset +8, 4 bytes) as a 4-byte spill; offset (+12) unknown
    for (let j = 0; j < BPF_REG_SIZE; j++) size.slotType[j] = j >= 4 ? SlotType.SPILL : SlotType.MISC;
    const sz = kernelValue();
    markUnknown(sz);
    sz.type = RegType.SCALAR_VALUE;
    sz.s = scalarFromTnum(tnum(BigInt(type & 7) << BigInt(DYNPTR_TYPE_SHIFT), SIZE_WORD_MASK));
    size.spilled = sz;
  });
  return f;
}

/** Pushes the state that enters `inst` from the current call site. */
export function enterInstance(env: Env, meta: KfuncMeta, inst: InstanceDesc, d: DistillInfo, push: (target: number) => VerifierState): void {
  enterInstanceArgs(env, meta.args.length, inst, d, push);
}

/**
 * At a helper call with an instance (src/verifier/inlined/helper-bodies.ts,
 * isolated mode): pushes the state entering the body, as enterInstance()
 * does for a kfunc. The map pointer and the key (or buffer) pointers become
 * KERNEL_VALUE, the dynptr argument points into the fake frame, scalars are
 * copied and marked precise. The helper's own checks (check_helper_call())
 * follow on the program's path and reject bad arguments.
 */
export function enterHelperInstance(env: Env, insn: Insn, push: (target: number) => VerifierState): void {
  const kenv = kfuncEnv(env);
  if (kenv.mode !== 'isolated' || kenv.inInstance(env.insnIdx)) return;
  const inst = kenv.instanceAt.get(env.insnIdx);
  const h = HELPER_BODIES.get(insn.imm);
  if (!inst || !h || insn.src !== 0) return;
  const where = `instance of ${inst.kfunc} at insn ${inst.site}`;
  if (h.mapType !== undefined) {
    const m = env.regs[1];
    // the instance (and its value offset) was made for a map of this type: any other path invalidates it
    if (m.type !== RegType.CONST_PTR_TO_MAP || !m.map || m.map.type !== h.mapType)
      env.reject(`${where}: R1 type=${regTypeStr(m)} is not a map of type ${h.mapType}`);
  }
  const d: DistillInfo = { dynptrTypes: new Map() };
  if (h.dynptrArg !== undefined) {
    const reg = env.regs[h.dynptrArg];
    // not a valid dynptr: check_helper_call() rejects the call right after
    if ((reg.type !== RegType.PTR_TO_STACK && reg.type !== RegType.CONST_PTR_TO_DYNPTR) || !dynptrValidInit(env, reg)) return;
    d.dynptrTypes.set(h.dynptrArg, dynptrType(dynptrReg(env, reg)));
  }
  enterInstanceArgs(env, h.nargs, inst, d, push);
}

function enterInstanceArgs(env: Env, nargs: number, inst: InstanceDesc, d: DistillInfo, push: (target: number) => VerifierState): void {
  const caller = env.regs;
  const dynRegs = [...d.dynptrTypes.keys()].sort((a, b) => a - b);
  const f0 = fakeFrame(dynRegs.map((r) => d.dynptrTypes.get(r)!));
  const f1 = newFrame(1, env.insnIdx, -1);
  for (let r = 1; r <= nargs; r++) {
    const src = caller[r];
    const dst = f1.regs[r];
    const k = dynRegs.indexOf(r);
    if (k >= 0) {
      markPtr(dst, RegType.PTR_TO_STACK);
      dst.off = -16 * (k + 1);
      dst.frameno = 0;
    } else if (isKnownZero(src)) {
      markKnown(dst, 0n);
    } else if (src.type === RegType.SCALAR_VALUE) {
      Object.assign(dst, copyReg(src));
      dst.id = 0;
      dst.precise = true;
    } else {
      Object.assign(dst, kernelValue());
    }
  }
  markPtr(f1.regs[10], RegType.PTR_TO_STACK);
  f1.regs[10].frameno = 1;
  const st = push(inst.start);
  // a lineage of its own; the program's path marks the scalar arguments precise (src/verifier/inlined/lineage.ts)
  detachLineage(st, inst.start);
  markScalarArgsPrecise(env, nargs);
  st.frames = [f0, f1];
  st.curframe = 1;
  st.refs = [];
  st.mayGotoDepth = 0;
}

/** A call to a kernel function inside an instance: scalars and KERNEL_VALUEs in, KERNEL_VALUE out. */
export function checkInternalCall(env: Env, meta: KfuncMeta): void {
  const regs = env.regs;
  for (let r = 1; r <= meta.args.length; r++) {
    checkRegArg(env, r, Op.SRC);
    const t = regs[r].type;
    if (t !== RegType.SCALAR_VALUE && t !== RegType.KERNEL_VALUE)
      env.reject(`R${r} type=${regTypeStr(regs[r])} expected=scalar, kernel_value (call to ${meta.name} inside an inlined kfunc)`);
  }
  for (let i = 0; i <= 5; i++) {
    markNotInit(regs[i]);
    env.scratch.reg(i);
  }
  if (meta.ret.kind !== 'void') Object.assign(regs[0], kernelValue());
}

/** True when `exit` at `idx` ends an instance path (instead of returning to a caller). */
export function isInstanceSlot(kenv: KfuncEnv, idx: number): boolean {
  return kenv.inInstance(idx);
}

/**
 * The structure checks with instances (mirrors check_subprogs()/check_cfg()/
 * compute_live_registers() on the program, then on each body alone): the
 * bodies are hidden subprograms outside the program's CFG and subprogram list.
 */
export function checkProgramAndInstances(env: Env, progLen: number, list: readonly InstanceDesc[]): void {
  const n = env.insns.length;
  const covered = new Uint8Array(n);
  for (const i of list) {
    for (let j = i.start; j < i.start + i.len; j++) {
      if (covered[j]) throw new KfError(`instance of ${i.kfunc} at ${i.site}: body overlaps another instance at slot ${j}`);
      covered[j] = 1;
    }
  }
  for (let j = progLen; j < n; j++) if (!covered[j]) throw new KfError(`instances: slot ${j} belongs to no instance`);
  const part = (start: number, len: number, isProg: boolean, what: string): void => {
    const sub = new EnvClass(env.insns.slice(start, start + len), env.progType, env.maps, env.log.level, env.flags);
    try {
      checkSubprogs(sub);
      resolveLdImm64(sub);
      checkCfg(sub);
      computeLiveRegs(sub);
      if (!isProg && sub.subprogs.length > 1) sub.reject(`${what}: bpf-to-bpf calls in an inlined kfunc body are not supported`);
    } catch (e) {
      if (e instanceof Reject) {
        env.verbose(sub.log.toString());
        if (!isProg) throw new Reject(`${what}: ${e.line}`);
      }
      throw e;
    }
    if (isProg) env.subprogs = sub.subprogs;
    for (let j = 0; j < len; j++) {
      const a = sub.aux[j];
      const b = env.aux[start + j];
      b.prunePoint = a.prunePoint;
      b.forceCheckpoint = a.forceCheckpoint;
      b.jmpPoint = a.jmpPoint;
      b.liveRegs = a.liveRegs;
      b.callsCallback = a.callsCallback;
    }
  };
  part(0, progLen, true, 'program');
  for (const i of list) part(i.start, i.len, false, `instance of ${i.kfunc} at insn ${i.site}`);
}
