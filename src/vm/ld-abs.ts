// Legacy packet loads (LD_ABS / LD_IND) on a model-kernel sk_buff: the
// Env.packetLoad hook testRun() installs for skb program types.

import type { KernelRuntime } from '../kernel/runtime.js';
import type { CallContext, Env } from './env.js';

/**
 * mirrors bpf_skb_load_helper_{8,16,32}() (net/core/filter.c): `size` bytes at
 * `off` from skb->data, big-endian; from the linear area when there, else
 * through skb_copy_bits() into `tmp` (a writable scratch of 4 bytes). null (the
 * program ends with r0 = 0) when out of bounds. Negative offsets
 * (SKF_NET_OFF / SKF_LL_OFF, bpf_internal_load_pointer_neg_helper()) are not
 * modelled and fail the same way.
 */
export function skbPacketLoad(rt: KernelRuntime, tmp: number): NonNullable<Env['packetLoad']> {
  return (c: CallContext, ctx: bigint, off: number, size: 1 | 2 | 4): bigint | null => {
    if (ctx < 0n || ctx >= 0x1_0000_0000n || off < 0) return null;
    const skb = Number(ctx);
    let p: number;
    if ((rt.skb.headlen(skb) | 0) - off >= size) p = rt.skb.data(skb) + off;
    else {
      if (rt.skb.copyBits(skb, off, tmp, size, c.pc) < 0) return null;
      p = tmp;
    }
    rt.mem.check(p, size, false, c.pc);
    const u8 = rt.mem.u8;
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + u8[p + i];
    return BigInt(v);
  };
}
