// Stack accesses: mirrors check_stack_access_within_bounds(),
// check_stack_write_fixed_off/var_off() and check_stack_read_fixed_off/var_off().
import type { Env } from '../env.js';
import { scalarConst } from '../num/scalar.js';
import { tnumIsConst, tnumStr } from '../num/tnum.js';
import { growStack, type FuncState } from '../state/frame.js';
import { copyReg, isKnownZero, type RegState } from '../state/reg.js';
import { BPF_REG_SIZE, MAX_BPF_STACK, RegType, SlotType } from '../state/types.js';
import { assignScalarId, BPF_MAX_VAR_OFF } from './alu.js';
import { copyInto, markKnown, markUnknown } from './regs.js';
import { markChainPrecision, pushInsnHistory, stackAccessFlags } from '../precision.js';
import { stackLiveness } from '../state/liveness.js';

/** The frame a PTR_TO_STACK register points into: mirrors func(env, reg). */
export function stackFrame(env: Env, reg: RegState): FuncState {
  return env.cur.frames[reg.frameno];
}

/** mirrors grow_stack_state() plus the subprog stack_depth update. */
export function growStackState(env: Env, f: FuncState, size: number): void {
  const rounded = Math.ceil(size / BPF_REG_SIZE) * BPF_REG_SIZE;
  growStack(f, rounded);
  const sp = env.subprogs[f.subprogno];
  if (sp && sp.stackDepth < rounded) sp.stackDepth = rounded;
}

/** mirrors check_stack_access_within_bounds(); off already includes reg->off. */
export function checkStackAccessWithinBounds(env: Env, regno: number, off: number, size: number, extra: string): void {
  const reg = env.regs[regno];
  let minOff: bigint, maxOff: bigint;
  if (tnumIsConst(reg.s.varOff)) {
    minOff = BigInt.asIntN(64, reg.s.varOff.value) + BigInt(off);
    maxOff = minOff + BigInt(size);
  } else {
    const lim = BigInt(BPF_MAX_VAR_OFF);
    if (reg.s.smax >= lim || reg.s.smin <= -lim) env.reject(`invalid unbounded variable-offset${extra} stack R${regno}`);
    minOff = reg.s.smin + BigInt(off);
    maxOff = reg.s.smax + BigInt(off) + BigInt(size);
  }
  const bad = minOff < BigInt(-MAX_BPF_STACK) || minOff > -1n || maxOff > 0n || size < 0;
  if (bad) {
    if (tnumIsConst(reg.s.varOff)) env.reject(`invalid${extra} stack R${regno} off=${off} size=${size}`);
    env.reject(`invalid variable-offset${extra} stack R${regno} var_off=${tnumStr(reg.s.varOff)} off=${off} size=${size}`);
  }
  growStackState(env, stackFrame(env, reg), Number(-minOff));
}

const isSpillable = (t: RegType): boolean => t !== RegType.NOT_INIT && t !== RegType.SCALAR_VALUE;

/** mirrors save_register_state() */
function saveRegState(slot: { slotType: SlotType[]; spilled: RegState }, reg: RegState, size: number): void {
  slot.spilled = copyReg(reg);
  let i: number;
  for (i = BPF_REG_SIZE; i > BPF_REG_SIZE - size; i--) slot.slotType[i - 1] = SlotType.SPILL;
  for (; i; i--) {
    const t = slot.slotType[i - 1];
    if (t !== SlotType.ZERO && t !== SlotType.INVALID) slot.slotType[i - 1] = SlotType.MISC;
  }
}

function isSpilled(slot: { slotType: SlotType[] }): boolean {
  return slot.slotType[BPF_REG_SIZE - 1] === SlotType.SPILL;
}

function scrubSpecial(slot: { slotType: SlotType[] }): void {
  const special = slot.slotType.some((t) => t === SlotType.SPILL || t === SlotType.DYNPTR || t === SlotType.ITER);
  if (!special) return;
  for (let i = 0; i < BPF_REG_SIZE; i++) if (slot.slotType[i] !== SlotType.INVALID) slot.slotType[i] = SlotType.MISC;
}

