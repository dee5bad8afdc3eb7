/* Inlinable kfuncs of the model kernel (the RFC's kernel/bpf/inlinable_kfuncs.c).
 *
 * Compiled as HOST bitcode (clang -emit-llvm -c), then lowered to BPF with
 * llc -mcpu=v3 --mtriple=bpf and stripped: every global function here becomes
 * one inlinable body of the kfunc library (src/inline/library.ts). Kernel
 * internals (skb_copy_bits, bpf_xdp_pointer, bpf_xdp_copy_buf) are called as
 * external functions, so each call stays an R_BPF_64_32 relocation on
 * `call -1` that the loader turns into a kfunc call by BTF id.
 *
 * Kernel internals too large to inline (memmove, memcmp, __bpf_skb_load_bytes,
 * __bpf_skb_store_bytes, __bpf_xdp_load_bytes, __bpf_xdp_store_bytes) are
 * called the same way: the BPF backend cannot expand a memmove or memcmp of
 * variable length.
 *
 * Rules for bodies: no calls between bodies (bpf-to-bpf calls are refused by
 * the loader): shared code goes in static always_inline functions.
 * Semantics equal kernel/bpf/helpers.c, net/core/filter.c and
 * kernel/bpf/bpf_iter.c, kernel/bpf/hashtab.c of Linux 6.18 (for the model's
 * dynptr types; the model's hash is FNV-1a, not jhash) and the native
 * implementations in src/kernel/kfuncs/{dynptr,iter,internal}.ts and
 * src/kernel/maps.ts (HashMap).
 */
#include "include/model.h"

#define __inline_body static inline __attribute__((always_inline))

/* mirrors bpf_dynptr_set_type() */
__inline_body void bpf_dynptr_set_type(struct bpf_dynptr_kern *ptr, enum bpf_dynptr_type type)
{
	ptr->size &= ~(7U << DYNPTR_TYPE_SHIFT);
	ptr->size |= (u32)type << DYNPTR_TYPE_SHIFT;
}

/* mirrors bpf_dynptr_init() */
__inline_body void bpf_dynptr_init(struct bpf_dynptr_kern *ptr, void *data, enum bpf_dynptr_type type,
				   u32 offset, u32 size)
{
	ptr->data = data;
	ptr->offset = offset;
	ptr->size = size;
	bpf_dynptr_set_type(ptr, type);
}

/* mirrors bpf_dynptr_set_null() */
__inline_body void bpf_dynptr_set_null(struct bpf_dynptr_kern *ptr)
{
	ptr->data = NULL;
	ptr->size = 0;
	ptr->offset = 0;
}

/* mirrors bpf_dynptr_slice() (its body, shared with bpf_dynptr_slice_rdwr) */
__inline_body void *__bpf_dynptr_slice(const struct bpf_dynptr_kern *ptr, u32 offset, void *buffer__opt,
				       u32 buffer__szk)
{
	enum bpf_dynptr_type type;
	u32 len = buffer__szk;
	int err;

	if (!ptr->data)
		return NULL;

	err = bpf_dynptr_check_off_len(ptr, offset, len);
	if (err)
		return NULL;

	type = bpf_dynptr_get_type(ptr);

	switch (type) {
	case BPF_DYNPTR_TYPE_LOCAL:
	case BPF_DYNPTR_TYPE_RINGBUF:
		return (char *)ptr->data + ptr->offset + offset;
	case BPF_DYNPTR_TYPE_SKB:
		if (buffer__opt)
			return skb_header_pointer(ptr->data, ptr->offset + offset, len, buffer__opt);
		else
			return skb_pointer_if_linear(ptr->data, ptr->offset + offset, len);
	case BPF_DYNPTR_TYPE_XDP: {
		void *xdp_ptr = bpf_xdp_pointer(ptr->data, ptr->offset + offset, len);

		if (!IS_ERR_OR_NULL(xdp_ptr))
			return xdp_ptr;

		if (!buffer__opt)
			return NULL;
		bpf_xdp_copy_buf(ptr->data, ptr->offset + offset, buffer__opt, len, false);
		return buffer__opt;
	}
	default:
		/* WARN_ONCE(true, "unknown dynptr type %d\n", type) */
		return NULL;
	}
}

__bpf_kfunc bool bpf_dynptr_is_null(const struct bpf_dynptr *p)
{
	const struct bpf_dynptr_kern *ptr = (const struct bpf_dynptr_kern *)p;

	return !ptr->data;
}

