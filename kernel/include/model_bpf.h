/* BPF kernel objects of the model (include/linux/bpf.h, kernel/bpf/ arraymap.c, hashtab.c). */
#ifndef KFINLINE_MODEL_BPF_H
#define KFINLINE_MODEL_BPF_H
#include "model_types.h"
#include "model_uapi.h"

/* ---- dynptr (include/linux/bpf.h, kernel/bpf/helpers.c) ---- */

enum bpf_dynptr_type {
	BPF_DYNPTR_TYPE_INVALID,
	BPF_DYNPTR_TYPE_LOCAL,
	BPF_DYNPTR_TYPE_RINGBUF,
	BPF_DYNPTR_TYPE_SKB,
	BPF_DYNPTR_TYPE_XDP,
};

/* size: bits 0..23 the size, bits 28..30 the type, bit 31 read-only. */
struct bpf_dynptr_kern {
	void *data;
	u32 size;
	u32 offset;
} __aligned(8);

#define DYNPTR_MAX_SIZE ((1UL << 24) - 1)
#define DYNPTR_TYPE_SHIFT 28
#define DYNPTR_SIZE_MASK 0xFFFFFF
#define DYNPTR_RDONLY_BIT (1U << 31)

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

/* ---- open-coded number iterator (kernel/bpf/bpf_iter.c) ---- */

struct bpf_iter_num_kern {
	int cur; /* current value, inclusive */
	int end; /* final value, exclusive */
} __aligned(8);

/* ---- maps (include/linux/bpf.h, kernel/bpf/arraymap.c, hashtab.c) ---- */

enum bpf_map_type {
	BPF_MAP_TYPE_UNSPEC,
	BPF_MAP_TYPE_HASH,
	BPF_MAP_TYPE_ARRAY,
	BPF_MAP_TYPE_PROG_ARRAY,
	BPF_MAP_TYPE_PERF_EVENT_ARRAY,
	BPF_MAP_TYPE_PERCPU_HASH,
	BPF_MAP_TYPE_PERCPU_ARRAY,
};

struct bpf_map {
	u32 map_type;
	u32 key_size;
	u32 value_size;
	u32 max_entries;
	u64 map_extra;
	u32 map_flags;
	u32 id;
	char name[16];
};

/* The model keeps array values out of line (in their own map_value region). */
struct bpf_array {
	struct bpf_map map;
	u32 elem_size;
	u32 index_mask;
	void *value;            /* ARRAY: max_entries * elem_size bytes */
	void *pptrs;            /* PERCPU_ARRAY: max_entries * nr_cpus * elem_size bytes */
	u32 nr_cpus;
};

struct hlist_nulls_node {
	struct hlist_nulls_node *next, **pprev;
};

struct hlist_nulls_head {
	struct hlist_nulls_node *first;
};

struct bucket {
	struct hlist_nulls_head head;
	u32 raw_lock;
};

/* A hash element: node, hash, then key (8-aligned) and value (8-aligned). */
struct htab_elem {
	struct hlist_nulls_node hash_node;
	u32 hash;
	char key[] __aligned(8);
};

struct bpf_htab {
	struct bpf_map map;
	struct bucket *buckets;
	void *elems;            /* preallocated elements, max_entries * elem_size */
	u32 n_buckets;
	u32 elem_size;
	u32 count;
	u32 hashrnd;
};

/* include/linux/list_nulls.h: a list ends in a "nulls" marker, an odd value
 * ((bucket index << 1) | 1), not in NULL. */
static inline bool is_a_nulls(const struct hlist_nulls_node *ptr)
{
	return ((unsigned long)ptr & 1);
}

static inline unsigned long get_nulls_value(const struct hlist_nulls_node *ptr)
{
	return ((unsigned long)ptr) >> 1;
}

/* mirrors select_bucket() of kernel/bpf/hashtab.c */
static inline struct hlist_nulls_head *select_bucket(struct bpf_htab *htab, u32 hash)
{
	return &htab->buckets[hash & (htab->n_buckets - 1)].head;
}

/* The model's htab_map_hash(): FNV-1a over the key bytes seeded with hashrnd
 * (the kernel uses jhash). The same function as htabHash() in src/kernel/maps.ts. */
#define HTAB_FNV_OFFSET 0x811c9dc5U
#define HTAB_FNV_PRIME 0x01000193U

/* Out-of-line in the model (hashtab.c's htab_map_gen_lookup() calls it):
 * the element holding the key, or NULL. */
void *__htab_map_lookup_elem(struct bpf_map *map, void *key);

#endif
