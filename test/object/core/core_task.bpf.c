/* CO-RE against the running kernel: local, reordered, partial definitions of
 * kernel structs (flavoured names "foo___local" match "foo"), relocated by
 * libbpf (bpftool prog loadall) and by kfinline's applyCoreRelos(). */
#include "core.h"

struct task_struct___local {
	char comm[16];
	int tgid;
	struct task_struct___local *real_parent;
	unsigned int flags;
	int pid;
	unsigned int __state;
	int no_such_field_in_kernel;
	unsigned int sched_migrated: 1;
	unsigned int in_iowait: 1;
} __pai;

struct sk_buff___local {
	unsigned char *data;
	unsigned int len;
	u8 pkt_type: 3;
	u8 cloned: 1;
	u16 protocol;
	unsigned int hash;
} __pai;

struct no_such_struct___local { int x; } __pai;

enum bpf_map_type___local {
	BPF_MAP_TYPE_HASH___local = 100,
	BPF_MAP_TYPE_ARENA___local = 101,
	BPF_MAP_TYPE_NOT_IN_KERNEL___local = 102,
};

/* Direct loads through BTF pointers: LDX offsets (and sizes) are patched. */
SEC("tp_btf/sched_switch")
int task_fields(u64 *ctx)
{
	struct task_struct___local *prev = (void *)ctx[1];
	int r = prev->pid + prev->tgid;

	r += prev->real_parent->pid;
	r += prev->comm[2];
	r ^= prev->flags;
	if (core_field_exists(prev->no_such_field_in_kernel))
		r += prev->no_such_field_in_kernel;
	r += core_field_size(prev->__state);
	r += core_field_signed(prev->pid) + 10 * core_field_signed(prev->flags);
	r += core_read_bitfield(prev, in_iowait);
	r += core_read_bitfield(prev, sched_migrated);
	return r;
}

/* bpf_probe_read_kernel(&v, sizeof(v), &t->field): ALU immediates are patched. */
SEC("tp_btf/sched_switch")
int task_probe_read(u64 *ctx)
{
	struct task_struct___local *next = (void *)ctx[2];
	int pid = 0, tgid = 0;
	struct task_struct___local *parent = 0;

	bpf_probe_read_kernel(&pid, sizeof(pid), &next->pid);
	bpf_probe_read_kernel(&parent, sizeof(parent), &next->real_parent);
	if (parent)
		bpf_probe_read_kernel(&tgid, sizeof(tgid), &parent->tgid);
	return pid + tgid + core_field_offset(next->comm[3]);
}

/* sk_buff: members inside anonymous unions/structs, bitfields, u16. */
SEC("tp_btf/netif_receive_skb")
int skb_fields(u64 *ctx)
{
	struct sk_buff___local *skb = (void *)ctx[0];
	unsigned long r = skb->len + skb->protocol + skb->hash;

	r += core_read_bitfield(skb, pkt_type);
	r += core_read_bitfield(skb, cloned) << 4;
	return r;
}

/* Type- and enum-based relocations: ALU and ld_imm64 immediates. */
SEC("tp_btf/sched_switch")
int types_enums(u64 *ctx)
{
	long r = 0;

	r += core_type_exists(struct task_struct___local);
	r += core_type_exists(struct no_such_struct___local) << 1;
	r += core_type_size(struct task_struct___local);
	r += core_type_size(struct sk_buff___local) << 20;
	r += core_type_matches(struct no_such_struct___local) << 3;
	r += core_type_id_kernel(struct task_struct___local);
	r += core_type_id_local(struct sk_buff___local) << 8;
	r += core_enum_exists(enum bpf_map_type___local, BPF_MAP_TYPE_ARENA___local) << 4;
	r += core_enum_exists(enum bpf_map_type___local, BPF_MAP_TYPE_NOT_IN_KERNEL___local) << 5;
	r += core_enum_value(enum bpf_map_type___local, BPF_MAP_TYPE_ARENA___local) << 6;
	r += core_enum_value(enum bpf_map_type___local, BPF_MAP_TYPE_HASH___local) << 12;
	if (core_enum_exists(enum bpf_map_type___local, BPF_MAP_TYPE_NOT_IN_KERNEL___local))
		r += core_enum_value(enum bpf_map_type___local, BPF_MAP_TYPE_NOT_IN_KERNEL___local);
	return r;
}

char _license[] SEC("license") = "GPL";
