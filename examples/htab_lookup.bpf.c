// Hash-map lookups in a loop on tc: the program looks up 32 consecutive
// flow keys derived from the packet (skb->hash, skb->len) in a hash map and
// counts hits and misses; on a miss of the first key it inserts it. The
// model's bpf_map_lookup_elem on a hash map is __htab_map_lookup_elem() of
// kernel/inlinable_kfuncs.c plus the value offset (htab_map_gen_lookup()).
#include "kf_helpers.h"
#include <linux/pkt_cls.h>

struct flow_key {
	__u32 hash;
	__u16 len;
	__u16 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct flow_key);
	__type(value, __u64);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("tc")
int tc_htab_lookup(struct __sk_buff *skb)
{
	struct flow_key k = { .hash = skb->hash, .len = (__u16)skb->len };
	__u64 found = 0, missed = 0, one = 1;

	for (int i = 0; i < 32; i++) {
		k.slot = i;
		__u64 *v = bpf_map_lookup_elem(&flows, &k);
		if (v) {
			__sync_fetch_and_add(v, 1);
			found++;
		} else {
			missed++;
			if (i == 0)
				bpf_map_update_elem(&flows, &k, &one, BPF_NOEXIST);
		}
	}

	__u32 h = 0, m = 1;
	__u64 *c = bpf_map_lookup_elem(&hits, &h);
	if (c)
		__sync_fetch_and_add(c, found);
	c = bpf_map_lookup_elem(&hits, &m);
	if (c)
		__sync_fetch_and_add(c, missed);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
