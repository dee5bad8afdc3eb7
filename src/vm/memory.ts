// One linear address space shared by the interpreter and the wasm JIT.
//
// A single WebAssembly.Memory holds stacks, ctx, packet data, map keys and
// values and kernel objects; BPF pointers are plain addresses in it (below
// 2^32). The JIT's module imports this memory, so both engines see the same
// bytes and can be compared byte for byte.
//
// Layout: [0, LOW_RESERVED) is never mapped (NULL and small offsets from it
// fault in the interpreter); the JIT keeps its call scratch area there. Regions
// are allocated first-fit above it, each followed by an unmapped guard gap.

import { KfError, hex } from '../util/errors.js';
import { wasmApi, type WasmMemory } from './wasm-api.js';

export type RegionKind = 'stack' | 'ctx' | 'packet' | 'map_key' | 'map_value' | 'kernel' | 'rodata' | 'scratch';

export interface Region {
  readonly base: number;
  readonly size: number;
  readonly kind: RegionKind;
  readonly name: string;
  readonly writable: boolean;
}

export const WASM_PAGE = 0x10000;
/** Addresses below this are never mapped. */
export const LOW_RESERVED = 0x10000;
/** Engine-private scratch words (inside the unmapped low area): the JIT passes r0..r5 to imports here. */
export const CALL_SCRATCH = 0x1000;
/** Unmapped bytes left after every region. */
export const GUARD_GAP = 64;

/** A run-time memory fault: names the instruction (pc, -1 if none) and the address. */
export class VmFault extends KfError {
  readonly pc: number;
  readonly addr: bigint;
  /** `where` replaces the default context (`instruction <pc>`), e.g. to name a kfunc body. */
  constructor(pc: number, addr: bigint, reason: string, where?: readonly string[]) {
    super(reason, where ?? (pc >= 0 ? [`instruction ${pc}`] : []));
    this.name = 'VmFault';
    this.pc = pc;
    this.addr = addr;
  }
}

/** "invalid write of 8 bytes at 0x1ff8: outside any region" */
export function accessFault(pc: number, addr: bigint, size: number, write: boolean, why: string): VmFault {
  const a = addr < 0n ? addr + (1n << 64n) : addr;
  return new VmFault(pc, a, `invalid ${write ? 'write' : 'read'} of ${size} bytes at ${hex(a)}: ${why}`);
}

class MappedRegion implements Region {
  constructor(
    readonly base: number,
    readonly size: number,
    readonly kind: RegionKind,
    readonly name: string,
    readonly writable: boolean,
  ) {}
  get end(): number {
    return this.base + this.size;
  }
}

export class AddressSpace {
  readonly memory: WasmMemory;
  readonly maxPages: number;
  /** Fast views; replaced whenever the memory grows (see refresh()). */
  dv: DataView;
  u8: Uint8Array;
  /** Word views (aligned 32-bit access, e.g. the JIT's call scratch area). */
  u32: Uint32Array;
  i32: Int32Array;
  /** Mapped regions, sorted by base. */
  private regs: MappedRegion[] = [];

  constructor(opts: { pages?: number; maxPages?: number } = {}) {
    const pages = Math.max(2, opts.pages ?? 16);
    this.maxPages = Math.max(pages, opts.maxPages ?? 16384);
    this.memory = new (wasmApi().Memory)({ initial: pages, maximum: this.maxPages });
    this.dv = new DataView(this.memory.buffer);
    this.u8 = new Uint8Array(this.memory.buffer);
    this.u32 = new Uint32Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
  }

  /**
   * Bytes currently backed by the memory. Read from the cached view: only
   * map() grows the memory (the JIT never emits memory.grow) and it refreshes
   * the views, while `memory.buffer` is a slow getter on hot paths.
   */
  get byteLength(): number {
    return this.u8.length;
  }

  /** Re-creates the views if the buffer was replaced (memory.grow detaches it). */
  refresh(): void {
    if (this.u8.buffer !== this.memory.buffer) {
      this.dv = new DataView(this.memory.buffer);
      this.u8 = new Uint8Array(this.memory.buffer);
      this.u32 = new Uint32Array(this.memory.buffer);
      this.i32 = new Int32Array(this.memory.buffer);
    }
  }

