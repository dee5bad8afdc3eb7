/* The model's XDP buffer (include/net/xdp.h, reduced).
 *
 * Multi-buffer: when XDP_FLAGS_HAS_FRAGS is set, the skb_shared_info at the
 * end of the frame (data_hard_start + frame_sz - sizeof(skb_shared_info))
 * lists fragments holding xdp_frags_size further bytes.
 */
#ifndef KFINLINE_MODEL_XDP_H
#define KFINLINE_MODEL_XDP_H
#include "model_types.h"
#include "model_skbuff.h"

struct xdp_rxq_info {
	struct net_device *dev;
	u32 queue_index;
	u32 reg_state;
	unsigned int napi_id;
	u32 frag_size;
};

struct xdp_txq_info {
	struct net_device *dev;
};

enum xdp_buff_flags {
	XDP_FLAGS_HAS_FRAGS = 1 << 0,
	XDP_FLAGS_FRAGS_PF_MEMALLOC = 1 << 1,
};

struct xdp_buff {
	void *data;
	void *data_end;
	void *data_meta;
	void *data_hard_start;
	struct xdp_rxq_info *rxq;
	struct xdp_txq_info *txq;
	u32 frame_sz;
	u32 flags;
};

/* The headroom bpf_xdp_adjust_head() keeps free: sizeof(struct xdp_frame). */
struct xdp_frame {
	void *data;
	u16 len;
	u16 headroom;
	u32 metasize;
	void *mem_unused;
	struct net_device *dev_rx;
	u32 frame_sz;
	u32 flags;
};

static inline bool xdp_buff_has_frags(const struct xdp_buff *xdp)
{
	return !!(xdp->flags & XDP_FLAGS_HAS_FRAGS);
}

static inline struct skb_shared_info *xdp_get_shared_info_from_buff(const struct xdp_buff *xdp)
{
	return (struct skb_shared_info *)((unsigned char *)xdp->data_hard_start + xdp->frame_sz -
					  sizeof(struct skb_shared_info));
}

static inline unsigned int xdp_get_buff_len(const struct xdp_buff *xdp)
{
	unsigned int len = (unsigned char *)xdp->data_end - (unsigned char *)xdp->data;

	if (likely(!xdp_buff_has_frags(xdp)))
		return len;
	return len + xdp_get_shared_info_from_buff(xdp)->xdp_frags_size;
}

/* Kernel internals (net/core/filter.c), implemented natively. */
void *bpf_xdp_pointer(struct xdp_buff *xdp, u32 offset, u32 len);
void bpf_xdp_copy_buf(struct xdp_buff *xdp, unsigned long off, void *buf, unsigned long len, bool flush);
/* net/core/filter.c: what bpf_dynptr_read/write call for XDP dynptrs. */
int __bpf_xdp_load_bytes(struct xdp_buff *xdp, u32 offset, void *buf, u32 len);
int __bpf_xdp_store_bytes(struct xdp_buff *xdp, u32 offset, void *buf, u32 len);

#endif
