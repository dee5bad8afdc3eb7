// BPF-to-BPF calls: static __noinline subprograms in .text shared by two
// programs, a nested call, and a global (separately verified) function.
#include "kf_helpers.h"
#include <linux/pkt_cls.h>

static __noinline __u32 mix(__u32 a, __u32 b)
{
	a ^= b;
	a *= 0x9e3779b1;
	return a ^ (a >> 16);
}

static __noinline __u32 hash3(__u32 a, __u32 b, __u32 c)
{
	return mix(mix(a, b), c);
}

__noinline int clamp_len(__u32 len)
{
	if (len > 1500)
		return 1500;
	return len;
}

SEC("tc")
int tc_hash(struct __sk_buff *skb)
{
	__u32 h = hash3(skb->len, skb->mark, skb->protocol);
	skb->mark = h;
	return clamp_len(skb->len) > 100 ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("xdp")
int xdp_hash(struct xdp_md *ctx)
{
	__u32 h = mix(ctx->ingress_ifindex, ctx->rx_queue_index);
	return (h & 1) ? XDP_PASS : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