  get regions(): readonly Region[] {
    return this.regs;
  }

  /** Maps `size` zeroed bytes. Never maps address 0; leaves a guard gap after every region. */
  map(size: number, kind: RegionKind, name: string, opts: { writable?: boolean; align?: number } = {}): Region {
    if (!Number.isInteger(size) || size < 0 || size > 0x4000_0000) {
      throw new KfError(`cannot map region "${name}": bad size ${size}`);
    }
    const align = opts.align ?? 8;
    if (!Number.isInteger(align) || align < 1 || align > WASM_PAGE || (align & (align - 1)) !== 0) {
      throw new KfError(`cannot map region "${name}": alignment ${align} is not a power of two up to ${WASM_PAGE}`);
    }
    const up = (x: number): number => Math.ceil(x / align) * align;
    const need = Math.max(size, 1);
    let base = -1;
    let idx = 0;
    let prevEnd = LOW_RESERVED - GUARD_GAP;
    for (; idx < this.regs.length; idx++) {
      const cand = up(prevEnd + GUARD_GAP);
      if (cand + need + GUARD_GAP <= this.regs[idx].base) {
        base = cand;
        break;
      }
      prevEnd = this.regs[idx].end;
    }
    if (base < 0) base = up(prevEnd + GUARD_GAP);
    const end = base + need + GUARD_GAP;
    if (end > this.byteLength) this.growTo(end, name);
    const r = new MappedRegion(base, size, kind, name, opts.writable ?? true);
    this.regs.splice(idx, 0, r);
    this.u8.fill(0, base, base + size);
    return r;
  }

  private growTo(end: number, name: string): void {
    const pages = Math.ceil(end / WASM_PAGE);
    const cur = this.memory.buffer.byteLength / WASM_PAGE;
    const want = Math.min(this.maxPages, Math.max(pages, cur * 2));
    if (pages > this.maxPages) {
      throw new KfError(`cannot map region "${name}": address space full (${this.maxPages} pages of 64 KiB)`);
    }
    this.memory.grow(want - cur);
    this.refresh();
  }

  unmap(r: Region): void {
    const i = this.regs.indexOf(r as MappedRegion);
    if (i < 0) throw new KfError(`cannot unmap region "${r.name}" at ${hex(r.base)}: not mapped`);
    this.regs.splice(i, 1);
  }

  /** Unmaps every region. */
  reset(): void {
    this.regs = [];
  }

