// Differential tests of the newer bodies of the kfunc library against their
// native twins (reference interpreter, fast-check): bpf_dynptr_read and
// bpf_dynptr_write (helpers 201/202) on every dynptr kind at random offsets,
// lengths and flags, and __htab_map_lookup_elem over random inserts, deletes
// and lookups in hash maps whose buckets and element lists live in memory.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HashMap, htabHash } from '../../src/kernel/maps.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { interpreter } from '../../src/vm/interp.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { World, dynSpec, htabScenario, htabSpec, lib, pkt, prop, rwCall, rwSpec, same, RUNS } from './more-kfuncs-tools.js';

const DYN = ['bpf_dynptr_read', 'bpf_dynptr_write'];
const HTAB = ['__htab_map_lookup_elem'];
const E = (n: number): bigint => BigInt.asUintN(64, BigInt(-n));

describe('bpf_dynptr_read / bpf_dynptr_write bodies = helpers 201 / 202', () => {
  it('are bodies of the default library, with the helpers\' model BTF prototypes', () => {
    const r = lib.bodies.get('bpf_dynptr_read')!;
    const w = lib.bodies.get('bpf_dynptr_write')!;
    expect(r.proto!.params.map((p) => p.name)).toEqual(['dst', 'len', 'src', 'offset', 'flags']);
    expect(w.proto!.params.map((p) => p.name)).toEqual(['dst', 'offset', 'src', 'len', 'flags']);
    expect(new Set(r.internalCalls.map((c) => c.name))).toEqual(new Set(['memmove', '__bpf_skb_load_bytes', '__bpf_xdp_load_bytes']));
    expect(new Set(w.internalCalls.map((c) => c.name))).toEqual(new Set(['memmove', '__bpf_skb_store_bytes', '__bpf_xdp_store_bytes']));
  });

  it('bpf_dynptr_read on every dynptr kind (linear and paged skbs, xdp frags, local, ringbuf, null, bad type)', () => {
    prop(fc.tuple(dynSpec, rwSpec), ([d, s]) => {
      same(DYN, rwCall('bpf_dynptr_read', d, s));
    });
  });

  it('bpf_dynptr_write on every dynptr kind (skb writes pull fragments into the head)', () => {
    prop(fc.tuple(dynSpec, rwSpec), ([d, s]) => {
      same(DYN, rwCall('bpf_dynptr_write', d, s));
    });
  });

  it('write then read back through the same dynptr', () => {
    prop(fc.tuple(dynSpec, rwSpec), ([d, s]) => {
      same(DYN, (w) => {
        const [wr] = rwCall('bpf_dynptr_write', d, s)(w);
        const back = w.mem.map(Math.max(s.len, 1), 'stack', 'read back').base;
        return [wr, { fn: 'bpf_dynptr_read', args: [BigInt(back), BigInt(s.len), wr.args[0], wr.args[1], 0n] }];
      });
    });
  });

  it('the random calls reach every outcome of each body', () => {
    const seen = new Set<string>();
    const codes = new Map<bigint, string>([[0n, 'ok'], [E(22), 'EINVAL'], [E(7), 'E2BIG'], [E(14), 'EFAULT']]);
    for (const [d, s] of fc.sample(fc.tuple(dynSpec, rwSpec), { numRuns: Math.max(RUNS, 300), seed: 7 })) {
      for (const fn of DYN) {
        const w = new World('bpf', DYN);
        const [c] = rwCall(fn, d, s)(w);
        const r = w.call(c.fn, c.args);
        seen.add(`${fn}:${d.kind.replace('_l3', '')}:${codes.get(r) ?? String(BigInt.asIntN(64, r))}`);
      }
    }
    for (const fn of DYN) {
      for (const k of ['skb', 'xdp', 'local', 'ringbuf']) for (const o of ['ok', 'E2BIG', 'EINVAL']) expect(seen).toContain(`${fn}:${k}:${o}`);
      expect(seen).toContain(`${fn}:null:EINVAL`);
      expect(seen).toContain(`${fn}:badtype:EFAULT`);
    }
  });
});

describe('__htab_map_lookup_elem body = the model hash table (buckets and lists in memory)', () => {
  it('random updates, deletes and lookups: same elements, same memory', () => {
    prop(htabSpec, (s) => {
      same(HTAB, htabScenario(s));
    });
  });

  it('the body finds every present key at the element the native lookup gives, and only those', () => {
    let found = 0;
    let missed = 0;
    let chained = 0;
    prop(htabSpec, (s) => {
      const w = new World('bpf', HTAB);
      const calls = htabScenario(s)(w);
      const m = w.k.maps.all[0] as HashMap;
      for (const c of calls) {
        const r = w.call(c.fn, c.args);
        if (c.fn !== '__htab_map_lookup_elem') continue;
        const native = w.call('bpf_map_lookup_elem', c.args);
        expect(r === 0n ? 0n : r + BigInt(m.valueOff)).toBe(native);
        if (r) found++;
        else missed++;
      }
      for (let b = 0; b < m.nBuckets; b++) if (m.chain(m.buckets + b * w.k.rt.L.bucket.size).length > 1) chained++;
      expect(m.entries().length).toBe(m.count);
    });
    expect(found).toBeGreaterThan(0);
    expect(missed).toBeGreaterThan(0);
    expect(chained).toBeGreaterThan(0); // collisions: lists longer than one element were walked
  });

  it('honours htab->hashrnd (the body reads the seed from struct bpf_htab)', () => {
    prop(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 16 }), fc.array(fc.nat(), { minLength: 1, maxLength: 20 })), ([rnd, ks, ids]) => {
      const mem = new AddressSpace();
      const k = new ModelKernel(mem);
      const exe = interpreter.load({ insns: lib.bodies.get('__htab_map_lookup_elem')!.insns, name: 'lookup' }, k.env(), mem);
      const m = new HashMap(mem, k.rt.L, { type: 'hash', keySize: ks, valueSize: 8, maxEntries: 8, name: 'seeded' }, 99, { hashrnd: rnd });
      const key = mem.map(ks, 'stack', 'key').base;
      const val = mem.map(8, 'stack', 'value').base;
      for (const id of ids) {
        mem.write(key, pkt(ks, id & 0xff));
        const full = m.update(key, val, 0n) !== 0; // -E2BIG once 8 distinct keys are in
        if (!full) expect(Number(mem.load(m.lookupElem(key) + k.rt.L.htabElem.hash, 4))).toBe(htabHash(pkt(ks, id & 0xff), rnd));
        expect(Number(exe.run(BigInt(m.obj), BigInt(key), 0n, 0n, 0n))).toBe(m.lookupElem(key));
      }
    });
  });

  it('a corrupted bucket list raises KfError natively, not a hang', () => {
    const w = new World('native', HTAB);
    const m = w.k.maps.create({ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2, name: 'bad' }) as HashMap;
    const k = w.mem.map(4, 'stack', 'k').base;
    const v = w.mem.map(4, 'stack', 'v').base;
    expect(m.update(k, v, 0n)).toBe(0);
    const e = m.lookupElem(k);
    w.mem.store(e + w.k.rt.L.htabElem.next, 8, BigInt(e)); // a cycle
    w.mem.store(k, 4, 1n);
    expect(() => m.entries()).toThrow(/does not end/);
  });
});
