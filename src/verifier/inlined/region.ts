// Paths through inlined regions (re-verification of an inlined program).
//
// At a region's first slot the program's path applies the kfunc call's
// semantics exactly as check_kfunc_call() does at a call (argument checks,
// stack-object effects, r0 from the prototype, r1..r5 clobbered, r6..r9
// preserved unless the region changes them without restoring), then goes on
// at the region's end. A copy of the state from before the call, distilled
// for kernel code, is queued to explore the region's own instructions in
// kernel mode; that copy is dropped when it reaches the region's end.
//
// Kernel mode (like an isolated instance, instance.ts): values loaded through
// KERNEL_VALUE pointers or from the slots of the stack objects the kfunc was
// given are KERNEL_VALUE, stores through KERNEL_VALUE are not checked, calls
// take scalars and KERNEL_VALUEs. The program's own stack stays protected:
// every stack access stays within 512 bytes, never touches the caller's slots
// in use (nor, given stackBase, any of the caller's bytes), never overwrites a
// callee-saved spill slot of the region, and no stack pointer is stored where
// the program cannot see it.
import { disasmKernel } from '../../isa/disasm-kernel.js';
import type { Insn } from '../../isa/insn.js';
import type { Env } from '../env.js';
import { Access, checkMemAccess } from '../check/mem.js';
import { markNotInit, markUnknown } from '../check/regs.js';
import { tnumIsConst } from '../num/tnum.js';
import type { VerifierState } from '../state/frame.js';
import type { RegState } from '../state/reg.js';
import { BPF_REG_SIZE, MAX_BPF_STACK, RegType, SlotType } from '../state/types.js';
import { checkKfuncCall } from '../kfunc/call.js';
import { checkHelperCall } from '../check/call.js';
import { checkDynptrHelper, isDynptrHelper } from '../kfunc/helpers.js';
import { kfuncEnv } from '../kfunc/context.js';
import { checkInternalCall } from '../kfunc/instance.js';
import { detachLineage, markScalarArgsPrecise } from './lineage.js';
import { niMemAccess } from './nonisolated.js';
import { inlinedEnv } from './prepare.js';
import type { RegionInfo, RegionPath, StackObjRange } from './types.js';

type Push = (target: number) => VerifierState;

export const regionOf = (st: VerifierState): RegionPath | undefined => st.region as RegionPath | undefined;

/** The instruction a path executes at env.insnIdx: a region's real first instruction on the region's own paths. */
export function regionInsn(env: Env, insns: readonly Insn[]): Insn {
  const rp = regionOf(env.cur);
  if (!rp) return insns[env.insnIdx];
  inlinedEnv(env)!.processed++;
  if (env.insnIdx === rp.info.start) return rp.info.first;
  return insns[env.insnIdx];
}

/** The log text of a region's real first instruction, on the region's own paths. */
export function regionInsnText(env: Env): string | undefined {
  const rp = regionOf(env.cur);
  if (!rp || env.insnIdx !== rp.info.start) return undefined;
  return disasmKernel([rp.info.first, env.insns[env.insnIdx + 1] ?? rp.info.first], 0);
}

/**
 * At the top of the exploration loop: true when the current path runs
 * through a region and has reached its end (the path is then dropped).
 */
export function regionPathDone(env: Env): boolean {
  const rp = regionOf(env.cur);
  if (!rp) return false;
  const { start, end } = rp.info;
  if (env.insnIdx >= start && env.insnIdx < end) return false;
  // prepare.ts allows jumps to [start+1, end] only; falling off the end is the one way out
  if (env.insnIdx !== end) env.reject(`inlined ${rp.info.kfunc} (${rp.info.where}): path leaves the region at insn ${env.insnIdx}`);
  if (env.log.level & 2) env.verbose(`${end}: end of inlined ${rp.info.kfunc}: region path done\n`);
  return true;
}

const ptrOff = (r: RegState): number => r.off + Number(BigInt.asIntN(64, r.s.varOff.value));

function kernelValue(r: RegState): void {
  markUnknown(r);
  r.type = RegType.KERNEL_VALUE;
}

