// ELF64 writer: lays out a relocatable object from sections, symbols and
// relocations. String tables that hold symbol or section names are
// regenerated; symbol tables and relocation sections are encoded from their
// structured form. Output order = input order, so indices are predictable.

import { KfError, hex, withContext } from '../util/errors.js';
import {
  EHDR_SIZE,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  EM_BPF,
  ET_REL,
  EV_CURRENT,
  REL_SIZE,
  RELA_SIZE,
  SHDR_SIZE,
  SHT_NOBITS,
  SHT_NULL,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  STB_LOCAL,
  SYM_SIZE,
} from './consts.js';
import type { ElfFile, ElfWriteInput, WriteSection, WriteSymbol } from './types.js';

/** Builds a string table, sharing identical strings. */
class StrTab {
  private readonly parts: number[][] = [[0]];
  private size = 1;
  private readonly seen = new Map<string, number>([['', 0]]);
  add(s: string): number {
    const got = this.seen.get(s);
    if (got !== undefined) return got;
    const off = this.size;
    const b: number[] = [];
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 0 || c > 0xff) throw new KfError(`name ${JSON.stringify(s)} has a character that cannot be written`);
      b.push(c);
    }
    b.push(0);
    this.parts.push(b);
    this.size += b.length;
    this.seen.set(s, off);
    return off;
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

const align = (n: number, a: number): number => (a > 1 ? Math.ceil(n / a) * a : n);

