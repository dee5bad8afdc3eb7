// rewriteObject(): rewritten (e.g. inlined) linked programs written back as
// a relocatable BPF object that llvm-objdump and libbpf accept — the inverse
// of loadObject()'s linking (libbpf's bpf_object__reloc_code() and
// bpf_object__relocate_data()). References are re-emitted the way clang
// emits them, so that libbpf resolves them again at load time
// (rewrite-program.ts):
//
//   map (BTF-defined / legacy)  lddw imm 0            R_BPF_64_64 → the map's symbol
//   global data (.data, ...)    lddw imm offset       R_BPF_64_64 → the section symbol
//   kconfig extern              lddw imm 0            R_BPF_64_64 → the extern's undefined symbol
//   ksym variable               lddw imm 0            R_BPF_64_64 → the extern's undefined symbol
//   kfunc call                  call -1 (src 1)       R_BPF_64_32 → the kfunc's undefined symbol
//   call program → subprogram   call k (src 1)        R_BPF_64_32 → ".text" section symbol (k = slot in .text - 1)
//   function address            lddw imm byte offset  R_BPF_64_64 → ".text" section symbol
//
// Which programs: exactly the ones given, each once; the object's other
// programs are dropped (pass unchangedProgram(p) to keep one as it is).
//
// Layout: each entry function in its original section — programs of one
// section (clang's two functions with the same SEC()) one after another in
// the object's order — and each program's subprograms as one block in
// ".text" (libbpf only looks for subprograms there, and appends to each
// program the subprograms it reaches by relocation, so per-program copies
// are what it links). A block equal to an earlier one (same instructions,
// relocations and records: e.g. two unchanged programs calling the same
// subprograms) is written once and shared; otherwise same-named copies of a
// subprogram sit side by side (libbpf and the kernel accept that; tested),
// the copies of a global function after the first as local symbols.
// DWARF and .llvm_addrsig are dropped; data and map sections, license,
// version and .BTF are copied unchanged; .BTF.ext is regenerated for the new
// slots (func_info, line_info, CO-RE relocations) as libbpf's
// bpf_object__relocate() reads it (insn_off in bytes from section start).
// Dropping .BTF.ext (opts.btfExt false) was tried against Linux 6.18: libbpf
// then passes no func_info, which the kernel accepts for static subprograms
// but refuses for a bpf_loop callback ("missing btf func_info").

import {
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHF_INFO_LINK,
  SHN_LORESERVE,
  SHT_NOBITS,
  SHT_PROGBITS,
  SHT_REL,
  SHT_RELA,
  SHT_STRTAB,
  SHT_SYMTAB,
  STB_GLOBAL,
  STB_LOCAL,
  STT_FUNC,
  STT_SECTION,
  writeElf,
  type ElfSection,
  type WriteReloc,
  type WriteSection,
  type WriteSymbol,
} from '../elf/index.js';
import type { Insn } from '../isa/insn.js';
import { KfError, withContext } from '../util/errors.js';
import { encodeSection } from './funcs.js';
import { btfStr, btfStrings, encodeBtfExt, extRows, type ExtRow, type ExtRows } from './rewrite-btf-ext.js';
import { placeTextBlock, rewriteProgram, type KfuncNamer, type ProgramParts, type Reloc, type Target } from './rewrite-program.js';
import type { BpfObject, BpfProgram } from './types.js';

export interface RewriteObjectOptions {
  /**
   * Names the kernel function a kfunc call (src 2) carries by its BTF id.
   * Surviving calls of the original program are recognised without it; with
   * it, kfunc calls that the rewrite introduced (e.g. inside an inlined body)
   * are written too when they name one of the object's kfunc externs, and a
   * call at a surviving site must name the same kfunc as before.
   * A program's own `kfuncName` (RewrittenProgram) overrides this one.
   */
  readonly kfuncName?: KfuncNamer;
  /** Write a regenerated .BTF.ext when the object has one (default true). */
  readonly btfExt?: boolean;
}

/** One program to write: its name in the object and its rewritten linked instructions. */
export interface RewrittenProgram {
  readonly name: string;
  /**
   * The whole linked program (entry function, then its subprograms) with
   * pc-relative calls; map references as lddw with BPF_PSEUDO_MAP_FD/VALUE
   * (map index or fd: the map is recognised by its old slot), kfunc calls
   * with src 2 (any imm).
   */
  readonly insns: readonly Insn[];
  /** `map[old slot]` = new slot, for each slot of the object's linked program (length old + 1). */
  readonly map: Int32Array;
  /** Overrides RewriteObjectOptions.kfuncName for this program (also when present but undefined). */
  readonly kfuncName?: KfuncNamer | undefined;
}

