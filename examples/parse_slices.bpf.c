// Header parsing on tc through dynptr slices: Ethernet, IPv4 (with options:
// the UDP header's offset comes from ihl) and UDP, each read with
// bpf_dynptr_slice into a stack buffer that is used only when the bytes are
// not in the linear head. Counts UDP packets and bytes per destination port
// bucket; bpf_dynptr_read copies the first payload byte.
#include "kf_helpers.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>

static long (*bpf_dynptr_read)(void *dst, __u32 len, const struct bpf_dynptr *src, __u32 offset, __u64 flags) =
	(void *)BPF_FUNC_dynptr_read;

struct counter {
	__u64 packets;
	__u64 bytes;
	__u64 first_byte_sum;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct counter);
} udp_ports SEC(".maps");

SEC("tc")
int tc_parse_slices(struct __sk_buff *skb)
{
	struct bpf_dynptr p;
	struct ethhdr eth_buf;
	struct iphdr ip_buf;
	struct udphdr udp_buf;
	__u8 first = 0;

	if (bpf_dynptr_from_skb(skb, 0, &p))
		return TC_ACT_OK;
	struct ethhdr *eth = bpf_dynptr_slice(&p, 0, &eth_buf, sizeof(eth_buf));
	if (!eth || eth->h_proto != kf_htons(ETH_P_IP))
		return TC_ACT_OK;
	struct iphdr *ip = bpf_dynptr_slice(&p, sizeof(*eth), &ip_buf, sizeof(ip_buf));
	if (!ip || ip->protocol != 17 /* IPPROTO_UDP */ || ip->ihl < 5)
		return TC_ACT_OK;
	__u32 l4 = sizeof(*eth) + ip->ihl * 4;
	struct udphdr *udp = bpf_dynptr_slice(&p, l4, &udp_buf, sizeof(udp_buf));
	if (!udp)
		return TC_ACT_OK;

	__u32 k = kf_ntohs(udp->dest) & 15;
	__u32 len = kf_ntohs(udp->len);
	if (bpf_dynptr_read(&first, 1, &p, l4 + sizeof(*udp), 0))
		first = 0;
	struct counter *c = bpf_map_lookup_elem(&udp_ports, &k);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, len);
		__sync_fetch_and_add(&c->first_byte_sum, first);
	}
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