__bpf_kfunc bool bpf_dynptr_is_rdonly(const struct bpf_dynptr *p)
{
	const struct bpf_dynptr_kern *ptr = (const struct bpf_dynptr_kern *)p;

	if (!ptr->data)
		return false;

	return __bpf_dynptr_is_rdonly(ptr);
}

__bpf_kfunc u32 bpf_dynptr_size(const struct bpf_dynptr *p)
{
	const struct bpf_dynptr_kern *ptr = (const struct bpf_dynptr_kern *)p;

	if (!ptr->data)
		return -EINVAL;

	return __bpf_dynptr_size(ptr);
}

__bpf_kfunc void *bpf_dynptr_slice(const struct bpf_dynptr *p, u32 offset, void *buffer__opt, u32 buffer__szk)
{
	return __bpf_dynptr_slice((const struct bpf_dynptr_kern *)p, offset, buffer__opt, buffer__szk);
}

__bpf_kfunc void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, u32 offset, void *buffer__opt,
					u32 buffer__szk)
{
	const struct bpf_dynptr_kern *ptr = (const struct bpf_dynptr_kern *)p;

	if (!ptr->data || __bpf_dynptr_is_rdonly(ptr))
		return NULL;

	return __bpf_dynptr_slice(ptr, offset, buffer__opt, buffer__szk);
}

__bpf_kfunc int bpf_dynptr_adjust(const struct bpf_dynptr *p, u32 start, u32 end)
{
	struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)p;
	u32 size;

	if (!ptr->data || start > end)
		return -EINVAL;

	size = __bpf_dynptr_size(ptr);

	if (start > size || end > size)
		return -ERANGE;

	ptr->offset += start;
	bpf_dynptr_set_size(ptr, end - start);

	return 0;
}

/* net/core/filter.c. The verifier's fixup replaces it with
 * bpf_dynptr_from_skb_rdonly() for program types that may not write packet
 * data; this body is the writable variant only. */
__bpf_kfunc int bpf_dynptr_from_skb(struct __sk_buff *s, u64 flags, struct bpf_dynptr *ptr__uninit)
{
	struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)ptr__uninit;
	struct sk_buff *skb = (struct sk_buff *)s;

	if (flags) {
		bpf_dynptr_set_null(ptr);
		return -EINVAL;
	}

	bpf_dynptr_init(ptr, skb, BPF_DYNPTR_TYPE_SKB, 0, skb->len);

	return 0;
}

/* net/core/filter.c */
__bpf_kfunc int bpf_dynptr_from_xdp(struct xdp_md *x, u64 flags, struct bpf_dynptr *ptr__uninit)
{
	struct bpf_dynptr_kern *ptr = (struct bpf_dynptr_kern *)ptr__uninit;
	struct xdp_buff *xdp = (struct xdp_buff *)x;

	if (flags) {
		bpf_dynptr_set_null(ptr);
		return -EINVAL;
	}

	bpf_dynptr_init(ptr, xdp, BPF_DYNPTR_TYPE_XDP, 0, xdp_get_buff_len(xdp));

	return 0;
}

/* kernel/bpf/bpf_iter.c */
__bpf_kfunc int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end)
{
	struct bpf_iter_num_kern *s = (struct bpf_iter_num_kern *)it;

	if (start > end) {
		s->cur = s->end = 0;
		return -EINVAL;
	}

	if ((s64)end - (s64)start > BPF_MAX_LOOPS) {
		s->cur = s->end = 0;
		return -E2BIG;
	}

	/* user will call bpf_iter_num_next() first */
	s->cur = start - 1;
	s->end = end;

	return 0;
}

__bpf_kfunc int *bpf_iter_num_next(struct bpf_iter_num *it)
{
	struct bpf_iter_num_kern *s = (struct bpf_iter_num_kern *)it;

	/* s->cur + 1 wraps (built with -fno-strict-overflow, as the kernel) */
	if ((s64)(s->cur + 1) >= s->end) {
		s->cur = s->end = 0;
		return NULL;
	}

	s->cur++;

	return &s->cur;
}

__bpf_kfunc void bpf_iter_num_destroy(struct bpf_iter_num *it)
{
	struct bpf_iter_num_kern *s = (struct bpf_iter_num_kern *)it;

	s->cur = s->end = 0;
}

