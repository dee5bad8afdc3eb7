// One register's abstract value: mirrors struct bpf_reg_state.
import { KfError } from '../../util/errors.js';
import { tnumConst, tnumIsConst } from '../num/tnum.js';
import type { Scalar } from '../num/scalar.js';
import { scalarConst, scalarUnknown } from '../num/scalar.js';
import { MEM_RDONLY, PTR_MAYBE_NULL, RegType } from './types.js';
import type { LinkedMap } from '../../kernel/link.js';

/**
 * A map as the verifier sees it (struct bpf_map fields it reads): exactly what
 * linking a program against the model kernel gives (fd, sizes, initial value,
 * read-only).
 */
export type MapDesc = LinkedMap;

/** Adding a field? copyReg(), assignReg() and resetReg() below list every field explicitly (speed). */
export interface RegState {
  type: RegType;
  /** PTR_MAYBE_NULL | MEM_RDONLY */
  flags: number;
  /** Fixed part of a pointer's offset (reg->off). */
  off: number;
  /** Packet range (reg->range) for packet pointers. */
  range: number;
  id: number;
  refObjId: number;
  /** var_off and the eight bounds. For pointers: the variable part of the offset. */
  s: Scalar;
  precise: boolean;
  /** Frame number a PTR_TO_STACK points into. */
  frameno: number;
  map: MapDesc | null;
  /** mem_size for PTR_TO_MEM */
  memSize: number;
  /** The subprogram a PTR_TO_FUNC names. */
  subprogno?: number;
  /**
   * A bpf_dynptr_slice result that may point into the stack buffer passed as
   * buffer__opt (the running kernel's reg->buf: see kfunc/call.ts): its frame,
   * lowest offset and length (bufLen 0: none). A write there turns the pointer
   * into an unknown scalar (check/stack.ts invalidateSliceBufs()).
   */
  bufFrame: number;
  bufOff: number;
  bufLen: number;
}

export function regNotInit(): RegState {
  return { type: RegType.NOT_INIT, flags: 0, off: 0, range: 0, id: 0, refObjId: 0, s: scalarUnknown(), precise: false, frameno: 0, map: null, memSize: 0, subprogno: undefined, bufFrame: 0, bufOff: 0, bufLen: 0 };
}

/** *dst = *src (copy_register_state() without the id handling), field by field. */
export function assignReg(dst: RegState, src: RegState): void {
  dst.type = src.type;
  dst.flags = src.flags;
  dst.off = src.off;
  dst.range = src.range;
  dst.id = src.id;
  dst.refObjId = src.refObjId;
  dst.s = src.s;
  dst.precise = src.precise;
  dst.frameno = src.frameno;
  dst.map = src.map;
  dst.memSize = src.memSize;
  dst.subprogno = src.subprogno;
  dst.bufFrame = src.bufFrame;
  dst.bufOff = src.bufOff;
  dst.bufLen = src.bufLen;
}

/** mirrors __mark_reg_not_init() in place: every field reset, the object kept. */
export function resetReg(r: RegState): void {
  r.type = RegType.NOT_INIT;
  r.flags = 0;
  r.off = 0;
  r.range = 0;
  r.id = 0;
  r.refObjId = 0;
  r.s = scalarUnknown();
  r.precise = false;
  r.frameno = 0;
  r.map = null;
  r.memSize = 0;
  r.subprogno = undefined;
  r.bufFrame = 0;
  r.bufOff = 0;
  r.bufLen = 0;
}

export function regUnknown(): RegState {
  const r = regNotInit();
  r.type = RegType.SCALAR_VALUE;
  return r;
}

export function regKnown(v: bigint): RegState {
  const r = regUnknown();
  r.s = scalarConst(v);
  return r;
}

/** A pointer of the given type with a zero offset (mirrors mark_reg_known_zero + type). */
export function regPtr(type: RegType, flags = 0): RegState {
  const r = regNotInit();
  r.type = type;
  r.flags = flags;
  r.s = scalarConst(0n);
  return r;
}

export function copyReg(r: RegState): RegState {
  // an explicit literal (one hidden class) is much cheaper than a spread
  return {
    type: r.type, flags: r.flags, off: r.off, range: r.range, id: r.id, refObjId: r.refObjId, s: r.s, precise: r.precise,
    frameno: r.frameno, map: r.map, memSize: r.memSize, subprogno: r.subprogno, bufFrame: r.bufFrame, bufOff: r.bufOff, bufLen: r.bufLen,
  };
}

export const isScalar = (r: RegState): boolean => r.type === RegType.SCALAR_VALUE;
export const isPointer = (r: RegState): boolean => r.type !== RegType.NOT_INIT && r.type !== RegType.SCALAR_VALUE && r.type !== RegType.KERNEL_VALUE;
export const isConst = (r: RegState): boolean => r.type === RegType.SCALAR_VALUE && tnumIsConst(r.s.varOff);
export const isPktPointer = (r: RegState): boolean => r.type === RegType.PTR_TO_PACKET || r.type === RegType.PTR_TO_PACKET_META;
export const maybeNull = (r: RegState): boolean => (r.flags & PTR_MAYBE_NULL) !== 0;

/** The constant a scalar register holds; callers check isConst first. */
export function constVal(r: RegState): bigint {
  if (!tnumIsConst(r.s.varOff)) throw new KfError('internal: register is not a constant');
  return r.s.varOff.value;
}

export const isKnownZero = (r: RegState): boolean => isConst(r) && r.s.varOff.value === 0n;

/** mirrors reg_type_str() */
export function regTypeStr(r: RegState): string {
  let base: string;
  switch (r.type) {
    case RegType.NOT_INIT: base = '?'; break;
    case RegType.SCALAR_VALUE: base = 'scalar'; break;
    case RegType.PTR_TO_CTX: base = 'ctx'; break;
    case RegType.CONST_PTR_TO_MAP: base = 'map_ptr'; break;
    case RegType.PTR_TO_MAP_VALUE: base = 'map_value'; break;
    case RegType.PTR_TO_MAP_KEY: base = 'map_key'; break;
    case RegType.PTR_TO_STACK: base = 'fp'; break;
    case RegType.PTR_TO_PACKET: base = 'pkt'; break;
    case RegType.PTR_TO_PACKET_META: base = 'pkt_meta'; break;
    case RegType.PTR_TO_PACKET_END: base = 'pkt_end'; break;
    case RegType.PTR_TO_MEM: base = 'mem'; break;
    case RegType.PTR_TO_BTF_ID: base = 'ptr_'; break;
    case RegType.CONST_PTR_TO_DYNPTR: base = 'dynptr_ptr'; break;
    case RegType.PTR_TO_FUNC: base = 'func'; break;
    case RegType.KERNEL_VALUE: base = 'kernel_value'; break;
  }
  const prefix = r.flags & MEM_RDONLY ? 'rdonly_' : '';
  const postfix = r.flags & PTR_MAYBE_NULL ? '_or_null' : '';
  return prefix + base + postfix;
}

export { tnumConst };
