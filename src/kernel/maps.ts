// BPF maps of the model kernel, living in the AddressSpace: each map has a
// kernel object (struct bpf_array / struct bpf_htab, laid out from the model
// BTF) in a 'kernel' region and its values in a 'map_value' region, so BPF code
// reads and writes values directly through the pointers lookup returns.
//
// Semantics mirror kernel/bpf/arraymap.c and kernel/bpf/hashtab.c (preallocated
// hash table). Model simplifications: a hash update of an existing key updates
// the value in place (the kernel swaps in a fresh element), and the bucket
// lists are kept on the TypeScript side (elements still carry hash and key).

import type { AddressSpace, Region } from '../vm/memory.js';
import { KfError } from '../util/errors.js';
import type { ModelLayout } from './layout.js';
import { st } from './mem.js';

export const BPF_MAP_TYPE_HASH = 1;
export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_MAP_TYPE_PERCPU_ARRAY = 6;

export const BPF_ANY = 0n;
export const BPF_NOEXIST = 1n;
export const BPF_EXIST = 2n;
export const BPF_F_LOCK = 4n;

const EINVAL = 22;
const E2BIG = 7;
const EEXIST = 17;
const ENOENT = 2;

export type MapKind = 'array' | 'hash' | 'percpu_array';

export interface MapSpec {
  readonly type: MapKind;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly name?: string;
  /** PERCPU maps: number of CPUs (default 1); the program runs on cpu 0. */
  readonly nrCpus?: number;
}

const roundUp8 = (n: number): number => (n + 7) & ~7;
const TYPE_NUM: Record<MapKind, number> = { hash: BPF_MAP_TYPE_HASH, array: BPF_MAP_TYPE_ARRAY, percpu_array: BPF_MAP_TYPE_PERCPU_ARRAY };

function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export abstract class BpfMap {
  /** Address of the map's kernel object (what ld_imm64 MAP_FD yields). */
  readonly obj: number;
  readonly objRegion: Region;
  readonly valueRegion: Region;
  /** Bytes from one value to the next: round_up(value_size, 8). */
  readonly elemSize: number;

  constructor(readonly mem: AddressSpace, readonly L: ModelLayout, readonly spec: MapSpec, readonly fd: number, objSize: number, valuesSize: number) {
    const name = spec.name ?? `map${fd}`;
    if (!Number.isInteger(spec.keySize) || !Number.isInteger(spec.valueSize) || !Number.isInteger(spec.maxEntries)) {
      throw new KfError(`map "${name}": key, value size and max_entries must be integers`);
    }
    if (spec.valueSize <= 0 || spec.valueSize > 0x10000 || spec.maxEntries <= 0 || spec.maxEntries > 0x100000) {
      throw new KfError(`map "${name}": invalid value_size ${spec.valueSize} or max_entries ${spec.maxEntries}`);
    }
    this.elemSize = roundUp8(spec.valueSize);
    this.objRegion = mem.map(objSize, 'kernel', `map ${name}`);
    this.obj = this.objRegion.base;
    this.valueRegion = mem.map(valuesSize, 'map_value', `map ${name} values`);
    const m = L.map;
    st(mem, this.obj + m.map_type, 4, TYPE_NUM[spec.type]);
    st(mem, this.obj + m.key_size, 4, spec.keySize);
    st(mem, this.obj + m.value_size, 4, spec.valueSize);
    st(mem, this.obj + m.max_entries, 4, spec.maxEntries);
    st(mem, this.obj + m.id, 4, fd);
  }

  get name(): string {
    return this.spec.name ?? `map${this.fd}`;
  }

  /** map_lookup_elem from BPF: the value's address or 0. */
  abstract lookup(key: number): number;
  /** map_update_elem: 0 or -errno. */
  abstract update(key: number, value: number, flags: bigint): number;
  /** map_delete_elem: 0 or -errno. */
  abstract delete(key: number): number;

  /** User-space view (like bpf(BPF_MAP_LOOKUP_ELEM)): a copy of the value, or undefined. */
  lookupBytes(key: Uint8Array): Uint8Array | undefined {
    const k = this.scratch(key, this.spec.keySize, 'key');
    const v = this.lookup(k);
    return v ? this.mem.read(v, this.spec.valueSize) : undefined;
  }

  /** User-space update: 0 or -errno. */
  updateBytes(key: Uint8Array, value: Uint8Array, flags = BPF_ANY): number {
    const k = this.scratch(key, this.spec.keySize, 'key');
    const v = this.scratch(value, this.spec.valueSize, 'value', this.spec.keySize);
    return this.update(k, v, flags);
  }

  /** Every element as (key hex, value bytes), in key order: what `bpftool map dump` would list. */
  abstract entries(): [string, Uint8Array][];

  private scratchRegion: Region | undefined;
  private scratch(b: Uint8Array, size: number, what: string, at = 0): number {
    if (b.length !== size) throw new KfError(`map "${this.name}": ${what} has ${b.length} bytes, expected ${size}`);
    this.scratchRegion ??= this.mem.map(this.spec.keySize + this.spec.valueSize, 'scratch', `map ${this.name} user buffer`);
    this.mem.write(this.scratchRegion.base + at, b);
    return this.scratchRegion.base + at;
  }

  protected keyBytes(key: number): Uint8Array {
    this.mem.check(key, this.spec.keySize, false);
    return this.mem.bytes(key, this.spec.keySize);
  }
  protected copyValue(dst: number, src: number): void {
    this.mem.check(src, this.spec.valueSize, false);
    this.mem.u8.copyWithin(dst, src, src + this.spec.valueSize);
  }
}

/** BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY (kernel/bpf/arraymap.c). */
export class ArrayMap extends BpfMap {
  readonly indexMask: number;
  readonly nrCpus: number;
  constructor(mem: AddressSpace, L: ModelLayout, spec: MapSpec, fd: number) {
    const nrCpus = spec.type === 'percpu_array' ? spec.nrCpus ?? 1 : 1;
    if (spec.keySize !== 4) throw new KfError(`map "${spec.name ?? fd}": array maps need key_size 4, not ${spec.keySize}`);
    if (!Number.isInteger(nrCpus) || nrCpus < 1 || nrCpus > 64) throw new KfError(`map "${spec.name ?? fd}": bad nrCpus ${nrCpus}`);
    super(mem, L, spec, fd, L.array.size, spec.maxEntries * roundUp8(spec.valueSize) * nrCpus);
    this.nrCpus = nrCpus;
    this.indexMask = roundupPow2(spec.maxEntries) - 1;
    const a = L.array;
    st(mem, this.obj + a.elem_size, 4, this.elemSize);
    st(mem, this.obj + a.index_mask, 4, this.indexMask);
    st(mem, this.obj + a.nr_cpus, 4, nrCpus);
    st(mem, this.obj + (spec.type === 'percpu_array' ? a.pptrs : a.value), 8, this.valueRegion.base);
  }

  /** Address of element `index` on `cpu`. */
  elemAddr(index: number, cpu = 0): number {
    return this.valueRegion.base + (index * this.nrCpus + cpu) * this.elemSize;
  }

  entries(): [string, Uint8Array][] {
    const out: [string, Uint8Array][] = [];
    for (let i = 0; i < this.spec.maxEntries; i++) {
      const k = (i >>> 0).toString(16).padStart(8, '0');
      for (let c = 0; c < this.nrCpus; c++) out.push([this.nrCpus > 1 ? `${k}@${c}` : k, this.mem.read(this.elemAddr(i, c), this.spec.valueSize)]);
    }
    return out;
  }

  /** mirrors array_map_lookup_elem() / percpu_array_map_lookup_elem() (this cpu = 0) */
  lookup(key: number): number {
    this.mem.check(key, 4, false);
    const index = this.mem.u32at(key);
    if (index >= this.spec.maxEntries) return 0;
    return this.elemAddr(index & this.indexMask);
  }

  /** mirrors array_map_update_elem() */
  update(key: number, value: number, flags: bigint): number {
    if ((flags & ~BPF_F_LOCK) > BPF_EXIST) return -EINVAL;
    this.mem.check(key, 4, false);
    const index = this.mem.u32at(key);
    if (index >= this.spec.maxEntries) return -E2BIG;
    if (flags & BPF_NOEXIST) return -EEXIST;
    this.copyValue(this.elemAddr(index & this.indexMask), value);
    return 0;
  }

  /** mirrors array_map_delete_elem() */
  delete(): number {
    return -EINVAL;
  }
}

/** BPF_MAP_TYPE_HASH, preallocated (kernel/bpf/hashtab.c). */
export class HashMap extends BpfMap {
  /** Address of element i (node, hash, key, value). */
  private readonly elemStride: number;
  private readonly valueOff: number;
  private readonly index = new Map<string, number>();
  private readonly free: number[] = [];

