// Dynptrs on the stack: mirrors dynptr_get_spi(), is_dynptr_reg_valid_uninit(),
// is_dynptr_reg_valid_init(), mark_stack_slots_dynptr() and
// process_dynptr_func() (kernel/bpf/verifier.c).
import type { Env } from '../env.js';
import { Access, checkMemAccess } from '../check/mem.js';
import { stackFrame } from '../check/stack.js';
import { tnumIsConst } from '../num/tnum.js';
import { regTypeStr, type RegState } from '../state/reg.js';
import { BPF_REG_SIZE, RegType, SlotType } from '../state/types.js';
import { BPF_DYNPTR_NR_SLOTS, dynptrFirstSlot, dynptrType, dynptrTypeStr, isDynptrSlot, setDynptr } from './slots.js';

const ERANGE = -34;
const EINVAL = -22;

/** mirrors __get_spi() */
export const getSpi = (off: number): number => Math.floor((-off - 1) / BPF_REG_SIZE);

/** mirrors dynptr_get_spi() / iter_get_spi(): the first slot, or a negative errno (logging why). */
export function stackObjSpi(env: Env, reg: RegState, nrSlots: number, what: string): number {
  if (!tnumIsConst(reg.s.varOff)) {
    env.verbose(`${what} has to be at a constant offset\n`);
    return EINVAL;
  }
  const off = reg.off + Number(BigInt.asIntN(64, reg.s.varOff.value));
  if (off % BPF_REG_SIZE) {
    env.verbose(`cannot pass in ${what} at an offset=${off}\n`);
    return EINVAL;
  }
  const spi = getSpi(off);
  if (spi + 1 < nrSlots) {
    env.verbose(`cannot pass in ${what} at an offset=${off}\n`);
    return EINVAL;
  }
  // mirrors is_spi_bounds_valid()
  const f = stackFrame(env, reg);
  if (!(spi - nrSlots + 1 >= 0 && spi < f.stack.length)) return ERANGE;
  return spi;
}

/** mirrors is_dynptr_reg_valid_uninit() */
function dynptrValidUninit(env: Env, reg: RegState): boolean {
  const spi = stackObjSpi(env, reg, BPF_DYNPTR_NR_SLOTS, 'dynptr');
  return !(spi < 0 && spi !== ERANGE);
}

/** mirrors is_dynptr_reg_valid_init() */
export function dynptrValidInit(env: Env, reg: RegState): boolean {
  if (reg.type === RegType.CONST_PTR_TO_DYNPTR) return true;
  const spi = stackObjSpi(env, reg, BPF_DYNPTR_NR_SLOTS, 'dynptr');
  if (spi < 0) return false;
  const f = stackFrame(env, reg);
  if (!dynptrFirstSlot(f.stack[spi].spilled)) return false;
  return isDynptrSlot(f.stack[spi]) && isDynptrSlot(f.stack[spi - 1]);
}

/** The dynptr's state register (the main slot's spilled_ptr, or the CONST_PTR_TO_DYNPTR itself). */
export function dynptrReg(env: Env, reg: RegState): RegState {
  if (reg.type === RegType.CONST_PTR_TO_DYNPTR) return reg;
  const off = reg.off + Number(BigInt.asIntN(64, reg.s.varOff.value));
  return stackFrame(env, reg).stack[getSpi(off)].spilled;
}

/** mirrors mark_stack_slots_dynptr() */
function markStackSlotsDynptr(env: Env, reg: RegState, type: number): void {
  const f = stackFrame(env, reg);
  const off = reg.off + Number(BigInt.asIntN(64, reg.s.varOff.value));
  const spi = getSpi(off);
  const id = env.nextId();
  for (const s of [spi, spi - 1]) {
    const slot = f.stack[s];
    for (let i = 0; i < BPF_REG_SIZE; i++) slot.slotType[i] = SlotType.DYNPTR;
    slot.spilled = { ...slot.spilled, flags: 0, off: 0, range: 0, refObjId: 0, precise: false, frameno: 0, map: null, memSize: 0, bufFrame: 0, bufOff: 0, bufLen: 0 };
    setDynptr(slot.spilled, type, s === spi, id);
    env.scratch.slot(s);
  }
}

export interface DynptrArg {
  /** MEM_UNINIT: the call constructs the dynptr (of `type`). */
  uninit: boolean;
  /** The dynptr type an uninit argument gets (DYNPTR_TYPE_SKB for bpf_dynptr_from_skb, ...). */
  type: number;
  /** MEM_RDONLY: a const dynptr is fine. */
  rdonly: boolean;
}

/** mirrors process_dynptr_func(); returns the dynptr's type. `argno` is regno - 1 as the kernel prints it. */
export function processDynptrFunc(env: Env, regno: number, a: DynptrArg): number {
  const reg = env.regs[regno];
  if (reg.type !== RegType.PTR_TO_STACK && reg.type !== RegType.CONST_PTR_TO_DYNPTR)
    env.reject(`arg#${regno - 1} expected pointer to stack or const struct bpf_dynptr`);
  if (a.uninit) {
    if (!dynptrValidUninit(env, reg)) env.reject('Dynptr has to be an uninitialized dynptr');
    // we write BPF_DW bits (8 bytes) at a time
    for (let i = 0; i < BPF_DYNPTR_NR_SLOTS * BPF_REG_SIZE; i += BPF_REG_SIZE) checkMemAccess(env, regno, i, 8, Access.WRITE, -1, false, false);
    markStackSlotsDynptr(env, reg, a.type);
    return a.type;
  }
  if (reg.type === RegType.CONST_PTR_TO_DYNPTR && !a.rdonly) env.reject('cannot pass pointer to const bpf_dynptr, the helper mutates it');
  if (!dynptrValidInit(env, reg)) env.reject(`Expected an initialized dynptr as arg #${regno - 1}`);
  if (reg.type === RegType.PTR_TO_STACK) {
    // mirrors mark_dynptr_read(): the slots show in the log
    const spi = getSpi(reg.off + Number(BigInt.asIntN(64, reg.s.varOff.value)));
    env.scratch.slot(spi);
    env.scratch.slot(spi - 1);
  }
  const t = dynptrType(dynptrReg(env, reg));
  if (a.type && t !== a.type) env.reject(`Expected a dynptr of type ${dynptrTypeStr(a.type)} as arg #${regno - 1}`);
  return t;
}

/** The type name a helper's "expected=" list gives for ARG_PTR_TO_DYNPTR. */
export function checkDynptrRegType(env: Env, regno: number): void {
  const reg = env.regs[regno];
  if (reg.type !== RegType.PTR_TO_STACK && reg.type !== RegType.CONST_PTR_TO_DYNPTR)
    env.reject(`R${regno} type=${regTypeStr(reg)} expected=fp, dynptr_ptr`);
}
