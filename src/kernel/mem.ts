// Small memory primitives for native helpers and kfuncs: pointers arrive as
// bigint register values; kernel objects are read unchecked, buffers that the
// BPF program handed in are checked against their regions (a strict stand-in
// for what the verifier guarantees).

import type { AddressSpace } from '../vm/memory.js';
import { KfError, hex } from '../util/errors.js';

export const U32 = 0xffff_ffff;

/** A register value used as an address (must be below 2^32, where the address space lives). */
export function addr(v: bigint, what: string): number {
  const u = BigInt.asUintN(64, v);
  if (u >= 0x1_0000_0000n) throw new KfError(`${what}: pointer ${hex(u)} is outside the address space`);
  return Number(u);
}

/** Register value → signed 32-bit int (the low half, as a C `int` argument). */
export const s32 = (v: bigint): number => Number(BigInt.asIntN(32, v));
/** Register value → u32. */
export const u32 = (v: bigint): number => Number(BigInt.asUintN(32, v));
/** A C negative errno as a 64-bit register value. */
export const err = (e: number): bigint => BigInt(-e);
/** ERR_PTR(-e) as a register value. */
export const errPtr = (e: number): bigint => BigInt.asUintN(64, BigInt(-e));
/** IS_ERR_VALUE() */
export const isErrPtr = (v: bigint): boolean => BigInt.asUintN(64, v) >= BigInt.asUintN(64, -4095n);

// ld/ldPtr/st read and write through the number paths of the AddressSpace
// (u32at, ptrAt, setU32...): the same bounds checks and values as
// load()/store(), without a BigInt per access.
export const ld = (mem: AddressSpace, a: number, size: 1 | 2 | 4): number =>
  size === 4 ? mem.u32at(a) : size === 2 ? mem.u16at(a) : mem.u8at(a);
export const ldPtr = (mem: AddressSpace, a: number): number => {
  const p = mem.ptrAt(a);
  if (p >= 0) return p;
  const v = mem.load(a, 8);
  throw new KfError(`kernel pointer at ${hex(a)} holds ${hex(v)}, outside the address space`);
};
export const st = (mem: AddressSpace, a: number, size: 1 | 2 | 4 | 8, v: number | bigint): void => {
  if (typeof v === 'number' && Number.isInteger(v)) {
    if (size === 4) return mem.setU32(a, v);
    if (size === 2) return mem.setU16(a, v);
    if (size === 1) return mem.setU8(a, v);
    if (v >= 0 && v < 0x1_0000_0000) return mem.setPtr(a, v);
  }
  mem.store(a, size, typeof v === 'bigint' ? v : BigInt(v));
};

// The fast (number) forms of the register decoders above: a FastNativeFn
// receives integers in [0, 2^53) (src/vm/env.ts).

/** addr() of a fast-form argument (same error). */
export function addrN(v: number, what: string): number {
  if (v < 0x1_0000_0000) return v;
  return addr(BigInt(v), what);
}
/** s32() of a fast-form argument. */
export const s32N = (v: number): number => v | 0;
/** u32() of a fast-form argument. */
export const u32N = (v: number): number => v >>> 0;
/** A u64 flags argument of a fast form as a bigint (the small ones without allocating). */
const SMALL = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n];
export const u64N = (v: number): bigint => (v < 8 ? SMALL[v] : BigInt(v));

/** memmove(dst, src, len) with the destination checked as program memory (writes) and the source as readable. */
export function memmove(mem: AddressSpace, dst: number, src: number, len: number, pc = -1): void {
  if (len === 0) return;
  if (!Number.isInteger(len) || len < 0) throw new KfError(`memmove of ${len} bytes`);
  mem.check(dst, len, true, pc);
  mem.check(src, len, false, pc);
  mem.u8.copyWithin(dst, src, src + len);
}

export function memset(mem: AddressSpace, dst: number, byte: number, len: number, pc = -1): void {
  if (len === 0) return;
  mem.check(dst, len, true, pc);
  mem.u8.fill(byte, dst, dst + len);
}
