// Shared fixtures of the differential tests of the newer library bodies
// (bpf_dynptr_read, bpf_dynptr_write, __htab_map_lookup_elem): a World runs a
// body in the reference interpreter or the native twin (a helper by id or a
// kfunc/internal by model BTF id) on its own address space (names without a
// body, such as bpf_map_update_elem, run natively in both worlds); two worlds built
// the same way have the same addresses, so their memories compare byte for byte.

import fc from 'fast-check';
import { expect } from 'vitest';
import { AddressSpace, type Region } from '../../src/vm/memory.js';
import { interpreter } from '../../src/vm/interp.js';
import { endRun, type CallContext, type Executable, type NativeFn } from '../../src/vm/env.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { buildSkb, buildXdp } from '../../src/kernel/ctx-build.js';
import { DYNPTR_RDONLY_BIT, initDynptr } from '../../src/kernel/kfuncs/dynptr.js';
import { defaultKfuncLibrary, type KfuncLibrary } from '../../src/inline/library.js';
import { modelBtf } from './library-tools.js';

export const lib = defaultKfuncLibrary();
export const RUNS = Number(process.env.KF_DIFF_RUNS ?? 300);

const btf = modelBtf();
/** Bits of r0 that the C return type of a model FUNC defines (64 for pointers and unknown names). */
export function retBits(name: string): number {
  const id = btf.findByNameKind(name, 'FUNC');
  if (id < 0) return 64;
  const p = btf.funcProto(id);
  if (p.returnType === 0) return 0;
  const t = btf.typeById(btf.skipModsAndTypedefs(p.returnType));
  return t.kind === 'PTR' ? 64 : btf.resolveSize(p.returnType) * 8;
}

export type Mode = 'native' | 'bpf';
/** The native twin of a body: a helper id (bpf_dynptr_read is helper 201) or a kfunc name. */
const HELPER_OF: Record<string, number> = {
  bpf_map_lookup_elem: 1, bpf_map_update_elem: 2, bpf_map_delete_elem: 3, bpf_dynptr_read: 201, bpf_dynptr_write: 202,
};

export interface Outcome {
  r0: bigint[];
  error?: string;
  regions: { name: string; bytes: Uint8Array }[];
}

export class World {
  readonly mem = new AddressSpace();
  readonly k = new ModelKernel(this.mem);
  private readonly exes = new Map<string, Executable>();
  private readonly c: CallContext = { mem: this.mem, pc: 0, callSubprog: () => 0n, endRun };

  constructor(readonly mode: Mode, readonly names: readonly string[], library: KfuncLibrary = lib) {
    // Both worlds map the same stacks first, so every later region has the same address.
    for (const n of names) this.exes.set(n, interpreter.load({ insns: library.bodies.get(n)!.insns, name: n }, this.k.env(), this.mem));
  }

  native(name: string): NativeFn {
    const h = HELPER_OF[name];
    const fn = h !== undefined ? this.k.env().helper(h) : this.k.env().kfunc(this.k.kfuncId(name), 0);
    if (!fn) throw new Error(`no native ${name}`);
    return fn;
  }

  /** The result at the width of the C return type (the upper bits of an int return are undefined in the BPF calling convention). */
  call(name: string, args: readonly bigint[]): bigint {
    const a = [...args, 0n, 0n, 0n, 0n, 0n].map((x) => BigInt.asUintN(64, x));
    const bits = retBits(name);
    if (this.mode === 'bpf' && this.exes.has(name)) return BigInt.asUintN(bits, this.exes.get(name)!.run(a[0], a[1], a[2], a[3], a[4]));
    return BigInt.asUintN(bits, this.native(name)(this.c, a[0], a[1], a[2], a[3], a[4]));
  }

  snapshot(): { name: string; bytes: Uint8Array }[] {
    const stacks = new Set<Region>([...this.exes.values()].map((e) => e.stack));
    return this.mem.regions.filter((r) => !stacks.has(r)).map((r) => ({ name: r.name, bytes: this.mem.read(r.base, r.size) }));
  }
}

export type Call = { fn: string; args: bigint[] };
/** Builds objects in a world and returns the calls to make (deterministic). */
export type Scenario = (w: World) => Call[];

export function outcome(mode: Mode, names: readonly string[], sc: Scenario, library: KfuncLibrary = lib): Outcome {
  const w = new World(mode, names, library);
  const calls = sc(w);
  const r0: bigint[] = [];
  try {
    for (const c of calls) r0.push(w.call(c.fn, c.args));
  } catch (e) {
    return { r0, error: String(e), regions: w.snapshot() };
  }
  return { r0, regions: w.snapshot() };
}

