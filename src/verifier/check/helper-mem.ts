// Memory handed to a helper or a kfunc: mirrors check_helper_mem_access(),
// check_stack_range_initialized() and check_mem_size_reg() (kernel/bpf/verifier.c,
// 6.18), shared by helper arguments (check/call.ts) and kfunc arguments
// (kfunc/mem-arg.ts). The model verifies as root: uninitialised stack may be
// read (allow_uninit_stack), spilled pointers may be passed (allow_ptr_leaks),
// variable stack offsets are allowed (bypass_spec_v1).
import type { Env } from '../env.js';
import { tnumIsConst, tnumStr } from '../num/tnum.js';
import { markChainPrecision } from '../precision.js';
import { isKnownZero, regTypeStr } from '../state/reg.js';
import { BPF_REG_SIZE, MEM_RDONLY, RegType, SlotType } from '../state/types.js';
import { Access, checkMemAccess, checkMemRegion, checkPacketAccess } from './mem.js';
import { markUnknown } from './regs.js';
import { checkStackAccessWithinBounds, stackFrame } from './stack.js';

export { Access };

const BPF_MAX_VAR_SIZ = 1 << 29;

/**
 * The fields of struct bpf_call_arg_meta these checks use: `rawMode` is set by
 * an ARG_PTR_TO_UNINIT_MEM argument; a raw-mode stack buffer of constant size
 * and offset is not checked but recorded (`regno`, `accessSize`) and written
 * byte by byte after the arguments (markRawModeWrites()).
 */
export interface MemArgMeta {
  rawMode: boolean;
  regno: number;
  accessSize: number;
}

export const newMemArgMeta = (): MemArgMeta => ({ rawMode: false, regno: 0, accessSize: 0 });

/** mirrors check_helper_mem_access(): `size` bytes at the pointer in `regno`. */
export function checkHelperMemAccess(env: Env, regno: number, size: number, t: Access, zeroOk: boolean, meta: MemArgMeta | null): void {
  const reg = env.regs[regno];
  const write = t === Access.WRITE;
  switch (reg.type) {
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
      checkPacketAccess(env, regno, reg, reg.off, size, zeroOk);
      return;
    case RegType.PTR_TO_MAP_KEY:
      if (write) env.reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      checkMemRegion(env, regno, reg, reg.off, size, reg.map?.keySize ?? 0, false);
      return;
    case RegType.PTR_TO_MAP_VALUE: {
      // mirrors check_map_access_type(): a BPF_F_RDONLY_PROG map cannot be written
      const map = reg.map;
      if (write && map?.rdonly) env.reject(`write into map forbidden, value_size=${map.valueSize} off=${reg.off} size=${size}`);
      checkMemRegion(env, regno, reg, reg.off, size, map?.valueSize ?? 0, zeroOk);
      return;
    }
    case RegType.PTR_TO_MEM:
      if (write && reg.flags & MEM_RDONLY) env.reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      checkMemRegion(env, regno, reg, reg.off, size, reg.memSize, zeroOk);
      return;
    case RegType.PTR_TO_STACK:
      checkStackRangeInitialized(env, regno, reg.off, size, t, meta);
      return;
    case RegType.KERNEL_VALUE:
      // the model's opaque kernel values (inside inlined bodies): not checked
      return;
    default:
      // zero bytes at NULL are fine whatever the argument's type
      if (zeroOk && size === 0 && isKnownZero(reg)) return;
      env.reject(`R${regno} type=${regTypeStr(reg)} expected=fp`);
  }
}

/**
 * mirrors check_stack_range_initialized(): reading needs every byte to be data
 * (STACK_MISC, STACK_ZERO, uninitialised, a spilled register), not a dynptr or
 * an iterator; BPF_WRITE (`clobber`) turns the bytes into STACK_MISC. That
 * clobbering leaves dynptr slices whose buffer it covers alone, as the running
 * kernel does (only stack writes invalidate them: check/stack.ts invalidateSliceBufs()).
 */
