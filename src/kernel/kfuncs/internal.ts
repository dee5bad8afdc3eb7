// Kernel-internal functions that inlined kfunc bodies call (as kfunc calls by
// BTF id): skb_copy_bits, bpf_xdp_pointer, bpf_xdp_copy_buf.

import type { NativeFn } from '../../vm/env.js';
import { addr, errPtr, s32, u32 } from '../mem.js';
import type { KernelRuntime } from '../runtime.js';

/** int skb_copy_bits(const struct sk_buff *skb, int offset, void *to, int len) */
export const skbCopyBits = (rt: KernelRuntime): NativeFn => (c, skb, off, to, len) =>
  BigInt(rt.skb.copyBits(addr(skb, 'skb_copy_bits: skb'), s32(off), addr(to, 'skb_copy_bits: to'), s32(len), c.pc));

/** void *bpf_xdp_pointer(struct xdp_buff *xdp, u32 offset, u32 len): address, NULL or ERR_PTR */
export const bpfXdpPointer = (rt: KernelRuntime): NativeFn => (_c, x, off, len) => {
  const p = rt.xdp.pointer(addr(x, 'bpf_xdp_pointer: xdp'), u32(off), u32(len));
  return p.kind === 'ptr' ? BigInt(p.addr) : p.kind === 'null' ? 0n : errPtr(p.errno);
};

/** void bpf_xdp_copy_buf(struct xdp_buff *xdp, unsigned long off, void *buf, unsigned long len, bool flush) */
export const bpfXdpCopyBuf = (rt: KernelRuntime): NativeFn => (c, x, off, buf, len, flush) => {
  const o = BigInt.asUintN(64, off);
  const l = BigInt.asUintN(64, len);
  if (o > 0xffffn || l > 0xffffn) return 0n; // callers pass bounds checked by bpf_xdp_pointer()
  rt.xdp.copyBuf(addr(x, 'bpf_xdp_copy_buf: xdp'), Number(o), addr(buf, 'bpf_xdp_copy_buf: buf'), Number(l), (flush & 0xffn) !== 0n, c.pc);
  return 0n;
};
