/* The target side of the pair: the "kernel" layout (more members, another
 * order, members inside anonymous unions and structs, other enum values, a
 * 64-bit enum). Its .BTF is the target BTF of pair_local.bpf.o. */
#include "core.h"
#define SFX

struct pinner { long pad; int x; unsigned int y; } __pai;

struct pstate {
	long before[3];
	int a;
	unsigned int flags: 7, bf1: 3, bf2: 5;
	struct pstate *next;
	union {
		long whole;
		struct { short lo; int in_union; };
	};
	int sbf: 4;
	char gap[13];
	unsigned short arr[8];
	struct pinner inner;
	unsigned int b;
	struct { int pad2; struct pinner in; } deep;
	long after;
} __pai;

typedef struct pstate pstate_t;
enum pmode { PM_ZERO, PM_ONE = 10, PM_TWO = 20 };
enum pbig { PB_LOW = 1, PB_HIGH = 0x1234567890ULL };

#include "pair_body.h"

char _license[] SEC("license") = "GPL";
