// .BTF.ext of clang-built fixtures: func_info against the symbols llvm-objdump
// sees, line_info against the C source text, CO-RE relocations against the
// offsets clang put into the instructions they relocate.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CORE_RELO_KIND_NAMES, parseBtf, parseBtfExt, type Btf } from '../../src/btf/index.js';
import { decodeInsns } from '../../src/isa/codec.js';
import { dumpSection, haveObjcopy, haveObjdump } from './objtools.js';

const FIX = join(import.meta.dirname, 'fixtures');
const load = (obj: string) => {
  const f = join(FIX, obj);
  const btf = parseBtf(dumpSection(f, '.BTF'));
  return { f, btf, ext: parseBtfExt(dumpSection(f, '.BTF.ext'), btf) };
};

/** section -> [byte address, symbol] of each function, from llvm-objdump -d. */
function objdumpFuncs(obj: string): Map<string, [number, string][]> {
  const out = execFileSync('llvm-objdump-19', ['-d', '--no-show-raw-insn', obj], { encoding: 'utf8' });
  const m = new Map<string, [number, string][]>();
  let sec = '';
  for (const line of out.split('\n')) {
    const s = /^Disassembly of section (.*):$/.exec(line);
    if (s) {
      sec = s[1];
      m.set(sec, []);
    }
    const f = /^([0-9a-f]{16}) <(.*)>:$/.exec(line);
    if (f) m.get(sec)!.push([parseInt(f[1], 16), f[2]]);
  }
  return m;
}

/** Byte offset of a CO-RE field access string ('0:1:1') from type `id`, walked by hand. */
function accessByteOffset(btf: Btf, id: number, access: string): number {
  const idx = access.split(':').map(Number);
  let t = btf.typeById(btf.skipModsAndTypedefs(id));
  let bits = idx[0] * btf.resolveSize(t.id) * 8;
  for (const i of idx.slice(1)) {
    if (t.kind === 'ARRAY') {
      bits += i * btf.resolveSize(t.elemType) * 8;
      t = btf.typeById(btf.skipModsAndTypedefs(t.elemType));
    } else if (t.kind === 'STRUCT' || t.kind === 'UNION') {
      bits += t.members[i].bitOffset;
      t = btf.typeById(btf.skipModsAndTypedefs(t.members[i].type));
    } else throw new Error(`cannot index ${t.kind}`);
  }
  return bits / 8;
}

describe.skipIf(!haveObjcopy)('.BTF.ext', () => {
  for (const obj of ['kinds.o', 'core.o', 'kinds.eb.o', 'core.eb.o']) {
    it.skipIf(!haveObjdump)(`${obj}: func_info names the functions at their offsets`, () => {
      const { f, btf, ext } = load(obj);
      const want = objdumpFuncs(f);
      const got = new Map([...ext.funcInfo].map(([sec, recs]) => [sec, recs.map((r) => [r.insnOff, btf.nameOf(r.typeId)] as [number, string])]));
      const wantExec = new Map([...want].filter(([, v]) => v.length));
      expect(got).toEqual(wantExec);
      for (const recs of ext.funcInfo.values()) for (const r of recs) expect(btf.kindOf(r.typeId)).toBe('FUNC');
    });

    it(`${obj}: line_info text is the source line`, () => {
      const { ext } = load(obj);
      let n = 0;
      for (const recs of ext.lineInfo.values()) {
        for (const r of recs) {
          const src = readFileSync(join(FIX, basename(r.fileName)), 'utf8').split('\n');
          expect(r.line).toBe(src[r.lineNum - 1]);
          expect(r.col).toBeGreaterThan(0);
          expect(r.col).toBeLessThanOrEqual(r.line.length + 1);
          expect(r.insnOff % 8).toBe(0);
          n++;
        }
      }
      expect(n).toBeGreaterThan(5);
    });
  }

  it('core.o: CO-RE relocations match the instructions they patch', () => {
    const { f, btf, ext } = load('core.o');
    const task = btf.findByNameKind('task', 'STRUCT');
    const summary = [...ext.coreRelos].map(([sec, rs]) => [sec, rs.map((r) => `${btf.nameOf(r.typeId)} ${r.access} ${CORE_RELO_KIND_NAMES[r.kind]}`)]);
    expect(summary).toEqual([
      ['tp/one', ['task 0:0 byte_off', 'task 0:1:1 byte_off', 'task 0:2:3 byte_off', 'task 0:3 byte_sz', 'task 0:1 field_exists']],
      ['tp/two', ['task 0 type_size', 'e 1 enumval_value']],
      ['.text', ['task 0:1:0 byte_off']],
    ]);
    let checked = 0;
    for (const [sec, relos] of ext.coreRelos) {
      const insns = decodeInsns(dumpSection(f, sec));
      for (const r of relos) {
        const insn = insns[r.insnOff / 8];
        if (CORE_RELO_KIND_NAMES[r.kind] === 'byte_off') {
          expect(insn.off).toBe(accessByteOffset(btf, r.typeId, r.access));
          checked++;
        }
        if (CORE_RELO_KIND_NAMES[r.kind] === 'type_size') expect(insn.imm).toBe(btf.resolveSize(task));
        if (CORE_RELO_KIND_NAMES[r.kind] === 'field_exists') expect(insn.imm).toBe(1);
      }
    }
    expect(checked).toBe(4);
  });

  it('rejects bad .BTF.ext with KfErrors naming the part', () => {
    const { f, btf } = load('core.o');
    const good = dumpSection(f, '.BTF.ext');
    const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const mut = (fn: (b: Uint8Array) => void): Uint8Array => {
      const b = good.slice();
      fn(b);
      return b;
    };
    expect(() => parseBtfExt(good.subarray(0, 10), btf)).toThrow(/BTF.ext: header: 10 bytes/);
    expect(() => parseBtfExt(mut((b) => (b[0] = 0)), btf)).toThrow(/bad magic/);
    expect(() => parseBtfExt(good.subarray(0, good.length - 4), btf)).toThrow(/beyond the \d+ data bytes/);
    const hdr = dv(good).getUint32(4, true);
    const funcOff = dv(good).getUint32(8, true);
    expect(() => parseBtfExt(mut((b) => dv(b).setUint32(hdr + funcOff, 3, true)), btf)).toThrow(/func_info: record size 3 invalid/);
    expect(() => parseBtfExt(mut((b) => dv(b).setUint32(hdr + funcOff + 4, 1 << 30, true)), btf)).toThrow(/func_info: section name offset/);
    expect(() => parseBtfExt(mut((b) => dv(b).setUint32(hdr + funcOff + 8, 1000, true)), btf)).toThrow(/func_info: section 'tp\/one': 1000 records/);
    expect(() => parseBtfExt(mut((b) => dv(b).setUint32(hdr + funcOff + 16, 99999, true)), btf)).toThrow(/record 0: type id 99999 beyond the last type/);
  });
});
