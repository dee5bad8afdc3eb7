// Differential test: each BPF body of the kfunc library, run in the reference
// interpreter as a function (args in r1..r5, its internal calls served by the
// model kernel's native skb_copy_bits / bpf_xdp_pointer / bpf_xdp_copy_buf),
// against the native TypeScript kfunc, on identical address spaces. Same
// return value (at the width of the C return type: the upper bits of an int
// return are undefined in the BPF calling convention) and same bytes in every
// region afterwards.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { dynSpec, lib, makeDynptr, prop, RUNS, same, spread, World, type Call, type DynSpec, type Kind, type Scenario } from './more-kfuncs-tools.js';

const NAMES = [...lib.bodies.keys()];

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

describe('BPF bodies = native kfuncs (reference interpreter, fast-check)', () => {
  it('covers every body of the library', () => {
    expect(NAMES.sort()).toEqual(
      ['__htab_map_lookup_elem', 'bpf_dynptr_adjust', 'bpf_dynptr_from_skb', 'bpf_dynptr_from_xdp', 'bpf_dynptr_is_null', 'bpf_dynptr_is_rdonly',
        'bpf_dynptr_read', 'bpf_dynptr_size', 'bpf_dynptr_slice', 'bpf_dynptr_slice_rdwr', 'bpf_dynptr_write',
        'bpf_iter_num_destroy', 'bpf_iter_num_new', 'bpf_iter_num_next'],
    );
  });

  it('bpf_dynptr_slice on linear and non-linear skbs, xdp with frags, local and ringbuf dynptrs', () => {
    prop(fc.tuple(dynSpec, sliceSpec), ([d, s]) => same(NAMES, sliceCall('bpf_dynptr_slice')(d, s)));
  });

  it('the random slices reach every path: NULL, a direct pointer and the buffer, for each dynptr kind', () => {
    const seen = new Set<string>();
    for (const [d, s] of fc.sample(fc.tuple(dynSpec, sliceSpec), { numRuns: RUNS, seed: 42 })) {
      const w = new World('bpf', NAMES);
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
    prop(fc.tuple(dynSpec, sliceSpec), ([d, s]) => same(NAMES, sliceCall('bpf_dynptr_slice_rdwr')(d, s)));
  });

  it('bpf_dynptr_is_null, bpf_dynptr_is_rdonly, bpf_dynptr_size', () => {
    prop(dynSpec, (d) =>
      same(NAMES, (w) => {
        const { p } = makeDynptr(w, d);
        return ['bpf_dynptr_is_null', 'bpf_dynptr_is_rdonly', 'bpf_dynptr_size'].map((fn) => ({ fn, args: [BigInt(p)] }));
      }),
    );
  });

  it('bpf_dynptr_adjust (then size and slice see the new window)', () => {
    const bound = fc.oneof(fc.nat(320), fc.integer({ min: 0, max: 0xffffffff }));
    prop(fc.tuple(dynSpec, bound, bound, sliceSpec), ([d, start, end, s]) =>
      same(NAMES, (w) => {
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
      same(NAMES, (w) => {
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
      same(NAMES, (w) => {
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
