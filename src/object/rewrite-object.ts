// rewriteObject(): a rewritten (e.g. inlined) linked program written back as
// a relocatable BPF object that llvm-objdump and libbpf accept — the inverse
// of loadObject()'s linking (libbpf's bpf_object__reloc_code() and
// bpf_object__relocate_data()). References are re-emitted the way clang
// emits them, so that libbpf resolves them again at load time:
//
//   map (BTF-defined / legacy)  lddw imm 0            R_BPF_64_64 → the map's symbol
//   global data (.data, ...)    lddw imm offset       R_BPF_64_64 → the section symbol
//   kconfig extern              lddw imm 0            R_BPF_64_64 → the extern's undefined symbol
//   ksym variable               lddw imm 0            R_BPF_64_64 → the extern's undefined symbol
//   kfunc call                  call -1 (src 1)       R_BPF_64_32 → the kfunc's undefined symbol
//   call program → subprogram   call k (src 1)        R_BPF_64_32 → ".text" section symbol (k = slot in .text - 1)
//   function address            lddw imm byte offset  R_BPF_64_64 → ".text" section symbol
//
// Layout: the entry function in its original section, its subprograms in
// ".text" (libbpf only looks for subprograms there). Other programs of the
// object, DWARF and .llvm_addrsig are dropped; data and map sections,
// license, version and .BTF are copied unchanged; .BTF.ext is regenerated for
// the new slots (func_info, line_info, CO-RE relocations), as libbpf's
// bpf_object__relocate() would see it (insn_off in bytes from section start).
// Dropping .BTF.ext (opts.btfExt false) was tried against Linux 6.18: libbpf
// then passes no func_info, which the kernel accepts for static subprograms
// but refuses for a bpf_loop callback ("missing btf func_info").

