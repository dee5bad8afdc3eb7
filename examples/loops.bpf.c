// Loops: a bounded loop the verifier walks, and bpf_loop() with a callback
// (the callback is referenced by an ld_imm64 of a function: BPF_PSEUDO_FUNC).
#include "kf_helpers.h"
#include <linux/pkt_cls.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

struct loop_ctx {
	__u64 sum;
	__u32 limit;
};

static long sum_cb(__u32 index, void *data)
{
	struct loop_ctx *c = data;

	c->sum += index * index;
	if (index >= c->limit)
		return 1; /* stop */
	return 0;
}

SEC("tc")
int tc_bounded_loop(struct __sk_buff *skb)
{
	__u64 acc = 0;
	__u32 n = skb->len & 63;

	for (__u32 i = 0; i < 64; i++) {
		if (i >= n)
			break;
		acc += i ^ skb->mark;
	}
	__u32 k = 0;
	__u64 *r = bpf_map_lookup_elem(&results, &k);
	if (r)
		*r = acc;
	return TC_ACT_OK;
}

SEC("tc")
int tc_bpf_loop(struct __sk_buff *skb)
{
	struct loop_ctx c = { .sum = 0, .limit = skb->len & 1023 };

	bpf_loop(1000, sum_cb, &c, 0);
	__u32 k = 0;
	__u64 *r = bpf_map_lookup_elem(&results, &k);
	if (r)
		*r = c.sum;
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
