// ELF64 reader (little- and big-endian) with strict bounds checks: every
// offset and size read from the file is checked before it is used, and every
// failure is a KfError naming the structure and the offending numbers.

import { KfError, hex, withContext } from '../util/errors.js';
import {
  EHDR_SIZE,
  ELFCLASS64,
  ELFDATA2LSB,
  ELFDATA2MSB,
  REL_SIZE,
  RELA_SIZE,
  SHDR_SIZE,
  SHN_LORESERVE,
  SHN_XINDEX,
  SHT_NOBITS,
  SHT_NULL,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  SHT_SYMTAB_SHNDX,
  SYM_SIZE,
} from './consts.js';
import type { ElfFile, ElfHeader, ElfReloc, ElfRelocSection, ElfSection, ElfSymbol } from './types.js';

/** Endian-aware reads at absolute offsets; the caller checks bounds. */
class Bytes {
  readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u8 = (o: number): number => this.dv.getUint8(o);
  u16 = (o: number): number => this.dv.getUint16(o, this.le);
  u32 = (o: number): number => this.dv.getUint32(o, this.le);
  u64 = (o: number): bigint => this.dv.getBigUint64(o, this.le);
  i64 = (o: number): bigint => this.dv.getBigInt64(o, this.le);
}

/** A 64-bit file offset or size as a number, or a KfError if it cannot be one. */
function toNum(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new KfError(`${what} ${hex(v)} is too large`);
  return Number(v);
}

/** Checks that [off, off+size) lies inside a region of `limit` bytes. */
function checkRange(what: string, off: number, size: number, limit: number, region = 'end of file'): void {
  if (off > limit || size > limit - off) {
    throw new KfError(`${what}: offset ${hex(off)} + size ${hex(size)} beyond ${region} (${hex(limit)})`);
  }
}

/** NUL-terminated string at `off` of a string table. */
export function readCString(table: Uint8Array, off: number, what: string): string {
  if (off >= table.length) {
    if (off === 0 && table.length === 0) return '';
    throw new KfError(`${what}: string offset ${hex(off)} beyond string table (size ${hex(table.length)})`);
  }
  const end = table.indexOf(0, off);
  if (end < 0) throw new KfError(`${what}: string at offset ${hex(off)} is not NUL-terminated`);
  let s = '';
  // Names are ASCII in practice; decode as latin1 so every byte string is accepted.
  for (let i = off; i < end; i++) s += String.fromCharCode(table[i]);
  return s;
}

function parseHeader(bytes: Uint8Array): { h: ElfHeader; r: Bytes; shoff: number; shnum: number; shentsize: number } {
  if (bytes.length < EHDR_SIZE) throw new KfError(`ELF: file is ${bytes.length} bytes, shorter than the ELF64 header (64)`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
    throw new KfError('ELF: bad magic (not an ELF file)');
  }
  if (bytes[4] !== ELFCLASS64) throw new KfError(`ELF: class ${bytes[4]} is not ELFCLASS64 (2)`);
  const data = bytes[5];
  if (data !== ELFDATA2LSB && data !== ELFDATA2MSB) throw new KfError(`ELF: unknown data encoding ${data}`);
  const r = new Bytes(bytes, data === ELFDATA2LSB);
  const shoff = toNum(r.u64(0x28), 'ELF: e_shoff');
  const ehsize = r.u16(0x34);
  const shentsize = r.u16(0x3a);
  let shnum = r.u16(0x3c);
  let shstrndx = r.u16(0x3e);
  if (ehsize !== 0 && ehsize < EHDR_SIZE) throw new KfError(`ELF: e_ehsize ${ehsize} is smaller than 64`);
  if (shoff !== 0 || shnum !== 0) {
    if (shentsize !== SHDR_SIZE) throw new KfError(`ELF: e_shentsize ${shentsize} is not 64`);
    // Extended numbering: the real counts live in section 0.
    if (shoff !== 0) {
      checkRange('ELF: section header 0', shoff, SHDR_SIZE, bytes.length);
      if (shnum === 0) shnum = toNum(r.u64(shoff + 0x20), 'ELF: extended section count');
      if (shstrndx === SHN_XINDEX) shstrndx = r.u32(shoff + 0x28);
    }
    if (shnum > bytes.length / SHDR_SIZE) {
      throw new KfError(`ELF: ${shnum} section headers cannot fit in a file of ${hex(bytes.length)} bytes`);
    }
    checkRange(`ELF: section header table (${shnum} entries)`, shoff, shnum * SHDR_SIZE, bytes.length);
  }
  if (shnum > 0 && shstrndx >= shnum) throw new KfError(`ELF: e_shstrndx ${shstrndx} is not a section (${shnum} sections)`);
  const h: ElfHeader = {
    littleEndian: r.le,
    osabi: bytes[7],
    abiVersion: bytes[8],
    type: r.u16(0x10),
    machine: r.u16(0x12),
    version: r.u32(0x14),
    entry: r.u64(0x18),
    flags: r.u32(0x30),
    shstrndx,
  };
  return { h, r, shoff, shnum, shentsize };
}

