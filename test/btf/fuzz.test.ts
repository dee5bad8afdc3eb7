// Malformed BTF only ever raises KfError: truncations, seeded random byte
// flips and random bytes, run through parsing and every lookup; plus the
// exact messages for hand-made bad BTF and cycles.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpRaw, dumpRawType, formatC, parseBtf, parseBtfExt, type Btf } from '../../src/btf/index.js';
import { KfError } from '../../src/util/errors.js';
import { BtfBuilder } from './builder.js';
import { dumpSection, haveObjcopy } from './objtools.js';

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs fn; a KfError is fine, anything else fails the test. Returns whether it succeeded. */
function onlyKf(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof KfError) return false;
    throw e;
  }
}

/** Every lookup on every type of a (possibly hostile but parsed) BTF. */
function exercise(btf: Btf, only?: number[]): void {
  if (!only) onlyKf(() => void [...dumpRaw(btf)]);
  for (const id of only ?? btf.ids()) {
    const t = btf.typeById(id);
    if (only) dumpRawType(btf, t);
    onlyKf(() => btf.typeName(id));
    onlyKf(() => formatC(btf, id));
    onlyKf(() => btf.resolveSize(id));
    onlyKf(() => btf.skipModsAndTypedefs(id));
    onlyKf(() => btf.funcProto(id));
    if ((t.kind === 'STRUCT' || t.kind === 'UNION') && t.members.length) {
      const m = t.members[t.members.length - 1];
      onlyKf(() => btf.memberOffset(id, m.name || 'x'));
    }
    if (t.kind !== 'VOID') onlyKf(() => btf.findByNameKind(t.name, t.kind));
  }
}

const FIX = join(import.meta.dirname, 'fixtures');

