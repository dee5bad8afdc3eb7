# Coverage of every instruction form of the kernel/clang BPF syntax.
# test/isa/asm-kernel.test.ts assembles it with llvm-mc (clang-19 -mcpu=v4) and with
# assembleKernel and compares the .text bytes.
	.text
	.globl	cover
cover:
	r1 += r2
	r3 += 7
	w4 += w5
	w6 += -3
	r1 -= r2
	r3 -= 7
	w4 -= w5
	w6 -= -3
	r1 *= r2
	r3 *= 7
	w4 *= w5
	w6 *= -3
	r1 /= r2
	r3 /= 7
	w4 /= w5
	w6 /= -3
	r1 %= r2
	r3 %= 7
	w4 %= w5
	w6 %= -3
	r1 |= r2
	r3 |= 7
	w4 |= w5
	w6 |= -3
	r1 &= r2
	r3 &= 7
	w4 &= w5
	w6 &= -3
	r1 ^= r2
	r3 ^= 7
	w4 ^= w5
	w6 ^= -3
	r1 <<= r2
	r3 <<= 7
	w4 <<= w5
	w6 <<= -3
	r1 >>= r2
	r3 >>= 7
	w4 >>= w5
	w6 >>= -3
	r1 s>>= r2
	r3 s>>= 7
	w4 s>>= w5
	w6 s>>= -3
	r1 s/= r2
	r3 s/= 7
	w4 s/= w5
	w6 s/= -3
	r1 s%= r2
	r3 s%= 7
	w4 s%= w5
	w6 s%= -3
	r1 += -2147483648
	r1 += 2147483647
	r1 += 0xffffffff
	w1 -= 0x7fffffff
	r9 <<= 63
	r0 = r1
	w0 = w1
	r10 = r9
	r7 = 0
	w7 = -1
	r8 = 0x7fffffff
	r8 = -0x80000000
	r8 = 4294967295
	r0 = -r0
	w3 = -w3
	r1 = (s8)r2
	r1 = (s16)r2
	r1 = (s32)r2
	w1 = (s8)w2
	w1 = (s16)w2
	r5 = be16 r5
	r5 = be32 r5
	r5 = be64 r5
	r5 = le16 r5
	r5 = le32 r5
	r5 = le64 r5
	r6 = bswap16 r6
	r6 = bswap32 r6
	r6 = bswap64 r6
	r2 = 0 ll
	r2 = 1 ll
	r2 = -1 ll
	r2 = 0x1234 ll
	r2 = 0x123456789abcdef0 ll
	r2 = 0xffffffffffffffff ll
	r2 = -0x8000000000000000 ll
	r2 = 0x7fffffffffffffff ll
	r2 = 0x80000000 ll
	r2 = 4294967296 ll
	r3 = *(u8 *)(r4 + 0)
	r3 = *(u8 *)(r10 - 8)
	r3 = *(u8 *)(r1 + 32767)
	r3 = *(u8 *)(r1 - 32768)
	r3 = *(u16 *)(r4 + 0)
	r3 = *(u16 *)(r10 - 8)
	r3 = *(u16 *)(r1 + 32767)
	r3 = *(u16 *)(r1 - 32768)
	r3 = *(u32 *)(r4 + 0)
	r3 = *(u32 *)(r10 - 8)
	r3 = *(u32 *)(r1 + 32767)
	r3 = *(u32 *)(r1 - 32768)
	r3 = *(u64 *)(r4 + 0)
	r3 = *(u64 *)(r10 - 8)
	r3 = *(u64 *)(r1 + 32767)
	r3 = *(u64 *)(r1 - 32768)
	r3 = *(s8 *)(r4 + 0)
	r3 = *(s8 *)(r10 - 8)
	r3 = *(s8 *)(r1 + 32767)
	r3 = *(s8 *)(r1 - 32768)
	r3 = *(s16 *)(r4 + 0)
	r3 = *(s16 *)(r10 - 8)
	r3 = *(s16 *)(r1 + 32767)
	r3 = *(s16 *)(r1 - 32768)
	r3 = *(s32 *)(r4 + 0)
	r3 = *(s32 *)(r10 - 8)
	r3 = *(s32 *)(r1 + 32767)
	r3 = *(s32 *)(r1 - 32768)
	w3 = *(u8 *)(r4 + 2)
	w3 = *(u16 *)(r4 + 2)
	w3 = *(u32 *)(r4 + 2)
	*(u8 *)(r10 - 16) = r1
	*(u8 *)(r2 + 4) = 0x11
	*(u8 *)(r2 + 4) = -5
	*(u16 *)(r10 - 16) = r1
	*(u16 *)(r2 + 4) = 0x11
	*(u16 *)(r2 + 4) = -5
	*(u32 *)(r10 - 16) = r1
	*(u32 *)(r2 + 4) = 0x11
	*(u32 *)(r2 + 4) = -5
	*(u64 *)(r10 - 16) = r1
	*(u64 *)(r2 + 4) = 0x11
	*(u64 *)(r2 + 4) = -5
	*(u8 *)(r10 - 16) = w1
	*(u16 *)(r10 - 16) = w1
	*(u32 *)(r10 - 16) = w1
	lock *(u64 *)(r1 + 8) += r2
	lock *(u32 *)(r1 - 8) += w2
	lock *(u64 *)(r1 + 8) &= r2
	lock *(u32 *)(r1 - 8) &= w2
	lock *(u64 *)(r1 + 8) |= r2
	lock *(u32 *)(r1 - 8) |= w2
	lock *(u64 *)(r1 + 8) ^= r2
	lock *(u32 *)(r1 - 8) ^= w2
	r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)
	w3 = atomic_fetch_add((u32 *)(r10 - 4), w3)
	r2 = atomic_fetch_and((u64 *)(r1 + 0), r2)
	w3 = atomic_fetch_and((u32 *)(r10 - 4), w3)
	r2 = atomic_fetch_or((u64 *)(r1 + 0), r2)
	w3 = atomic_fetch_or((u32 *)(r10 - 4), w3)
	r2 = atomic_fetch_xor((u64 *)(r1 + 0), r2)
	w3 = atomic_fetch_xor((u32 *)(r10 - 4), w3)
	r2 = xchg_64(r1 + 0, r2)
	w2 = xchg32_32(r1 + 4, w2)
	r0 = cmpxchg_64(r1 + 0, r0, r2)
	w0 = cmpxchg32_32(r1 - 4, w0, w2)
	if r1 == r2 goto +1
	if r1 == 0x64 goto -1
	if w1 == w2 goto +0
	if w3 == -7 goto .Ltarget
	if r1 != r2 goto +1
	if r1 != 0x64 goto -1
	if w1 != w2 goto +0
	if w3 != -7 goto .Ltarget
	if r1 > r2 goto +1
	if r1 > 0x64 goto -1
	if w1 > w2 goto +0
	if w3 > -7 goto .Ltarget
	if r1 >= r2 goto +1
	if r1 >= 0x64 goto -1
	if w1 >= w2 goto +0
	if w3 >= -7 goto .Ltarget
	if r1 < r2 goto +1
	if r1 < 0x64 goto -1
	if w1 < w2 goto +0
	if w3 < -7 goto .Ltarget
	if r1 <= r2 goto +1
	if r1 <= 0x64 goto -1
	if w1 <= w2 goto +0
	if w3 <= -7 goto .Ltarget
	if r1 s> r2 goto +1
	if r1 s> 0x64 goto -1
	if w1 s> w2 goto +0
	if w3 s> -7 goto .Ltarget
	if r1 s>= r2 goto +1
	if r1 s>= 0x64 goto -1
	if w1 s>= w2 goto +0
	if w3 s>= -7 goto .Ltarget
	if r1 s< r2 goto +1
	if r1 s< 0x64 goto -1
	if w1 s< w2 goto +0
	if w3 s< -7 goto .Ltarget
	if r1 s<= r2 goto +1
	if r1 s<= 0x64 goto -1
	if w1 s<= w2 goto +0
	if w3 s<= -7 goto .Ltarget
	if r1 & r2 goto +1
	if r1 & 0x64 goto -1
	if w1 & w2 goto +0
	if w3 & -7 goto .Ltarget
.Ltarget:
	goto +3
	goto -3
	goto 32767
	goto -32768
	goto .Ltarget
	goto .Lfwd
	gotol +3
	gotol -100
	gotol .Lfwd
	may_goto +2
	may_goto .Lfwd
	r0 = *(u8 *)skb[1]
	r0 = *(u16 *)skb[0x20]
	r0 = *(u32 *)skb[r1]
	call 1
	call 0x7fffffff
	callx r2
.Lfwd:
	call sub; r0 = 0
	exit
sub:
	r0 = 1 // a comment
	exit
