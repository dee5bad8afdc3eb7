// XDP packet parsing: Ethernet -> IPv4 -> UDP with explicit bounds checks
// against data_end. Drops UDP packets to port 9 (discard), counts what it
// sees per protocol in a per-CPU array.
#include "kf_helpers.h"
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} proto_count SEC(".maps");

SEC("xdp")
int xdp_parse_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != kf_htons(ETH_P_IP))
		return XDP_PASS;

	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip->ihl < 5)
		return XDP_DROP;

	__u32 key = ip->protocol;
	__u64 *cnt = bpf_map_lookup_elem(&proto_count, &key);
	if (cnt)
		*cnt += 1;

	if (ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	if (udp->dest == kf_htons(9))
		return XDP_DROP;
	return XDP_PASS;
}

// A second program in its own section: passes everything, counting bytes.
SEC("xdp")
int xdp_count_bytes(struct xdp_md *ctx)
{
	__u32 key = 255;
	__u64 *cnt = bpf_map_lookup_elem(&proto_count, &key);
	if (cnt)
		*cnt += ctx->data_end - ctx->data;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
