// Inlining of helper calls whose implementation has an inlinable BPF body:
// bpf_map_lookup_elem on hash maps (as __htab_map_lookup_elem + the value
// offset) and bpf_dynptr_read / bpf_dynptr_write.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { insn, type Insn } from '../../src/isa/insn.js';
import { findHelperSites, hashLookupInstance, mapFdReachingR1 } from '../../src/inline/helper-sites.js';
import { makeInstances } from '../../src/inline/instances.js';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { inlineProgram } from '../../src/inline/pipeline.js';
import { linkProgram } from '../../src/kernel/link.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { loadObject } from '../../src/object/index.js';
import { KfError } from '../../src/util/errors.js';
import { verify } from '../../src/verifier/verify.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { prng, randomPacket, runOnce } from './harness.js';

const EXAMPLES = join(__dirname, '../../examples/build');
const kernel = new ModelKernel(new AddressSpace());
const ids = kernel.kfuncIds;
const lib = defaultKfuncLibrary();
const TC = 3;

function linked(file: string, prog: string) {
  const obj = loadObject(readFileSync(join(EXAMPLES, file)), { objectName: file.replace(/\.bpf\.o$/, '') });
  return linkProgram(obj, obj.programs.find((p) => p.name === prog)!, (n) => ids.get(n));
}

const callSites = (insns: readonly Insn[], imm: number): number[] =>
  insns.flatMap((x, i) => (x.code === 0x85 && x.src === 0 && x.imm === imm && (i === 0 || insns[i - 1].code !== 0x18) ? [i] : []));

describe('hash-map lookups (htab_lookup.bpf.o)', () => {
  const l = linked('htab_lookup.bpf.o', 'tc_htab_lookup');
  const prog = { insns: l.insns, progType: l.progType, maps: l.maps };
  const flows = l.maps.find((m) => m.name === 'flows')!;

  it('gives an instance to each lookup whose r1 is the hash map, none to the array-map lookups', () => {
    const sites = findHelperSites(l.insns, l.maps, lib);
    const lookups = callSites(l.insns, 1);
    const onHash = lookups.filter((i) => l.insns[i - 2].code === 0x18 && l.insns[i - 2].imm === flows.fd);
    expect(onHash.length).toBeGreaterThan(0);
    expect(onHash.length).toBeLessThan(lookups.length);
    expect([...sites.keys()].sort((a, b) => a - b)).toEqual(onHash);
    // the value offset is the model hash table's (src/kernel/maps.ts HashMap.valueOff)
    const m = kernel.maps.create({ type: 'hash', keySize: flows.keySize, valueSize: flows.valueSize, maxEntries: 4, name: 'probe' }) as unknown as { valueOff: number };
    for (const s of sites.values()) expect(s.map!.valueOff).toBe(m.valueOff);
  });

  it('inlines them; the re-verification accepts; no call of helper 1 on the hash map remains', () => {
    const r = inlineProgram(prog, lib);
    const hashSites = r.sites.filter((s) => s.kfunc === '__htab_map_lookup_elem');
    expect(hashSites.length).toBe(r.helperSites.size);
    expect(hashSites.every((s) => s.inlined)).toBe(true);
    expect(r.reverified.accepted).toBe(true);
    expect(r.inlined.filter((x) => x.helper === 1).length).toBe(hashSites.length);
    // the array-map lookups stay calls; every remaining call of helper 1 has the array map in r1
    const rest = callSites(r.insns, 1);
    expect(rest.length).toBe(callSites(l.insns, 1).length - hashSites.length);
    for (const i of rest) expect(r.insns[i - 2].imm).not.toBe(flows.fd);
  });

  it('the re-verification gives r0 PTR_TO_MAP_VALUE_OR_NULL at a region end: dropping the null check is rejected', () => {
    const r = inlineProgram(prog, lib);
    const region = r.inlined.find((x) => x.helper === 1)!;
    const after = r.insns[region.end];
    expect(after.code).toBe(0x15); // if r0 == 0 goto ...
    const broken = r.insns.slice();
    broken[region.end] = { ...after, imm: 1 }; // if r0 == 1 goto ...: no null check
    const v = verify({ ...prog, insns: broken }, { inlined: r.inlined });
    expect(v.accepted).toBe(false);
    expect(v.error).toMatch(/map_value_or_null/);
    // and in the original program the same mutation is rejected the same way
    const orig = l.insns.slice();
    const site = r.helperSites.keys().next().value!;
    orig[site + 1] = { ...orig[site + 1], imm: 1 };
    expect(verify({ ...prog, insns: orig }).error).toMatch(/map_value_or_null/);
  });

  it('original and inlined agree in both engines on random packets with a pre-filled map, and lookups do hit', () => {
    const r = inlineProgram(prog, lib);
    const rand = prng(77);
    let hits = 0;
    for (let n = 0; n < 60; n++) {
      const data = randomPacket(rand, 14, 600);
      const prefill = [];
      for (let slot = 0; slot < 32; slot++) {
        if (rand() < 0.4) continue;
        const key = new Uint8Array(8);
        new DataView(key.buffer).setUint16(4, data.length, true);
        new DataView(key.buffer).setUint16(6, slot, true);
        prefill.push({ map: 'flows', key, value: Uint8Array.from({ length: 8 }, () => Math.floor(rand() * 256)) });
      }
      for (const e of ['interp', 'jit'] as const) {
        const a = runOnce(l, l.insns, { data, prefill }, e);
        const b = runOnce(l, r.insns, { data, prefill }, e, r.ctxPcs);
        expect(a.error).toBeUndefined();
        expect(b).toEqual(a);
        // hits[0] (found) is the first 8 bytes after "hits:00000000="
        const found = /hits:00000000=([0-9a-f]{16})/.exec(a.maps)![1];
        if (found !== '0000000000000000') hits++;
      }
    }
    expect(hits).toBeGreaterThan(60);
  });

  it('keeps the calls when asked not to inline helpers', () => {
    const r = inlineProgram(prog, lib, { helpers: false });
    expect(r.sites.length).toBe(0);
    expect(r.insns).toEqual(l.insns);
  });
});

