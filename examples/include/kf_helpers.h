/* kf_helpers.h - the little that libbpf-style BPF C programs need, written
 * for kfinline's examples: section and map annotation macros, helper
 * prototypes (helper ids from enum bpf_func_id in <linux/bpf.h>), kfunc
 * prototypes and a few byte-order helpers.
 *
 * Build: clang-19 -O2 -g -target bpf -mcpu=v3 -Iexamples/include -c x.bpf.c
 */
#ifndef KF_HELPERS_H
#define KF_HELPERS_H

#include <linux/types.h>
#include <linux/bpf.h>

/* Place a function or variable in an ELF section; the loader derives the
 * program type from the section name. */
#define SEC(name) __attribute__((section(name), used))

/* Functions that must stay out of line (BPF-to-BPF calls). */
#define __noinline __attribute__((noinline))
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))

/* Externs resolved by the loader: kernel functions/variables by BTF name,
 * kernel config values from .kconfig. */
#define __ksym __attribute__((section(".ksyms")))
#define __kconfig __attribute__((section(".kconfig")))
#define __weak __attribute__((weak))

/* BTF-defined map fields: the number N is encoded as the array size of the
 * pointed-to type, a type T as the pointee type. The loader reads them back
 * from the BTF of the .maps variable. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

#ifndef NULL
#define NULL ((void *)0)
#endif

#define kf_likely(x) __builtin_expect(!!(x), 1)
#define kf_unlikely(x) __builtin_expect(!!(x), 0)

/* Network byte order; BPF targets are either endianness. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define kf_htons(x) __builtin_bswap16(x)
#define kf_ntohs(x) __builtin_bswap16(x)
#define kf_htonl(x) __builtin_bswap32(x)
#define kf_ntohl(x) __builtin_bswap32(x)
#else
#define kf_htons(x) (x)
#define kf_ntohs(x) (x)
#define kf_htonl(x) (x)
#define kf_ntohl(x) (x)
#endif

/* ---- helpers: a call through a constant pointer becomes `call <id>` ---- */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)BPF_FUNC_map_update_elem;
static long (*bpf_map_delete_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_delete_elem;
static __u64 (*bpf_ktime_get_ns)(void) = (void *)BPF_FUNC_ktime_get_ns;
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)BPF_FUNC_trace_printk;
static __u32 (*bpf_get_prandom_u32)(void) = (void *)BPF_FUNC_get_prandom_u32;
static __u32 (*bpf_get_smp_processor_id)(void) = (void *)BPF_FUNC_get_smp_processor_id;
static long (*bpf_skb_load_bytes)(const void *skb, __u32 offset, void *to, __u32 len) = (void *)BPF_FUNC_skb_load_bytes;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;
static long (*bpf_get_current_comm)(void *buf, __u32 size_of_buf) = (void *)BPF_FUNC_get_current_comm;
static long (*bpf_loop)(__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags) = (void *)BPF_FUNC_loop;
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)BPF_FUNC_redirect;

/* ---- kfuncs: resolved against kernel BTF by name ---- */
extern int bpf_dynptr_from_skb(struct __sk_buff *skb, __u64 flags, struct bpf_dynptr *ptr) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer, __u32 buffer__szk) __ksym;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset, void *buffer, __u32 buffer__szk) __ksym;
extern __u32 bpf_dynptr_size(const struct bpf_dynptr *p) __ksym;

#endif /* KF_HELPERS_H */
