import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EM_BPF, SHT_NOBITS, SHT_REL, SHT_SYMTAB, STT_FUNC, parseElf, toWriteInput, writeElf } from '../../src/elf/index.js';
import { KfError } from '../../src/util/errors.js';
import { HAVE_CLANG, HAVE_OBJDUMP, HAVE_READELF, ROOT, exampleObjects, needs, readExample, run } from './tools.js';

const objs = exampleObjects();

/** Sections and symbols as llvm-readelf prints them (names, types, sizes). */
function readelfSections(path: string): string[] {
  const out = run('llvm-readelf-19', ['-S', '-W', path]);
  return out
    .split('\n')
    .filter((l) => /^\s+\[\s*\d+\]/.test(l) && !/^\s+\[\s*0\]/.test(l))
    .map((l) => {
      const m = /^\s+\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(l);
      return m ? `${m[1]} ${m[2]} ${m[3]} ${m[4]}` : l;
    });
}
function readelfSymbols(path: string): string[] {
  const out = run('llvm-readelf-19', ['-s', '-W', path]);
  return out
    .split('\n')
    .filter((l) => /^\s+\d+:/.test(l))
    .map((l) => l.trim().split(/\s+/).slice(1).join(' '));
}
function readelfRelocs(path: string): string[] {
  return run('llvm-readelf-19', ['-r', '-W', path])
    .split('\n')
    .filter((l) => /^[0-9a-f]{16}\s/.test(l));
}

describe('parseElf on the example objects', () => {
  it('finds examples', () => expect(objs.length).toBeGreaterThanOrEqual(7));

  for (const name of objs) {
    it(`${name}: header, sections, symbols, relocations`, () => {
      const f = parseElf(readExample(name));
      expect(f.header.machine).toBe(EM_BPF);
      expect(f.header.littleEndian).toBe(true);
      expect(f.sections[0].type).toBe(0);
      expect(f.sectionByName('.BTF')).toBeDefined();
      expect(f.sectionByName('license')!.data.length).toBeGreaterThan(0);
      expect(f.sections[f.symtabIndex].type).toBe(SHT_SYMTAB);
      expect(f.symbols.some((s) => s.type === STT_FUNC)).toBe(true);
      for (const rs of f.relocations) {
        expect(f.sections[rs.section].type).toBe(SHT_REL);
        for (const r of rs.entries) expect(r.symbol).toBeLessThan(f.symbols.length);
      }
    });

    it.skipIf(!HAVE_READELF)(`${name}: sections and symbols agree with llvm-readelf-19${needs('llvm-readelf-19', HAVE_READELF)}`, () => {
      const path = join(ROOT, 'examples/build', name);
      const f = parseElf(readExample(name));
      const ours = f.sections.slice(1).map((s) => `${s.index} ${s.name} ${s.size.toString(16).padStart(6, '0')}`);
      const theirs = readelfSections(path).map((l) => {
        const [i, n, , sz] = l.split(' ');
        return `${i} ${n} ${sz}`;
      });
      expect(ours).toEqual(theirs);
      const syms = readelfSymbols(path);
      expect(syms.length).toBe(f.symbols.length);
      f.symbols.forEach((s, i) => {
        const cols = syms[i].split(' ');
        expect(BigInt('0x' + cols[0])).toBe(s.value);
        expect(BigInt(cols[1])).toBe(s.size);
        if (s.type !== 3) expect(cols[6] ?? '').toBe(s.name);
      });
      const nrel = f.relocations.reduce((a, r) => a + r.entries.length, 0);
      expect(readelfRelocs(path).length).toBe(nrel);
    });
  }
});