describe('bpf_dynptr_read (parse_slices.bpf.o)', () => {
  const l = linked('parse_slices.bpf.o', 'tc_parse_slices');
  const prog = { insns: l.insns, progType: l.progType, maps: l.maps };
  it('inlines the helper call with the bpf_dynptr_read body; the re-verification accepts', () => {
    const r = inlineProgram(prog, lib);
    const reads = callSites(l.insns, 201);
    expect(reads.length).toBe(1);
    const s = r.sites.find((x) => x.site === reads[0])!;
    expect(s.kfunc).toBe('bpf_dynptr_read');
    expect(s.inlined).toBe(true);
    expect(s.insnsAfterDce).toBeLessThan(s.insnsBefore); // the skb type is known from the dynptr: other types' code is dead
    expect(callSites(r.insns, 201)).toEqual([]);
    expect(r.reverified.accepted).toBe(true);
  });
  it('in non-isolated mode helper calls stay calls', () => {
    const r = inlineProgram(prog, lib, { mode: 'non-isolated' });
    expect(r.sites.some((x) => x.kfunc === 'bpf_dynptr_read')).toBe(false);
    expect(callSites(r.insns, 201).length).toBe(1);
  });
});

describe('bpf_dynptr_write (hand-written tc program)', () => {
  // r6 = ctx; bpf_dynptr_from_skb(ctx, 0, fp-16); *(u64*)(fp-24) = 0x1122334455667788;
  // r0 = bpf_dynptr_write(fp-16, 0, fp-24, 8, 0); exit
  const fromSkb = ids.get('bpf_dynptr_from_skb')!;
  const insns: Insn[] = [
    insn(0xbf, 6, 1, 0, 0),
    insn(0xb7, 2, 0, 0, 0),
    insn(0xbf, 3, 10, 0, 0),
    insn(0x07, 3, 0, 0, -16),
    insn(0x85, 0, 2, 0, fromSkb),
    insn(0x18, 1, 0, 0, 0x55667788),
    insn(0x00, 0, 0, 0, 0x11223344),
    insn(0x7b, 10, 1, -24, 0),
    insn(0xbf, 1, 10, 0, 0),
    insn(0x07, 1, 0, 0, -16),
    insn(0xb7, 2, 0, 0, 0),
    insn(0xbf, 3, 10, 0, 0),
    insn(0x07, 3, 0, 0, -24),
    insn(0xb7, 4, 0, 0, 8),
    insn(0xb7, 5, 0, 0, 0),
    insn(0x85, 0, 0, 0, 202),
    insn(0x95, 0, 0, 0, 0),
  ];
  it('inlines it and writes the same packet bytes in both engines', () => {
    const r = inlineProgram({ insns, progType: TC }, lib);
    const s = r.sites.find((x) => x.site === 15)!;
    expect(s.kfunc).toBe('bpf_dynptr_write');
    expect(s.inlined).toBe(true);
    expect(r.reverified.accepted).toBe(true);
    const l = { insns, progType: TC, maps: [] } as unknown as Parameters<typeof runOnce>[0];
    const rand = prng(5);
    for (let n = 0; n < 20; n++) {
      const data = randomPacket(rand, 14, 80);
      for (const e of ['interp', 'jit'] as const) {
        const a = runOnce(l, insns, { data }, e);
        const b = runOnce(l, r.insns, { data }, e, r.ctxPcs);
        expect(a.error).toBeUndefined();
        expect(b).toEqual(a);
        expect(a.data.slice(0, 16)).toBe('8877665544332211');
      }
    }
  });
});