import {
  R_BPF_64_32,
  R_BPF_64_64,
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
import { cString } from '../btf/strings.js';
import { insn, type Insn } from '../isa/insn.js';
import { Class, JmpOp, LD_IMM64, PseudoCall, PseudoLd, opClass, opJmp } from '../isa/opcode.js';
import { KfError, withContext } from '../util/errors.js';
import { encodeSection } from './funcs.js';
import type { BpfObject, BpfProgram, MapRef } from './types.js';

const CALL = Class.JMP | JmpOp.CALL; // 0x85

export interface RewriteObjectOptions {
  /**
   * Names the kernel function a kfunc call (src 2) carries by its BTF id.
   * Surviving calls of the original program are recognised without it; with
   * it, kfunc calls that the rewrite introduced (e.g. inside an inlined body)
   * are written too when they name one of the object's kfunc externs, and a
   * call at a surviving site must name the same kfunc as before.
   */
  readonly kfuncName?: (btfId: number) => string | undefined;
  /** Write a regenerated .BTF.ext when the object has one (default true). */
  readonly btfExt?: boolean;
}

type Target =
  | { readonly kind: 'sym'; readonly sym: number } // original symbol index
  | { readonly kind: 'secsym'; readonly section: string }; // section symbol of a section of the output

interface Reloc {
  readonly slot: number;
  readonly type: number;
  readonly target: Target;
}

/** Where each surviving reference of the original program sits in the new program. */
interface Origins {
  readonly maps: Map<number, MapRef>;
  readonly externs: Map<number, string>;
}

function checkMap(prog: BpfProgram, newInsns: readonly Insn[], map: Int32Array): void {
  const n = prog.insns.length;
  if (map.length !== n + 1) throw new KfError(`slot map has length ${map.length}, expected ${n + 1} (old program length + 1)`);
  if (map[0] !== 0) throw new KfError(`slot map starts at ${map[0]}, not 0`);
  for (let i = 1; i <= n; i++) {
    if (map[i] < map[i - 1]) throw new KfError(`slot map decreases at old slot ${i} (${map[i - 1]} → ${map[i]})`);
  }
  if (map[n] !== newInsns.length) throw new KfError(`slot map ends at ${map[n]}, but the new program has ${newInsns.length} slots`);
}

/** (No libbpf counterpart.) Recovers which new slots still hold the original program's map and extern references. */
function findOrigins(prog: BpfProgram, newInsns: readonly Insn[], map: Int32Array, opts: RewriteObjectOptions): Origins {
  const maps = new Map<number, MapRef>();
  const externs = new Map<number, string>();
  const isLd = (j: number, src: number) => j < newInsns.length && newInsns[j].code === LD_IMM64 && newInsns[j].src === src;
  for (const r of prog.mapRefs) {
    const j = map[r.index];
    const src = r.kind === 'fd' ? PseudoLd.MAP_FD : PseudoLd.MAP_VALUE;
    if (map[r.index + 2] - j === 2 && isLd(j, src)) maps.set(j, r);
  }
  for (const e of prog.externCalls) {
    const j = map[e.index];
    if (e.kind === 'var') {
      if (map[e.index + 2] - j === 2 && isLd(j, PseudoLd.BTF_ID)) externs.set(j, e.name);
      continue;
    }
    // An inlined call's old slot maps to the start of its body: a surviving
    // call is still one slot, still a kfunc call.
    if (map[e.index + 1] - j !== 1) continue;
    const x = newInsns[j];
    if (x.code !== CALL || x.src !== PseudoCall.KFUNC_CALL) continue;
    const named = opts.kfuncName?.(x.imm);
    if (opts.kfuncName && named !== e.name) continue;
    externs.set(j, e.name);
  }
  return { maps, externs };
}

interface Func {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

function newFunctions(prog: BpfProgram, newInsns: readonly Insn[], map: Int32Array): Func[] {
  const starts = prog.subprogs.map((s) => ({ name: s.name, start: map[s.start] }));
  starts.forEach((s, k) => {
    if (k === 0 && s.start !== 0) throw new KfError(`entry function "${s.name}" does not start at slot 0`);
    if (k > 0 && s.start <= starts[k - 1].start) throw new KfError(`subprogram "${s.name}" is empty or out of order after rewriting (slot ${s.start})`);
    if (s.start >= newInsns.length) throw new KfError(`subprogram "${s.name}" starts at ${s.start}, past the end of the program`);
  });
  return starts.map((s, k) => ({ ...s, end: k + 1 < starts.length ? starts[k + 1].start : newInsns.length }));
}

/** Symbol of a map definition (BTF-defined or legacy): clang relocates against it, and libbpf matches it by section and value. */
function mapSymbol(obj: BpfObject, m: BpfObject['maps'][number]): number {
  const sec = obj.elf.sectionByName(m.section);
  const s = sec && obj.elf.symbols.find((y) => y.index > 0 && y.shndx === sec.index && y.type !== STT_SECTION && y.value === BigInt(m.offset) && y.name === m.name);
  if (!s) throw new KfError(`map "${m.name}": no symbol for it in section "${m.section}"`);
  return s.index;
}

function externSymbol(obj: BpfObject, name: string): number {
  const s = obj.elf.symbols.find((y) => y.index > 0 && y.shndx === 0 && y.name === name);
  if (!s) throw new KfError(`extern "${name}": no undefined symbol for it`);
  return s.index;
}

/** The relocation that makes libbpf put map reference `r` back at an lddw (bpf_program__record_reloc()). */
function mapReloc(obj: BpfObject, slot: number, r: MapRef, offset: number, out: Insn[]): Reloc {
  const m = obj.maps[r.map];
  if (!m) throw new KfError(`instruction ${slot}: map index ${r.map} is not a map of the object`);
  const x = out[slot];
  const y = out[slot + 1];
  const set = (lo: number) => {
    out[slot] = insn(x.code, x.dst, 0, x.off, lo);
    out[slot + 1] = insn(y.code, y.dst, y.src, y.off, 0);
  };
  switch (m.kind) {
    case 'btf':
    case 'legacy':
      if (r.kind !== 'fd') throw new KfError(`instruction ${slot}: a value reference into map "${m.name}" cannot be relocated`);
      set(0);
      return { slot, type: R_BPF_64_64, target: { kind: 'sym', sym: mapSymbol(obj, m) } };
    case 'data':
      if (r.kind !== 'value') throw new KfError(`instruction ${slot}: an fd reference to data map "${m.name}" cannot be relocated`);
      if (offset < 0 || offset > m.valueSize) throw new KfError(`instruction ${slot}: offset ${offset} outside "${m.section}" (size ${m.valueSize})`);
      set(offset);
      return { slot, type: R_BPF_64_64, target: { kind: 'secsym', section: m.section } };
    case 'kconfig': {
      const e = obj.externs.find((z) => z.kind === 'kconfig' && z.offset === offset);
      if (!e) throw new KfError(`instruction ${slot}: offset ${offset} of ".kconfig" is not the start of a kconfig extern`);
      set(0);
      return { slot, type: R_BPF_64_64, target: { kind: 'sym', sym: externSymbol(obj, e.name) } };
    }
  }
}

/** The final instructions of both sections (entry slots [0, split), .text after) and their relocations. */
function relocate(obj: BpfObject, newInsns: readonly Insn[], funcs: readonly Func[], origins: Origins, opts: RewriteObjectOptions): { out: Insn[]; relocs: Reloc[] } {
  const split = funcs.length > 1 ? funcs[1].start : newInsns.length;
  const starts = new Set(funcs.map((f) => f.start));
  const out = newInsns.slice();
  const relocs: Reloc[] = [];
  const n = newInsns.length;
  const kfuncExterns = new Set(obj.externs.filter((e) => e.kind === 'kfunc').map((e) => e.name));
  for (let j = 0; j < n; j++) {
    const x = newInsns[j];
    withContext(`instruction ${j}`, () => {
      const inText = j >= split;
      if (x.code === LD_IMM64) {
        if (j + 1 >= n) throw new KfError('lddw without its second slot');
        if (newInsns[j + 1].code !== 0) throw new KfError(`second slot of lddw has opcode 0x${newInsns[j + 1].code.toString(16)}, not 0`);
        switch (x.src) {
          case PseudoLd.NONE:
            break;
          case PseudoLd.MAP_FD:
          case PseudoLd.MAP_VALUE: {
            const r = origins.maps.get(j);
            if (!r) throw new KfError('map reference that is not one of the original program');
            relocs.push(mapReloc(obj, j, r, newInsns[j + 1].imm, out));
            break;
          }
          case PseudoLd.BTF_ID: {
            const name = origins.externs.get(j);
            if (!name) throw new KfError('kernel variable reference that is not one of the original program');
            out[j] = insn(x.code, x.dst, 0, x.off, 0);
            out[j + 1] = insn(0, 0, 0, 0, 0);
            relocs.push({ slot: j, type: R_BPF_64_64, target: { kind: 'sym', sym: externSymbol(obj, name) } });
            break;
          }
          case PseudoLd.FUNC: {
            const t = j + x.imm + 1;
            if (t < split || !starts.has(t)) throw new KfError(`function address ${t} is not the start of a subprogram`);
            // sym_is_subprog() wants the section symbol of .text; imm is the byte offset.
            out[j] = insn(x.code, x.dst, 0, x.off, (t - split) * 8);
            out[j + 1] = insn(0, 0, 0, 0, 0);
            relocs.push({ slot: j, type: R_BPF_64_64, target: { kind: 'secsym', section: '.text' } });
            break;
          }
          default:
            throw new KfError(`lddw with pseudo source ${x.src} cannot be written to an object`);
        }
        j++;
        return;
      }
      const cls = opClass(x.code);
      if (cls !== Class.JMP && cls !== Class.JMP32) return;
      const op = opJmp(x.code);
      if (op === JmpOp.EXIT) return;
      if (op === JmpOp.CALL) {
        if (cls !== Class.JMP) return;
        if (x.src === PseudoCall.CALL) {
          const t = j + x.imm + 1;
          if (!starts.has(t)) throw new KfError(`call target ${t} is not the start of a function`);
          if (inText && t < split) throw new KfError('a subprogram calls into the entry function');
          if (!inText && t >= split) {
            out[j] = insn(x.code, x.dst, x.src, x.off, t - split - 1);
            relocs.push({ slot: j, type: R_BPF_64_32, target: { kind: 'secsym', section: '.text' } });
          }
        } else if (x.src === PseudoCall.KFUNC_CALL) {
          let name = origins.externs.get(j);
          if (!name && opts.kfuncName) {
            const k = opts.kfuncName(x.imm);
            if (k && kfuncExterns.has(k)) name = k;
          }
          if (!name) {
            throw new KfError(`call of kernel function with BTF id ${x.imm} is no kfunc call of the original program (a call to a kernel internal from an inlined body cannot be written to an object)`);
          }
          out[j] = insn(x.code, 0, PseudoCall.CALL, 0, -1);
          relocs.push({ slot: j, type: R_BPF_64_32, target: { kind: 'sym', sym: externSymbol(obj, name) } });
        }
        return;
      }
      const rel = cls === Class.JMP32 && op === JmpOp.JA ? x.imm : x.off;
      const t = j + rel + 1;
      if (t < 0 || t > n) throw new KfError(`jump to ${t} outside the program`);
      if (inText ? t < split : t >= split && split < n) {
        throw new KfError(`jump to ${t} leaves the ${inText ? 'subprograms' : 'entry function'} (first subprogram at ${split})`);
      }
    });
  }
  return { out, relocs };
}

// ---- .BTF.ext ----

/** String → offset in the object's .BTF string section (first occurrence). */
function btfStrings(btfBytes: Uint8Array, le: boolean): Map<string, number> {
  const dv = new DataView(btfBytes.buffer, btfBytes.byteOffset, btfBytes.byteLength);
  const hdrLen = dv.getUint32(4, le);
  const start = hdrLen + dv.getUint32(16, le);
  const end = start + dv.getUint32(20, le);
  const out = new Map<string, number>();
  let p = start;
  while (p < end) {
    let q = p;
    while (q < end && btfBytes[q] !== 0) q++;
    const s = cString(btfBytes, p, q);
    if (!out.has(s)) out.set(s, p - start);
    p = q + 1;
  }
  return out;
}

/** Per output section: the section name's string offset and the records (words; the first is insn_off). */
type ExtGroups = readonly (readonly [number, readonly (readonly number[])[]])[];

interface ExtRecords {
  readonly func: ExtGroups;
  readonly line: ExtGroups;
  readonly core: ExtGroups;
}

/** Encodes .BTF.ext version 1 (hdr_len 32: func_info, line_info, core_relo). Mirrors the layout btf_ext__new() parses. */
function encodeBtfExt(rec: ExtRecords, le: boolean): Uint8Array {
  const sub = (groups: ExtGroups, recWords: number): number[] => {
    const words: number[] = [];
    const nonEmpty = groups.filter(([, r]) => r.length);
    if (!nonEmpty.length) return words;
    words.push(recWords * 4);
    for (const [secOff, rs] of nonEmpty) {
      words.push(secOff, rs.length);
      for (const r of rs) words.push(...r);
    }
    return words;
  };
  const f = sub(rec.func, 2);
  const l = sub(rec.line, 4);
  const c = sub(rec.core, 4);
  const HDR = 32;
  const out = new Uint8Array(HDR + 4 * (f.length + l.length + c.length));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, le);
  out[2] = 1;
  out[3] = 0;
  dv.setUint32(4, HDR, le);
  dv.setUint32(8, 0, le);
  dv.setUint32(12, f.length * 4, le);
  dv.setUint32(16, f.length * 4, le);
  dv.setUint32(20, l.length * 4, le);
  dv.setUint32(24, (f.length + l.length) * 4, le);
  dv.setUint32(28, c.length * 4, le);
  [...f, ...l, ...c].forEach((w, k) => dv.setUint32(HDR + k * 4, w >>> 0, le));
  return out;
}

/** func_info / line_info / CO-RE records of the old program, moved to the new slots and split by output section. */
function btfExtFor(obj: BpfObject, prog: BpfProgram, map: Int32Array, split: number, btfBytes: Uint8Array): Uint8Array {
  const le = obj.elf.header.littleEndian;
  const strs = btfStrings(btfBytes, le);
  const str = (s: string, what: string): number => {
    const o = strs.get(s);
    if (o === undefined) throw new KfError(`${what} ${JSON.stringify(s.slice(0, 60))} is not in the .BTF string section`);
    return o;
  };
  const secNames: number[] = [];
  const secName = (k: number) => (secNames[k] ??= str(k === 0 ? prog.section : '.text', 'section name'));
  const where = (slot: number): [number, number] => (slot < split ? [0, slot * 8] : [1, (slot - split) * 8]);
  const group = (rows: { slot: number; rest: number[] }[]): ExtGroups => {
    const g: number[][][] = [[], []];
    for (const r of rows) {
      const [k, off] = where(r.slot);
      g[k].push([off, ...r.rest]);
    }
    return g.filter((rs) => rs.length).map((rs) => [secName(g.indexOf(rs)), rs] as const);
  };
  const gone = (i: number) => map[i + 1] === map[i];
  // func_info: one record per function, at its new first slot.
  const func = prog.funcInfo.map((x) => ({ slot: map[x.insn], rest: [x.typeId] }));
  // line_info: strictly increasing slots (check_btf_line()); when records of
  // deleted slots collapse onto the slot that follows, the last one (the
  // record of that slot itself) wins.
  const line: { slot: number; rest: number[] }[] = [];
  for (const x of prog.lineInfo) {
    const slot = map[x.insn];
    if (slot >= map[map.length - 1]) continue;
    const r = { slot, rest: [str(x.fileName, 'file name'), str(x.line, 'source line'), ((x.lineNum << 10) | (x.col & 0x3ff)) >>> 0] };
    if (line.length && line[line.length - 1].slot === slot) line[line.length - 1] = r;
    else line.push(r);
  }
  const core = prog.coreRelos.filter((x) => !gone(x.insn)).map((x) => ({ slot: map[x.insn], rest: [x.typeId, str(x.access, 'CO-RE access string'), x.kind] }));
  return encodeBtfExt({ func: group(func), line: group(line), core: group(core) }, le);
}

// ---- the object ----

const isCode = (s: ElfSection) => (s.flags & SHF_EXECINSTR) !== 0n;
/** Data, map, license and version sections: allocated, not code. */
const isKeptData = (s: ElfSection) => (s.type === SHT_PROGBITS || s.type === SHT_NOBITS) && (s.flags & SHF_ALLOC) !== 0n && !isCode(s);

/**
 * Writes program `progName` of `obj`, rewritten to `newInsns`, as a BPF
 * object. `newInsns` is the whole linked program (entry function, then its
 * subprograms) with pc-relative calls; map references as lddw with
 * BPF_PSEUDO_MAP_FD/VALUE, kfunc calls with src 2 (any imm). `map[old slot]`
 * is the new slot of each slot of `obj`'s linked program (length old + 1).
 */
export function rewriteObject(obj: BpfObject, progName: string, newInsns: readonly Insn[], map: Int32Array, opts: RewriteObjectOptions = {}): Uint8Array {
  const prog = obj.programs.find((p) => p.name === progName);
  if (!prog) throw new KfError(`no program "${progName}" in the object (programs: ${obj.programs.map((p) => p.name).join(', ') || 'none'})`);
  return withContext(`writing program "${progName}"`, () => {
    if (newInsns.length === 0) throw new KfError('the rewritten program is empty');
    checkMap(prog, newInsns, map);
    const { elf } = obj;
    const le = elf.header.littleEndian;
    const funcs = newFunctions(prog, newInsns, map);
    const split = funcs.length > 1 ? funcs[1].start : newInsns.length;
    const origins = findOrigins(prog, newInsns, map, opts);
    const { out, relocs } = relocate(obj, newInsns, funcs, origins, opts);

    // Sections of the output, in order; indices in the file are position + 1.
    const secs: WriteSection[] = [{ name: '.strtab', type: SHT_STRTAB, addralign: 1 }];
    const STRTAB = 1;
    const idx = new Map<string, number>(); // output section name → index
    const add = (s: WriteSection): number => {
      secs.push(s);
      idx.set(s.name, secs.length);
      return secs.length;
    };
    if (prog.section === '.text' || elf.sections.some((s) => isKeptData(s) && s.name === prog.section)) {
      throw new KfError(`program section "${prog.section}" clashes with a section of the output`);
    }
    const code = { flags: SHF_ALLOC | SHF_EXECINSTR, addralign: 8 };
    const PROG = add({ name: prog.section, type: SHT_PROGBITS, ...code, data: encodeSection(out.slice(0, split), le) });
    const TEXT = split < out.length ? add({ name: '.text', type: SHT_PROGBITS, ...code, data: encodeSection(out.slice(split), le) }) : 0;
    const oldToNewSec = new Map<number, number>();
    for (const s of elf.sections) {
      if (!isKeptData(s)) continue;
      oldToNewSec.set(s.index, add({ name: s.name, type: s.type, flags: s.flags, addralign: s.addralign, entsize: s.entsize, ...(s.type === SHT_NOBITS ? { size: s.size } : { data: s.data }) }));
    }
    const btfSec = elf.sectionByName('.BTF');
    if (btfSec) add({ name: '.BTF', type: btfSec.type, flags: btfSec.flags, addralign: btfSec.addralign, data: btfSec.data });
    if (btfSec && obj.btfExt && (opts.btfExt ?? true)) {
      const data = withContext('section ".BTF.ext"', () => btfExtFor(obj, prog, map, split, btfSec.data));
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
    addSecSym(PROG);
    if (TEXT) addSecSym(TEXT);
    for (const ni of oldToNewSec.values()) addSecSym(ni);
    const origFunc = (name: string) => elf.symbols.find((y) => y.type === STT_FUNC && y.name === name && y.shndx !== 0 && elf.sections[y.shndx]?.name === (name === prog.name ? prog.section : '.text'));
    funcs.forEach((f, k) => {
      const o = origFunc(f.name);
      const bind = k === 0 ? STB_GLOBAL : (o?.bind ?? STB_LOCAL);
      push({ name: f.name, value: BigInt(((k === 0 ? 0 : f.start - split) * 8)), size: BigInt((f.end - f.start) * 8), type: STT_FUNC, bind, other: o?.other ?? 0, shndx: k === 0 ? PROG : TEXT });
    });
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

    // Relocation sections: of the code (right after it) and of kept sections
    // such as .rel.maps (at the end), with symbols renumbered.
    const rels: { after: number; sec: WriteSection }[] = [];
    const relOf = (list: Reloc[], base: number) =>
      list.map<WriteReloc>((r) => ({ offset: BigInt((r.slot - base) * 8), type: r.type, symbol: targetSym(r.target) }));
    const progRel = relocs.filter((r) => r.slot < split);
    const textRel = relocs.filter((r) => r.slot >= split);
    if (progRel.length) rels.push({ after: PROG, sec: { name: `.rel${prog.section}`, type: SHT_REL, flags: SHF_INFO_LINK, info: PROG, addralign: 8, relocs: relOf(progRel, 0) } });
    if (textRel.length) rels.push({ after: TEXT, sec: { name: '.rel.text', type: SHT_REL, flags: SHF_INFO_LINK, info: TEXT, addralign: 8, relocs: relOf(textRel, split) } });
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
  });
}