/** A program written as the object has it (its linked instructions, the identity slot map, no kfuncName). */
export function unchangedProgram(prog: BpfProgram): RewrittenProgram {
  return { name: prog.name, insns: prog.insns, map: Int32Array.from({ length: prog.insns.length + 1 }, (_, i) => i), kfuncName: undefined };
}

const isCode = (s: ElfSection) => (s.flags & SHF_EXECINSTR) !== 0n;
/** Data, map, license and version sections: allocated, not code. */
const isKeptData = (s: ElfSection) => (s.type === SHT_PROGBITS || s.type === SHT_NOBITS) && (s.flags & SHF_ALLOC) !== 0n && !isCode(s);

/** A code section of the output being filled: its slots, relocations (slots in the section) and .BTF.ext records. */
interface CodeSec {
  readonly name: string;
  readonly insns: Insn[];
  readonly relocs: Reloc[];
  readonly func: number[][];
  readonly line: number[][];
  readonly core: number[][];
  /** Function symbols: name, first slot, slots, original symbol (for bind and visibility). */
  readonly syms: { name: string; slot: number; size: number; entry: boolean }[];
}

const newCodeSec = (name: string): CodeSec => ({ name, insns: [], relocs: [], func: [], line: [], core: [], syms: [] });

/** Appends slots [from, to) of program `p` (instructions `out`) at the end of `sec`, with their relocations and records. */
function append(sec: CodeSec, p: ProgramParts, out: readonly Insn[], rows: ExtRows | undefined, from: number, to: number): number {
  const base = sec.insns.length;
  const at = (slot: number) => base + slot - from;
  const inRange = (slot: number) => slot >= from && slot < to;
  for (let j = from; j < to; j++) sec.insns.push(out[j]);
  for (const r of p.relocs) if (inRange(r.slot)) sec.relocs.push({ ...r, slot: at(r.slot) });
  const rec = (dst: number[][], src: readonly ExtRow[]) => {
    for (const r of src) if (inRange(r.slot)) dst.push([at(r.slot) * 8, ...r.rest]);
  };
  if (rows) {
    rec(sec.func, rows.func);
    rec(sec.line, rows.line);
    rec(sec.core, rows.core);
  }
  for (const f of p.funcs) if (inRange(f.start)) sec.syms.push({ name: f.name, slot: at(f.start), size: f.end - f.start, entry: f.start === 0 });
  return base;
}

/** What makes two programs' subprogram blocks the same bytes for libbpf: instructions, relocations, records, function names. */
function blockKey(p: ProgramParts, rows: ExtRows | undefined): string {
  const rel = (slot: number) => slot - p.split;
  const inText = (slot: number) => slot >= p.split;
  const pick = (rs: readonly ExtRow[] | undefined) => (rs ?? []).filter((r) => inText(r.slot)).map((r) => [rel(r.slot), ...r.rest]);
  return JSON.stringify([
    p.out.slice(p.split).map((x) => [x.code, x.dst, x.src, x.off, x.imm]),
    p.relocs.filter((r) => inText(r.slot)).map((r) => [rel(r.slot), r.type, r.target]),
    pick(rows?.func),
    pick(rows?.line),
    pick(rows?.core),
    p.funcs.filter((f) => inText(f.start)).map((f) => [f.name, rel(f.start), f.end - f.start]),
  ]);
}

/**
 * Writes the given programs of `obj` as a BPF object (see the top of this
 * file). `programs` may come in any order; they are written in the
 * object's order (by section, then offset in the section).
 */
export function rewriteObject(obj: BpfObject, programs: readonly RewrittenProgram[], opts?: RewriteObjectOptions): Uint8Array;
/** One program (the others are dropped): the same as `rewriteObject(obj, [{ name, insns, map }], opts)`. */
export function rewriteObject(obj: BpfObject, progName: string, newInsns: readonly Insn[], map: Int32Array, opts?: RewriteObjectOptions): Uint8Array;
export function rewriteObject(
  obj: BpfObject,
  a: readonly RewrittenProgram[] | string,
  b?: readonly Insn[] | RewriteObjectOptions,
  map?: Int32Array,
  o?: RewriteObjectOptions,
): Uint8Array {
  if (typeof a === 'string') {
    if (!Array.isArray(b) || !(map instanceof Int32Array)) throw new KfError('rewriteObject(obj, name, insns, map): insns must be an array and map an Int32Array');
    return rewriteMany(obj, [{ name: a, insns: b as readonly Insn[], map }], o ?? {});
  }
  if (!Array.isArray(a)) throw new KfError('rewriteObject: programs must be an array');
  return rewriteMany(obj, a, (b as RewriteObjectOptions | undefined) ?? {});
}

