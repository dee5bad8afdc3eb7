/* Stage 3: + typedefs no BTF type refers to (BTF keeps only used types) and
 * the static inline functions of the headers (BTF has no static functions):
 * copied from the headers in kernel/include. With this the library compiles
 * (with -ffreestanding: else memmove is a builtin the BPF backend refuses). */
#include "stage2.h"
typedef unsigned char u8;
typedef long long s64;

static inline bool __bpf_dynptr_is_rdonly(const struct bpf_dynptr_kern *ptr)
{
	return ptr->size & DYNPTR_RDONLY_BIT;
}
static inline enum bpf_dynptr_type bpf_dynptr_get_type(const struct bpf_dynptr_kern *ptr)
{
	return (ptr->size & ~(DYNPTR_RDONLY_BIT)) >> DYNPTR_TYPE_SHIFT;
}
static inline u32 __bpf_dynptr_size(const struct bpf_dynptr_kern *ptr)
{
	return ptr->size & DYNPTR_SIZE_MASK;
}
static inline void bpf_dynptr_set_size(struct bpf_dynptr_kern *ptr, u32 new_size)
{
	u32 metadata = ptr->size & ~DYNPTR_SIZE_MASK;

	ptr->size = new_size | metadata;
}
static inline int bpf_dynptr_check_off_len(const struct bpf_dynptr_kern *ptr, u32 offset, u32 len)
{
	u32 size = __bpf_dynptr_size(ptr);

	if (len > size || offset > size - len)
		return -E2BIG;
	return 0;
}
static inline unsigned int skb_headlen(const struct sk_buff *skb)
{
	return skb->len - skb->data_len;
}
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
static inline __attribute__((always_inline)) void *
skb_pointer_if_linear(const struct sk_buff *skb, int offset, int len)
{
	if (likely(skb_headlen(skb) - len >= offset))
		return skb->data + offset;
	return NULL;
}
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
static inline bool is_a_nulls(const struct hlist_nulls_node *ptr)
{
	return ((unsigned long)ptr & 1);
}
static inline struct hlist_nulls_head *select_bucket(struct bpf_htab *htab, u32 hash)
{
	return &htab->buckets[hash & (htab->n_buckets - 1)].head;
}
