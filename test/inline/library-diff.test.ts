// Differential test: each BPF body of the kfunc library, run in the reference
// interpreter as a function (args in r1..r5, its internal calls served by the
// model kernel's native skb_copy_bits / bpf_xdp_pointer / bpf_xdp_copy_buf),
// against the native TypeScript kfunc, on identical address spaces. Same
// return value (at the width of the C return type: the upper bits of an int
// return are undefined in the BPF calling convention) and same bytes in every
// region afterwards.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AddressSpace, type Region } from '../../src/vm/memory.js';
import { interpreter } from '../../src/vm/interp.js';
import type { CallContext, Executable } from '../../src/vm/env.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { buildSkb, buildXdp } from '../../src/kernel/ctx-build.js';
import { DYNPTR_RDONLY_BIT, initDynptr } from '../../src/kernel/kfuncs/dynptr.js';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { modelBtf } from './library-tools.js';

const lib = defaultKfuncLibrary();
const btf = modelBtf();
const NAMES = [...lib.bodies.keys()];
const RUNS = Number(process.env.KF_DIFF_RUNS ?? 300);

/** Bits of r0 that the C return type defines. */
function retBits(name: string): number {
  const p = lib.bodies.get(name)!.proto!;
  if (p.returnType === 0) return 0;
  const t = btf.typeById(btf.skipModsAndTypedefs(p.returnType));
  if (t.kind === 'PTR') return 64;
  return btf.resolveSize(p.returnType) * 8;
}

type Mode = 'native' | 'bpf';
interface Outcome {
  r0: bigint[];
  error?: string;
  regions: { name: string; bytes: Uint8Array }[];
}

class World {
  readonly mem = new AddressSpace();
  readonly k = new ModelKernel(this.mem);
  private readonly exes = new Map<string, Executable>();
  private readonly c: CallContext = { mem: this.mem, pc: 0, callSubprog: () => 0n };

  constructor(readonly mode: Mode) {
    // Both worlds map the same stacks first, so every later region has the same address.
    for (const n of NAMES) this.exes.set(n, interpreter.load({ insns: lib.bodies.get(n)!.insns, name: n }, this.k.env(), this.mem));
  }

  call(name: string, args: readonly bigint[]): bigint {
    const a = [...args, 0n, 0n, 0n, 0n, 0n].map((x) => BigInt.asUintN(64, x));
    const bits = retBits(name);
    let r: bigint;
    if (this.mode === 'bpf') r = this.exes.get(name)!.run(a[0], a[1], a[2], a[3], a[4]);
    else r = this.k.env().kfunc(this.k.kfuncId(name), 0)!(this.c, a[0], a[1], a[2], a[3], a[4]);
    return BigInt.asUintN(bits, r);
  }

  snapshot(): { name: string; bytes: Uint8Array }[] {
    const stacks = new Set<Region>([...this.exes.values()].map((e) => e.stack));
    return this.mem.regions.filter((r) => !stacks.has(r)).map((r) => ({ name: r.name, bytes: this.mem.read(r.base, r.size) }));
  }
}

type Call = { fn: string; args: bigint[] };
/** Builds objects in a world and returns the calls to make (deterministic). */
type Scenario = (w: World) => Call[];

function outcome(mode: Mode, sc: Scenario): Outcome {
  const w = new World(mode);
  const calls = sc(w);
  const r0: bigint[] = [];
  try {
    for (const c of calls) r0.push(w.call(c.fn, c.args));
  } catch (e) {
    return { r0, error: String(e), regions: w.snapshot() };
  }
  return { r0, regions: w.snapshot() };
}

function same(sc: Scenario): void {
  const a = outcome('native', sc);
  const b = outcome('bpf', sc);
  expect(b.error, `bpf body: ${b.error}`).toBeUndefined();
  expect(a.error, `native: ${a.error}`).toBeUndefined();
  expect(b.r0).toEqual(a.r0);
  expect(b.regions.map((r) => r.name)).toEqual(a.regions.map((r) => r.name));
  for (let i = 0; i < a.regions.length; i++) expect(b.regions[i].bytes, `region ${a.regions[i].name}`).toEqual(a.regions[i].bytes);
}

