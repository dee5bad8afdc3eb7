// BPF maps of the model kernel, living in the AddressSpace: each map has a
// kernel object (struct bpf_array / struct bpf_htab, laid out from the model
// BTF) in a 'kernel' region and its values in a 'map_value' region, so BPF code
// reads and writes values directly through the pointers lookup returns.
//
// Semantics mirror kernel/bpf/arraymap.c and kernel/bpf/hashtab.c (preallocated
// hash table). Model simplifications: a hash update of an existing key updates
// the value in place (the kernel swaps in a fresh element) and the hash is
// FNV-1a (htabHash), not jhash. Buckets and element lists live in the address
// space as the C structs, so C bodies walk the same lists.

import type { AddressSpace, Region } from '../vm/memory.js';
import { KfError, hex } from '../util/errors.js';
import type { ModelLayout } from './layout.js';
import { ld, ldPtr, st } from './mem.js';

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

/**
 * The model's htab_map_hash(): 32-bit FNV-1a over the key bytes, seeded with
 * htab->hashrnd (the kernel uses jhash; FNV-1a is what the C body
 * __htab_map_lookup_elem() in kernel/inlinable_kfuncs.c computes too).
 */
export function htabHash(key: Uint8Array, hashrnd = 0): number {
  let h = (0x811c9dc5 ^ hashrnd) >>> 0;
  for (const x of key) h = Math.imul(h ^ x, 0x01000193) >>> 0;
  return h;
}

/** INIT_HLIST_NULLS_HEAD(): an empty bucket's `first` is the nulls marker (index << 1) | 1. */
const nullsMarker = (i: number): number => ((i << 1) | 1) >>> 0;
/** is_a_nulls() */
const isNulls = (p: number): boolean => (p & 1) !== 0;

/**
 * BPF_MAP_TYPE_HASH, preallocated (kernel/bpf/hashtab.c). Everything lives in
 * the address space as the C structs of kernel/include/model_bpf.h: an array
 * of `struct bucket` whose hlist_nulls heads chain `struct htab_elem`s
 * (hash_node.next / pprev, hash, key, then the value), so the native lookup
 * here and the C body __htab_map_lookup_elem() walk the same memory. Only the
 * free list (the kernel's pcpu_freelist) stays on the TypeScript side.
 */
export class HashMap extends BpfMap {
  /** Bytes from one element to the next (node, hash, key, value). */
  readonly elemStride: number;
  /** Offset of the value inside an element: offsetof(htab_elem, key) + round_up(key_size, 8). */
  readonly valueOff: number;
  readonly nBuckets: number;
  /** Address of buckets[0]. */
  readonly buckets: number;
  readonly hashrnd: number;
  private readonly free: number[] = [];
  private n = 0;

  constructor(mem: AddressSpace, L: ModelLayout, spec: MapSpec, fd: number, opts: { hashrnd?: number } = {}) {
    if (!Number.isInteger(spec.keySize) || spec.keySize <= 0 || spec.keySize > 512) throw new KfError(`map "${spec.name ?? fd}": bad key_size ${spec.keySize}`);
    const valueOff = L.htabElem.key + roundUp8(spec.keySize);
    const stride = valueOff + roundUp8(spec.valueSize);
    super(mem, L, spec, fd, L.htab.size, stride * spec.maxEntries);
    this.elemStride = stride;
    this.valueOff = valueOff;
    this.hashrnd = (opts.hashrnd ?? 0) >>> 0;
    const h = L.htab;
    // mirrors htab_map_alloc(): n_buckets = roundup_pow_of_two(max_entries)
    this.nBuckets = roundupPow2(spec.maxEntries);
    const buckets = mem.map(this.nBuckets * L.bucket.size, 'kernel', `map ${this.name} buckets`);
    this.buckets = buckets.base;
    for (let i = 0; i < this.nBuckets; i++) st(mem, this.bucketAt(i) + L.bucket.first, 8, nullsMarker(i));
    st(mem, this.obj + h.buckets, 8, buckets.base);
    st(mem, this.obj + h.elems, 8, this.valueRegion.base);
    st(mem, this.obj + h.n_buckets, 4, this.nBuckets);
    st(mem, this.obj + h.elem_size, 4, stride);
    st(mem, this.obj + L.structs.off('bpf_htab', 'hashrnd'), 4, this.hashrnd);
    for (let i = spec.maxEntries - 1; i >= 0; i--) this.free.push(this.valueRegion.base + i * stride);
  }

  get count(): number {
    return this.n;
  }

  private bucketAt(i: number): number {
    return this.buckets + i * this.L.bucket.size;
  }