/** The stack objects (dynptrs, iterators) the call's arguments point to. */
function objectsOf(env: Env, info: RegionInfo): StackObjRange[] {
  const out: StackObjRange[] = [];
  if (info.call.src === 0) {
    // a helper region: its dynptr argument (the body's prototype says `struct bpf_dynptr_kern *`)
    const reg = info.dynptrArg === undefined ? undefined : env.regs[info.dynptrArg];
    if (reg && reg.type === RegType.PTR_TO_STACK && tnumIsConst(reg.s.varOff)) out.push({ frameno: reg.frameno, lo: ptrOff(reg), hi: ptrOff(reg) + 16 });
    return out;
  }
  info.meta.args.forEach((a, i) => {
    const reg = env.regs[i + 1];
    if (reg.type !== RegType.PTR_TO_STACK || !tnumIsConst(reg.s.varOff)) return;
    const size = a.kind === 'dynptr' ? 16 : a.kind === 'iter' ? 8 * a.nrSlots : 0;
    if (!size) return;
    const lo = ptrOff(reg);
    out.push({ frameno: reg.frameno, lo, hi: lo + size });
  });
  return out;
}

/** The per-path context, interned so that equal contexts are the same object (prune.ts compares by reference). */
function pathContext(env: Env, info: RegionInfo, objects: StackObjRange[]): RegionPath {
  const ie = inlinedEnv(env)!;
  const frameno = env.cur.curframe;
  const f = env.cur.frames[frameno];
  const inUse = new Set<number>();
  f.stack.forEach((s, spi) => {
    if (s.slotType.some((t) => t !== SlotType.INVALID)) inUse.add(spi);
  });
  // the objects' own slots are reached through the object pointers only
  for (const o of objects) if (o.frameno === frameno) for (let b = o.lo; b < o.hi; b += BPF_REG_SIZE) inUse.delete(Math.floor((-b - 1) / BPF_REG_SIZE));
  const key = `${info.index}|${frameno}|${objects.map((o) => `${o.frameno}:${o.lo}:${o.hi}`).join(',')}|${[...inUse].sort((a, b) => a - b).join(',')}`;
  let rp = ie.interned.get(key) as RegionPath | undefined;
  if (!rp) {
    rp = { info, frameno, objects, inUse };
    ie.interned.set(key, rp);
  }
  return rp;
}

/** Distills the region's copy of the state: kernel code sees scalars, stack objects and KERNEL_VALUEs. */
function distill(st: VerifierState, info: RegionInfo, objects: readonly StackObjRange[]): void {
  const regs = st.frames[st.curframe].regs;
  const nargs = info.nargs;
  for (let r = 0; r <= 9; r++) {
    const reg = regs[r];
    if (reg.type === RegType.NOT_INIT) continue;
    const isArg = r >= 1 && r <= nargs;
    if (r >= 1 && r <= 5 && !isArg) {
      markNotInit(reg);
      continue;
    }
    if (reg.type === RegType.SCALAR_VALUE) {
      // arguments keep what the caller knows (they are marked precise on the
      // program's path); r0 and r6..r9 only pass through the spill slots
      if (!isArg) markUnknown(reg);
      else reg.id = 0;
      continue;
    }
    const obj = isArg && reg.type === RegType.PTR_TO_STACK && tnumIsConst(reg.s.varOff) &&
      objects.some((o) => o.frameno === reg.frameno && o.lo === ptrOff(reg));
    if (!obj) kernelValue(reg);
  }
}

/**
 * The program's path at a region's first slot: queues the region's own path
 * and applies the call. Returns the slot where the program's path goes on.
 */
export function enterRegion(env: Env, info: RegionInfo, push: Push): number {
  const objects = objectsOf(env, info);
  const rp = pathContext(env, info, objects);
  if (env.log.level) env.verbose(`${info.start}: inlined ${info.kfunc} (${info.where}) stands for a call of ${info.kfunc}\n`);
  // the region's path: a new lineage (its precision marks stay inside it),
  // from the state before the call
  const st = push(info.start);
  detachLineage(st, info.start);
  st.region = rp;
  distill(st, info, objects);
  // what the region does with its scalar arguments is explored for their
  // exact values: they must be precise on the program's path
  markScalarArgsPrecise(env, info.nargs);
  // the call's semantics on the program's state; states an iterator's next
  // call queues continue at the region's end too
  const pushAfter = (target: number): VerifierState => push(target === info.start + 1 ? info.end : target);
  if (info.call.src !== 0) checkKfuncCall(env, info.call, pushAfter);
  // a helper region: check_helper_call() (r0 = PTR_TO_MAP_VALUE_OR_NULL with its id for a lookup, a scalar for 201/202)
  else if (isDynptrHelper(info.call)) checkDynptrHelper(env, info.call);
  else checkHelperCall(env, info.call, pushAfter);
  for (const r of info.clobbers) {
    markNotInit(env.regs[r]);
    env.scratch.reg(r);
  }
  return info.end;
}

/** True when the current path runs through a region. */
export const inRegion = (env: Env): boolean => env.cur.region !== undefined;

