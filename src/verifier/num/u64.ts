// 64-bit and 32-bit machine arithmetic for the verifier's numeric domains.
//
// Representation (documented so it can change later):
//   - u64 values: bigint in [0, 2^64)
//   - s64 values: bigint in [-2^63, 2^63)
//   - u32 values: number in [0, 2^32)
//   - s32 values: number in [-2^31, 2^31)
// Every helper here wraps like C arithmetic on the kernel's u64/s64/u32/s32.

export const U64_MAX = 0xffff_ffff_ffff_ffffn;
export const S64_MAX = 0x7fff_ffff_ffff_ffffn;
export const S64_MIN = -0x8000_0000_0000_0000n;
export const U32_MAX = 0xffff_ffff;
export const S32_MAX = 0x7fff_ffff;
export const S32_MIN = -0x8000_0000;
export const U32_MAX_N = 0xffff_ffffn;

/** (u64)x */
export const toU64 = (x: bigint): bigint => BigInt.asUintN(64, x);
/** (s64)x */
export const toS64 = (x: bigint): bigint => BigInt.asIntN(64, x);
/** (u32)x for a 32-bit number. */
export const toU32 = (x: number): number => x >>> 0;
/** (s32)x for a 32-bit number. */
export const toS32 = (x: number): number => x | 0;
/** (u32)x: the low 32 bits of a 64-bit value. */
export const lo32 = (x: bigint): number => Number(BigInt.asUintN(32, x));
/** (s32)x: the low 32 bits of a 64-bit value, signed. */
export const lo32s = (x: bigint): number => Number(BigInt.asIntN(32, x));

/** Wrapping u64 addition. */
export const add64 = (a: bigint, b: bigint): bigint => BigInt.asUintN(64, a + b);
/** Wrapping u64 subtraction. */
export const sub64 = (a: bigint, b: bigint): bigint => BigInt.asUintN(64, a - b);
/** Wrapping u64 multiplication. */
export const mul64 = (a: bigint, b: bigint): bigint => BigInt.asUintN(64, a * b);
/** Wrapping u64 negation. */
export const neg64 = (a: bigint): bigint => BigInt.asUintN(64, -a);
/** u64 bitwise not. */
export const not64 = (a: bigint): bigint => a ^ U64_MAX;

/** Wrapping u32 arithmetic on numbers. */
export const add32 = (a: number, b: number): number => (a + b) >>> 0;
export const sub32 = (a: number, b: number): number => (a - b) >>> 0;
export const mul32 = (a: number, b: number): number => Math.imul(a, b) >>> 0;

/** s64 -> u64 reinterpretation. */
export const s64ToU64 = toU64;
/** u64 -> s64 reinterpretation. */
export const u64ToS64 = toS64;
/** s32 -> u32 reinterpretation. */
export const s32ToU32 = toU32;
/** u32 -> s32 reinterpretation. */
export const u32ToS32 = toS32;

/** Signed-addition overflow check, mirrors check_add_overflow() on s64. */
export function sAddOverflows64(a: bigint, b: bigint): boolean {
  const r = a + b;
  return r > S64_MAX || r < S64_MIN;
}
/** Signed-subtraction overflow check on s64. */
export function sSubOverflows64(a: bigint, b: bigint): boolean {
  const r = a - b;
  return r > S64_MAX || r < S64_MIN;
}
/** Signed overflow checks on s32 numbers. */
export function sAddOverflows32(a: number, b: number): boolean {
  const r = a + b;
  return r > S32_MAX || r < S32_MIN;
}
export function sSubOverflows32(a: number, b: number): boolean {
  const r = a - b;
  return r > S32_MAX || r < S32_MIN;
}

/** Number of significant bits: fls64(x). 0 for x = 0. */
export function fls64(x: bigint): number {
  if (x === 0n) return 0;
  const hi = Number(x >> 32n);
  if (hi !== 0) return 64 - Math.clz32(hi);
  return 32 - Math.clz32(Number(x));
}

/** Hexadecimal without leading zeros, like the kernel's %llx. */
export const hex64 = (x: bigint): string => `0x${x.toString(16)}`;
