// Dynptr kfuncs and helpers (kernel/bpf/helpers.c, net/core/filter.c), natively.
// A dynptr is struct bpf_dynptr_kern { void *data; u32 size; u32 offset; }:
// size bits 0..23 the size, bits 28..30 the type, bit 31 read-only.

import { withFast, type NativeFn } from '../../vm/env.js';
import { addr, addrN, ld, ldPtr, memmove, st, u32 } from '../mem.js';
import type { KernelRuntime } from '../runtime.js';

export const BPF_DYNPTR_TYPE_INVALID = 0;
export const BPF_DYNPTR_TYPE_LOCAL = 1;
export const BPF_DYNPTR_TYPE_RINGBUF = 2;
export const BPF_DYNPTR_TYPE_SKB = 3;
export const BPF_DYNPTR_TYPE_XDP = 4;
export const DYNPTR_SIZE_MASK = 0xffffff;
export const DYNPTR_TYPE_SHIFT = 28;
export const DYNPTR_RDONLY_BIT = 0x8000_0000;

const E2BIG = 7;
const EINVAL = 22;
const ERANGE = 34;
const EFAULT = 14;

/** A decoded dynptr. */
export interface DynptrView {
  readonly data: number;
  readonly size: number;
  readonly type: number;
  readonly rdonly: boolean;
  readonly offset: number;
}

export function readDynptr(rt: KernelRuntime, p: number): DynptrView {
  const D = rt.L.dynptr;
  const raw = ld(rt.mem, p + D.sizeField, 4);
  return {
    data: ldPtr(rt.mem, p + D.data),
    size: raw & DYNPTR_SIZE_MASK,
    type: ((raw & ~DYNPTR_RDONLY_BIT) >>> DYNPTR_TYPE_SHIFT) & 7,
    rdonly: (raw & DYNPTR_RDONLY_BIT) !== 0,
    offset: ld(rt.mem, p + D.offset, 4),
  };
}

/** mirrors bpf_dynptr_init() */
export function initDynptr(rt: KernelRuntime, p: number, data: number, type: number, offset: number, size: number): void {
  const D = rt.L.dynptr;
  rt.mem.check(p, D.size, true);
  st(rt.mem, p + D.data, 8, data);
  st(rt.mem, p + D.offset, 4, offset);
  st(rt.mem, p + D.sizeField, 4, ((size >>> 0) | (type << DYNPTR_TYPE_SHIFT)) >>> 0);
}

/** mirrors bpf_dynptr_set_null() */
export function setNull(rt: KernelRuntime, p: number): void {
  rt.mem.check(p, rt.L.dynptr.size, true);
  rt.mem.u8.fill(0, p, p + rt.L.dynptr.size);
}

/** mirrors bpf_dynptr_check_off_len() */
const checkOffLen = (d: DynptrView, offset: number, len: number): number =>
  len > d.size || offset > d.size - len ? -E2BIG : 0;

/** bpf_dynptr_from_skb() on decoded arguments (`flags` only tested for zero): 0 or -EINVAL. */
function dynptrFromSkb(rt: KernelRuntime, skbArg: bigint | number, flags: boolean, p: number): number {
  if (flags) {
    setNull(rt, p);
    return -EINVAL;
  }
  const skb = typeof skbArg === 'number' ? addrN(skbArg, 'bpf_dynptr_from_skb: skb') : addr(skbArg, 'bpf_dynptr_from_skb: skb');
  initDynptr(rt, p, skb, BPF_DYNPTR_TYPE_SKB, 0, rt.skb.len(skb));
  if (rt.skbDynptrRdonly) st(rt.mem, p + rt.L.dynptr.sizeField, 4, (ld(rt.mem, p + rt.L.dynptr.sizeField, 4) | DYNPTR_RDONLY_BIT) >>> 0);
  return 0;
}

/** bpf_dynptr_from_skb(struct __sk_buff *s, u64 flags, struct bpf_dynptr *ptr__uninit) (and the _rdonly fixup). */
export const bpfDynptrFromSkb = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, s, flags, ptr) => BigInt(dynptrFromSkb(rt, s, flags !== 0n, addr(ptr, 'bpf_dynptr_from_skb: ptr__uninit'))),
    (_c, s, flags, ptr) => dynptrFromSkb(rt, s, flags !== 0, addrN(ptr, 'bpf_dynptr_from_skb: ptr__uninit')),
  );

/** bpf_dynptr_from_xdp() on decoded arguments: 0 or -EINVAL. */
function dynptrFromXdp(rt: KernelRuntime, xArg: bigint | number, flags: boolean, p: number): number {
  if (flags) {
    setNull(rt, p);
    return -EINVAL;
  }
  const xdp = typeof xArg === 'number' ? addrN(xArg, 'bpf_dynptr_from_xdp: xdp') : addr(xArg, 'bpf_dynptr_from_xdp: xdp');
  initDynptr(rt, p, xdp, BPF_DYNPTR_TYPE_XDP, 0, rt.xdp.buffLen(xdp));
  return 0;
}