function checkStackRangeInitialized(env: Env, regno: number, off: number, size: number, t: Access, metaIn: MemArgMeta | null): void {
  const reg = env.regs[regno];
  const f = stackFrame(env, reg);
  const clobber = t === Access.WRITE;
  checkStackAccessWithinBounds(env, regno, off, size, clobber ? ' write to' : ' read from');
  let meta = metaIn;
  const constOff = tnumIsConst(reg.s.varOff);
  let minOff: number, maxOff: number;
  if (constOff) {
    minOff = maxOff = Number(BigInt.asIntN(64, reg.s.varOff.value)) + off;
  } else {
    // an uninitialised buffer at a variable offset must be initialised: no raw mode
    if (meta?.rawMode) meta = null;
    minOff = Number(reg.s.smin) + off;
    maxOff = Number(reg.s.smax) + off;
  }
  if (meta?.rawMode) {
    // the helper writes the buffer: it must not overlap a dynptr
    for (let i = minOff; i < maxOff + size; i++) {
      const slot = -i - 1;
      const st = f.stack[Math.floor(slot / BPF_REG_SIZE)];
      if (st && st.slotType[slot % BPF_REG_SIZE] === SlotType.DYNPTR) env.reject(`potential write to dynptr at off=${i} disallowed`);
    }
    meta.accessSize = size;
    meta.regno = regno;
    return;
  }
  for (let i = minOff; i < maxOff + size; i++) {
    const slot = -i - 1;
    const st = f.stack[Math.floor(slot / BPF_REG_SIZE)];
    if (!st) env.reject('verifier bug: allocated_stack too small');
    const j = slot % BPF_REG_SIZE;
    const stype = st.slotType[j];
    if (stype === SlotType.MISC) continue;
    if (stype === SlotType.ZERO || stype === SlotType.INVALID) {
      if (clobber) st.slotType[j] = SlotType.MISC;
      continue;
    }
    if (st.slotType[BPF_REG_SIZE - 1] === SlotType.SPILL) {
      if (clobber) {
        markUnknown(st.spilled);
        // mirrors scrub_spilled_slot()
        for (let k = 0; k < BPF_REG_SIZE; k++) if (st.slotType[k] !== SlotType.INVALID) st.slotType[k] = SlotType.MISC;
      }
      continue;
    }
    if (constOff) env.reject(`invalid read from stack R${regno} off ${minOff}+${i - minOff} size ${size}`);
    env.reject(`invalid read from stack R${regno} var_off ${tnumStr(reg.s.varOff)}+${i - minOff} size ${size}`);
  }
}

/** mirrors check_mem_size_reg(): the size in `regno` (a scalar), the memory in `regno - 1`. */
export function checkMemSizeReg(env: Env, regno: number, t: Access, zeroOk: boolean, metaIn: MemArgMeta | null): void {
  const reg = env.regs[regno];
  // a size known only by its bounds: the whole range must be initialised
  const meta = tnumIsConst(reg.s.varOff) ? metaIn : null;
  if (reg.s.smin < 0n) env.reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`);
  if (reg.s.umin === 0n && !zeroOk) env.reject(`R${regno} invalid zero-sized read: u64=[${reg.s.umin},${reg.s.umax}]`);
  if (reg.s.umax >= BigInt(BPF_MAX_VAR_SIZ)) env.reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
  checkHelperMemAccess(env, regno - 1, Number(reg.s.umax), t, zeroOk, meta);
  markChainPrecision(env, regno);
}

/**
 * mirrors the raw-mode loop of check_helper_call(): the recorded stack buffer
 * is written one byte at a time, as check_mem_access(BPF_B, BPF_WRITE) would.
 */
export function markRawModeWrites(env: Env, meta: MemArgMeta): void {
  for (let i = 0; i < meta.accessSize; i++) checkMemAccess(env, meta.regno, i, 1, Access.WRITE, -1, false, false);
}
