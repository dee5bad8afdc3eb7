// Kernel selftest style inline asm (tools/testing/selftests/bpf/progs/verifier_*.c).
// test/isa/asm-kernel.test.ts compiles this with clang-19 and compares the bytes
// with assembleKernel of the string lines between `asm volatile (` and the first `:`.
__attribute__((naked)) void f(void)
{
	asm volatile (
	"r1 = 0;"
	"l0_%=: r1 += 1;"
	"if r1 < 10 goto l0_%=;"
	"r0 = r1;					\
	*(u64 *)(r10 - 8) = r0;				\n\
	r2 = *(u64 *)(r10 - 8);"
	"call %[bpf_get_prandom_u32];"		// helper by name
	"r0 = %[c];"
	"w0 = atomic_fetch_add((u32 *)(r10 - 8), w0);\n"
	"if w0 s> -3 goto l1_%=;\n\t"
	"r0 = -r0;"
	"l1_%=:"
	"r3 = 0x1234567890 ll;"
	"r4 = (s16)r3; w5 = (s8)w3;"
	"gotol l2_%=;"
	"r0 = 1;"
	"l2_%=: exit;"
	:
	: [bpf_get_prandom_u32]"i"(7), [c]"i"(42)
	: "memory");
}