/** Runs the scenario natively and through the BPF bodies: same results, same memory. Returns the native r0s. */
export function same(names: readonly string[], sc: Scenario, library: KfuncLibrary = lib): bigint[] {
  const a = outcome('native', names, sc, library);
  const b = outcome('bpf', names, sc, library);
  expect(b.error, `bpf body: ${b.error}`).toBeUndefined();
  expect(a.error, `native: ${a.error}`).toBeUndefined();
  expect(b.r0).toEqual(a.r0);
  expect(b.regions.map((r) => r.name)).toEqual(a.regions.map((r) => r.name));
  for (let i = 0; i < a.regions.length; i++) expect(b.regions[i].bytes, `region ${a.regions[i].name}`).toEqual(a.regions[i].bytes);
  return a.r0;
}

/** A fast-check property of RUNS runs; the callback asserts (its return value is ignored). */
export const prop = <T>(arb: fc.Arbitrary<T>, f: (x: T) => unknown): void =>
  fc.assert(
    fc.property(arb, (x) => {
      f(x);
    }),
    { numRuns: RUNS },
  );

// ---- packets and dynptrs ----------------------------------------------------

export const pkt = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + 7) & 0xff);

/** Splits `rest` bytes into positive fragment sizes at the cut points. */
function frags(rest: number, cuts: number[]): number[] {
  if (rest === 0) return [];
  const pts = [...new Set(cuts.map((c) => 1 + (c % rest)))].filter((c) => c < rest).sort((x, y) => x - y);
  const out: number[] = [];
  let prev = 0;
  for (const p of [...pts, rest]) {
    out.push(p - prev);
    prev = p;
  }
  return out;
}

export type Kind = 'skb' | 'skb_l3' | 'xdp' | 'local' | 'ringbuf' | 'null' | 'badtype';
export interface DynSpec {
  kind: Kind;
  total: number;
  linSeed: number;
  cuts: number[];
  seed: number;
  dOff: number;
  dSize: number;
  rdonly: boolean;
  badType: number;
}

/** fast-check biases integers towards small values: spread a seed over the whole range. */
const mix = (x: number): number => {
  let h = Math.imul((x ^ 0x9e3779b9) >>> 0, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
};
export const spread = fc.oneof(fc.nat(), fc.nat().map(mix));

export const dynSpec: fc.Arbitrary<DynSpec> = fc.record({
  kind: fc.constantFrom<Kind>('skb', 'skb', 'skb_l3', 'xdp', 'xdp', 'local', 'ringbuf', 'null', 'badtype'),
  total: fc.integer({ min: 14, max: 300 }),
  linSeed: spread,
  cuts: fc.array(spread, { maxLength: 3 }),
  seed: fc.nat(255),
  dOff: fc.oneof(fc.constant(0), spread),
  dSize: fc.oneof(fc.constant(0xffffff), spread),
  rdonly: fc.boolean(),
  badType: fc.constantFrom(0, 5, 6, 7),
});

/** Maps the packet or buffer and a dynptr over it; returns the dynptr's address, the object's and the dynptr's size. */
export function makeDynptr(w: World, s: DynSpec): { p: number; obj: number; len: number } {
  const { rt, mem } = { rt: w.k.rt, mem: w.mem };
  const p = mem.map(16, 'stack', 'dynptr').base;
  const data = pkt(s.total, s.seed);
  const linear = 14 + (s.linSeed % (s.total - 14 + 1));
  const layout = { linearLen: linear, frags: frags(s.total - linear, s.cuts) };
  let obj = 0;
  let len = s.total;
  let type = 0;
  switch (s.kind) {
    case 'skb':
    case 'skb_l3':
      obj = buildSkb(rt, data, { l2: s.kind === 'skb', ...layout }).ctx;
      len = rt.skb.len(obj);
      type = 3;
      break;
    case 'xdp':
      obj = buildXdp(rt, data, layout).ctx;
      len = rt.xdp.buffLen(obj);
      type = 4;
      break;
    case 'local':
    case 'ringbuf':
    case 'badtype': {
      const r = mem.map(s.total, 'map_value', 'local data');
      mem.write(r.base, data);
      obj = r.base;
      type = s.kind === 'local' ? 1 : s.kind === 'ringbuf' ? 2 : s.badType;
      break;
    }
    case 'null':
      return { p, obj: 0, len: 0 };
  }
  const dOff = s.dOff % (len + 1);
  const dSize = s.dSize % (len - dOff + 1);
  initDynptr(rt, p, obj, type, dOff, dSize);
  if (s.rdonly) mem.store(p + rt.L.dynptr.sizeField, 4, BigInt((Number(mem.load(p + rt.L.dynptr.sizeField, 4)) | DYNPTR_RDONLY_BIT) >>> 0));
  return { p, obj, len: dSize };
}

// ---- bpf_dynptr_read / bpf_dynptr_write calls ----------------------------------

export interface RwSpec {
  near: boolean;
  offSeed: number;
  offAny: number;
  len: number;
  flags: bigint;
  seed: number;
}
export const rwSpec: fc.Arbitrary<RwSpec> = fc.record({
  near: fc.boolean(),
  offSeed: spread,
  offAny: fc.integer({ min: 0, max: 0xffffffff }),
  len: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 320 })),
  flags: fc.oneof(fc.constant(0n), fc.constant(0n), fc.constant(0n), fc.constantFrom(1n, 2n, 3n, 4n), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n })),
  seed: fc.nat(255),
});

