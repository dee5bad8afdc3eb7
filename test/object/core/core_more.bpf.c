/* More CO-RE shapes against the running kernel: a subprogram in .text,
 * embedded structs, members inside anonymous unions, load size changes
 * (u64 locally, u32 in the kernel), typedef and enum64 roots, type_matches. */
#include "core.h"

struct load_weight___local {
	unsigned long weight;
	u32 inv_weight;
} __pai;

struct load_weight___bad {
	int weight;
} __pai;

struct sched_entity___local {
	u64 vruntime;
	struct load_weight___local load;
	u64 sum_exec_runtime;
} __pai;

struct task_struct___local {
	unsigned long long flags;	/* unsigned int in the kernel: 8 -> 4 byte loads */
	struct sched_entity___local se;
	char comm[16];
	int pid;
} __pai;

struct sk_buff___local {
	struct sk_buff___local *next;	/* inside anonymous union/struct in the kernel */
	unsigned int len;
} __pai;

typedef int pid_t___local;

enum perf_callchain_context___local {
	PERF_CONTEXT_USER___local = 1,
	PERF_CONTEXT_MAX___local = 2,
};

static __attribute__((noinline)) int task_weight(struct task_struct___local *t)
{
	return t->se.load.weight + t->se.load.inv_weight;
}

SEC("tp_btf/sched_switch")
int more_task(u64 *ctx)
{
	struct task_struct___local *prev = (void *)ctx[1];
	long r = prev->flags;

	r += prev->se.vruntime + prev->se.sum_exec_runtime;
	r += task_weight(prev);
	r += core_field_size(prev->comm) + core_field_size(prev->comm[1]);
	r += core_field_exists(prev->se.load.inv_weight);
	r += core_field_offset(prev->se.load);
	return r;
}

SEC("tp_btf/netif_receive_skb")
int more_skb(u64 *ctx)
{
	struct sk_buff___local *skb = (void *)ctx[0];
	struct sk_buff___local *next = skb->next;

	if (next)
		return next->len;
	return skb->len;
}

SEC("tp_btf/sched_switch")
int more_types(u64 *ctx)
{
	long r = 0;

	r += core_type_exists(pid_t___local);
	r += core_type_size(pid_t___local) << 4;
	r += core_type_matches(struct load_weight___local) << 8;
	r += core_type_matches(struct load_weight___bad) << 9;
	r += core_type_exists(struct load_weight___bad) << 10;
	r += core_type_size(struct sched_entity___local) << 12;
	r += core_type_id_kernel(pid_t___local);
	r += core_enum_value(enum perf_callchain_context___local, PERF_CONTEXT_USER___local);
	r ^= core_enum_value(enum perf_callchain_context___local, PERF_CONTEXT_MAX___local);
	return r;
}

char _license[] SEC("license") = "GPL";