describe('helper sites: analysis and bad input', () => {
  const lddw = (dst: number, src: number, imm: number): Insn[] => [insn(0x18, dst, src, 0, imm), insn(0, 0, 0, 0, 0)];
  const call1 = insn(0x85, 0, 0, 0, 1);
  it('finds the map fd reaching r1 through straight-line code and moves only', () => {
    expect(mapFdReachingR1([...lddw(1, 1, 7), call1], 2)).toBe(7);
    expect(mapFdReachingR1([...lddw(3, 1, 7), insn(0xbf, 1, 3, 0, 0), insn(0xb7, 2, 0, 0, 0), call1], 4)).toBe(7);
    // a jump to the definition itself is fine
    expect(mapFdReachingR1([insn(0x15, 2, 0, 1, 0), insn(0xb7, 3, 0, 0, 0), ...lddw(1, 1, 7), call1], 4)).toBe(7);
    // a jump lands after the definition (or on the call): another path may bring another r1
    expect(mapFdReachingR1([insn(0x15, 2, 0, 2, 0), ...lddw(1, 1, 7), insn(0xb7, 2, 0, 0, 0), call1], 4)).toBeUndefined();
    expect(mapFdReachingR1([insn(0x15, 2, 0, 3, 0), ...lddw(1, 1, 7), insn(0xb7, 2, 0, 0, 0), call1], 4)).toBeUndefined();
    // not a map reference, or r1 overwritten
    expect(mapFdReachingR1([...lddw(1, 0, 7), call1], 2)).toBeUndefined();
    expect(mapFdReachingR1([...lddw(1, 1, 7), insn(0x07, 1, 0, 0, 8), call1], 3)).toBeUndefined();
    expect(mapFdReachingR1([call1], 0)).toBeUndefined();
  });
  it('the lookup instance: exits jump to the value-offset tail', () => {
    const body = [insn(0x15, 1, 0, 1, 0), insn(0x95, 0, 0, 0, 0), insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)];
    const x = hashLookupInstance(body, 24);
    expect(x.length).toBe(7);
    expect(x[1]).toEqual(insn(0x05, 0, 0, 2, 0));
    expect(x[3]).toEqual(insn(0x05, 0, 0, 0, 0));
    expect(x.slice(4)).toEqual([insn(0x15, 0, 0, 1, 0), insn(0x07, 0, 0, 0, 24), insn(0x95, 0, 0, 0, 0)]);
  });
  it('an instance at a helper call without an inlinable body is a KfError', () => {
    const insns = [insn(0x85, 0, 0, 0, 5), insn(0x95, 0, 0, 0, 0)];
    const w = makeInstances(insns, () => undefined, () => ({ name: 'x', insns: [insn(0x95, 0, 0, 0, 0)] }));
    expect(() => verify({ insns: w.insns, progType: TC }, { instances: { progLen: w.progLen, list: w.instances } })).toThrow(KfError);
  });
  it('a hash-lookup instance at a lookup on an array map is rejected', () => {
    const l = linked('htab_lookup.bpf.o', 'tc_htab_lookup');
    const hits = l.maps.find((m) => m.name === 'hits')!;
    const site = callSites(l.insns, 1).find((i) => l.insns[i - 2].imm === hits.fd)!;
    const body = hashLookupInstance(lib.bodies.get('__htab_map_lookup_elem')!.insns, 16);
    const w = makeInstances(l.insns, () => undefined, (_x, i) => (i === site ? { name: '__htab_map_lookup_elem', insns: body } : undefined));
    const v = verify({ insns: w.insns, progType: l.progType, maps: l.maps }, { instances: { progLen: w.progLen, list: w.instances } });
    expect(v.accepted).toBe(false);
    expect(v.error).toMatch(/instance of __htab_map_lookup_elem at insn \d+: R1 type=map_ptr is not a map of type 1/);
  });
  it('a region naming a helper without that body is a KfError', () => {
    const l = linked('parse_slices.bpf.o', 'tc_parse_slices');
    const r = inlineProgram({ insns: l.insns, progType: l.progType, maps: l.maps }, lib);
    const bad = r.inlined.map((x) => (x.helper === 201 ? { ...x, helper: 202 } : x));
    expect(() => verify({ insns: r.insns, progType: l.progType, maps: l.maps }, { inlined: bad })).toThrow(/helper 202 has no inlinable body named bpf_dynptr_read/);
  });
});
