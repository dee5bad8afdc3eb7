/* Inlinable kfuncs of the model kernel (the RFC's kernel/bpf/inlinable_kfuncs.c).
 *
 * Compiled as HOST bitcode (clang -emit-llvm -c), then lowered to BPF with
 * llc -mcpu=v3 --mtriple=bpf and stripped: every global function here becomes
 * one inlinable body of the kfunc library (src/inline/library.ts). Kernel
 * internals (skb_copy_bits, bpf_xdp_pointer, bpf_xdp_copy_buf) are called as
 * external functions, so each call stays an R_BPF_64_32 relocation on
 * `call -1` that the loader turns into a kfunc call by BTF id.
 *
 * Rules for bodies: no calls between bodies (bpf-to-bpf calls are refused by
 * the loader): shared code goes in static always_inline functions.
 * Semantics equal kernel/bpf/helpers.c, net/core/filter.c and
 * kernel/bpf/bpf_iter.c of Linux 6.18 (for the model's dynptr types) and the
 * native implementations in src/kernel/kfuncs/{dynptr,iter}.ts.
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
