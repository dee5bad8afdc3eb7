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

export const ld = (mem: AddressSpace, a: number, size: 1 | 2 | 4): number => Number(mem.load(a, size));
export const ldPtr = (mem: AddressSpace, a: number): number => {
  const v = mem.load(a, 8);
  if (v >= 0x1_0000_0000n) throw new KfError(`kernel pointer at ${hex(a)} holds ${hex(v)}, outside the address space`);
  return Number(v);
};
export const st = (mem: AddressSpace, a: number, size: 1 | 2 | 4 | 8, v: number | bigint): void =>
  mem.store(a, size, typeof v === 'bigint' ? v : BigInt(v));

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
