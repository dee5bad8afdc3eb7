// kfuncs on tc through a dynptr: bpf_dynptr_from_skb, bpf_dynptr_slice,
// bpf_dynptr_size. Reads the Ethernet and IPv4 headers through slices,
// copying into a stack buffer when the data is not linear.
#include "kf_helpers.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

SEC("tc")
int tc_dynptr_parse(struct __sk_buff *skb)
{
	struct bpf_dynptr p;
	struct ethhdr eth_buf;
	struct iphdr ip_buf;

	if (bpf_dynptr_from_skb(skb, 0, &p))
		return TC_ACT_OK;
	struct ethhdr *eth = bpf_dynptr_slice(&p, 0, &eth_buf, sizeof(eth_buf));
	if (!eth)
		return TC_ACT_OK;
	if (eth->h_proto != kf_htons(ETH_P_IP))
		return TC_ACT_OK;
	struct iphdr *ip = bpf_dynptr_slice(&p, sizeof(*eth), &ip_buf, sizeof(ip_buf));
	if (!ip)
		return TC_ACT_OK;

	__u32 k = ip->protocol == 17 ? 1 : 0;
	__u64 *v = bpf_map_lookup_elem(&stats, &k);
	if (v)
		__sync_fetch_and_add(v, bpf_dynptr_size(&p));
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
