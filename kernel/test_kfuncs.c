/* A test kfunc library of hand-written BPF: naked functions whose bodies are
 * inline assembly, so the instructions are exactly these. Built with
 * clang-19 -O2 -target bpf -mcpu=v3 -g, DWARF stripped and .BTF kept (the
 * prototypes of these kfuncs, which the model BTF does not have).
 * Prototypes and meaning: include/kf_test.h.
 */
#include "include/kf_test.h"

#define __naked __attribute__((naked, used))

__naked int kf_test_scalar(int x)
{
	asm volatile(
		"if w1 == 1 goto l_one_%=;"
		"if w1 == 2 goto l_two_%=;"
		"w0 = 30;"
		"exit;"
	"l_one_%=:"
		"w0 = 10;"
		"exit;"
	"l_two_%=:"
		"w0 = 20;"
		"exit;"
		::: "memory");
}

__naked int kf_test_null(int *p)
{
	asm volatile(
		"w0 = 0;"
		"if r1 == 0 goto l_null_%=;"
		"r0 = *(u32 *)(r1 + 0);"
	"l_null_%=:"
		"exit;"
		::: "memory");
}

__naked u64 kf_test_kernel_value(u64 *p)
{
	asm volatile(
		"r0 = *(u64 *)(r1 + 0);"
		"r0 += 1;"
		"*(u64 *)(r1 + 0) = r0;"
		"exit;"
		::: "memory");
}

__naked u64 kf_test_clobber(u64 a, u64 b)
{
	asm volatile(
		"r6 = r1;"
		"r7 = r2;"
		"r6 += r7;"
		"r0 = r6;"
		"exit;"
		::: "memory");
}

__naked u64 kf_test_clobber_stack(u64 a)
{
	asm volatile(
		"r6 = r1;"
		"*(u64 *)(r10 - 8) = r6;"
		"r0 = *(u64 *)(r10 - 8);"
		"r0 += r6;"
		"exit;"
		::: "memory");
}

__naked int kf_test_r10_store(void)
{
	asm volatile(
		"*(u64 *)(r10 - 8) = r10;"
		"w0 = 0;"
		"exit;"
		::: "memory");
}

__naked int kf_test_r10_copy(void)
{
	asm volatile(
		"r1 = r10;"
		"r1 += -8;"
		"r2 = 7;"
		"*(u64 *)(r1 + 0) = r2;"
		"r0 = *(u64 *)(r10 - 8);"
		"exit;"
		::: "memory");
}

/* mirrors bpf_dynptr_get_type(): (size & ~DYNPTR_RDONLY_BIT) >> DYNPTR_TYPE_SHIFT */
__naked int kf_test_dynptr_type(const struct bpf_dynptr *p)
{
	asm volatile(
		"w1 = *(u32 *)(r1 + 8);"
		"w1 &= 0x7fffffff;"
		"w1 >>= 28;"
		"if w1 == 3 goto l_skb_%=;"
		"if w1 == 4 goto l_xdp_%=;"
		"w0 = 3;"
		"exit;"
	"l_skb_%=:"
		"w0 = 1;"
		"exit;"
	"l_xdp_%=:"
		"w0 = 2;"
		"exit;"
		::: "memory");
}
