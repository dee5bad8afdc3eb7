// Split BTF: ids and string offsets continue after the base (module BTF on
// top of vmlinux). Built by hand on top of a fixture's BTF and on top of the
// running kernel's vmlinux, checked against bpftool's `base` mode.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dumpRaw, parseBtf, type Btf } from '../../src/btf/index.js';
import { BtfBuilder } from './builder.js';
import { dumpSection, haveBpftool, haveObjcopy } from './objtools.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const haveVmlinux = existsSync(VMLINUX);
const tmp = mkdtempSync(join(tmpdir(), 'kfbtf-split-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A split BTF on `base`: re-uses base names, adds new ones, duplicates a base name. */
function buildSplit(base: Btf, baseStruct: string, baseInt: string): { bytes: Uint8Array; ids: Record<string, number> } {
  const b = new BtfBuilder(base.count, base.strTotal);
  const sid = base.findByNameKind(baseStruct, 'STRUCT');
  const iid = base.findByNameKind(baseInt, 'INT');
  expect(sid).toBeGreaterThan(0);
  expect(iid).toBeGreaterThan(0);
  const ptr = b.ptr(sid);
  const dup = b.type(base.nameOffOf(sid), 4, 0, false, 0); // empty struct with the base's name offset
  const own = b.struct('kf_split', 16, [['p', ptr, 0], ['n', iid, 64]]);
  const pown = b.ptr(own);
  const proto = b.funcProto(iid, [['s', pown], ['x', iid]]);
  const fn = b.func('kf_split_fn', proto);
  const arr = b.array(own, iid, 3);
  const td = b.typedef('kf_split_arr', arr);
  return { bytes: b.build(base.littleEndian), ids: { sid, iid, ptr, dup, own, pown, proto, fn, arr, td } };
}

function checkSplit(base: Btf, split: Btf, ids: Record<string, number>, baseStruct: string): void {
  expect(split.startId).toBe(base.count);
  expect(split.count).toBe(base.count + 8);
  expect(split.typeById(ids.sid)).toBe(base.typeById(ids.sid));
  expect(split.nameOf(ids.dup)).toBe(baseStruct);
  // base first: the base's struct wins over the split's duplicate
  expect(split.findByNameKind(baseStruct, 'STRUCT')).toBe(ids.sid);
  expect(split.findByNameKind('kf_split', 'STRUCT')).toBe(ids.own);
  expect(split.findByNameKind('kf_split_fn', 'FUNC')).toBe(ids.fn);
  expect(base.findByNameKind('kf_split', 'STRUCT')).toBe(-1);
  expect(split.typeName(ids.pown)).toBe('struct kf_split *');
  expect(split.memberOffset(ids.own, 'n')).toEqual({ bitOffset: 64, bitSize: 0, type: ids.iid });
  expect(split.resolveSize(ids.td)).toBe(48);
  expect(split.funcProto(ids.fn).params.map((p) => p.name)).toEqual(['s', 'x']);
}

function bpftoolSplit(file: string, baseFile: string): string[] {
  // bpftool v7.1 takes the base with the global -B option (newer ones also accept `base FILE`).
  const out = execFileSync('bpftool', ['-B', baseFile, 'btf', 'dump', 'file', file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  return out.split('\n').slice(0, -1);
}

describe('split BTF', () => {
  it.skipIf(!haveObjcopy)('on a fixture object BTF, both byte orders', () => {
    for (const obj of ['kinds.o', 'kinds.eb.o']) {
      const baseBytes = dumpSection(join(import.meta.dirname, 'fixtures', obj), '.BTF');
      const base = parseBtf(baseBytes);
      const { bytes, ids } = buildSplit(base, 'pkt', 'int');
      const split = parseBtf(bytes, base);
      checkSplit(base, split, ids, 'pkt');
      if (haveBpftool) {
        writeFileSync(join(tmp, 'base.btf'), baseBytes);
        writeFileSync(join(tmp, 'split.btf'), bytes);
        expect([...dumpRaw(split)]).toEqual(bpftoolSplit(join(tmp, 'split.btf'), join(tmp, 'base.btf')));
      }
    }
  });

  it.skipIf(!haveVmlinux)('on the running kernel vmlinux', () => {
    const base = parseBtf(readFileSync(VMLINUX));
    const { bytes, ids } = buildSplit(base, 'sk_buff', 'int');
    const split = parseBtf(bytes, base);
    checkSplit(base, split, ids, 'sk_buff');
    expect(split.findByNameKind('bpf_dynptr_slice', 'FUNC')).toBe(base.findByNameKind('bpf_dynptr_slice', 'FUNC'));
    if (haveBpftool) {
      writeFileSync(join(tmp, 'vsplit.btf'), bytes);
      expect([...dumpRaw(split)]).toEqual(bpftoolSplit(join(tmp, 'vsplit.btf'), VMLINUX));
    }
  });

  it('rejects references past the split and strings past the split string table', () => {
    const b = new BtfBuilder();
    const i = b.int('int', 4, true);
    const base = parseBtf(b.build());
    const s = new BtfBuilder(base.count, base.strTotal);
    s.ptr(base.count + 5);
    expect(() => parseBtf(s.build(), base)).toThrow(/type \[2\] PTR '': it refers to type 7 beyond the last type 2/);
    const s2 = new BtfBuilder(base.count, base.strTotal);
    s2.type(base.strTotal + 100, 2, 0, false, i);
    expect(() => parseBtf(s2.build(), base)).toThrow(/name offset \d+ beyond the string table/);
  });

  const mods = haveVmlinux ? readdirSync('/sys/kernel/btf').filter((m) => m !== 'vmlinux') : [];
  it.skipIf(!haveVmlinux || mods.length === 0)(`real module BTF (${mods.slice(0, 3).join(', ') || 'none loaded'})`, () => {
    const base = parseBtf(readFileSync(VMLINUX));
    for (const m of mods.slice(0, 5)) {
      const file = join('/sys/kernel/btf', m);
      const split = parseBtf(readFileSync(file), base);
      expect(split.startId).toBe(base.count);
      if (haveBpftool) expect([...dumpRaw(split)]).toEqual(bpftoolSplit(file, VMLINUX));
    }
  });
});