describe.skipIf(!haveObjcopy)('fuzzing fixture BTF', () => {
  const good = haveObjcopy ? dumpSection(join(FIX, 'kinds.o'), '.BTF') : new Uint8Array();
  const goodExt = haveObjcopy ? dumpSection(join(FIX, 'core.o'), '.BTF.ext') : new Uint8Array();

  it('every truncation, raw and with the header shrunk to match', () => {
    for (let n = 0; n <= good.length; n++) {
      onlyKf(() => exercise(parseBtf(good.subarray(0, n))));
      const b = good.slice(0, Math.max(n, 24));
      const dv = new DataView(b.buffer);
      const typeLen = dv.getUint32(12, true);
      dv.setUint32(12, Math.min(typeLen, n & ~3), true);
      onlyKf(() => exercise(parseBtf(b)));
    }
  });

  it('5000 seeded random byte flips', () => {
    const r = rng(0xb7f);
    let parsed = 0;
    for (let i = 0; i < 5000; i++) {
      const b = good.slice();
      const flips = 1 + Math.floor(r() * 4);
      for (let k = 0; k < flips; k++) {
        // bias towards the header and the type section, where structure lives
        const at = r() < 0.2 ? Math.floor(r() * 24) : Math.floor(r() * b.length);
        b[at] = r() < 0.5 ? b[at] ^ (1 << Math.floor(r() * 8)) : Math.floor(r() * 256);
      }
      if (onlyKf(() => exercise(parseBtf(b)))) parsed++;
    }
    expect(parsed).toBeGreaterThan(100); // many flips leave a parseable BTF that lookups then walk
  });

  it('2000 seeded flips of .BTF.ext', () => {
    const btf = parseBtf(dumpSection(join(FIX, 'core.o'), '.BTF'));
    const r = rng(42);
    for (let i = 0; i < 2000; i++) {
      const b = goodExt.slice();
      for (let k = 0; k < 3; k++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      onlyKf(() => parseBtfExt(b, btf));
      onlyKf(() => parseBtfExt(b.subarray(0, Math.floor(r() * b.length)), btf));
    }
  });

  it('random bytes behind a valid-looking header', () => {
    const r = rng(7);
    for (let i = 0; i < 3000; i++) {
      const len = 24 + Math.floor(r() * 200);
      const b = new Uint8Array(len);
      for (let k = 0; k < len; k++) b[k] = Math.floor(r() * 256);
      onlyKf(() => exercise(parseBtf(b)));
      b.set([0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0]);
      const typeLen = Math.floor(r() * (len - 24)) & ~3;
      new DataView(b.buffer).setUint32(12, typeLen, true);
      new DataView(b.buffer).setUint32(16, typeLen, true);
      new DataView(b.buffer).setUint32(20, len - 24 - typeLen, true);
      b[24 + typeLen] = 0;
      b[len - 1] = 0;
      onlyKf(() => exercise(parseBtf(b)));
    }
  });
});

const VMLINUX = '/sys/kernel/btf/vmlinux';
describe.skipIf(!existsSync(VMLINUX))('fuzzing vmlinux BTF', () => {
  it('100 seeded flips in the type section', () => {
    const good = new Uint8Array(readFileSync(VMLINUX));
    const typeLen = new DataView(good.buffer, good.byteOffset).getUint32(12, true);
    const r = rng(99);
    for (let i = 0; i < 100; i++) {
      const b = good.slice();
      const at = 24 + Math.floor(r() * typeLen);
      b[at] = Math.floor(r() * 256);
      onlyKf(() => {
        const btf = parseBtf(b);
        btf.findByNameKind('bpf_dynptr_slice', 'FUNC');
        // exercise the types near the flip
        const lo = Math.max(1, Math.floor(((at - 24) / typeLen) * btf.count) - 50);
        exercise(btf, Array.from({ length: Math.min(100, btf.count - lo) }, (_, k) => lo + k));
      });
    }
  });
});

describe('bad BTF messages', () => {
  it('names the type, the member and the limit', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, true);
    b.struct('foo', 12, [['a', int, 0], ['b', int, 32], ['c', 99999, 64]]);
    expect(() => parseBtf(b.build())).toThrow("BTF: type [2] STRUCT 'foo': member 2 refers to type 99999 beyond the last type 2");
    expect(() => parseBtf(b.build(false))).toThrow("BTF: type [2] STRUCT 'foo': member 2 refers to type 99999 beyond the last type 2");
  });

  it('checks FUNC targets and linkages', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, true);
    b.func('f', int);
    expect(() => parseBtf(b.build())).toThrow("BTF: type [2] FUNC 'f': type 1 is not a FUNC_PROTO");
    const b2 = new BtfBuilder();
    const i2 = b2.int('int', 4, true);
    b2.func('g', b2.funcProto(i2, [['x', i2]]), 3);
    expect(() => parseBtf(b2.build())).toThrow("BTF: type [3] FUNC 'g': unknown linkage 3");
    const b3 = new BtfBuilder();
    const i3 = b3.int('int', 4, true);
    b3.type('v', 14, 0, false, i3, [7]);
    expect(() => parseBtf(b3.build())).toThrow("BTF: type [2] VAR 'v': unknown linkage 7");
  });

  it('rejects header and section damage', () => {
    const b = new BtfBuilder();
    b.int('int', 4, true);
    const good = b.build();
    const mut = (fn: (d: DataView, u: Uint8Array) => void): Uint8Array => {
      const u = good.slice();
      fn(new DataView(u.buffer), u);
      return u;
    };
    expect(() => parseBtf(new Uint8Array(0))).toThrow(/BTF: header: 0 bytes, too short/);
    expect(() => parseBtf(mut((_, u) => (u[0] = 1)))).toThrow(/bad magic 0xeb01/);
    expect(() => parseBtf(mut((_, u) => (u[2] = 2)))).toThrow(/unsupported version 2/);
    expect(() => parseBtf(mut((d) => d.setUint32(4, 9999, true)))).toThrow(/hdr_len 9999/);
    expect(() => parseBtf(mut((d) => d.setUint32(12, 400, true)))).toThrow(/type section \[0, \+400\) beyond/);
    expect(() => parseBtf(mut((d) => d.setUint32(12, 14, true)))).toThrow(/not 4-byte aligned/);
    expect(() => parseBtf(mut((d) => d.setUint32(16, 4, true)))).toThrow(/overlaps string section/);
    expect(() => parseBtf(mut((d, u) => (u[u.length - 1] = 65)))).toThrow(/not NUL-terminated/);
    expect(() => parseBtf(mut((d) => d.setUint32(24 + 4, 25 << 24, true)))).toThrow(/type \[1\] at offset 0: unknown kind 25/);
    expect(() => parseBtf(mut((d) => d.setUint32(24, 1000, true)))).toThrow(/type \[1\] INT '\?': type name offset 1000 beyond the string table/);
    expect(() => parseBtf(mut((d) => d.setUint32(24 + 4, (4 << 24) | 5, true)))).toThrow(/type \[1\] STRUCT: vlen 5 needs 72 bytes, only 16 left/);
  });

  it('cycles raise KfError instead of hanging', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, true);
    // [2] typedef a -> [3] const -> [2]
    const td = b.typedef('a', 3);
    const c = b.const(td);
    const arr = b.array(4, int, 1); // [4] array of itself
    const s = b.struct('s', 8, [['', 5, 0]]); // [5] anonymous member of its own type
    const btf = parseBtf(b.build());
    expect([c, arr, s]).toEqual([3, 4, 5]);
    for (const id of [td, c, arr]) expect(() => btf.resolveSize(id)).toThrow(/chain longer than 32 \(a cycle\?\)/);
    // a typedef is spelled by its name, so only the array's declarator recurses
    expect(btf.typeName(c)).toBe('const a');
    expect(() => btf.typeName(arr)).toThrow(/declarator nested deeper than 64 \(a cycle\?\)/);
    expect(formatC(btf, td)).toBe('typedef const a a;');
    expect(() => formatC(btf, arr)).toThrow(KfError);
    expect(() => btf.skipModsAndTypedefs(td)).toThrow(/modifier chain longer than 32 \(a cycle\?\)/);
    expect(() => btf.memberOffset(s, 'nope')).toThrow(/anonymous members nested deeper/);
    expect([...dumpRaw(btf)]).toHaveLength(6);
    expect(() => btf.typeById(6)).toThrow('BTF: type id 6 out of range [0, 5]');
  });
});
