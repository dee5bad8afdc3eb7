// Packet helpers of skb and xdp programs (net/core/filter.c).

import { withFast, type NativeFn } from '../../vm/env.js';
import { KfError } from '../../util/errors.js';
import { addr, addrN, ld, s32, st, u32 } from '../mem.js';
import type { KernelRuntime } from '../runtime.js';

/** 26: long bpf_skb_load_bytes(const void *skb, u32 offset, void *to, u32 len) */
export const bpfSkbLoadBytes = (rt: KernelRuntime): NativeFn =>
  withFast(
    (c, skb, off, to, len) => BigInt(rt.skb.loadBytes(addr(skb, 'bpf_skb_load_bytes: skb'), u32(off), addr(to, 'bpf_skb_load_bytes: to'), u32(len), c.pc)),
    (c, skb, off, to, len) => rt.skb.loadBytes(addrN(skb, 'bpf_skb_load_bytes: skb'), off >>> 0, addrN(to, 'bpf_skb_load_bytes: to'), len >>> 0, c.pc),
  );

/** 44: long bpf_xdp_adjust_head(struct xdp_buff *xdp_md, int delta) */
export const bpfXdpAdjustHead = (rt: KernelRuntime): NativeFn => (_c, x, delta) =>
  BigInt(rt.xdp.adjustHead(addr(x, 'bpf_xdp_adjust_head: xdp'), s32(delta)));

/**
 * 17: u32 bpf_get_cgroup_classid(struct sk_buff *skb) — task_get_classid():
 * the net_cls classid of the skb's socket or the current task. The model
 * kernel has no net_cls cgroup (as a kernel without one configured): 0.
 */
export const bpfGetCgroupClassid = (): NativeFn => (_c, skb) => {
  addr(skb, 'bpf_get_cgroup_classid: skb');
  return 0n;
};

/** htons(ETH_P_8021Q), htons(ETH_P_8021AD) as the __be16 a register holds on little-endian */
const BE_ETH_P_8021Q = 0x0081;
const BE_ETH_P_8021AD = 0xa888;

/**
 * 18: long bpf_skb_vlan_push(struct sk_buff *skb, __be16 vlan_proto, u16 vlan_tci)
 * mirrors bpf_skb_vlan_push() → skb_vlan_push(): with no tag in the skb yet,
 * __vlan_hwaccel_put_tag() stores proto and tci in the skb (the packet bytes
 * do not change); then bpf_compute_data_pointers().
 */
export const bpfSkbVlanPush = (rt: KernelRuntime): NativeFn => (_c, skbv, protov, tciv) => {
  const skb = addr(skbv, 'bpf_skb_vlan_push: skb');
  const { mem, L } = rt;
  let proto = Number(protov & 0xffffn);
  if (proto !== BE_ETH_P_8021Q && proto !== BE_ETH_P_8021AD) proto = BE_ETH_P_8021Q;
  if (ld(mem, skb + L.skb.vlan_all, 4) !== 0) {
    // skb_vlan_push() would first move the present tag into the packet (__vlan_insert_tag())
    throw new KfError('bpf_skb_vlan_push: pushing a second VLAN tag into the packet is not modelled');
  }
  st(mem, skb + L.skb.vlan_proto, 2, proto);
  st(mem, skb + L.skb.vlan_tci, 2, Number(tciv & 0xffffn));
  rt.skb.computeDataPointers(skb);
  return 0n;
};