  /** select_bucket(): &buckets[hash & (n_buckets - 1)] */
  bucketOf(hash: number): number {
    return this.bucketAt(hash & (this.nBuckets - 1));
  }

  /** htab_map_hash() of the key at `key`. */
  hashOf(key: number): number {
    return htabHash(this.keyBytes(key), this.hashrnd);
  }

  /** The elements chained from one bucket, in list order (a list that does not end raises a KfError). */
  chain(bucket: number): number[] {
    const E = this.L.htabElem;
    const out: number[] = [];
    let n = ldPtr(this.mem, bucket + this.L.bucket.first);
    while (!isNulls(n)) {
      if (out.length >= this.spec.maxEntries) throw new KfError(`map "${this.name}": bucket list at ${hex(bucket)} does not end (corrupted hash_node.next)`);
      out.push(n);
      n = ldPtr(this.mem, n + E.next);
    }
    return out;
  }

  /** mirrors lookup_nulls_elem_raw(): the element holding the key, or 0. */
  private findElem(key: number, hash: number): number {
    const E = this.L.htabElem;
    const kb = this.keyBytes(key);
    for (const e of this.chain(this.bucketOf(hash))) {
      if (ld(this.mem, e + E.hash, 4) !== hash >>> 0) continue;
      const k = this.mem.bytes(e + E.key, this.spec.keySize);
      let eq = true;
      for (let i = 0; i < kb.length && eq; i++) eq = k[i] === kb[i];
      if (eq) return e;
    }
    return 0;
  }

  /** mirrors __htab_map_lookup_elem(): the element (struct htab_elem *) or 0. */
  lookupElem(key: number): number {
    return this.findElem(key, this.hashOf(key));
  }

  entries(): [string, Uint8Array][] {
    const out: [string, Uint8Array][] = [];
    for (let i = 0; i < this.nBuckets; i++) {
      for (const e of this.chain(this.bucketAt(i))) {
        const k = Array.from(this.mem.bytes(e + this.L.htabElem.key, this.spec.keySize), (b) => b.toString(16).padStart(2, '0')).join('');
        out.push([k, this.mem.read(e + this.valueOff, this.spec.valueSize)]);
      }
    }
    return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  /** mirrors htab_map_lookup_elem(): the value's address or 0. */
  lookup(key: number): number {
    const e = this.lookupElem(key);
    return e ? e + this.valueOff : 0;
  }

  private setCount(n: number): void {
    this.n = n;
    st(this.mem, this.obj + this.L.htab.count, 4, n);
  }

  /** mirrors htab_map_update_elem() with check_flags() (an existing element is updated in place) */
  update(key: number, value: number, flags: bigint): number {
    if ((flags & ~BPF_F_LOCK) > BPF_EXIST) return -EINVAL;
    const E = this.L.htabElem;
    const hash = this.hashOf(key);
    const old = this.findElem(key, hash);
    const f = flags & ~BPF_F_LOCK;
    if (old && f === BPF_NOEXIST) return -EEXIST;
    if (!old && f === BPF_EXIST) return -ENOENT;
    if (old) {
      this.copyValue(old + this.valueOff, value);
      return 0;
    }
    const e = this.free.pop();
    if (e === undefined) return -E2BIG;
    const kb = this.keyBytes(key).slice();
    this.mem.write(e + E.key, kb);
    st(this.mem, e + E.hash, 4, hash);
    this.copyValue(e + this.valueOff, value);
    // mirrors hlist_nulls_add_head_rcu()
    const head = this.bucketOf(hash) + this.L.bucket.first;
    const first = ldPtr(this.mem, head);
    st(this.mem, e + E.next, 8, first);
    st(this.mem, e + E.pprev, 8, head);
    if (!isNulls(first)) st(this.mem, first + E.pprev, 8, e + E.next);
    st(this.mem, head, 8, e);
    this.setCount(this.n + 1);
    return 0;
  }

  /** mirrors htab_map_delete_elem(): hlist_nulls_del_rcu(), then back to the free list */
  delete(key: number): number {
    const E = this.L.htabElem;
    const e = this.lookupElem(key);
    if (!e) return -ENOENT;
    const next = ldPtr(this.mem, e + E.next);
    const pprev = ldPtr(this.mem, e + E.pprev);
    st(this.mem, pprev, 8, next);
    if (!isNulls(next)) st(this.mem, next + E.pprev, 8, pprev);
    st(this.mem, e + E.pprev, 8, 0); // LIST_POISON2 in the kernel
    this.free.push(e);
    this.setCount(this.n - 1);
    return 0;
  }
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
