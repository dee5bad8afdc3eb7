/* Prototypes of the model kernel's helpers, kfuncs and internal functions,
 * with the kernel's parameter names (suffixes __sz, __szk, __opt, __uninit,
 * __nullable carry meaning for the verifier). Signatures equal Linux 6.18.
 */
#ifndef KFINLINE_MODEL_PROTOS_H
#define KFINLINE_MODEL_PROTOS_H
#include "model_types.h"
#include "model_uapi.h"
#include "model_skbuff.h"
#include "model_xdp.h"
#include "model_bpf.h"

/* ---- helpers (BPF_FUNC_* ids in the comments; kernel-side signatures) ---- */
void *bpf_map_lookup_elem(struct bpf_map *map, void *key);                          /* 1 */
long bpf_map_update_elem(struct bpf_map *map, void *key, void *value, u64 flags);   /* 2 */
long bpf_map_delete_elem(struct bpf_map *map, void *key);                           /* 3 */
u64 bpf_ktime_get_ns(void);                                                         /* 5 */
long bpf_trace_printk(const char *fmt, u32 fmt_size, u64 arg1, u64 arg2, u64 arg3); /* 6 */
u32 bpf_get_prandom_u32(void);                                                      /* 7 */
long bpf_skb_load_bytes(const struct sk_buff *skb, u32 offset, void *to, u32 len);  /* 26 */
long bpf_xdp_adjust_head(struct xdp_buff *xdp, int offset);                         /* 44 */
long bpf_loop(u32 nr_loops, void *callback_fn, void *callback_ctx, u64 flags);      /* 181 */
long bpf_dynptr_read(void *dst, u32 len, const struct bpf_dynptr_kern *src, u32 offset, u64 flags); /* 201 */
long bpf_dynptr_write(const struct bpf_dynptr_kern *dst, u32 offset, void *src, u32 len, u64 flags); /* 202 */

/* ---- kfuncs (kernel/bpf/helpers.c, net/core/filter.c, kernel/bpf/bpf_iter.c) ---- */
int bpf_dynptr_from_skb(struct __sk_buff *s, u64 flags, struct bpf_dynptr *ptr__uninit);
int bpf_dynptr_from_xdp(struct xdp_md *x, u64 flags, struct bpf_dynptr *ptr__uninit);
void *bpf_dynptr_slice(const struct bpf_dynptr *p, u32 offset, void *buffer__opt, u32 buffer__szk);
void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, u32 offset, void *buffer__opt, u32 buffer__szk);
bool bpf_dynptr_is_null(const struct bpf_dynptr *p);
bool bpf_dynptr_is_rdonly(const struct bpf_dynptr *p);
u32 bpf_dynptr_size(const struct bpf_dynptr *p);
int bpf_dynptr_adjust(const struct bpf_dynptr *p, u32 start, u32 end);
int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end);
int *bpf_iter_num_next(struct bpf_iter_num *it);
void bpf_iter_num_destroy(struct bpf_iter_num *it);

/* ---- internal functions: skb_copy_bits in model_skbuff.h,
 *      bpf_xdp_pointer and bpf_xdp_copy_buf in model_xdp.h ---- */

#endif