/** bpf_dynptr_from_xdp(struct xdp_md *x, u64 flags, struct bpf_dynptr *ptr__uninit) */
export const bpfDynptrFromXdp = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, x, flags, ptr) => BigInt(dynptrFromXdp(rt, x, flags !== 0n, addr(ptr, 'bpf_dynptr_from_xdp: ptr__uninit'))),
    (_c, x, flags, ptr) => dynptrFromXdp(rt, x, flags !== 0, addrN(ptr, 'bpf_dynptr_from_xdp: ptr__uninit')),
  );

/** mirrors bpf_dynptr_slice(): an address or 0 (NULL). */
export function dynptrSlice(rt: KernelRuntime, p: number, offset: number, buffer: number, len: number, pc: number): number {
  // readDynptr() and checkOffLen() without the DynptrView object (the hot path of the slice benchmark)
  const D = rt.L.dynptr;
  const raw = ld(rt.mem, p + D.sizeField, 4);
  const data = ldPtr(rt.mem, p + D.data);
  const doff = ld(rt.mem, p + D.offset, 4);
  if (!data) return 0;
  const size = raw & DYNPTR_SIZE_MASK;
  if (len > size || offset > size - len) return 0;
  const off = (doff + offset) >>> 0;
  switch (((raw & ~DYNPTR_RDONLY_BIT) >>> DYNPTR_TYPE_SHIFT) & 7) {
    case BPF_DYNPTR_TYPE_LOCAL:
    case BPF_DYNPTR_TYPE_RINGBUF:
      return data + off;
    case BPF_DYNPTR_TYPE_SKB:
      if (buffer) return rt.skb.headerPointer(data, off | 0, len | 0, buffer, pc);
      return rt.skb.pointerIfLinear(data, off | 0, len | 0);
    case BPF_DYNPTR_TYPE_XDP: {
      const x = rt.xdp.pointerAddr(data, off, len);
      if (x >= 0) return x;
      if (!buffer) return 0; // NULL or ERR_PTR: copy into the buffer (as the kernel does for both)
      rt.xdp.copyBuf(data, off, buffer, len, false, pc);
      return buffer;
    }
    default:
      return 0; // WARN_ONCE(true, "unknown dynptr type %d\n", type)
  }
}

/** void *bpf_dynptr_slice(const struct bpf_dynptr *p, u32 offset, void *buffer__opt, u32 buffer__szk) */
export const bpfDynptrSlice = (rt: KernelRuntime): NativeFn =>
  withFast(
    (c, p, offset, buf, sz) => BigInt(dynptrSlice(rt, addr(p, 'bpf_dynptr_slice: p'), u32(offset), addr(buf, 'bpf_dynptr_slice: buffer__opt'), u32(sz), c.pc)),
    (c, p, offset, buf, sz) => dynptrSlice(rt, addrN(p, 'bpf_dynptr_slice: p'), offset >>> 0, addrN(buf, 'bpf_dynptr_slice: buffer__opt'), sz >>> 0, c.pc),
  );

/** bpf_dynptr_slice_rdwr() on a decoded dynptr address; the other arguments decoded by `rest` after the dynptr is read. */
function dynptrSliceRdwr(rt: KernelRuntime, pa: number, offset: number, buf: bigint | number, sz: number, pc: number): number {
  const d = readDynptr(rt, pa);
  if (!d.data || d.rdonly) return 0;
  const b = typeof buf === 'number' ? addrN(buf, 'bpf_dynptr_slice_rdwr: buffer__opt') : addr(buf, 'bpf_dynptr_slice_rdwr: buffer__opt');
  return dynptrSlice(rt, pa, offset, b, sz, pc);
}

/** bpf_dynptr_slice_rdwr(): NULL for a read-only dynptr. */
export const bpfDynptrSliceRdwr = (rt: KernelRuntime): NativeFn =>
  withFast(
    (c, p, offset, buf, sz) => BigInt(dynptrSliceRdwr(rt, addr(p, 'bpf_dynptr_slice_rdwr: p'), u32(offset), buf, u32(sz), c.pc)),
    (c, p, offset, buf, sz) => dynptrSliceRdwr(rt, addrN(p, 'bpf_dynptr_slice_rdwr: p'), offset >>> 0, buf, sz >>> 0, c.pc),
  );

/** A kfunc of one `const struct bpf_dynptr *p` returning a number: its bigint and fast forms. */
const dynptrQuery = (name: string, fn: (rt: KernelRuntime, p: number) => number) => (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, p) => BigInt(fn(rt, addr(p, `${name}: p`))),
    (_c, p) => fn(rt, addrN(p, `${name}: p`)),
  );