function rewriteMany(obj: BpfObject, given: readonly RewrittenProgram[], opts: RewriteObjectOptions): Uint8Array {
  const { elf } = obj;
  const le = elf.header.littleEndian;
  if (given.length === 0) throw new KfError('no program to write');
  const all = obj.programs.map((p) => p.name).join(', ') || 'none';
  const seen = new Set<string>();
  const progs = given.map((g) => {
    const prog = obj.programs.find((p) => p.name === g.name);
    if (!prog) throw new KfError(`no program "${g.name}" in the object (programs: ${all})`);
    if (seen.has(g.name)) throw new KfError(`program "${g.name}" is given twice`);
    seen.add(g.name);
    return { g, prog, order: obj.programs.indexOf(prog) };
  });
  // The object's order: loadObject() lists programs by section, then offset.
  progs.sort((x, y) => x.order - y.order);
  const btfSec = elf.sectionByName('.BTF');
  const withExt = !!(btfSec && obj.btfExt && (opts.btfExt ?? true));
  const str = withExt ? btfStr(withContext('section ".BTF"', () => btfStrings(btfSec!.data, le))) : undefined;

  // Lay the programs out: entry functions in their sections, subprogram blocks in .text.
  const codeSecs = new Map<string, CodeSec>();
  const text = newCodeSec('.text');
  const blocks = new Map<string, number>(); // block key → slot in .text
  for (const { g, prog } of progs) {
    withContext(`writing program "${prog.name}"`, () => {
      if (prog.section === '.text' || elf.sections.some((s) => isKeptData(s) && s.name === prog.section)) {
        throw new KfError(`program section "${prog.section}" clashes with a section of the output`);
      }
      const kfuncName = 'kfuncName' in g ? g.kfuncName : opts.kfuncName;
      const p = rewriteProgram(obj, prog, g.insns, g.map, kfuncName);
      const rows = str && withContext('section ".BTF.ext"', () => extRows(prog, g.map, str));
      let textBase = 0;
      if (p.split < p.out.length) {
        const key = blockKey(p, rows);
        const known = blocks.get(key);
        textBase = known ?? text.insns.length;
        if (known === undefined) {
          blocks.set(key, textBase);
          append(text, p, placeTextBlock(p, textBase), rows, p.split, p.out.length);
        }
      }
      let sec = codeSecs.get(prog.section);
      if (!sec) codeSecs.set(prog.section, (sec = newCodeSec(prog.section)));
      append(sec, p, placeTextBlock(p, textBase), rows, 0, p.split);
    });
  }
  const code = [...codeSecs.values(), ...(text.insns.length ? [text] : [])];

  // Sections of the output, in order; indices in the file are position + 1.
  const secs: WriteSection[] = [{ name: '.strtab', type: SHT_STRTAB, addralign: 1 }];
  const STRTAB = 1;
  const idx = new Map<string, number>(); // output section name → index
  const add = (s: WriteSection): number => {
    secs.push(s);
    idx.set(s.name, secs.length);
    return secs.length;
  };
  const codeFlags = { flags: SHF_ALLOC | SHF_EXECINSTR, addralign: 8 };
  for (const c of code) add({ name: c.name, type: SHT_PROGBITS, ...codeFlags, data: encodeSection(c.insns, le) });
  const oldToNewSec = new Map<number, number>();
  for (const s of elf.sections) {
    if (!isKeptData(s)) continue;
    oldToNewSec.set(s.index, add({ name: s.name, type: s.type, flags: s.flags, addralign: s.addralign, entsize: s.entsize, ...(s.type === SHT_NOBITS ? { size: s.size } : { data: s.data }) }));
  }
  if (btfSec) add({ name: '.BTF', type: btfSec.type, flags: btfSec.flags, addralign: btfSec.addralign, data: btfSec.data });
  if (withExt) {
    const data = withContext('section ".BTF.ext"', () => encodeBtfExt(code.map((c) => ({ section: c.name, func: c.func, line: c.line, core: c.core })), str!, le));
    add({ name: '.BTF.ext', type: SHT_PROGBITS, addralign: 4, data });
  }

  // Symbols: locals first (section symbols, local functions and data), then globals.
  const locals: WriteSymbol[] = [];
  const globals: WriteSymbol[] = [];
  const oldSym = new Map<number, { local: boolean; k: number }>();
  const secSym = new Map<number, { local: boolean; k: number }>(); // output section index → its section symbol
  const push = (y: WriteSymbol) => {
    const local = y.bind === STB_LOCAL;
    (local ? locals : globals).push(y);
    return { local, k: (local ? locals : globals).length - 1 };
  };
  const addSecSym = (shndx: number) => secSym.set(shndx, push({ name: '', value: 0n, size: 0n, type: STT_SECTION, bind: STB_LOCAL, shndx }));
  for (const c of code) addSecSym(idx.get(c.name)!);
  for (const ni of oldToNewSec.values()) addSecSym(ni);
  const origFunc = (name: string, section: string) =>
    elf.symbols.find((y) => y.type === STT_FUNC && y.name === name && y.shndx !== 0 && elf.sections[y.shndx]?.name === section);
  // A second copy of a global subprogram (blocks that differ) is written
  // local: libbpf loads duplicate global symbols, but its static linker
  // (`bpftool gen object`) refuses them ("conflicting non-weak symbol"). The
  // kernel takes a function's linkage from BTF, which both copies share.
  const globalNames = new Set<string>();
  for (const c of code) {
    for (const f of c.syms) {
      const y = origFunc(f.name, c.name);
      let bind = f.entry ? STB_GLOBAL : (y?.bind ?? STB_LOCAL);
      if (bind !== STB_LOCAL && globalNames.has(f.name)) bind = STB_LOCAL;
      if (bind !== STB_LOCAL) globalNames.add(f.name);
      push({ name: f.name, value: BigInt(f.slot * 8), size: BigInt(f.size * 8), type: STT_FUNC, bind, other: y?.other ?? 0, shndx: idx.get(c.name)! });
    }
  }
  for (const y of elf.symbols) {
    if (y.index === 0 || y.type === STT_SECTION) continue;
    let shndx: number | undefined;
    if (y.shndx === 0) shndx = y.name ? 0 : undefined;
    else if (y.shndx < SHN_LORESERVE) shndx = oldToNewSec.get(y.shndx);
    if (shndx === undefined) continue;
    oldSym.set(y.index, push({ name: y.name, value: y.value, size: y.size, type: y.type, bind: y.bind, other: y.other, shndx }));
  }
  const symIndex = (e: { local: boolean; k: number }) => 1 + (e.local ? e.k : locals.length + e.k);
  const targetSym = (t: Target): number => {
    if (t.kind === 'sym') {
      const e = oldSym.get(t.sym);
      if (!e) throw new KfError(`symbol "${elf.symbols[t.sym]?.name}" is not written`);
      return symIndex(e);
    }
    const e = secSym.get(idx.get(t.section) ?? -1);
    if (!e) throw new KfError(`no section "${t.section}" in the output`);
    return symIndex(e);
  };

  // Relocation sections: of the code (right after each section) and of kept
  // sections such as .rel.maps (at the end), with symbols renumbered.
  const rels: { after: number; sec: WriteSection }[] = [];
  for (const c of code) {
    if (!c.relocs.length) continue;
    const at = idx.get(c.name)!;
    const relocs = c.relocs.map<WriteReloc>((r) => ({ offset: BigInt(r.slot * 8), type: r.type, symbol: targetSym(r.target) }));
    rels.push({ after: at, sec: { name: `.rel${c.name}`, type: SHT_REL, flags: SHF_INFO_LINK, info: at, addralign: 8, relocs } });
  }
  for (const rs of elf.relocations) {
    const ni = oldToNewSec.get(rs.target);
    if (ni === undefined) continue;
    const s = elf.sections[rs.section];
    withContext(`section "${s.name}"`, () => {
      const entries = rs.entries.map<WriteReloc>((r, k) => {
        const y = elf.symbols[r.symbol];
        const e = oldSym.get(r.symbol) ?? (y?.type === STT_SECTION ? secSym.get(oldToNewSec.get(y.shndx) ?? -1) : undefined);
        if (!e) throw new KfError(`relocation ${k}: symbol ${r.symbol} ("${y?.name ?? ''}") refers to something not written`);
        return { offset: r.offset, type: r.type, symbol: symIndex(e), ...(r.addend !== undefined && { addend: r.addend }) };
      });
      rels.push({ after: Infinity, sec: { name: s.name, type: rs.rela ? SHT_RELA : SHT_REL, flags: SHF_INFO_LINK, info: ni, addralign: 8, relocs: entries } });
    });
  }
  // Output index (before the relocation sections are inserted) → final index.
  const shift = (i: number) => i + rels.filter((r) => r.after < i).length;
  const final: WriteSection[] = [];
  secs.forEach((s, k) => {
    final.push(s);
    for (const r of rels) if (r.after === k + 1) final.push(r.sec);
  });
  for (const r of rels) if (r.after === Infinity) final.push(r.sec);
  const SYMTAB = final.length + 1;
  for (let k = 0; k < final.length; k++) {
    const s = final[k];
    if (s.type === SHT_REL || s.type === SHT_RELA) final[k] = { ...s, link: SYMTAB, info: shift(s.info!) };
  }
  const fix = (ys: WriteSymbol[]) => ys.map((y) => (y.shndx > 0 && y.shndx < SHN_LORESERVE ? { ...y, shndx: shift(y.shndx) } : y));
  final.push({ name: '.symtab', type: SHT_SYMTAB, link: shift(STRTAB), addralign: 8, symbols: [...fix(locals), ...fix(globals)] });
  return writeElf({ littleEndian: le, sections: final, shstrndx: shift(STRTAB) });
}
