// Global functions, verified once each on their own from their BTF
// prototypes (Linux's do_check_subprogs()): a ctx pointer and a scalar, a
// nullable pointer to memory (a map value that may be NULL is passed), a
// non-null one (__arg_nonnull), and one global calling another. The static
// subprogram is walked into at its call like any static one.
#include "kf_helpers.h"
#include <linux/pkt_cls.h>

/* A BTF decl tag on a parameter: the verifier takes the pointer as never NULL. */
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} size_buckets SEC(".maps");

/* ctx pointer and scalar */
__noinline int payload_len(struct __sk_buff *skb, __u32 hdr)
{
	if (skb->len < hdr)
		return 0;
	return skb->len - hdr;
}

/* a pointer to memory may be NULL unless tagged: the function checks */
__noinline int bump(__u64 *slot)
{
	if (!slot)
		return -1;
	*slot += 1;
	return 0;
}

/* a non-null pointer needs no check; a global calling a global */
__noinline int classify(struct __sk_buff *skb, __u32 *verdict __arg_nonnull)
{
	int n = payload_len(skb, 14);

	*verdict = n > 64 ? TC_ACT_OK : TC_ACT_SHOT;
	return n;
}

static __noinline __u32 bucket(__u32 n)
{
	return n > 1500 ? 3 : n > 512 ? 2 : n > 64 ? 1 : 0;
}

SEC("tc")
int tc_global_funcs(struct __sk_buff *skb)
{
	__u32 verdict = TC_ACT_SHOT;
	int n = classify(skb, &verdict);
	__u32 key = bucket(n < 0 ? 0 : n);

	bump(bpf_map_lookup_elem(&size_buckets, &key));
	return verdict;
}

/* the xdp ctx: packet pointers inside a global function (the EtherType's first byte) */
__noinline int eth_proto_hi(struct xdp_md *ctx, __u32 extra)
{
	__u8 *data = (__u8 *)(long)ctx->data;
	__u8 *end = (__u8 *)(long)ctx->data_end;

	if (data + 14 > end)
		return 0;
	return data[12] + extra;
}

SEC("xdp")
int xdp_global_funcs(struct xdp_md *ctx)
{
	return eth_proto_hi(ctx, 1) == 0x09 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
