/* A CO-RE relocation that cannot be resolved, on a reachable path: the
 * instruction is poisoned (call 0xbad2310) and every verifier rejects it
 * with "invalid func unknown#195896080". */
#include "core.h"

struct __sk_buff___local {
	u32 len;
	u32 no_such_field;
} __pai;

SEC("tc")
int tc_poisoned(struct __sk_buff___local *skb)
{
	return skb->len + skb->no_such_field;
}

char _license[] SEC("license") = "GPL";
