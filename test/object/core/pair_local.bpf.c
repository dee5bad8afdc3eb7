/* The local side of the pair: what the BPF program was compiled against. */
#include "core.h"
#define SFX ___v1

struct pinner___v1 { int x; unsigned int y; } __pai;

struct pstate___v1 {
	unsigned int b;
	struct pinner___v1 inner;
	unsigned int bf2: 5;
	int a;
	int sbf: 4;
	struct pstate___v1 *next;
	unsigned int bf1: 3;
	unsigned short arr[8];
	int in_union;
	struct { struct pinner___v1 in; } deep;
} __pai;

typedef struct pstate___v1 pstate_t___v1;
enum pmode___v1 { PM_ONE___v1 = 1, PM_TWO___v1 = 2 };
enum pbig___v1 { PB_HIGH___v1 = 3 };

#include "pair_body.h"

char _license[] SEC("license") = "GPL";