function sectionLabel(i: number, name?: string): string {
  return name === undefined ? `ELF: section ${i}` : `ELF: section ${i} (${name})`;
}

/** Parses an ELF64 file. The returned sections' data are views into `bytes`. */
export function parseElf(bytes: Uint8Array): ElfFile {
  const { h, r, shoff, shnum } = parseHeader(bytes);

  // Raw headers first, then names (the name table is itself a section).
  interface Raw {
    name: number;
    type: number;
    flags: bigint;
    addr: bigint;
    offset: number;
    size: number;
    link: number;
    info: number;
    addralign: number;
    entsize: number;
  }
  const raw: Raw[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * SHDR_SIZE;
    const lbl = sectionLabel(i);
    raw.push({
      name: r.u32(o),
      type: r.u32(o + 4),
      flags: r.u64(o + 8),
      addr: r.u64(o + 0x10),
      offset: toNum(r.u64(o + 0x18), `${lbl}: sh_offset`),
      size: toNum(r.u64(o + 0x20), `${lbl}: sh_size`),
      link: r.u32(o + 0x28),
      info: r.u32(o + 0x2c),
      addralign: toNum(r.u64(o + 0x30), `${lbl}: sh_addralign`),
      entsize: toNum(r.u64(o + 0x38), `${lbl}: sh_entsize`),
    });
  }
  const hasData = (s: Raw, i: number): boolean => i !== 0 && s.type !== SHT_NOBITS && s.type !== SHT_NULL;
  let names: Uint8Array = new Uint8Array(0);
  if (shnum > 0) {
    const s = raw[h.shstrndx];
    if (h.shstrndx !== 0) {
      if (s.type !== SHT_STRTAB) throw new KfError(`ELF: e_shstrndx ${h.shstrndx} is not a string table (type ${s.type})`);
      checkRange(sectionLabel(h.shstrndx), s.offset, s.size, bytes.length);
      names = bytes.subarray(s.offset, s.offset + s.size);
    }
  }
  const sections: ElfSection[] = raw.map((s, i) => {
    const name = i === 0 || h.shstrndx === 0 ? '' : readCString(names, s.name, `${sectionLabel(i)}: name`);
    const lbl = sectionLabel(i, name);
    if (hasData(s, i)) checkRange(lbl, s.offset, s.size, bytes.length);
    if (s.link >= shnum && s.link !== 0) throw new KfError(`${lbl}: sh_link ${s.link} is not a section (${shnum} sections)`);
    return {
      index: i,
      name,
      type: s.type,
      flags: s.flags,
      addr: s.addr,
      offset: s.offset,
      size: s.size,
      link: s.link,
      info: s.info,
      addralign: s.addralign,
      entsize: s.entsize,
      data: hasData(s, i) ? bytes.subarray(s.offset, s.offset + s.size) : new Uint8Array(0),
    };
  });

  const symtabIndex = sections.findIndex((s) => s.type === SHT_SYMTAB);
  const symbols = symtabIndex > 0 ? readSymbols(r, sections, symtabIndex) : [];

  const relocations: ElfRelocSection[] = [];
  for (const s of sections) {
    if (s.type !== SHT_REL && s.type !== SHT_RELA) continue;
    relocations.push(readRelocs(r, sections, s));
  }

  const byTarget = new Map<number, ElfRelocSection[]>();
  for (const rs of relocations) {
    let l = byTarget.get(rs.target);
    if (!l) byTarget.set(rs.target, (l = []));
    l.push(rs);
  }
  return {
    bytes,
    header: h,
    sections,
    symtabIndex: Math.max(symtabIndex, 0),
    symbols,
    relocations,
    sectionByName: (name) => sections.find((s) => s.name === name && s.index !== 0),
    relocsFor: (target) => byTarget.get(target) ?? [],
  };
}

