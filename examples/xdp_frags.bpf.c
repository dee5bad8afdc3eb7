// XDP with fragments (SEC("xdp.frags"): the program accepts multi-buffer
// packets): bpf_dynptr_from_xdp and bpf_dynptr_slice read a 16-byte record at
// offset 1500 - 8, which straddles the end of a 1500-byte first buffer: the
// kernel copies it into the stack buffer (bpf_xdp_copy_buf) instead of
// returning a direct pointer. Counts direct and copied slices and xors the
// record into a per-CPU value.
#include "kf_helpers.h"

extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;

#define REC_OFF (1500 - 8)

struct rec {
	__u64 a;
	__u64 b;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} frag_stats SEC(".maps");

static __always_inline void add(__u32 k, __u64 v)
{
	__u64 *slot = bpf_map_lookup_elem(&frag_stats, &k);

	if (slot)
		*slot += v;
}

SEC("xdp.frags")
int xdp_frags_slice(struct xdp_md *ctx)
{
	struct bpf_dynptr p;
	struct rec buf;

	if (bpf_dynptr_from_xdp(ctx, 0, &p))
		return XDP_PASS;
	if (bpf_dynptr_size(&p) < REC_OFF + sizeof(buf))
		return XDP_PASS;
	struct rec *r = bpf_dynptr_slice(&p, REC_OFF, &buf, sizeof(buf));
	if (!r)
		return XDP_PASS;
	add(r == &buf ? 1 : 0, 1); /* 1: copied across the frag boundary, 0: direct */
	add(2, r->a ^ r->b);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
