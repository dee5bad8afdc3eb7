// tc (sched_cls) program: a hash map of packet counts per IPv4 source
// address and an array map of global counters.
#include "kf_helpers.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct flow_stats);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} counters SEC(".maps");

enum { CNT_ALL, CNT_IPV4, CNT_NEW_FLOW, CNT_SHORT };

static __always_inline void bump(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("tc")
int tc_count_flows(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	bump(CNT_ALL);
	if ((void *)(ip + 1) > data_end) {
		bump(CNT_SHORT);
		return TC_ACT_OK;
	}
	if (eth->h_proto != kf_htons(ETH_P_IP))
		return TC_ACT_OK;
	bump(CNT_IPV4);

	__u32 saddr = ip->saddr;
	struct flow_stats *st = bpf_map_lookup_elem(&flows, &saddr);
	if (st) {
		__sync_fetch_and_add(&st->packets, 1);
		__sync_fetch_and_add(&st->bytes, skb->len);
	} else {
		struct flow_stats init = { .packets = 1, .bytes = skb->len };
		bpf_map_update_elem(&flows, &saddr, &init, BPF_NOEXIST);
		bump(CNT_NEW_FLOW);
	}
	return TC_ACT_OK;
}

// The legacy section name for the same program type.
SEC("classifier")
int tc_drop_short(struct __sk_buff *skb)
{
	if (skb->len < 60) {
		bump(CNT_SHORT);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
