// BTF of objects built with clang-19 -g -target bpf{el,eb}: our raw dump
// against bpftool (live when installed, else the golden *.raw.txt beside the
// fixture), and lookups against facts of the C sources.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dumpRaw, formatC, parseBtf, type Btf } from '../../src/btf/index.js';
import { dumpSection, haveBpftool, haveObjcopy } from './objtools.js';

const FIX = join(import.meta.dirname, 'fixtures');
const OBJS = ['kinds.o', 'kinds.eb.o', 'core.o', 'core.eb.o'];
if (!haveObjcopy) console.warn('skipping fixture BTF tests: llvm-objcopy-19 missing');

const load = (obj: string): Btf => parseBtf(dumpSection(join(FIX, obj), '.BTF'));

describe.skipIf(!haveObjcopy)('fixture objects', () => {
  for (const obj of OBJS) {
    it(`${obj}: raw dump equals bpftool${haveBpftool ? '' : ' (golden)'}`, () => {
      const golden = join(FIX, obj.replace(/\.o$/, '.raw.txt'));
      let want: string;
      if (haveBpftool) {
        want = execFileSync('bpftool', ['btf', 'dump', 'file', join(FIX, obj)], { encoding: 'utf8' });
        if (process.env.UPDATE_GOLDEN) writeFileSync(golden, want);
      } else {
        want = readFileSync(golden, 'utf8');
      }
      const btf = load(obj);
      expect(btf.littleEndian).toBe(!obj.includes('.eb.'));
      expect([...dumpRaw(btf)].join('\n') + '\n').toBe(want);
    });
  }

  it('big- and little-endian BTF decode to the same types', () => {
    const a = load('kinds.o');
    const b = load('kinds.eb.o');
    expect(b.count).toBe(a.count);
    for (let id = 0; id < a.count; id++) expect(b.typeById(id)).toEqual(a.typeById(id));
  });

  it('decodes every kind clang emits', () => {
    const btf = load('kinds.o');
    const kinds = new Set<string>();
    for (const id of btf.ids()) kinds.add(btf.kindOf(id));
    for (const k of ['INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST',
      'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64']) {
      expect(kinds).toContain(k);
    }
  });

  it('looks up types, sizes, members and signatures as the C source declares them', () => {
    const btf = load('kinds.o');
    const pkt = btf.findByNameKind('pkt', 'STRUCT');
    const hdr = btf.findByNameKind('hdr', 'STRUCT');
    expect(pkt).toBeGreaterThan(0);
    expect(btf.resolveSize(hdr)).toBe(16);
    // len(4) flags:3 kind:5 delta:7 ... pad at 8
    expect(btf.memberOffset(pkt, 'hdr.len')).toMatchObject({ bitOffset: 0, bitSize: 0 });
    expect(btf.memberOffset(pkt, 'hdr.kind')).toMatchObject({ bitOffset: 35, bitSize: 5 });
    expect(btf.memberOffset(pkt, 'hdr.pad')).toMatchObject({ bitOffset: 64 });
    // anonymous union right after the 16-byte hdr
    expect(btf.memberOffset(pkt, 'word').bitOffset).toBe(128);
    expect(btf.memberOffset(pkt, 'b[3]').bitOffset).toBe(128 + 24);
    expect(btf.memberOffset(pkt, 'pos.y').bitOffset).toBe(160 + 32);
    expect(btf.memberOffset(pkt, 'matrix[1][2]').bitOffset).toBe(btf.memberOffset(pkt, 'matrix').bitOffset + (4 + 2) * 32);
    expect(btf.typeName(btf.memberOffset(pkt, 'name').type)).toBe('const char *');
    expect(btf.typeName(btf.memberOffset(pkt, 'cb').type)).toBe('int (*)(struct pkt *, u32)');
    expect(btf.typeName(btf.memberOffset(pkt, 'vcb').type)).toBe('int (*)(int, ...)');
    expect(btf.typeName(btf.memberOffset(pkt, 'matrix').type)).toBe('int[3][4]');
    expect(btf.typeName(btf.memberOffset(pkt, 'rp').type)).toBe('int * restrict');
    expect(btf.typeName(btf.memberOffset(pkt, 'opaque').type)).toBe('struct fwd_only *');
    expect(btf.typeName(btf.memberOffset(pkt, 'ou').type)).toBe('union fwd_union *');
    expect(btf.resolveSize(btf.memberOffset(pkt, 'matrix').type)).toBe(48);
    expect(btf.resolveSize(btf.findByNameKind('u32', 'TYPEDEF'))).toBe(4);
    expect(btf.skipModsAndTypedefs(btf.memberOffset(pkt, 'counter').type)).toBe(btf.findByNameKind('int', 'INT'));
    const sum = btf.findByNameKind('sum', 'FUNC');
    const sig = btf.funcProto(sum);
    expect(sig.params.map((p) => [p.name, btf.typeName(p.type)])).toEqual([['p', 'struct pkt *'], ['n', 'u32']]);
    expect(btf.typeName(sig.returnType)).toBe('int');
    expect(btf.typeById(btf.findByNameKind('ext_fn', 'FUNC'))).toMatchObject({ linkage: 'extern' });
    const big = btf.typeById(btf.findByNameKind('big', 'ENUM64'));
    expect(big).toMatchObject({ signed: true, values: [{ name: 'SMALL', value: 1n }, { name: 'HUGE', value: 0xffffffffffffn }, { name: 'NEG64', value: -5n }] });
    const ub = btf.typeById(btf.findByNameKind('ubig', 'ENUM64'));
    expect(ub).toMatchObject({ signed: false, values: [{ value: 0xfedcba9876543210n }] });
    expect(btf.typeById(btf.findByNameKind('color', 'ENUM'))).toMatchObject({ signed: true, values: [{ value: 0 }, { value: 5 }, { value: -1 }] });
    expect(formatC(btf, hdr)).toBe(
      'struct hdr {\n\tu32 len;\n\tunsigned short flags: 3;\n\tunsigned short kind: 5;\n\tint delta: 7;\n\tu64 pad;\n};',
    );
    expect(() => btf.memberOffset(pkt, 'nope')).toThrow(/has no member 'nope'/);
    expect(() => btf.memberOffset(pkt, 'hdr.len.x')).toThrow(/not a struct or union/);
    expect(() => btf.resolveSize(sum)).toThrow(/has no size/);
  });
});
