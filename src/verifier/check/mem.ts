// Memory accesses: mirrors check_mem_access(), check_ptr_alignment(),
// check_mem_region_access(), check_packet_access(), check_ctx_access().
import { ctxAccess, ctxProgType, mayWritePkt, type CtxRegType } from '../../kernel/ctx-access.js';
import type { Env } from '../env.js';
import { scalarConst, scalarSext, scalarTruncate } from '../num/scalar.js';
import { tnumAdd, tnumConst, tnumIsAligned, tnumIsConst, tnumStr } from '../num/tnum.js';
import { isPktPointer, regTypeStr, type MapDesc, type RegState } from '../state/reg.js';
import { MEM_RDONLY, PTR_MAYBE_NULL, RegType } from '../state/types.js';
import { BPF_MAX_VAR_OFF } from './alu.js';
import { markKnown, markPtr, markUnknown } from './regs.js';
import { checkStackAccessWithinBounds, checkStackRead, checkStackWrite } from './stack.js';

export const enum Access {
  READ,
  WRITE,
}

const tnStr = (r: RegState): string => (tnumIsConst(r.s.varOff) ? String(BigInt.asIntN(64, r.s.varOff.value)) : tnumStr(r.s.varOff));

/**
 * info->reg_type of a ctx load, as the register types this verifier models.
 * PTR_TO_SOCK_COMMON_OR_NULL (__sk_buff->sk) is not modelled: the load yields an unknown scalar.
 */
const CTX_REG: Record<CtxRegType, RegType | undefined> = {
  SCALAR_VALUE: undefined,
  PTR_TO_PACKET: RegType.PTR_TO_PACKET,
  PTR_TO_PACKET_META: RegType.PTR_TO_PACKET_META,
  PTR_TO_PACKET_END: RegType.PTR_TO_PACKET_END,
  PTR_TO_SOCK_COMMON_OR_NULL: undefined,
};

/** mirrors check_ptr_alignment() */
function checkAlignment(env: Env, reg: RegState, off: number, size: number, strictOnce: boolean): void {
  let strict = env.strictAlignment || strictOnce;
  let desc = '';
  switch (reg.type) {
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META: {
      if (!strict || size === 1) return;
      const regOff = tnumAdd(reg.s.varOff, tnumConst(BigInt(2 + reg.off + off)));
      if (!tnumIsAligned(regOff, size)) env.reject(`misaligned packet access off 2+${tnStr(reg)}+${reg.off}+${off} size ${size}`);
      return;
    }
    case RegType.PTR_TO_MAP_KEY: desc = 'key '; break;
    case RegType.PTR_TO_MAP_VALUE: desc = 'value '; break;
    case RegType.PTR_TO_CTX: desc = 'context '; break;
    case RegType.PTR_TO_STACK: desc = 'stack '; strict = true; break;
    default: break;
  }
  if (!strict || size === 1) return;
  const regOff = tnumAdd(reg.s.varOff, tnumConst(BigInt(reg.off + off)));
  if (!tnumIsAligned(regOff, size)) env.reject(`misaligned ${desc}access off ${tnStr(reg)}+${reg.off}+${off} size ${size}`);
}

/** mirrors __check_mem_access() */
function checkMemAccessRaw(env: Env, regno: number, reg: RegState, off: bigint, size: number, memSize: number, zeroOk: boolean): boolean {
  const sizeOk = size > 0 || (size === 0 && zeroOk);
  if (off >= 0n && sizeOk && off + BigInt(size) <= BigInt(memSize)) return true;
  const o = Number(BigInt.asIntN(32, off));
  switch (reg.type) {
    case RegType.PTR_TO_MAP_KEY:
      env.verbose(`invalid access to map key, key_size=${memSize} off=${o} size=${size}\n`);
      break;
    case RegType.PTR_TO_MAP_VALUE:
      env.verbose(`invalid access to map value, value_size=${memSize} off=${o} size=${size}\n`);
      break;
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
    case RegType.PTR_TO_PACKET_END:
      env.verbose(`invalid access to packet, off=${o} size=${size}, R${regno}(id=${reg.id},off=${o},r=${memSize})\n`);
      break;
    default:
      env.verbose(`invalid access to memory, mem_size=${memSize >>> 0} off=${o} size=${size}\n`);
  }
  return false;
}

/** mirrors check_mem_region_access() */
export function checkMemRegion(env: Env, regno: number, reg: RegState, off: number, size: number, memSize: number, zeroOk: boolean): void {
  const s = reg.s;
  const o = BigInt(off);
  if (s.smin < 0n && (s.smin === -(1n << 63n) || o + s.smin !== BigInt.asIntN(32, o + s.smin) || s.smin + o < 0n))
    env.reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  if (!checkMemAccessRaw(env, regno, reg, s.smin + o, size, memSize, zeroOk)) env.reject(`R${regno} min value is outside of the allowed memory range`);
  if (s.umax >= BigInt(BPF_MAX_VAR_OFF)) env.reject(`R${regno} unbounded memory access, make sure to bounds check any such access`);
  if (!checkMemAccessRaw(env, regno, reg, s.umax + o, size, memSize, zeroOk)) env.reject(`R${regno} max value is outside of the allowed memory range`);
}