/** mirrors check_stack_write(); valueReg -1 for BPF_ST (imm in the instruction). */
export function checkStackWrite(env: Env, regno: number, off: number, size: number, valueReg: number): void {
  const ptr = env.regs[regno];
  const f = stackFrame(env, ptr);
  const insn = env.insns[env.insnIdx];
  const isSt = (insn.code & 7) === 2;
  const reg = valueReg >= 0 ? env.regs[valueReg] : null;
  if (!tnumIsConst(ptr.s.varOff)) {
    // mirrors check_stack_write_var_off()
    const minOff = Number(ptr.s.smin) + off;
    const maxOff = Number(ptr.s.smax) + off + size;
    const zero = (reg && isKnownZero(reg)) || (!reg && isSt && insn.imm === 0);
    let zeroUsed = false;
    for (let i = minOff; i < maxOff; i++) {
      const slotIdx = -i - 1;
      const spi = Math.floor(slotIdx / BPF_REG_SIZE);
      const slot = f.stack[spi];
      env.scratch.slot(spi);
      slot.spilled.type = RegType.NOT_INIT;
      const j = slotIdx % BPF_REG_SIZE;
      const nt = zero && slot.slotType[j] === SlotType.ZERO ? SlotType.ZERO : SlotType.MISC;
      if (nt === SlotType.ZERO) zeroUsed = true;
      slot.slotType[j] = nt;
    }
    if (zeroUsed) markChainPrecision(env, valueReg);
    invalidateSliceBufs(env, f.frameno, minOff, maxOff);
    return;
  }
  const o = off + Number(BigInt.asIntN(64, ptr.s.varOff.value));
  const slotIdx = -o - 1;
  const spi = Math.floor(slotIdx / BPF_REG_SIZE);
  const slot = f.stack[spi];
  env.scratch.slot(spi);
  // a full slot written at a fixed offset: mirrors bpf_mark_stack_write()
  if (size === BPF_REG_SIZE && o % BPF_REG_SIZE === 0) stackLiveness(env).write(f.frameno, spi);
  const cur = env.cur.frames[env.cur.curframe];
  // a register spill is recorded in the jump history for backtracking
  let flags = stackAccessFlags(f.frameno, spi);
  if (reg && o % BPF_REG_SIZE === 0 && reg.type === RegType.SCALAR_VALUE) {
    const fits = (reg.s.umax === 0n ? 0 : reg.s.umax.toString(2).length) <= 8 * size;
    if (fits) assignScalarId(env, reg);
    saveRegState(slot, reg, size);
    if (!fits) slot.spilled.id = 0;
  } else if (!reg && o % BPF_REG_SIZE === 0 && isSt) {
    const tmp: RegState = { ...slot.spilled, type: RegType.SCALAR_VALUE, flags: 0, off: 0, range: 0, id: 0, refObjId: 0, s: scalarConst(BigInt(insn.imm)), precise: false, frameno: 0, map: null, memSize: 0, bufFrame: 0, bufOff: 0, bufLen: 0 };
    saveRegState(slot, tmp, size);
  } else if (reg && isSpillable(reg.type) && !(reg.type === RegType.KERNEL_VALUE && size !== BPF_REG_SIZE)) {
    if (size !== BPF_REG_SIZE) env.reject('invalid size of register spill');
    if (f !== cur && reg.type === RegType.PTR_TO_STACK) env.reject('cannot spill pointers to stack into stack frame of the caller');
    saveRegState(slot, reg, size);
  } else {
    slot.spilled.type = RegType.NOT_INIT;
    scrubSpecial(slot);
    const zero = (reg && isKnownZero(reg)) || (!reg && isSt && insn.imm === 0);
    // STACK_ZERO relies on the exact value of the stored register
    if (zero) markChainPrecision(env, valueReg);
    const t = zero ? SlotType.ZERO : SlotType.MISC;
    for (let i = 0; i < size; i++) slot.slotType[(slotIdx - i) % BPF_REG_SIZE] = t;
    flags = 0;
  }
  if (flags) pushInsnHistory(env, env.cur, flags, null);
  // after the spill: a slice spilled into its own buffer is invalidated too
  invalidateSliceBufs(env, f.frameno, o, o + size);
}

/** The verifications that made a slice with a stack buffer: only their stack writes look for slices. */
const sliceBufEnvs = new WeakSet<Env>();

/** A slice with a stack buffer exists from now on (kfunc/call.ts). */
export function noteSliceBuf(env: Env): void {
  sliceBufEnvs.add(env);
}

/**
 * Every copy of a bpf_dynptr_slice result (registers and spilled registers of
 * all frames, as bpf_for_each_reg_in_vstate() visits them) whose stack buffer
 * (RegState.bufLen) matches `keep` becomes an unknown scalar, unscratched.
 * Not in mainline 6.18: the running kernel's (6.18.44-fc) behaviour, probed in
 * test/verifier/slice-buf.test.ts.
 */
function invalidateSlices(env: Env, hit: (r: RegState) => boolean): void {
  if (!sliceBufEnvs.has(env)) return;
  for (const f of env.cur.frames) {
    for (const r of f.regs) if (r.bufLen && hit(r)) markUnknown(r);
    for (const s of f.stack) if (s.slotType[BPF_REG_SIZE - 1] === SlotType.SPILL && s.spilled.bufLen && hit(s.spilled)) markUnknown(s.spilled);
  }
}

/**
 * A stack write of the bytes [lo, hi) of frame `frameno` (check_stack_write_fixed_off()
 * and check_stack_write_var_off(): instruction stores, spills, atomics, the byte
 * writes of a helper's ARG_PTR_TO_UNINIT_MEM buffer, dynptr and iterator
 * construction) invalidates the slices whose buffer it overlaps. The clobbering
 * of check_stack_range_initialized() (kfunc memory, helper buffers of variable
 * size or offset) does not, nor does a write next to the buffer.
 */
