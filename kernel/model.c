/* The model kernel's "vmlinux": compiled with clang -g -O2 -target bpf, its
 * BTF names every type, helper, kfunc and internal function of the model.
 * The bodies here are placeholders (the model's implementations are native
 * TypeScript in src/kernel and the inlinable C bodies in inlinable_kfuncs.c);
 * they exist so that the BTF carries FUNC entries with parameter names.
 */
#include "include/model.h"

/* Every struct, by value, so that its full definition lands in the BTF. */
struct model_btf_anchor {
	struct sk_buff skb;
	struct skb_shared_info shinfo;
	struct qdisc_skb_cb qdisc_cb;
	struct bpf_skb_data_end data_end;
	struct net_device dev;
	struct xdp_buff xdp;
	struct xdp_frame frame;
	struct xdp_rxq_info rxq;
	struct xdp_txq_info txq;
	struct __sk_buff uskb;
	struct xdp_md uxdp;
	struct bpf_dynptr dynptr;
	struct bpf_dynptr_kern dynptr_kern;
	struct bpf_iter_num iter;
	struct bpf_iter_num_kern iter_kern;
	struct bpf_map map;
	struct bpf_array array;
	struct bpf_htab htab;
	struct bucket bucket;
	enum bpf_dynptr_type dynptr_type;
	enum bpf_map_type map_type;
	enum xdp_buff_flags xdp_flags;
	enum xdp_action xdp_action;
	struct htab_elem elem; /* flexible key[]: last */
};

struct model_btf_anchor model_btf_anchor __attribute__((used));

#define STUB(ret) { return (ret)0; }
#define STUB_VOID { }

__bpf_kfunc void *bpf_map_lookup_elem(struct bpf_map *map, void *key) STUB(void *)
__bpf_kfunc long bpf_map_update_elem(struct bpf_map *map, void *key, void *value, u64 flags) STUB(long)
__bpf_kfunc long bpf_map_delete_elem(struct bpf_map *map, void *key) STUB(long)
__bpf_kfunc u64 bpf_ktime_get_ns(void) STUB(u64)
__bpf_kfunc long bpf_trace_printk(const char *fmt, u32 fmt_size, u64 arg1, u64 arg2, u64 arg3) STUB(long)
__bpf_kfunc u32 bpf_get_prandom_u32(void) STUB(u32)
__bpf_kfunc long bpf_skb_load_bytes(const struct sk_buff *skb, u32 offset, void *to, u32 len) STUB(long)
__bpf_kfunc long bpf_xdp_adjust_head(struct xdp_buff *xdp, int offset) STUB(long)
__bpf_kfunc long bpf_loop(u32 nr_loops, void *callback_fn, void *callback_ctx, u64 flags) STUB(long)
__bpf_kfunc long bpf_dynptr_read(void *dst, u32 len, const struct bpf_dynptr_kern *src, u32 offset, u64 flags) STUB(long)
__bpf_kfunc long bpf_dynptr_write(const struct bpf_dynptr_kern *dst, u32 offset, void *src, u32 len, u64 flags) STUB(long)

__bpf_kfunc int bpf_dynptr_from_skb(struct __sk_buff *s, u64 flags, struct bpf_dynptr *ptr__uninit) STUB(int)
__bpf_kfunc int bpf_dynptr_from_xdp(struct xdp_md *x, u64 flags, struct bpf_dynptr *ptr__uninit) STUB(int)
__bpf_kfunc void *bpf_dynptr_slice(const struct bpf_dynptr *p, u32 offset, void *buffer__opt, u32 buffer__szk) STUB(void *)
__bpf_kfunc void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, u32 offset, void *buffer__opt, u32 buffer__szk) STUB(void *)
__bpf_kfunc bool bpf_dynptr_is_null(const struct bpf_dynptr *p) STUB(bool)
__bpf_kfunc bool bpf_dynptr_is_rdonly(const struct bpf_dynptr *p) STUB(bool)
__bpf_kfunc u32 bpf_dynptr_size(const struct bpf_dynptr *p) STUB(u32)
__bpf_kfunc int bpf_dynptr_adjust(const struct bpf_dynptr *p, u32 start, u32 end) STUB(int)
__bpf_kfunc int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) STUB(int)
__bpf_kfunc int *bpf_iter_num_next(struct bpf_iter_num *it) STUB(int *)
__bpf_kfunc void bpf_iter_num_destroy(struct bpf_iter_num *it) STUB_VOID

__bpf_kfunc int skb_copy_bits(const struct sk_buff *skb, int offset, void *to, int len) STUB(int)
__bpf_kfunc void *bpf_xdp_pointer(struct xdp_buff *xdp, u32 offset, u32 len) STUB(void *)
__bpf_kfunc void bpf_xdp_copy_buf(struct xdp_buff *xdp, unsigned long off, void *buf, unsigned long len, bool flush) STUB_VOID
__bpf_kfunc int __bpf_skb_load_bytes(const struct sk_buff *skb, u32 offset, void *to, u32 len) STUB(int)
__bpf_kfunc int __bpf_skb_store_bytes(struct sk_buff *skb, u32 offset, const void *from, u32 len, u64 flags) STUB(int)
__bpf_kfunc int __bpf_xdp_load_bytes(struct xdp_buff *xdp, u32 offset, void *buf, u32 len) STUB(int)
__bpf_kfunc int __bpf_xdp_store_bytes(struct xdp_buff *xdp, u32 offset, void *buf, u32 len) STUB(int)
__bpf_kfunc void *memmove(void *dest, const void *src, size_t count) STUB(void *)
__bpf_kfunc int memcmp(const void *cs, const void *ct, size_t count) STUB(int)
__bpf_kfunc void *__htab_map_lookup_elem(struct bpf_map *map, void *key) STUB(void *)
