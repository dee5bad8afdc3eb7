// Packet helpers of skb and xdp programs (net/core/filter.c).

import type { NativeFn } from '../../vm/env.js';
import { addr, s32, u32 } from '../mem.js';
import type { KernelRuntime } from '../runtime.js';

/** 26: long bpf_skb_load_bytes(const void *skb, u32 offset, void *to, u32 len) */
export const bpfSkbLoadBytes = (rt: KernelRuntime): NativeFn => (c, skb, off, to, len) =>
  BigInt(rt.skb.loadBytes(addr(skb, 'bpf_skb_load_bytes: skb'), u32(off), addr(to, 'bpf_skb_load_bytes: to'), u32(len), c.pc));

/** 44: long bpf_xdp_adjust_head(struct xdp_buff *xdp_md, int delta) */
export const bpfXdpAdjustHead = (rt: KernelRuntime): NativeFn => (_c, x, delta) =>
  BigInt(rt.xdp.adjustHead(addr(x, 'bpf_xdp_adjust_head: xdp'), s32(delta)));
