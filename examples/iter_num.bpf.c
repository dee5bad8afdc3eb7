// Open-coded number iterators: bpf_iter_num_new / next / destroy, through a
// bpf_for()-style macro written here (libbpf's bpf_helpers.h has its own).
// Sums the squares of 0..n-1 (n from skb->len, at most 64) and checks the
// iterator's edge cases: an empty range, and start > end (-EINVAL).
#include "kf_helpers.h"
#include <linux/pkt_cls.h>

/* include/uapi/linux/bpf.h (6.4+); the distribution's uapi header may predate it. */
struct bpf_iter_num {
	__u64 __opaque[1];
} __attribute__((aligned(8)));

extern int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) __ksym;
extern int *bpf_iter_num_next(struct bpf_iter_num *it) __ksym;
extern void bpf_iter_num_destroy(struct bpf_iter_num *it) __ksym;

/* for (int i = start; i < end; i++), as an iterator the verifier tracks: the
 * loop body runs once per non-NULL bpf_iter_num_next(); the cleanup attribute
 * destroys the iterator on every way out of the scope. */
#define kf_for(i, start, end)                                                                        \
	for (struct bpf_iter_num ___it __attribute__((cleanup(bpf_iter_num_destroy))),              \
	     *___p __attribute__((unused)) = (bpf_iter_num_new(&___it, (start), (end)), &___it);     \
	     ({                                                                                       \
		     int *___n = bpf_iter_num_next(&___it);                                           \
		     ___n ? ((i) = *___n, 1) : 0;                                                    \
	     });)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} results SEC(".maps");

static __always_inline void put(__u32 k, __u64 v)
{
	__u64 *slot = bpf_map_lookup_elem(&results, &k);

	if (slot)
		*slot = v;
}

SEC("tc")
int tc_iter_num(struct __sk_buff *skb)
{
	int n = skb->len & 63, i;
	__u64 sum = 0, empty = 0;

	kf_for(i, 0, n)
		sum += (__u64)i * i;
	kf_for(i, 5, 5)
		empty++;
	put(0, sum);
	put(1, empty);

	/* start > end: bpf_iter_num_new() fails, next() returns NULL at once */
	struct bpf_iter_num it;
	int err = bpf_iter_num_new(&it, 10, 0);
	int *v = bpf_iter_num_next(&it);
	bpf_iter_num_destroy(&it);
	put(2, (__u64)(err == -22 && !v));
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
