/* Test kfuncs of kernel/test_kfuncs.c: hand-written BPF bodies (naked
 * functions with inline asm) for the inliner's golden tests. They are not in
 * the model BTF: their prototypes come from the test library's own BTF, or
 * from a program's BTF when it declares them as `__ksym` externs.
 */
#ifndef KFINLINE_KF_TEST_H
#define KFINLINE_KF_TEST_H
#include "model_types.h"
#include "model_uapi.h"

/* 10 when x == 1, 20 when x == 2, else 30: per-call-site constants prune branches. */
int kf_test_scalar(int x);
/* 0 when p is NULL, else *p: a NULL argument prunes the load. */
int kf_test_null(int *p);
/* *p += 1, returns the new value: loads and stores through a KERNEL_VALUE. */
u64 kf_test_kernel_value(u64 *p);
/* a + b, computed in r6 and r7 (callee-saved registers to spill and fill). */
u64 kf_test_clobber(u64 a, u64 b);
/* 2 * a, through r6 and the body's own stack slot at r10 - 8. */
u64 kf_test_clobber_stack(u64 a);
/* Stores r10 itself to the stack: r10 escapes, the call is not inlined. Returns 0. */
int kf_test_r10_store(void);
/* Copies r10 into r1 and stores 7 through it: r10 escapes. Returns 7. */
int kf_test_r10_copy(void);
/* 1 for an SKB dynptr, 2 for XDP, 3 otherwise (reads bpf_dynptr_kern.size). */
int kf_test_dynptr_type(const struct bpf_dynptr *p);

#endif
