// Kernel-internal functions that inlined kfunc bodies call (as kfunc calls by
// BTF id): skb_copy_bits, bpf_xdp_pointer, bpf_xdp_copy_buf, the byte movers
// behind bpf_dynptr_read/write, memmove, memcmp, and __htab_map_lookup_elem
// (itself a body of the library: its native twin here serves the baseline).

import { withFast, type NativeFn } from '../../vm/env.js';
import { KfError, hex } from '../../util/errors.js';
import { HashMap } from '../maps.js';
import { addr, addrN, memmove, s32, u32 } from '../mem.js';
import { XDP_NULL } from '../xdp.js';
import type { KernelRuntime } from '../runtime.js';

/** int skb_copy_bits(const struct sk_buff *skb, int offset, void *to, int len) */
export const skbCopyBits = (rt: KernelRuntime): NativeFn =>
  withFast(
    (c, skb, off, to, len) => BigInt(rt.skb.copyBits(addr(skb, 'skb_copy_bits: skb'), s32(off), addr(to, 'skb_copy_bits: to'), s32(len), c.pc)),
    (c, skb, off, to, len) => rt.skb.copyBits(addrN(skb, 'skb_copy_bits: skb'), off | 0, addrN(to, 'skb_copy_bits: to'), len | 0, c.pc),
  );

/** bpf_xdp_pointer() as a C value: the address, NULL (0) or ERR_PTR(-errno) as the negative errno. */
function xdpPointer(rt: KernelRuntime, x: number, off: number, len: number): number {
  const p = rt.xdp.pointerAddr(x, off, len);
  return p === XDP_NULL ? 0 : p;
}

/** void *bpf_xdp_pointer(struct xdp_buff *xdp, u32 offset, u32 len): address, NULL or ERR_PTR */
export const bpfXdpPointer = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, x, off, len) => BigInt.asUintN(64, BigInt(xdpPointer(rt, addr(x, 'bpf_xdp_pointer: xdp'), u32(off), u32(len)))),
    (_c, x, off, len) => xdpPointer(rt, addrN(x, 'bpf_xdp_pointer: xdp'), off >>> 0, len >>> 0),
  );

/** mirrors bpf_xdp_copy_buf(); `off`, `len` already bounded to what bpf_xdp_pointer() checks. */
function xdpCopyBuf(rt: KernelRuntime, x: bigint | number, off: number, buf: bigint | number, len: number, flush: boolean, pc: number): number {
  const xa = typeof x === 'number' ? addrN(x, 'bpf_xdp_copy_buf: xdp') : addr(x, 'bpf_xdp_copy_buf: xdp');
  const ba = typeof buf === 'number' ? addrN(buf, 'bpf_xdp_copy_buf: buf') : addr(buf, 'bpf_xdp_copy_buf: buf');
  rt.xdp.copyBuf(xa, off, ba, len, flush, pc);
  return 0;
}

/** void bpf_xdp_copy_buf(struct xdp_buff *xdp, unsigned long off, void *buf, unsigned long len, bool flush) */
export const bpfXdpCopyBuf = (rt: KernelRuntime): NativeFn =>
  withFast(
    (c, x, off, buf, len, flush) => {
      const o = BigInt.asUintN(64, off);
      const l = BigInt.asUintN(64, len);
      if (o > 0xffffn || l > 0xffffn) return 0n; // callers pass bounds checked by bpf_xdp_pointer()
      return BigInt(xdpCopyBuf(rt, x, Number(o), buf, Number(l), (flush & 0xffn) !== 0n, c.pc));
    },
    (c, x, off, buf, len, flush) => {
      if (off > 0xffff || len > 0xffff) return 0;
      return xdpCopyBuf(rt, x, off, buf, len, (flush & 0xff) !== 0, c.pc);
    },
  );

// Internals of bpf_dynptr_read / bpf_dynptr_write (net/core/filter.c, lib/string.c)
// and of the hash map lookup (kernel/bpf/hashtab.c).

/** Bounds a C size_t length to what the address space can hold (larger cannot be valid memory). */
function sizeT(v: bigint, what: string): number {
  const u = BigInt.asUintN(64, v);
  if (u >= 0x1_0000_0000n) throw new KfError(`${what}: length ${u} is larger than the address space`);
  return Number(u);
}

/** void *memmove(void *dest, const void *src, size_t count) */
export const memmoveNative = (rt: KernelRuntime): NativeFn => (c, d, s, n) => {
  memmove(rt.mem, addr(d, 'memmove: dest'), addr(s, 'memmove: src'), sizeT(n, 'memmove'), c.pc);
  return d;
};