function regionReject(env: Env, rp: RegionPath, what: string): never {
  env.reject(`inlined ${rp.info.kfunc} (${rp.info.where}): insn ${env.insnIdx} ${what}`);
}

/** A stack pointer stored where the program cannot see it: rejected. */
function checkNoStackEscape(env: Env, rp: RegionPath, valueReg: number): void {
  if (valueReg >= 0 && env.regs[valueReg].type === RegType.PTR_TO_STACK)
    regionReject(env, rp, `stores a stack pointer (R${valueReg}) into kernel memory`);
}

/**
 * check_mem_access() for the current instruction, in kernel mode on a
 * region's path (same signature as checkMemAccess).
 */
export function regionMemAccess(env: Env, regno: number, off: number, size: number, t: Access, valueReg: number, strictOnce: boolean, ldsx: boolean): void {
  const rp = regionOf(env.cur);
  if (!rp) {
    niMemAccess(env, regno, off, size, t, valueReg, strictOnce, ldsx);
    return;
  }
  const reg = env.regs[regno];
  const write = t === Access.WRITE;
  if (reg.type === RegType.KERNEL_VALUE) {
    if (write) checkNoStackEscape(env, rp, valueReg);
    checkMemAccess(env, regno, off, size, t, valueReg, strictOnce, ldsx);
    return;
  }
  if (reg.type !== RegType.PTR_TO_STACK) {
    checkMemAccess(env, regno, off, size, t, valueReg, strictOnce, ldsx);
    return;
  }
  const rw = write ? 'writes' : 'reads';
  if (!tnumIsConst(reg.s.varOff)) regionReject(env, rp, `${rw} the stack at a variable offset`);
  const lo = ptrOff(reg) + off;
  const hi = lo + size;
  const obj = rp.objects.find((o) => o.frameno === reg.frameno && lo >= o.lo && hi <= o.hi);
  if (obj) {
    // the physical bytes of a stack object: kernel data
    if (write) checkNoStackEscape(env, rp, valueReg);
    else if (valueReg >= 0) kernelValue(env.regs[valueReg]);
    return;
  }
  if (rp.objects.some((o) => o.frameno === reg.frameno && lo < o.hi && hi > o.lo)) regionReject(env, rp, `${rw} fp${lo} size ${size} across the bounds of a stack object`);
  if (reg.frameno !== rp.frameno) regionReject(env, rp, `${rw} a caller frame's stack (frame ${reg.frameno}) outside the stack objects it was given`);
  if (lo < -MAX_BPF_STACK || hi > 0 || size <= 0) regionReject(env, rp, `${rw} fp${lo} size ${size}, outside the ${MAX_BPF_STACK}-byte stack`);
  if (hi > -rp.info.stackBase) regionReject(env, rp, `${rw} fp${lo} size ${size}, inside the caller's ${rp.info.stackBase} bytes of stack`);
  for (let b = lo; b < hi; b++) {
    const spi = Math.floor((-b - 1) / BPF_REG_SIZE);
    if (rp.inUse.has(spi)) regionReject(env, rp, `${rw} fp${lo} size ${size}: the program's stack slot fp${-(spi + 1) * BPF_REG_SIZE} is in use`);
  }
  if (write) {
    for (const s of rp.info.spills) {
      if (s.idx === env.insnIdx || lo >= s.off + 8 || hi <= s.off) continue;
      regionReject(env, rp, `overwrites the spill slot of r${s.reg} at fp${s.off}`);
    }
  }
  checkMemAccess(env, regno, off, size, t, valueReg, strictOnce, ldsx);
}

/** A call inside a region: kernel functions only (kfuncs included), scalars and KERNEL_VALUEs in, KERNEL_VALUE out. */
export function checkRegionCall(env: Env, insn: Insn): void {
  const rp = regionOf(env.cur)!;
  const meta = kfuncEnv(env).meta(insn.imm);
  if (!meta) regionReject(env, rp, `calls kernel btf_id ${insn.imm >>> 0}, which is not a function`);
  checkInternalCall(env, meta);
}

/** Region paths take no checkpoint at the region's first slot (its slot reads as the call there). */
export function regionSkipsPrune(env: Env): boolean {
  const rp = regionOf(env.cur);
  return !!rp && env.insnIdx === rp.info.start;
}

/** The region starting at the current slot, when the current path is the program's. */
export function regionStartingHere(env: Env): RegionInfo | undefined {
  if (env.cur.region) return undefined;
  return inlinedEnv(env)?.at.get(env.insnIdx);
}