  constructor(mem: AddressSpace, L: ModelLayout, spec: MapSpec, fd: number) {
    if (spec.keySize <= 0 || spec.keySize > 512) throw new KfError(`map "${spec.name ?? fd}": bad key_size ${spec.keySize}`);
    const valueOff = L.htabElem.key + roundUp8(spec.keySize);
    const stride = valueOff + roundUp8(spec.valueSize);
    super(mem, L, spec, fd, L.htab.size, stride * spec.maxEntries);
    this.elemStride = stride;
    this.valueOff = valueOff;
    const h = L.htab;
    const nBuckets = roundupPow2(spec.maxEntries);
    const buckets = mem.map(nBuckets * L.bucket.size, 'kernel', `map ${this.name} buckets`);
    st(mem, this.obj + h.buckets, 8, buckets.base);
    st(mem, this.obj + h.elems, 8, this.valueRegion.base);
    st(mem, this.obj + h.n_buckets, 4, nBuckets);
    st(mem, this.obj + h.elem_size, 4, stride);
    for (let i = spec.maxEntries - 1; i >= 0; i--) this.free.push(this.valueRegion.base + i * stride);
  }

  get count(): number {
    return this.index.size;
  }

  private keyStr(key: number): string {
    return Array.from(this.keyBytes(key), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  entries(): [string, Uint8Array][] {
    return [...this.index.entries()]
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .map(([k, e]) => [k, this.mem.read(e + this.valueOff, this.spec.valueSize)]);
  }

  /** mirrors htab_map_lookup_elem() */
  lookup(key: number): number {
    const e = this.index.get(this.keyStr(key));
    return e === undefined ? 0 : e + this.valueOff;
  }

  /** mirrors htab_map_update_elem() with check_flags() */
  update(key: number, value: number, flags: bigint): number {
    if ((flags & ~BPF_F_LOCK) > BPF_EXIST) return -EINVAL;
    const ks = this.keyStr(key);
    const old = this.index.get(ks);
    const f = flags & ~BPF_F_LOCK;
    if (old !== undefined && f === BPF_NOEXIST) return -EEXIST;
    if (old === undefined && f === BPF_EXIST) return -ENOENT;
    if (old !== undefined) {
      this.copyValue(old + this.valueOff, value);
      return 0;
    }
    const e = this.free.pop();
    if (e === undefined) return -E2BIG;
    const kb = this.keyBytes(key).slice();
    this.mem.write(e + this.L.htabElem.key, kb);
    st(this.mem, e + this.L.htabElem.hash, 4, fnv1a(kb));
    this.copyValue(e + this.valueOff, value);
    this.index.set(ks, e);
    st(this.mem, this.obj + this.L.htab.count, 4, this.index.size);
    return 0;
  }

  /** mirrors htab_map_delete_elem() */
  delete(key: number): number {
    const ks = this.keyStr(key);
    const e = this.index.get(ks);
    if (e === undefined) return -ENOENT;
    this.index.delete(ks);
    this.free.push(e);
    st(this.mem, this.obj + this.L.htab.count, 4, this.index.size);
    return 0;
  }
}

function fnv1a(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const x of b) h = Math.imul(h ^ x, 0x01000193) >>> 0;
  return h;
}

/** The maps of one program run, found by fd or by kernel-object address. */
export class MapTable {
  private readonly maps: BpfMap[] = [];
  private readonly byObj = new Map<number, BpfMap>();
  constructor(readonly mem: AddressSpace, readonly L: ModelLayout) {}

  /** Creates a map; its fd is its index + 1 (MAP_IDX uses the 0-based index). */
  create(spec: MapSpec): BpfMap {
    const fd = this.maps.length + 1;
    const m = spec.type === 'hash' ? new HashMap(this.mem, this.L, spec, fd) : new ArrayMap(this.mem, this.L, spec, fd);
    this.maps.push(m);
    this.byObj.set(m.obj, m);
    return m;
  }

  get all(): readonly BpfMap[] {
    return this.maps;
  }
  byFd(fd: number): BpfMap | undefined {
    return this.maps[fd - 1];
  }
  byIndex(i: number): BpfMap | undefined {
    return this.maps[i];
  }
  /** The map whose kernel object is at `addr` (the map pointer a helper receives). */
  at(addr: number): BpfMap | undefined {
    return this.byObj.get(addr);
  }
}