/** mirrors bpf_dynptr_is_null(): 1 or 0. */
const dynptrIsNull = (rt: KernelRuntime, p: number): number => (readDynptr(rt, p).data ? 0 : 1);
export const bpfDynptrIsNull = dynptrQuery('bpf_dynptr_is_null', dynptrIsNull);

/** mirrors bpf_dynptr_is_rdonly(): 1 or 0. */
function dynptrIsRdonly(rt: KernelRuntime, p: number): number {
  const d = readDynptr(rt, p);
  return d.data && d.rdonly ? 1 : 0;
}
export const bpfDynptrIsRdonly = dynptrQuery('bpf_dynptr_is_rdonly', dynptrIsRdonly);

/** mirrors bpf_dynptr_size(): -EINVAL (as u32) for a NULL dynptr. */
function dynptrSize(rt: KernelRuntime, p: number): number {
  const d = readDynptr(rt, p);
  return d.data ? d.size : (-EINVAL) >>> 0;
}
/** u32 bpf_dynptr_size(const struct bpf_dynptr *p) */
export const bpfDynptrSize = dynptrQuery('bpf_dynptr_size', dynptrSize);

/** mirrors bpf_dynptr_adjust(): 0, -EINVAL or -ERANGE. */
function dynptrAdjust(rt: KernelRuntime, pa: number, start: number, end: number): number {
  const d = readDynptr(rt, pa);
  // start > end is -EINVAL before the range check
  if (!d.data || start > end) return -EINVAL;
  if (start > d.size || end > d.size) return -ERANGE;
  const D = rt.L.dynptr;
  st(rt.mem, pa + D.offset, 4, (d.offset + start) >>> 0);
  const meta = ld(rt.mem, pa + D.sizeField, 4) & ~DYNPTR_SIZE_MASK;
  st(rt.mem, pa + D.sizeField, 4, ((end - start) | meta) >>> 0);
  return 0;
}
/** int bpf_dynptr_adjust(const struct bpf_dynptr *p, u32 start, u32 end) */
export const bpfDynptrAdjust = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, p, s, e) => BigInt(dynptrAdjust(rt, addr(p, 'bpf_dynptr_adjust: p'), u32(s), u32(e))),
    (_c, p, s, e) => dynptrAdjust(rt, addrN(p, 'bpf_dynptr_adjust: p'), s >>> 0, e >>> 0),
  );

/** helper 201: long bpf_dynptr_read(void *dst, u32 len, const struct bpf_dynptr *src, u32 offset, u64 flags) */
export const bpfDynptrRead = (rt: KernelRuntime): NativeFn => (c, dst, l, src, o, flags) => {
  const d = readDynptr(rt, addr(src, 'bpf_dynptr_read: src'));
  const len = u32(l);
  const offset = u32(o);
  const to = addr(dst, 'bpf_dynptr_read: dst');
  if (!d.data || flags) return -BigInt(EINVAL);
  const e = checkOffLen(d, offset, len);
  if (e) return BigInt(e);
  const off = (d.offset + offset) >>> 0;
  switch (d.type) {
    case BPF_DYNPTR_TYPE_LOCAL:
    case BPF_DYNPTR_TYPE_RINGBUF:
      memmove(rt.mem, to, d.data + off, len, c.pc);
      return 0n;
    case BPF_DYNPTR_TYPE_SKB:
      return BigInt(rt.skb.loadBytes(d.data, off, to, len, c.pc));
    case BPF_DYNPTR_TYPE_XDP:
      return BigInt(rt.xdp.loadStoreBytes(d.data, off, to, len, false, c.pc));
    default:
      return -BigInt(EFAULT);
  }
};

/** helper 202: long bpf_dynptr_write(const struct bpf_dynptr *dst, u32 offset, void *src, u32 len, u64 flags) */
export const bpfDynptrWrite = (rt: KernelRuntime): NativeFn => (c, dst, o, src, l, flags) => {
  const d = readDynptr(rt, addr(dst, 'bpf_dynptr_write: dst'));
  const offset = u32(o);
  const len = u32(l);
  const from = addr(src, 'bpf_dynptr_write: src');
  if (!d.data || d.rdonly) return -BigInt(EINVAL);
  const e = checkOffLen(d, offset, len);
  if (e) return BigInt(e);
  const off = (d.offset + offset) >>> 0;
  switch (d.type) {
    case BPF_DYNPTR_TYPE_LOCAL:
    case BPF_DYNPTR_TYPE_RINGBUF:
      if (flags) return -BigInt(EINVAL);
      memmove(rt.mem, d.data + off, from, len, c.pc);
      return 0n;
    case BPF_DYNPTR_TYPE_SKB:
      return BigInt(rt.skb.storeBytes(d.data, off, from, len, BigInt.asUintN(64, flags), c.pc));
    case BPF_DYNPTR_TYPE_XDP:
      if (flags) return -BigInt(EINVAL);
      return BigInt(rt.xdp.loadStoreBytes(d.data, off, from, len, true, c.pc));
    default:
      return -BigInt(EFAULT);
  }
};