/* mirrors __bpf_dynptr_read() (kernel/bpf/helpers.c); helper 201 */
__bpf_kfunc long bpf_dynptr_read(void *dst, u32 len, const struct bpf_dynptr_kern *src, u32 offset, u64 flags)
{
	enum bpf_dynptr_type type;
	int err;

	/* flags is currently unsupported */
	if (!src->data || flags)
		return -EINVAL;

	err = bpf_dynptr_check_off_len(src, offset, len);
	if (err)
		return err;

	type = bpf_dynptr_get_type(src);

	switch (type) {
	case BPF_DYNPTR_TYPE_LOCAL:
	case BPF_DYNPTR_TYPE_RINGBUF:
		/* Source and destination may overlap: memmove. */
		memmove(dst, (char *)src->data + src->offset + offset, len);
		return 0;
	case BPF_DYNPTR_TYPE_SKB:
		return __bpf_skb_load_bytes(src->data, src->offset + offset, dst, len);
	case BPF_DYNPTR_TYPE_XDP:
		return __bpf_xdp_load_bytes(src->data, src->offset + offset, dst, len);
	default:
		/* WARN_ONCE(true, "bpf_dynptr_read: unknown dynptr type %d\n", type) */
		return -EFAULT;
	}
}

/* mirrors __bpf_dynptr_write() (kernel/bpf/helpers.c); helper 202 */
__bpf_kfunc long bpf_dynptr_write(const struct bpf_dynptr_kern *dst, u32 offset, void *src, u32 len, u64 flags)
{
	enum bpf_dynptr_type type;
	int err;

	if (!dst->data || __bpf_dynptr_is_rdonly(dst))
		return -EINVAL;

	err = bpf_dynptr_check_off_len(dst, offset, len);
	if (err)
		return err;

	type = bpf_dynptr_get_type(dst);

	switch (type) {
	case BPF_DYNPTR_TYPE_LOCAL:
	case BPF_DYNPTR_TYPE_RINGBUF:
		if (flags)
			return -EINVAL;
		/* Source and destination may overlap: memmove. */
		memmove((char *)dst->data + dst->offset + offset, src, len);
		return 0;
	case BPF_DYNPTR_TYPE_SKB:
		return __bpf_skb_store_bytes(dst->data, dst->offset + offset, src, len, flags);
	case BPF_DYNPTR_TYPE_XDP:
		if (flags)
			return -EINVAL;
		return __bpf_xdp_store_bytes(dst->data, dst->offset + offset, src, len);
	default:
		/* WARN_ONCE(true, "bpf_dynptr_write: unknown dynptr type %d\n", type) */
		return -EFAULT;
	}
}

/* The model's htab_map_hash(): FNV-1a (see model_bpf.h). The loop walks a
 * pointer, not a counter, so that in isolated verification (where key and
 * key_size are KERNEL_VALUEs) its states repeat and are pruned. */
__inline_body u32 htab_map_hash(const void *key, u32 key_len, u32 hashrnd)
{
	const u8 *k = key, *end = k + key_len;
	u32 hash = HTAB_FNV_OFFSET ^ hashrnd;

#pragma clang loop unroll(disable)
	for (; k != end; k++) {
		hash ^= *k;
		hash *= HTAB_FNV_PRIME;
	}
	return hash;
}

/* mirrors lookup_nulls_elem_raw(); the model never moves an element to
 * another bucket, so there is no "goto again" on a foreign nulls marker. */
__inline_body struct htab_elem *lookup_nulls_elem_raw(struct hlist_nulls_head *head, u32 hash, void *key,
						      u32 key_size)
{
	struct hlist_nulls_node *n;
	struct htab_elem *l;

	for (n = head->first; !is_a_nulls(n); n = n->next) {
		l = (struct htab_elem *)n; /* container_of(n, struct htab_elem, hash_node) */
		if (l->hash == hash && !memcmp(&l->key, key, key_size))
			return l;
	}
	return NULL;
}

/* mirrors __htab_map_lookup_elem() (kernel/bpf/hashtab.c): called from the
 * code htab_map_gen_lookup() emits for bpf_map_lookup_elem() on a hash map,
 * which adds offsetof(struct htab_elem, key) + round_up(key_size, 8) to a
 * non-NULL result to get the value. */
__bpf_kfunc void *__htab_map_lookup_elem(struct bpf_map *map, void *key)
{
	struct bpf_htab *htab = (struct bpf_htab *)map; /* container_of(map, struct bpf_htab, map) */
	struct hlist_nulls_head *head;
	u32 hash, key_size;

	key_size = map->key_size;

	hash = htab_map_hash(key, key_size, htab->hashrnd);

	head = select_bucket(htab, hash);

	return lookup_nulls_elem_raw(head, hash, key, key_size);
}

