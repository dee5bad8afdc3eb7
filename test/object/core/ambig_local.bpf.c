/* Relocated against ambig_target.bpf.o: pinner.y resolves (two agreeing
 * candidates), pouter.y is ambiguous. */
#include "core.h"

struct pinner___v1 { unsigned int y; int x; } __pai;
struct pouter___v1 { unsigned int y; int x; } __pai;

SEC("tp_btf/ok")
int agree(u64 *ctx)
{
	struct pinner___v1 *p = (void *)ctx[0];
	return p->y;
}

SEC("tp_btf/bad")
int disagree(u64 *ctx)
{
	struct pouter___v1 *p = (void *)ctx[0];
	return p->y;
}

char _license[] SEC("license") = "GPL";