function readSymbols(r: Bytes, sections: readonly ElfSection[], idx: number): ElfSymbol[] {
  const s = sections[idx];
  const lbl = sectionLabel(idx, s.name);
  return withContext(lbl, () => {
    if (s.entsize !== SYM_SIZE && s.entsize !== 0) throw new KfError(`sh_entsize ${s.entsize} is not ${SYM_SIZE}`);
    if (s.size % SYM_SIZE !== 0) throw new KfError(`size ${hex(s.size)} is not a multiple of ${SYM_SIZE}`);
    const strtab = sections[s.link];
    if (s.link === 0 || strtab.type !== SHT_STRTAB) {
      throw new KfError(`sh_link ${s.link} is not a string table`);
    }
    // SHN_XINDEX symbols take their section index from a SHT_SYMTAB_SHNDX section.
    const xs = sections.find((x) => x.type === SHT_SYMTAB_SHNDX && x.link === idx);
    const n = s.size / SYM_SIZE;
    const out: ElfSymbol[] = [];
    for (let i = 0; i < n; i++) {
      const o = s.offset + i * SYM_SIZE;
      const info = r.u8(o + 4);
      const other = r.u8(o + 5);
      let shndx = r.u16(o + 6);
      const name = readCString(strtab.data, r.u32(o), `symbol ${i}: name`);
      if (shndx === SHN_XINDEX) {
        if (!xs || (i + 1) * 4 > xs.data.length) throw new KfError(`symbol ${i} (${name}): SHN_XINDEX without an SHT_SYMTAB_SHNDX entry`);
        shndx = r.u32(xs.offset + i * 4);
      }
      if (shndx !== 0 && shndx < SHN_LORESERVE && shndx >= sections.length) {
        throw new KfError(`symbol ${i} (${name}): section index ${shndx} is not a section (${sections.length} sections)`);
      }
      out.push({
        index: i,
        name,
        type: info & 0xf,
        bind: info >> 4,
        other,
        visibility: other & 3,
        shndx,
        value: r.u64(o + 8),
        size: r.u64(o + 16),
      });
    }
    return out;
  });
}

function readRelocs(r: Bytes, sections: readonly ElfSection[], s: ElfSection): ElfRelocSection {
  return withContext(sectionLabel(s.index, s.name), () => {
    const rela = s.type === SHT_RELA;
    const esz = rela ? RELA_SIZE : REL_SIZE;
    if (s.entsize !== esz && s.entsize !== 0) throw new KfError(`sh_entsize ${s.entsize} is not ${esz}`);
    if (s.size % esz !== 0) throw new KfError(`size ${hex(s.size)} is not a multiple of ${esz}`);
    if (s.info === 0 || s.info >= sections.length) throw new KfError(`sh_info ${s.info} is not a section to relocate`);
    const symtab = sections[s.link];
    if (s.link === 0 || symtab.type !== SHT_SYMTAB) throw new KfError(`sh_link ${s.link} is not a symbol table`);
    const nsyms = Math.floor(symtab.size / SYM_SIZE);
    const entries: ElfReloc[] = [];
    for (let i = 0; i < s.size / esz; i++) {
      const o = s.offset + i * esz;
      const info = r.u64(o + 8);
      const symbol = Number(info >> 32n);
      const type = Number(info & 0xffffffffn);
      if (symbol >= nsyms) throw new KfError(`relocation ${i}: symbol index ${symbol} beyond symbol table (${nsyms} symbols)`);
      const e: ElfReloc = rela ? { offset: r.u64(o), type, symbol, addend: r.i64(o + 16) } : { offset: r.u64(o), type, symbol };
      entries.push(e);
    }
    return { section: s.index, target: s.info, symtab: s.link, rela, entries };
  });
}