/** Serialises an object. Throws KfError on inconsistent input (bad indices, names). */
export function writeElf(input: ElfWriteInput): Uint8Array {
  const le = input.littleEndian ?? true;
  const secs: WriteSection[] = [...input.sections];
  const nsec = () => secs.length + 1;
  let shstrndx = input.shstrndx ?? 0;
  if (!shstrndx) {
    const f = (n: string) => secs.findIndex((s) => s.name === n && s.type === SHT_STRTAB) + 1;
    shstrndx = f('.shstrtab') || f('.strtab');
    if (!shstrndx) {
      secs.push({ name: '.shstrtab', type: SHT_STRTAB, addralign: 1 });
      shstrndx = secs.length;
    }
  }
  if (shstrndx >= nsec() || secs[shstrndx - 1].type !== SHT_STRTAB) {
    throw new KfError(`ELF write: shstrndx ${shstrndx} is not a string table section`);
  }

  // One StrTab per generated string table section index.
  const tabs = new Map<number, StrTab>();
  const tab = (i: number): StrTab => {
    let t = tabs.get(i);
    if (!t) tabs.set(i, (t = new StrTab()));
    return t;
  };
  const shTab = tab(shstrndx);
  const nameOff = secs.map((s) => shTab.add(s.name));

  // Encode symbol tables (names first, into their linked string tables).
  const contents: (Uint8Array | null)[] = secs.map(() => null);
  const infos: number[] = secs.map((s) => s.info ?? 0);
  secs.forEach((s, k) => {
    if (s.type !== SHT_SYMTAB) return;
    withContext(`ELF write: section ${k + 1} (${s.name})`, () => {
      const link = s.link ?? 0;
      if (!link || link >= nsec() || secs[link - 1].type !== SHT_STRTAB) throw new KfError(`sh_link ${link} is not a string table`);
      const syms: readonly WriteSymbol[] = s.symbols ?? [];
      const t = tab(link);
      const out = new Uint8Array((syms.length + 1) * SYM_SIZE);
      const dv = new DataView(out.buffer);
      let firstGlobal = syms.length + 1;
      syms.forEach((y, j) => {
        const o = (j + 1) * SYM_SIZE;
        if (y.bind !== STB_LOCAL && firstGlobal > j + 1) firstGlobal = j + 1;
        if (y.bind === STB_LOCAL && firstGlobal <= j) {
          throw new KfError(`symbol ${j + 1} (${y.name}): local symbol after a global one`);
        }
        if (y.shndx < 0 || y.shndx > 0xffff) throw new KfError(`symbol ${j + 1} (${y.name}): section index ${y.shndx} out of range`);
        dv.setUint32(o, t.add(y.name), le);
        dv.setUint8(o + 4, ((y.bind & 0xf) << 4) | (y.type & 0xf));
        dv.setUint8(o + 5, (y.other ?? 0) & 0xff);
        dv.setUint16(o + 6, y.shndx, le);
        dv.setBigUint64(o + 8, BigInt.asUintN(64, y.value), le);
        dv.setBigUint64(o + 16, BigInt.asUintN(64, y.size), le);
      });
      contents[k] = out;
      if (s.info === undefined) infos[k] = firstGlobal;
    });
  });

  // Relocation sections.
  secs.forEach((s, k) => {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) return;
    withContext(`ELF write: section ${k + 1} (${s.name})`, () => {
      const rela = s.type === SHT_RELA;
      const esz = rela ? RELA_SIZE : REL_SIZE;
      const link = s.link ?? 0;
      if (!link || link >= nsec() || secs[link - 1].type !== SHT_SYMTAB) throw new KfError(`sh_link ${link} is not a symbol table`);
      const nsyms = (secs[link - 1].symbols?.length ?? 0) + 1;
      const info = s.info ?? 0;
      if (!info || info >= nsec()) throw new KfError(`sh_info ${info} is not a section`);
      const rs = s.relocs ?? [];
      const out = new Uint8Array(rs.length * esz);
      const dv = new DataView(out.buffer);
      rs.forEach((x, j) => {
        if (x.symbol < 0 || x.symbol >= nsyms) throw new KfError(`relocation ${j}: symbol ${x.symbol} beyond symbol table (${nsyms})`);
        const o = j * esz;
        dv.setBigUint64(o, BigInt.asUintN(64, x.offset), le);
        dv.setBigUint64(o + 8, (BigInt(x.symbol) << 32n) | BigInt(x.type >>> 0), le);
        if (rela) dv.setBigInt64(o + 16, BigInt.asIntN(64, x.addend ?? 0n), le);
      });
      contents[k] = out;
    });
  });

  // Remaining contents: generated string tables, copied data.
  secs.forEach((s, k) => {
    if (contents[k]) return;
    const t = tabs.get(k + 1);
    if (t) contents[k] = t.bytes();
    else if (s.type === SHT_NOBITS || s.type === SHT_NULL) contents[k] = new Uint8Array(0);
    else contents[k] = s.data ?? new Uint8Array(0);
  });

  // Layout: header, section contents, section header table.
  let off = EHDR_SIZE;
  const offsets: number[] = [];
  secs.forEach((s, k) => {
    const a = Math.max(1, s.addralign ?? 1);
    if (s.type === SHT_NOBITS) {
      offsets.push(off);
      return;
    }
    off = align(off, Math.min(a, 4096));
    offsets.push(off);
    off += contents[k]!.length;
  });
  const shoff = align(off, 8);
  const total = shoff + nsec() * SHDR_SIZE;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, ELFCLASS64, le ? ELFDATA2LSB : ELFDATA2MSB, EV_CURRENT, input.osabi ?? 0]);
  dv.setUint16(0x10, input.type ?? ET_REL, le);
  dv.setUint16(0x12, input.machine ?? EM_BPF, le);
  dv.setUint32(0x14, EV_CURRENT, le);
  dv.setBigUint64(0x28, BigInt(shoff), le);
  dv.setUint32(0x30, input.flags ?? 0, le);
  dv.setUint16(0x34, EHDR_SIZE, le);
  dv.setUint16(0x3a, SHDR_SIZE, le);
  if (nsec() >= 0xff00) throw new KfError(`ELF write: ${nsec()} sections need extended numbering (not supported)`);
  dv.setUint16(0x3c, nsec(), le);
  dv.setUint16(0x3e, shstrndx, le);
  secs.forEach((s, k) => {
    const c = contents[k]!;
    if (s.type !== SHT_NOBITS) out.set(c, offsets[k]);
    const o = shoff + (k + 1) * SHDR_SIZE;
    const size = s.type === SHT_NOBITS ? (s.size ?? 0) : c.length;
    const esz =
      s.entsize ?? (s.type === SHT_SYMTAB ? SYM_SIZE : s.type === SHT_REL ? REL_SIZE : s.type === SHT_RELA ? RELA_SIZE : 0);
    const link = s.link ?? 0;
    if (link < 0 || link >= nsec()) throw new KfError(`ELF write: section ${k + 1} (${s.name}): sh_link ${link} is not a section`);
    dv.setUint32(o, nameOff[k], le);
    dv.setUint32(o + 4, s.type >>> 0, le);
    dv.setBigUint64(o + 8, BigInt.asUintN(64, s.flags ?? 0n), le);
    dv.setBigUint64(o + 0x10, BigInt.asUintN(64, s.addr ?? 0n), le);
    dv.setBigUint64(o + 0x18, BigInt(offsets[k]), le);
    dv.setBigUint64(o + 0x20, BigInt(size), le);
    dv.setUint32(o + 0x28, link, le);
    dv.setUint32(o + 0x2c, infos[k] >>> 0, le);
    dv.setBigUint64(o + 0x30, BigInt(s.addralign ?? 1), le);
    dv.setBigUint64(o + 0x38, BigInt(esz), le);
  });
  if (total > 0x7fffffff) throw new KfError(`ELF write: output of ${hex(total)} bytes is too large`);
  return out;
}

/**
 * The writer input that reproduces a parsed file: same sections in the same
 * order, symbols and relocations in structured form (so callers can edit
 * them), string tables regenerated.
 */
export function toWriteInput(f: ElfFile): ElfWriteInput {
  const sections: WriteSection[] = f.sections.slice(1).map((s) => {
    const base = {
      name: s.name,
      type: s.type,
      flags: s.flags,
      addr: s.addr,
      addralign: s.addralign,
      entsize: s.entsize,
      link: s.link,
      info: s.info,
    };
    if (s.type === SHT_SYMTAB && s.index === f.symtabIndex) {
      return {
        ...base,
        info: undefined,
        symbols: f.symbols.slice(1).map((y) => ({
          name: y.name,
          value: y.value,
          size: y.size,
          type: y.type,
          bind: y.bind,
          other: y.other,
          shndx: y.shndx,
        })),
      };
    }
    const rs = f.relocations.find((r) => r.section === s.index);
    if (rs) return { ...base, relocs: rs.entries };
    if (s.type === SHT_NOBITS) return { ...base, size: s.size };
    return { ...base, data: s.data };
  });
  return {
    littleEndian: f.header.littleEndian,
    type: f.header.type,
    machine: f.header.machine,
    flags: f.header.flags,
    osabi: f.header.osabi,
    sections,
    shstrndx: f.header.shstrndx || undefined,
  };
}