/** int memcmp(const void *cs, const void *ct, size_t count): the sign of the first differing byte (lib/string.c returns the difference). */
export const memcmpNative = (rt: KernelRuntime): NativeFn => (c, a, b, n) => {
  const len = sizeT(n, 'memcmp');
  const pa = addr(a, 'memcmp: cs');
  const pb = addr(b, 'memcmp: ct');
  if (len === 0) return 0n;
  rt.mem.check(pa, len, false, c.pc);
  rt.mem.check(pb, len, false, c.pc);
  for (let i = 0; i < len; i++) {
    const r = rt.mem.u8[pa + i] - rt.mem.u8[pb + i];
    if (r) return BigInt(r);
  }
  return 0n;
};

/** int __bpf_skb_load_bytes(const struct sk_buff *skb, u32 offset, void *to, u32 len) */
export const bpfSkbLoadBytesInternal = (rt: KernelRuntime): NativeFn =>
  withFast(
    (c, skb, off, to, len) => BigInt(rt.skb.loadBytes(addr(skb, '__bpf_skb_load_bytes: skb'), u32(off), addr(to, '__bpf_skb_load_bytes: to'), u32(len), c.pc)),
    (c, skb, off, to, len) => rt.skb.loadBytes(addrN(skb, '__bpf_skb_load_bytes: skb'), off >>> 0, addrN(to, '__bpf_skb_load_bytes: to'), len >>> 0, c.pc),
  );

/** int __bpf_skb_store_bytes(struct sk_buff *skb, u32 offset, const void *from, u32 len, u64 flags) */
export const bpfSkbStoreBytesInternal = (rt: KernelRuntime): NativeFn => (c, skb, off, from, len, flags) =>
  BigInt(rt.skb.storeBytes(addr(skb, '__bpf_skb_store_bytes: skb'), u32(off), addr(from, '__bpf_skb_store_bytes: from'), u32(len), BigInt.asUintN(64, flags), c.pc));

/** int __bpf_xdp_load_bytes(struct xdp_buff *xdp, u32 offset, void *buf, u32 len) */
export const bpfXdpLoadBytesInternal = (rt: KernelRuntime): NativeFn =>
  withFast(
    (c, x, off, buf, len) => BigInt(rt.xdp.loadStoreBytes(addr(x, '__bpf_xdp_load_bytes: xdp'), u32(off), addr(buf, '__bpf_xdp_load_bytes: buf'), u32(len), false, c.pc)),
    (c, x, off, buf, len) => rt.xdp.loadStoreBytes(addrN(x, '__bpf_xdp_load_bytes: xdp'), off >>> 0, addrN(buf, '__bpf_xdp_load_bytes: buf'), len >>> 0, false, c.pc),
  );

/** int __bpf_xdp_store_bytes(struct xdp_buff *xdp, u32 offset, void *buf, u32 len) */
export const bpfXdpStoreBytesInternal = (rt: KernelRuntime): NativeFn =>
  withFast(
    (c, x, off, buf, len) => BigInt(rt.xdp.loadStoreBytes(addr(x, '__bpf_xdp_store_bytes: xdp'), u32(off), addr(buf, '__bpf_xdp_store_bytes: buf'), u32(len), true, c.pc)),
    (c, x, off, buf, len) => rt.xdp.loadStoreBytes(addrN(x, '__bpf_xdp_store_bytes: xdp'), off >>> 0, addrN(buf, '__bpf_xdp_store_bytes: buf'), len >>> 0, true, c.pc),
  );

/** void *__htab_map_lookup_elem(struct bpf_map *map, void *key): the struct htab_elem or NULL. */
function htabLookupElem(rt: KernelRuntime, map: bigint | number, key: bigint | number): number {
  const a = typeof map === 'number' ? addrN(map, '__htab_map_lookup_elem: map') : addr(map, '__htab_map_lookup_elem: map');
  const m = rt.maps.at(a);
  if (!(m instanceof HashMap)) throw new KfError(`__htab_map_lookup_elem: ${hex(a)} is not a hash map`);
  return m.lookupElem(typeof key === 'number' ? addrN(key, '__htab_map_lookup_elem: key') : addr(key, '__htab_map_lookup_elem: key'));
}
export const htabMapLookupElemInternal = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, map, key) => BigInt(htabLookupElem(rt, map, key)),
    (_c, map, key) => htabLookupElem(rt, map, key),
  );