/** dst/src buffer on the "stack", the offset near the dynptr's end or anywhere. */
export function rwCall(fn: string, d: DynSpec, s: RwSpec) {
  return (w: World): Call[] => {
    const { p, len } = makeDynptr(w, d);
    const buf = w.mem.map(Math.max(s.len, 1), 'stack', 'buffer');
    w.mem.write(buf.base, pkt(Math.max(s.len, 1), s.seed + 99));
    const off = s.near ? s.offSeed % (len + 24) : s.offAny;
    return fn === 'bpf_dynptr_read'
      ? [{ fn, args: [BigInt(buf.base), BigInt(s.len), BigInt(p), BigInt(off), s.flags] }]
      : [{ fn, args: [BigInt(p), BigInt(off), BigInt(buf.base), BigInt(s.len), s.flags] }];
  };
}

// ---- hash map scenarios ---------------------------------------------------------

export interface HtabSpec {
  keySize: number;
  valueSize: number;
  maxEntries: number;
  keys: number;
  keySeed: number;
  ops: { op: 'upd' | 'del' | 'get'; k: number; flags: bigint }[];
}
export const htabSpec: fc.Arbitrary<HtabSpec> = fc.record({
  keySize: fc.oneof(fc.constantFrom(1, 4, 8), fc.integer({ min: 1, max: 40 })),
  valueSize: fc.integer({ min: 1, max: 32 }),
  maxEntries: fc.integer({ min: 1, max: 24 }),
  keys: fc.integer({ min: 1, max: 40 }),
  keySeed: fc.nat(),
  ops: fc.array(
    fc.record({
      op: fc.constantFrom<'upd' | 'del' | 'get'>('upd', 'upd', 'del', 'get', 'get', 'get'),
      k: fc.nat(),
      flags: fc.constantFrom(0n, 0n, 1n, 2n),
    }),
    { maxLength: 60 },
  ),
});

/** Key number i of a spec: distinct bytes for distinct i. */
function keyBytes(s: HtabSpec, i: number): Uint8Array {
  const b = pkt(s.keySize, (s.keySeed + i * 7) & 0xff);
  for (let j = 0; j < 4 && j < s.keySize; j++) b[j] ^= (i >>> (8 * j)) & 0xff;
  return b;
}

export function htabScenario(s: HtabSpec) {
  return (w: World): Call[] => {
    const m = w.k.maps.create({ type: 'hash', keySize: s.keySize, valueSize: s.valueSize, maxEntries: s.maxEntries, name: 'h' });
    const obj = BigInt(m.obj);
    const calls: Call[] = [];
    s.ops.forEach((o, n) => {
      const k = w.mem.map(s.keySize, 'stack', `key ${n}`).base;
      w.mem.write(k, keyBytes(s, o.k % s.keys));
      if (o.op === 'get') calls.push({ fn: '__htab_map_lookup_elem', args: [obj, BigInt(k)] });
      else if (o.op === 'del') calls.push({ fn: 'bpf_map_delete_elem', args: [obj, BigInt(k)] });
      else {
        const v = w.mem.map(s.valueSize, 'stack', `value ${n}`).base;
        w.mem.write(v, pkt(s.valueSize, n));
        calls.push({ fn: 'bpf_map_update_elem', args: [obj, BigInt(k), BigInt(v), o.flags] });
      }
    });
    return calls;
  };
}

