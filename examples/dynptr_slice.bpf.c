// The RFC benchmark ("bpf: inlinable kfuncs for BPF"): a tc program that makes
// a dynptr over the skb and then calls bpf_dynptr_slice() 100 times, unrolled,
// counting the calls in a global.
#include "kf_helpers.h"
#include <linux/pkt_cls.h>

__u64 hits = 0;

SEC("tc")
int dynptr_slice_bench(struct __sk_buff *skb)
{
	struct bpf_dynptr p;

	bpf_dynptr_from_skb(skb, 0, &p);
#pragma unroll
	for (int i = 0; i < 100; i++)
		bpf_dynptr_slice(&p, i, NULL, 1);
	__sync_fetch_and_add(&hits, 100);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
