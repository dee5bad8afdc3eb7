/* The model's socket buffer (include/linux/skbuff.h, reduced).
 *
 * Linear data lives in [head, head + end); skb->data points into it and the
 * first skb_headlen() = len - data_len bytes of the packet are there. The rest
 * (data_len bytes) sits in page fragments listed in the skb_shared_info at
 * skb->end, as in the kernel. sk_buff_data_t is a pointer here (a kernel
 * without NET_SKBUFF_DATA_USES_OFFSET): tail and end point into the head, so
 * ctx conversion reaches skb_shinfo() with one load (bpf_convert_shinfo_access()
 * without BPF_REG_AX, which the engines do not have).
 */
#ifndef KFINLINE_MODEL_SKBUFF_H
#define KFINLINE_MODEL_SKBUFF_H
#include "model_types.h"

#define MODEL_MAX_SKB_FRAGS 8
#define QDISC_CB_PRIV_LEN 20
#define ETH_HLEN 14

struct net_device {
	int ifindex;
	unsigned int mtu;
	char name[16];
};

/* A page fragment: `len` bytes at page + offset (skb_frag_address()). */
struct skb_frag {
	void *page;
	unsigned int len;
	unsigned int offset;
};
typedef struct skb_frag skb_frag_t;

/* Hardware time stamps (include/linux/skbuff.h); ktime_t is an s64 of ns. */
struct skb_shared_hwtstamps {
	union {
		s64 hwtstamp;
		void *netdev_data;
	};
};

struct skb_shared_info {
	__u8 flags;
	__u8 meta_len;
	__u8 nr_frags;
	__u8 tx_flags;
	unsigned short gso_size;
	unsigned short gso_segs;
	struct sk_buff *frag_list;
	/* where the kernel has it (union with xsk_meta there); __sk_buff.hwtstamp reads it */
	struct skb_shared_hwtstamps hwtstamps;
	unsigned int gso_type;
	u32 xdp_frags_size;
	u32 xdp_frags_truesize;
	skb_frag_t frags[MODEL_MAX_SKB_FRAGS];
};

/* The layout of skb->cb while a tc / socket filter program runs. */
struct qdisc_skb_cb {
	struct {
		unsigned int pkt_len;
		u16 slave_dev_queue_mapping;
		u16 tc_classid;
	};
	unsigned char data[QDISC_CB_PRIV_LEN];
};

/* bpf_compute_data_pointers() stores data_meta and data_end here. */
struct bpf_skb_data_end {
	struct qdisc_skb_cb qdisc_cb;
	void *data_meta;
	void *data_end;
};

#define PKT_TYPE_MAX 7

struct sk_buff {
	struct sk_buff *next;
	struct sk_buff *prev;
	struct net_device *dev;
	char cb[48] __aligned(8);
	unsigned int len;
	unsigned int data_len;
	__u16 mac_len;
	__u16 hdr_len;
	__u16 queue_mapping;
	__u8 cloned : 1, nohdr : 1, pkt_type : 3, ignore_df : 1, dst_pending_confirm : 1, ip_summed_unused : 1;
	__u8 tc_at_ingress : 1, tc_skip_classify : 1, wifi_acked : 1, remcsum_offload : 1, csum_valid : 1, l4_hash : 1, sw_hash : 1, mono_delivery_time : 1;
	__u16 tc_index;
	__be16 protocol;
	union {
		struct {
			__be16 vlan_proto;
			__u16 vlan_tci;
		};
		u32 vlan_all;
	};
	__u32 priority;
	int skb_iif;
	__u32 hash;
	__u32 mark;
	unsigned int napi_id;
	u64 tstamp;
	__u16 gso_size_unused;
	__u16 mac_header;
	__u16 network_header;
	__u16 transport_header;
	unsigned char *end; /* sk_buff_data_t: skb_shinfo() sits there */
	unsigned char *head;
	unsigned char *data;
	unsigned int truesize;
	int users;
	/* sk_buff_data_t; last so that the offsets the inlinable kfunc bodies were
	 * compiled against (src/inline/library-blob.ts) stay put */
	unsigned char *tail;
};

#define skb_shinfo(skb) ((struct skb_shared_info *)((skb)->end))

static inline unsigned int skb_headlen(const struct sk_buff *skb)
{
	return skb->len - skb->data_len;
}

static inline void *skb_frag_address(const skb_frag_t *frag)
{
	return (unsigned char *)frag->page + frag->offset;
}

static inline unsigned int skb_frag_size(const skb_frag_t *frag)
{
	return frag->len;
}

/* Kernel internals that the inlinable kfunc bodies call (implemented natively). */
int skb_copy_bits(const struct sk_buff *skb, int offset, void *to, int len);
/* net/core/filter.c (include/linux/filter.h): what bpf_dynptr_read/write call for SKB dynptrs. */
int __bpf_skb_load_bytes(const struct sk_buff *skb, u32 offset, void *to, u32 len);
int __bpf_skb_store_bytes(struct sk_buff *skb, u32 offset, const void *from, u32 len, u64 flags);

/* mirrors __skb_header_pointer() / skb_header_pointer() */
static inline __attribute__((always_inline)) void *
__skb_header_pointer(const struct sk_buff *skb, int offset, int len, const void *data, int hlen, void *buffer)
{
	if (likely(hlen - offset >= len))
		return (unsigned char *)data + offset;

	if (!skb || unlikely(skb_copy_bits(skb, offset, buffer, len) < 0))
		return NULL;

	return buffer;
}

static inline __attribute__((always_inline)) void *
skb_header_pointer(const struct sk_buff *skb, int offset, int len, void *buffer)
{
	return __skb_header_pointer(skb, offset, len, skb->data, skb_headlen(skb), buffer);
}

/* mirrors skb_pointer_if_linear(): unsigned compare, so a negative offset is
 * rejected (and, as in the kernel, len > headlen wraps). */
static inline __attribute__((always_inline)) void *
skb_pointer_if_linear(const struct sk_buff *skb, int offset, int len)
{
	if (likely(skb_headlen(skb) - len >= offset))
		return skb->data + offset;
	return NULL;
}

#endif