  /** The region containing all of [addr, addr+size), if any. */
  regionAt(addr: number, size: number): Region | undefined {
    const rs = this.regs;
    let lo = 0;
    let hi = rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = rs[mid];
      if (addr < r.base) hi = mid - 1;
      else if (addr >= r.base + r.size) lo = mid + 1;
      else return addr + size <= r.base + r.size ? r : undefined;
    }
    return undefined;
  }

  /**
   * Strict check of an access by BPF code (mirrors what the kernel's verifier
   * guarantees statically): [addr, addr+size) must lie inside one region, and
   * writes need a writable one. Returns the region or throws a VmFault.
   */
  check(addr: bigint | number, size: number, write: boolean, pc = -1): Region {
    // fast path: a number address inside a region (no BigInt allocation); every
    // other case (faults included) takes the general path below
    if (typeof addr === 'number' && addr >= 0 && addr < 0x1_0000_0000 && Number.isInteger(addr)) {
      const r = this.regionAt(addr, size);
      if (r !== undefined && (!write || r.writable)) return r;
    }
    const a = typeof addr === 'bigint' ? addr : BigInt(addr);
    if (a < 0n || a >= 0x1_0000_0000n) throw accessFault(pc, a, size, write, 'outside any region');
    const n = Number(a);
    const r = this.regionAt(n, size);
    if (!r) {
      const part = this.regionAt(n, 1);
      throw accessFault(pc, a, size, write, part ? `crosses the end of ${part.kind} region "${part.name}"` : 'outside any region');
    }
    if (write && !r.writable) throw accessFault(pc, a, size, write, `${r.kind} region "${r.name}" is read-only`);
    return r;
  }

  private inBounds(addr: number, size: number, write: boolean): void {
    // (addr | 0) === addr: an integer below 2^31, the fast common case
    if ((addr | 0) === addr && addr >= 0 && addr + size <= this.u8.length) return;
    if (!(addr >= 0 && addr + size <= this.u8.length) || !Number.isInteger(addr)) {
      throw accessFault(-1, BigInt(Math.trunc(addr) || 0), size, write, 'outside the address space');
    }
  }

  /** Unchecked (no region check) little-endian load, zero-extended. */
  load(addr: number, size: 1 | 2 | 4 | 8): bigint {
    this.inBounds(addr, size, false);
    const dv = this.dv;
    switch (size) {
      case 1:
        return BigInt(dv.getUint8(addr));
      case 2:
        return BigInt(dv.getUint16(addr, true));
      case 4:
        return BigInt(dv.getUint32(addr, true));
      default:
        return dv.getBigUint64(addr, true);
    }
  }

  /** Unchecked (no region check) little-endian store of the low `size` bytes of v. */
  store(addr: number, size: 1 | 2 | 4 | 8, v: bigint): void {
    this.inBounds(addr, size, true);
    const dv = this.dv;
    switch (size) {
      case 1:
        dv.setUint8(addr, Number(BigInt.asUintN(8, v)));
        return;
      case 2:
        dv.setUint16(addr, Number(BigInt.asUintN(16, v)), true);
        return;
      case 4:
        dv.setUint32(addr, Number(BigInt.asUintN(32, v)), true);
        return;
      default:
        dv.setBigUint64(addr, BigInt.asUintN(64, v), true);
    }
  }

  /** A live view of [addr, addr+len) (invalidated when the memory grows). */
  bytes(addr: number, len: number): Uint8Array {
    this.inBounds(addr, len, false);
    return new Uint8Array(this.memory.buffer, addr, len);
  }

  /** Copies `data` to addr (unchecked against regions). */
  write(addr: number, data: Uint8Array): void {
    this.inBounds(addr, data.length, true);
    this.u8.set(data, addr);
  }

  /** A copy of [addr, addr+len). */
  read(addr: number, len: number): Uint8Array {
    return this.bytes(addr, len).slice();
  }

  // Fast paths (unchecked, number in/out) for native helpers.
  u8at(addr: number): number {
    this.inBounds(addr, 1, false);
    return this.dv.getUint8(addr);
  }
  u16at(addr: number): number {
    this.inBounds(addr, 2, false);
    return this.dv.getUint16(addr, true);
  }
  u32at(addr: number): number {
    this.inBounds(addr, 4, false);
    return this.dv.getUint32(addr, true);
  }
  setU32(addr: number, v: number): void {
    this.inBounds(addr, 4, true);
    this.dv.setUint32(addr, v >>> 0, true);
  }
  /** Unchecked store of the low byte of the integer v. */
  setU8(addr: number, v: number): void {
    this.inBounds(addr, 1, true);
    this.dv.setUint8(addr, v);
  }
  /** Unchecked little-endian store of the low 16 bits of the integer v. */
  setU16(addr: number, v: number): void {
    this.inBounds(addr, 2, true);
    this.dv.setUint16(addr, v, true);
  }
  /**
   * Unchecked little-endian load of a 64-bit word that should hold a value
   * below 2^32 (a pointer): the value, or -1 when its upper half is not zero.
   */
  ptrAt(addr: number): number {
    this.inBounds(addr, 8, false);
    const dv = this.dv;
    return dv.getUint32(addr + 4, true) === 0 ? dv.getUint32(addr, true) : -1;
  }
  /** Unchecked little-endian store of the 64-bit word v, an integer in [0, 2^32) (a pointer). */
  setPtr(addr: number, v: number): void {
    this.inBounds(addr, 8, true);
    const dv = this.dv;
    dv.setUint32(addr, v, true);
    dv.setUint32(addr + 4, 0, true);
  }
}