export function invalidateSliceBufs(env: Env, frameno: number, lo: number, hi: number): void {
  invalidateSlices(env, (r) => r.bufFrame === frameno && r.bufOff < hi && lo < r.bufOff + r.bufLen);
}

/**
 * prepare_func_exit() hook: the slices whose buffer is in the returning frame's
 * stack become unknown scalars (the running kernel does it before it prints
 * "returning from callee:"), in every frame, spilled copies included.
 */
export function invalidateFrameSlices(env: Env, frameno: number): void {
  invalidateSlices(env, (r) => r.bufFrame === frameno);
}

/** mirrors mark_reg_stack_read(): zeroes stay zero, anything else is unknown. */
function markStackRead(env: Env, f: FuncState, minOff: number, maxOff: number, dst: number): void {
  let zeros = 0;
  for (let i = minOff; i < maxOff; i++) {
    const slotIdx = -i - 1;
    const spi = Math.floor(slotIdx / BPF_REG_SIZE);
    if (f.stack[spi]?.slotType[slotIdx % BPF_REG_SIZE] === SlotType.ZERO) zeros++;
  }
  if (zeros === maxOff - minOff) markKnown(env.regs[dst], 0n);
  else markUnknown(env.regs[dst]);
}

/** mirrors check_stack_read() */
export function checkStackRead(env: Env, regno: number, off: number, size: number, dst: number): void {
  const ptr = env.regs[regno];
  const f = stackFrame(env, ptr);
  const varOff = !tnumIsConst(ptr.s.varOff);
  if (dst < 0 && varOff)
    env.reject(`variable offset stack pointer cannot be passed into helper function; var_off=${tnumStr(ptr.s.varOff)} off=${off} size=${size}`);
  if (varOff) {
    const minOff = Number(ptr.s.smin) + off;
    const maxOff = Number(ptr.s.smax) + off + size;
    stackLiveness(env).readRange(f.frameno, minOff, maxOff);
    for (let i = minOff; i < maxOff; i++) env.scratch.slot(Math.floor((-i - 1) / BPF_REG_SIZE));
    if (dst >= 0) markStackRead(env, f, minOff, maxOff, dst);
    return;
  }
  const o = off + Number(BigInt.asIntN(64, ptr.s.varOff.value));
  const slotIdx = -o - 1;
  const spi = Math.floor(slotIdx / BPF_REG_SIZE);
  const slot = f.stack[spi];
  env.scratch.slot(spi);
  stackLiveness(env).readRange(f.frameno, o, o + size);
  const st = slot.slotType;
  const spilled = slot.spilled;
  const flags = stackAccessFlags(f.frameno, spi);
  if (isSpilled(slot)) {
    let spillSize = 1;
    for (let i = BPF_REG_SIZE - 1; i > 0 && st[i - 1] === SlotType.SPILL; i--) spillSize++;
    if (size !== BPF_REG_SIZE || spillSize !== BPF_REG_SIZE) {
      if (spilled.type !== RegType.SCALAR_VALUE) env.reject('invalid size of register fill');
      if (dst < 0) return;
      // mirrors bpf_stack_narrow_access_ok(): little-endian, the low bytes
      if (size <= spillSize && o % BPF_REG_SIZE === 0) {
        if (size === 4 && spillSize === 4 && (spilled.s.umax === 0n ? 0 : spilled.s.umax.toString(2).length) <= 32) assignScalarId(env, spilled);
        copyInto(env.regs[dst], { ...spilled });
        const w = spilled.s.umax === 0n ? 0 : spilled.s.umax.toString(2).length;
        if (w > size * 8) env.regs[dst].id = 0;
        pushInsnHistory(env, env.cur, flags, null);
      } else {
        let spillCnt = 0, zeroCnt = 0;
        for (let i = 0; i < size; i++) {
          const t = st[(slotIdx - i) % BPF_REG_SIZE];
          if (t === SlotType.SPILL) spillCnt++;
          else if (t === SlotType.ZERO) zeroCnt++;
          else if (t !== SlotType.MISC && t !== SlotType.INVALID) env.reject(`invalid read from stack off ${o}+${i} size ${size}`);
        }
        if (spillCnt === size && isKnownZero(spilled)) {
          markKnown(env.regs[dst], 0n);
          pushInsnHistory(env, env.cur, flags, null);
        } else if (zeroCnt === size) markKnown(env.regs[dst], 0n);
        else markUnknown(env.regs[dst]);
      }
      return;
    }
    if (dst >= 0) copyInto(env.regs[dst], { ...spilled });
    pushInsnHistory(env, env.cur, flags, null);
    return;
  }
  for (let i = 0; i < size; i++) {
    const t = st[(slotIdx - i) % BPF_REG_SIZE];
    if (t === SlotType.MISC || t === SlotType.ZERO || t === SlotType.INVALID) continue;
    env.reject(`invalid read from stack off ${o}+${i} size ${size}`);
  }
  if (dst >= 0) markStackRead(env, f, o, o + size, dst);
}
