// Memory arguments of kfuncs and of the dynptr helpers: mirrors
// check_mem_size_reg(), check_helper_mem_access() and
// check_stack_range_initialized() (privileged: uninitialised stack may be read).
import type { Env } from '../env.js';
import { checkMemRegion, checkPacketAccess } from '../check/mem.js';
import { markUnknown } from '../check/regs.js';
import { checkStackAccessWithinBounds, stackFrame } from '../check/stack.js';
import { tnumIsConst, tnumStr } from '../num/tnum.js';
import { isKnownZero, regTypeStr } from '../state/reg.js';
import { BPF_REG_SIZE, MEM_RDONLY, PTR_MAYBE_NULL, RegType, SlotType } from '../state/types.js';

const BPF_MAX_VAR_SIZ = 1 << 29;

/** mirrors check_helper_mem_access(): `write` for memory the callee writes (raw mode). */
export function checkHelperMem(env: Env, regno: number, size: number, write: boolean, zeroOk: boolean): void {
  const reg = env.regs[regno];
  if (reg.flags & PTR_MAYBE_NULL && reg.type !== RegType.SCALAR_VALUE) env.reject(`R${regno} type=${regTypeStr(reg)} expected=fp, pkt, pkt_meta, map_key, map_value, mem`);
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
      if (write && reg.flags & MEM_RDONLY) env.reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      checkMemRegion(env, regno, reg, reg.off, size, reg.memSize, zeroOk);
      return;
    case RegType.PTR_TO_STACK:
      checkStackRange(env, regno, size, write, zeroOk);
      return;
    case RegType.KERNEL_VALUE:
      return;
    default:
      if (zeroOk && size === 0 && isKnownZero(reg)) return;
      env.reject(`R${regno} type=${regTypeStr(reg)} expected=fp, pkt, pkt_meta, map_key, map_value, mem`);
  }
}

/** mirrors check_stack_range_initialized() with allow_uninit_stack; `write` clobbers the bytes. */
function checkStackRange(env: Env, regno: number, size: number, write: boolean, zeroOk: boolean): void {
  const reg = env.regs[regno];
  if (size === 0 && zeroOk) return;
  checkStackAccessWithinBounds(env, regno, reg.off, size, write ? ' indirect access to' : ' read from');
  const f = stackFrame(env, reg);
  const varConst = tnumIsConst(reg.s.varOff);
  if (!varConst && !write) {
    // without meta (a variable-sized access) the kernel still allows it; keep it simple and exact
  }
  const minOff = varConst ? Number(BigInt.asIntN(64, reg.s.varOff.value)) + reg.off : Number(reg.s.smin) + reg.off;
  const maxOff = (varConst ? minOff : Number(reg.s.smax) + reg.off) + size;
  for (let i = minOff; i < maxOff; i++) {
    const slot = -i - 1;
    const spi = Math.floor(slot / BPF_REG_SIZE);
    env.scratch.slot(spi);
    const s = f.stack[spi];
    const t = s.slotType[slot % BPF_REG_SIZE];
    const spilledOk = s.slotType[BPF_REG_SIZE - 1] === SlotType.SPILL && t === SlotType.SPILL;
    if (t === SlotType.MISC || t === SlotType.ZERO || t === SlotType.INVALID || spilledOk) {
      if (!write) continue;
      if (spilledOk) {
        markUnknown(s.spilled);
        for (let j = 0; j < BPF_REG_SIZE; j++) if (s.slotType[j] === SlotType.SPILL) s.slotType[j] = SlotType.MISC;
      }
      s.slotType[slot % BPF_REG_SIZE] = SlotType.MISC;
      continue;
    }
    if (varConst) env.reject(`invalid read from stack R${regno} off ${minOff}+${i - minOff} size ${size}`);
    env.reject(`invalid read from stack R${regno} var_off ${tnumStr(reg.s.varOff)}+${i - minOff} size ${size}`);
  }
}

/** mirrors check_mem_size_reg(): the size in `regno`, the memory in `regno - 1`. */
export function checkMemSizeReg(env: Env, regno: number, write: boolean, zeroOk: boolean): void {
  const reg = env.regs[regno];
  if (reg.type !== RegType.SCALAR_VALUE) env.reject(`R${regno} is not a scalar`);
  if (reg.s.smin < 0n) env.reject(`R${regno} min value is negative, either use unsigned or 'var &= const'`);
  if (reg.s.umin === 0n && !zeroOk) env.reject(`R${regno} invalid zero-sized read: u64=[${reg.s.umin},${reg.s.umax}]`);
  if (reg.s.umax >= BigInt(BPF_MAX_VAR_SIZ)) env.reject(`R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
  checkHelperMem(env, regno - 1, Number(reg.s.umax), write, zeroOk);
}