describe('writeElf', () => {
  for (const name of objs) {
    it(`${name}: read -> write -> read round trips`, () => {
      const a = parseElf(readExample(name));
      const bytes = writeElf(toWriteInput(a));
      const b = parseElf(bytes);
      expect(b.sections.length).toBe(a.sections.length);
      a.sections.forEach((s, i) => {
        const t = b.sections[i];
        expect([t.name, t.type, t.flags, t.link, t.info, t.addralign]).toEqual([s.name, s.type, s.flags, s.link, s.info, s.addralign]);
        if (s.type !== 3) expect(t.size).toBe(s.size);
        if (s.type !== SHT_NOBITS && s.type !== 3 && s.type !== SHT_SYMTAB) expect(t.data).toEqual(s.data);
      });
      expect(b.symbols).toEqual(a.symbols);
      expect(b.relocations.map((r) => [r.section, r.target, r.entries])).toEqual(a.relocations.map((r) => [r.section, r.target, r.entries]));
      // A second round is byte-identical.
      expect(writeElf(toWriteInput(b))).toEqual(bytes);
    });
  }

  it.skipIf(!HAVE_READELF || !HAVE_OBJDUMP)(`llvm-readelf-19 and llvm-objdump-19 show the same sections, symbols, relocations and code for written files${needs('llvm-readelf-19/llvm-objdump-19', HAVE_READELF && HAVE_OBJDUMP)}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-elf-'));
    try {
      for (const name of objs) {
        const orig = join(ROOT, 'examples/build', name);
        const out = join(dir, name);
        writeFileSync(out, writeElf(toWriteInput(parseElf(readExample(name)))));
        const strip = (l: string[]) => l.map((x) => x.split(' ').filter((_, i) => i !== 3).join(' '));
        expect(readelfSections(out).map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual(
          readelfSections(orig).map((l) => l.split(' ').slice(0, 3).join(' ')),
        );
        expect(strip(readelfSymbols(out))).toEqual(strip(readelfSymbols(orig)));
        expect(readelfRelocs(out)).toEqual(readelfRelocs(orig));
        const objdump = (p: string) => run('llvm-objdump-19', ['-dr', '--no-show-raw-insn', p]).split('\n').slice(2).join('\n');
        expect(objdump(out)).toEqual(objdump(orig));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes big-endian objects that read back', () => {
    const a = parseElf(readExample(objs[0]));
    const inp = { ...toWriteInput(a), littleEndian: false };
    const b = parseElf(writeElf(inp));
    expect(b.header.littleEndian).toBe(false);
    expect(b.symbols).toEqual(a.symbols);
    expect(b.relocations.map((r) => r.entries)).toEqual(a.relocations.map((r) => r.entries));
  });

  it('rejects inconsistent input with KfError', () => {
    const a = toWriteInput(parseElf(readExample(objs[0])));
    const bad = { ...a, sections: a.sections.map((s) => (s.type === SHT_REL ? { ...s, link: 0 } : s)) };
    expect(() => writeElf(bad)).toThrow(KfError);
    const bad2 = { ...a, sections: a.sections.map((s) => (s.type === SHT_REL ? { ...s, relocs: [{ offset: 0n, type: 1, symbol: 99999 }] } : s)) };
    expect(() => writeElf(bad2)).toThrow(/beyond symbol table/);
  });
});

describe.skipIf(!HAVE_CLANG)(`big-endian objects from clang-19 -target bpfeb${needs('clang-19', HAVE_CLANG)}`, () => {
  it('parses the same sections and symbols as the little-endian build', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-elf-'));
    try {
      const src = join(ROOT, 'examples', 'subprogs.bpf.c');
      const args = ['-O2', '-g', '-mcpu=v3', `-I${join(ROOT, 'examples/include')}`, '-c', src];
      const inc = run('sh', ['-c', 'ls -d /usr/include/*/asm 2>/dev/null | head -1']).trim();
      if (inc) args.push(`-I${inc.replace(/\/asm$/, '')}`);
      run('clang-19', ['-target', 'bpfeb', ...args, '-o', join(dir, 'eb.o')]);
      run('clang-19', ['-target', 'bpfel', ...args, '-o', join(dir, 'el.o')]);
      const eb = parseElf(new Uint8Array(readFileSync(join(dir, 'eb.o'))));
      const el = parseElf(new Uint8Array(readFileSync(join(dir, 'el.o'))));
      expect(eb.header.littleEndian).toBe(false);
      expect(eb.sections.map((s) => [s.name, s.size])).toEqual(el.sections.map((s) => [s.name, s.size]));
      expect(eb.symbols.map((s) => [s.name, s.value, s.size, s.type, s.bind])).toEqual(el.symbols.map((s) => [s.name, s.value, s.size, s.type, s.bind]));
      expect(eb.relocations.map((r) => r.entries.map((e) => [e.offset, e.symbol, e.type]))).toEqual(
        el.relocations.map((r) => r.entries.map((e) => [e.offset, e.symbol, e.type])),
      );
      const back = parseElf(writeElf(toWriteInput(eb)));
      expect(back.symbols).toEqual(eb.symbols);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
