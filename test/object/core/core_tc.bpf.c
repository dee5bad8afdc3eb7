/* CO-RE in a tc program, so it runs both in the kernel (BPF_PROG_TEST_RUN)
 * and on kfinline's model kernel: ctx fields of a reordered local
 * __sk_buff, enum values, type existence and size. */
#include "core.h"

struct __sk_buff___local {
	u32 mark;
	u32 protocol;
	u32 len;
} __pai;

struct sk_buff___local { unsigned int len; } __pai;
struct no_such___local { int x; } __pai;

enum xdp_action___local {
	XDP_TX___local = 100,
	XDP_NOPE___local = 101,	/* in no kernel */
};

SEC("tc")
int tc_core(struct __sk_buff___local *skb)
{
	u32 r = skb->len * 16;

	r += core_enum_value(enum xdp_action___local, XDP_TX___local);
	r += core_type_exists(struct no_such___local) << 20;
	r += core_field_exists(skb->protocol) << 24;
	if (core_enum_exists(enum xdp_action___local, XDP_NOPE___local))
		r += core_enum_value(enum xdp_action___local, XDP_NOPE___local);
	return r;
}

SEC("tc")
int tc_sizes(struct __sk_buff___local *skb)
{
	return core_type_size(struct sk_buff___local) + core_field_offset(skb->len);
}

char _license[] SEC("license") = "GPL";