/** mirrors check_packet_access() */
export function checkPacketAccess(env: Env, regno: number, reg: RegState, off: number, size: number, zeroOk: boolean): void {
  if (reg.s.smin < 0n) env.reject(`R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  const ok = reg.range < 0 ? false : checkMemAccessRaw(env, regno, reg, BigInt(off), size, reg.range, zeroOk);
  if (!ok) env.reject(`R${regno} offset is outside of the packet`);
}

/** mirrors __check_ptr_off_reg() */
export function checkPtrOffReg(env: Env, reg: RegState, regno: number, fixedOffOk: boolean): void {
  if (!fixedOffOk && reg.off) env.reject(`dereference of modified ${regTypeStr(reg)} ptr R${regno} off=${reg.off} disallowed`);
  if (!tnumIsConst(reg.s.varOff) || reg.s.varOff.value)
    env.reject(`variable ${regTypeStr(reg)} access var_off=${tnumStr(reg.s.varOff)} disallowed`);
}

/** mirrors bpf_map_is_rdonly() + bpf_map_direct_read(): little-endian bytes of a frozen read-only array. */
function rdonlyMapValue(map: MapDesc, off: number, size: number): bigint | undefined {
  const rdonly = map.rdonly ?? /\.rodata/.test(map.name);
  const data = map.initialValue;
  if (!rdonly || !data || map.type !== 2 || off < 0 || off + size > map.valueSize) return undefined;
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[off + i] ?? 0);
  return v;
}

/** mirrors check_mem_access(); valueReg is the loaded register (read) or stored one (write), -1 for none. */
export function checkMemAccess(env: Env, regno: number, offIn: number, size: number, t: Access, valueReg: number, strictOnce: boolean, ldsx: boolean): void {
  const regs = env.regs;
  const reg = regs[regno];
  checkAlignment(env, reg, offIn, size, strictOnce);
  const off = offIn + reg.off;
  const write = t === Access.WRITE;
  switch (reg.type) {
    case RegType.PTR_TO_MAP_KEY:
      if (write) env.reject(`write to change key R${regno} not allowed`);
      checkMemRegion(env, regno, reg, off, size, reg.map?.keySize ?? 0, false);
      if (valueReg >= 0) markUnknown(regs[valueReg]);
      break;
    case RegType.PTR_TO_MAP_VALUE:
      if (reg.flags & PTR_MAYBE_NULL) env.reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`);
      checkMemRegion(env, regno, reg, off, size, reg.map?.valueSize ?? 0, false);
      if (!write && valueReg >= 0) {
        // a frozen read-only map (.rodata): its contents are known
        const known = tnumIsConst(reg.s.varOff) && reg.map ? rdonlyMapValue(reg.map, off + Number(reg.s.varOff.value), size) : undefined;
        if (known !== undefined) markKnown(regs[valueReg], known);
        else markUnknown(regs[valueReg]);
      }
      break;
    case RegType.PTR_TO_MEM:
      if (reg.flags & PTR_MAYBE_NULL) env.reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`);
      if (write && reg.flags & MEM_RDONLY) env.reject(`R${regno} cannot write into ${regTypeStr(reg)}`);
      checkMemRegion(env, regno, reg, off, size, reg.memSize, false);
      if (valueReg >= 0 && (!write || reg.flags & MEM_RDONLY)) markUnknown(regs[valueReg]);
      break;
    case RegType.PTR_TO_CTX: {
      checkPtrOffReg(env, reg, regno, false);
      // mirrors check_ctx_access(): env->ops->is_valid_access(); program types whose rules are not modelled refuse every access
      const a = ctxProgType(env.progType) ? ctxAccess(env.progType, off, size, write, undefined, { attach: env.expectedAttachType, ldsx }) : undefined;
      if (!a?.ok) env.reject(`invalid bpf_context access off=${off} size=${size}`);
      if (!write && valueReg >= 0) {
        const t = CTX_REG[a.regType];
        if (t === undefined) markUnknown(regs[valueReg]);
        else markPtr(regs[valueReg], t);
      }
      break;
    }
    case RegType.PTR_TO_STACK:
      checkStackAccessWithinBounds(env, regno, off, size, write ? ' write to' : ' read from');
      if (!write) checkStackRead(env, regno, off, size, valueReg);
      else checkStackWrite(env, regno, off, size, valueReg);
      break;
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
      if (write && !mayWritePkt(env.progType)) env.reject('cannot write into packet');
      checkPacketAccess(env, regno, reg, off, size, false);
      if (!write && valueReg >= 0) markUnknown(regs[valueReg]);
      break;
    case RegType.KERNEL_VALUE:
      if (!write && valueReg >= 0) {
        markUnknown(regs[valueReg]);
        regs[valueReg].type = RegType.KERNEL_VALUE;
      }
      return;
    default:
      env.reject(`R${regno} invalid mem access '${regTypeStr(reg)}'`);
  }
  if (size < 8 && valueReg >= 0 && !write && regs[valueReg].type === RegType.SCALAR_VALUE) {
    const v = regs[valueReg];
    v.s = ldsx ? scalarSext(v.s, size as 1 | 2 | 4) : scalarTruncate(v.s, size);
  }
}

export { isPktPointer, scalarConst };