// ---- packets and dynptrs ----------------------------------------------------

const pkt = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + 7) & 0xff);

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

type Kind = 'skb' | 'skb_l3' | 'xdp' | 'local' | 'ringbuf' | 'null' | 'badtype';
interface DynSpec {
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
const spread = fc.oneof(fc.nat(), fc.nat().map(mix));

const dynSpec: fc.Arbitrary<DynSpec> = fc.record({
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

/** Maps the packet or buffer and a dynptr over it; returns the dynptr's address and the object's. */
function makeDynptr(w: World, s: DynSpec): { p: number; obj: number; len: number } {
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

interface SliceSpec {
  near: boolean;
  offSeed: number;
  offAny: number;
  szk: number;
  buffer: boolean;
}
const sliceSpec: fc.Arbitrary<SliceSpec> = fc.record({
  near: fc.boolean(),
  offSeed: spread,
  offAny: fc.integer({ min: 0, max: 0xffffffff }),
  szk: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 320 })),
  buffer: fc.boolean(),
});

function sliceCall(fn: string) {
  return (d: DynSpec, s: SliceSpec): Scenario => (w) => {
    const { p, len } = makeDynptr(w, d);
    const buf = s.buffer ? w.mem.map(Math.max(s.szk, 1), 'stack', 'slice buffer').base : 0;
    const off = s.near ? s.offSeed % (len + 24) : s.offAny;
    return [{ fn, args: [BigInt(p), BigInt(off), BigInt(buf), BigInt(s.szk)] }];
  };
}

const prop = <T>(arb: fc.Arbitrary<T>, f: (x: T) => void): void => fc.assert(fc.property(arb, f), { numRuns: RUNS });

describe('BPF bodies = native kfuncs (reference interpreter, fast-check)', () => {
  it('covers every body of the library', () => {
    expect(NAMES.sort()).toEqual(
      ['__htab_map_lookup_elem', 'bpf_dynptr_adjust', 'bpf_dynptr_from_skb', 'bpf_dynptr_from_xdp', 'bpf_dynptr_is_null', 'bpf_dynptr_is_rdonly',
        'bpf_dynptr_read', 'bpf_dynptr_size', 'bpf_dynptr_slice', 'bpf_dynptr_slice_rdwr', 'bpf_dynptr_write',
        'bpf_iter_num_destroy', 'bpf_iter_num_new', 'bpf_iter_num_next'],
    );
  });

  it('bpf_dynptr_slice on linear and non-linear skbs, xdp with frags, local and ringbuf dynptrs', () => {
    prop(fc.tuple(dynSpec, sliceSpec), ([d, s]) => same(sliceCall('bpf_dynptr_slice')(d, s)));
  });

  it('the random slices reach every path: NULL, a direct pointer and the buffer, for each dynptr kind', () => {
    const seen = new Set<string>();
    for (const [d, s] of fc.sample(fc.tuple(dynSpec, sliceSpec), { numRuns: RUNS, seed: 42 })) {
      const w = new World('bpf');
      const { p, len } = makeDynptr(w, d);
      const buf = s.buffer ? w.mem.map(Math.max(s.szk, 1), 'stack', 'slice buffer').base : 0;
      const off = s.near ? s.offSeed % (len + 24) : s.offAny;
      const r = Number(w.call('bpf_dynptr_slice', [BigInt(p), BigInt(off), BigInt(buf), BigInt(s.szk)]));
      seen.add(`${d.kind.replace('_l3', '')}:${r === 0 ? 'null' : r === buf ? 'buffer' : 'direct'}`);
    }
    for (const k of ['skb', 'xdp']) for (const o of ['null', 'buffer', 'direct']) expect(seen).toContain(`${k}:${o}`);
    for (const k of ['local', 'ringbuf']) for (const o of ['null', 'direct']) expect(seen).toContain(`${k}:${o}`);
    expect(seen).toContain('null:null');
    expect(seen).toContain('badtype:null');
  });

  it('bpf_dynptr_slice_rdwr', () => {
    prop(fc.tuple(dynSpec, sliceSpec), ([d, s]) => same(sliceCall('bpf_dynptr_slice_rdwr')(d, s)));
  });

  it('bpf_dynptr_is_null, bpf_dynptr_is_rdonly, bpf_dynptr_size', () => {
    prop(dynSpec, (d) =>
      same((w) => {
        const { p } = makeDynptr(w, d);
        return ['bpf_dynptr_is_null', 'bpf_dynptr_is_rdonly', 'bpf_dynptr_size'].map((fn) => ({ fn, args: [BigInt(p)] }));
      }),
    );
  });

  it('bpf_dynptr_adjust (then size and slice see the new window)', () => {
    const bound = fc.oneof(fc.nat(320), fc.integer({ min: 0, max: 0xffffffff }));
    prop(fc.tuple(dynSpec, bound, bound, sliceSpec), ([d, start, end, s]) =>
      same((w) => {
        const { p } = makeDynptr(w, d);
        const buf = w.mem.map(Math.max(s.szk, 1), 'stack', 'slice buffer').base;
        return [
          { fn: 'bpf_dynptr_adjust', args: [BigInt(p), BigInt(start), BigInt(end)] },
          { fn: 'bpf_dynptr_size', args: [BigInt(p)] },
          { fn: 'bpf_dynptr_slice', args: [BigInt(p), BigInt(s.offSeed % 64), BigInt(buf), BigInt(s.szk)] },
        ];
      }),
    );
  });

  it('bpf_dynptr_from_skb and bpf_dynptr_from_xdp (then slice through the new dynptr)', () => {
    const flags = fc.oneof(fc.constant(0n), fc.constant(0n), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }));
    prop(fc.tuple(dynSpec, flags, sliceSpec), ([d, fl, s]) =>
      same((w) => {
        const isXdp = d.kind === 'xdp';
        const spec = { ...d, kind: (isXdp ? 'xdp' : d.kind === 'skb_l3' ? 'skb_l3' : 'skb') as Kind };
        const { obj } = makeDynptr(w, spec);
        const p = w.mem.map(16, 'stack', 'new dynptr').base;
        w.mem.write(p, new Uint8Array(16).fill(0xcc)); // ptr__uninit: garbage before
        const buf = w.mem.map(Math.max(s.szk, 1), 'stack', 'slice buffer').base;
        return [
          { fn: isXdp ? 'bpf_dynptr_from_xdp' : 'bpf_dynptr_from_skb', args: [BigInt(obj), fl, BigInt(p)] },
          { fn: 'bpf_dynptr_size', args: [BigInt(p)] },
          { fn: 'bpf_dynptr_slice', args: [BigInt(p), BigInt(s.near ? s.offSeed % 320 : s.offAny), BigInt(s.buffer ? buf : 0), BigInt(s.szk)] },
        ];
      }),
    );
  });

  it('bpf_iter_num_new / next / destroy', () => {
    const int = fc.oneof(fc.integer({ min: -20, max: 20 }), fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.constantFrom(-0x80000000, 0x7fffffff, 0x7ffffffe));
    prop(fc.tuple(int, int, fc.integer({ min: 0, max: 12 }), fc.boolean()), ([start, end, nexts, preset]) =>
      same((w) => {
        const it = w.mem.map(8, 'stack', 'iter').base;
        if (preset) w.mem.write(it, Uint8Array.of(0xfe, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f)); // cur = INT_MAX - 1, end = INT_MAX
        const calls: Call[] = [];
        if (!preset) calls.push({ fn: 'bpf_iter_num_new', args: [BigInt(it), BigInt(start), BigInt(end)] });
        for (let i = 0; i < nexts; i++) calls.push({ fn: 'bpf_iter_num_next', args: [BigInt(it)] });
        calls.push({ fn: 'bpf_iter_num_destroy', args: [BigInt(it)] });
        return calls;
      }),
    );
  });
});
