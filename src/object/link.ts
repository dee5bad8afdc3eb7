// Relocations and linking of one program: mirrors libbpf's
// bpf_program__record_reloc() (classify each relocation), bpf_object__reloc_code()
// (append called .text subprograms to the program, fix call offsets) and
// bpf_object__relocate_data() (map and extern references).

import type { BtfExt } from '../btf/index.js';
import { R_BPF_NONE, type ElfFile, type ElfSection } from '../elf/index.js';
import type { Insn } from '../isa/insn.js';
import { PseudoCall, PseudoLd } from '../isa/opcode.js';
import { KfError, withContext } from '../util/errors.js';
import type { ExternTable } from './externs.js';
import type { Func } from './funcs.js';
import type { BpfMap, BpfProgram, CoreRelo, ExternRef, FuncInfo, LineInfo, MapRef } from './types.js';

const LD_IMM64 = 0x18;
const CALL = 0x85;

export type SlotReloc =
  | { readonly kind: 'map'; readonly map: number; readonly ref: 'fd' | 'value'; readonly offset: number; readonly name: string }
  | { readonly kind: 'extern'; readonly name: string; readonly ext: 'kfunc' | 'var' }
  | { readonly kind: 'code'; readonly section: number; readonly slot: number; readonly name: string };

export interface LinkContext {
  readonly elf: ElfFile;
  readonly maps: readonly BpfMap[];
  readonly externs: ExternTable;
  /** Index of the .kconfig map in `maps`, -1 if none. */
  readonly kconfigMap: number;
  /** Functions per code section index. */
  readonly funcs: ReadonlyMap<number, readonly Func[]>;
  /** Decoded instructions per code section index. */
  readonly code: ReadonlyMap<number, readonly Insn[]>;
  readonly ext?: BtfExt;
}

/** Mirrors bpf_program__record_reloc(): what the relocations of one code section refer to, by slot. */
export function sectionRelocs(cx: LinkContext, sec: ElfSection): Map<number, SlotReloc> {
  const out = new Map<number, SlotReloc>();
  const insns = cx.code.get(sec.index)!;
  const { elf } = cx;
  for (const rs of elf.relocsFor(sec.index)) {
    withContext(`section "${sec.name}"`, () => {
      if (rs.symtab !== elf.symtabIndex) throw new KfError(`relocation section ${rs.section} uses symbol table ${rs.symtab}, not ${elf.symtabIndex}`);
      rs.entries.forEach((r, i) =>
        withContext(`relocation ${i}`, () => {
          if (r.type === R_BPF_NONE) return;
          const sym = elf.symbols[r.symbol];
          const name = sym.name || elf.sections[sym.shndx]?.name || `#${r.symbol}`;
          withContext(`reference to "${name}"`, () => {
            if (r.offset % 8n !== 0n || r.offset >= BigInt(sec.data.length)) {
              throw new KfError(`offset ${r.offset} is not an instruction of the section (size ${sec.data.length})`);
            }
            const slot = Number(r.offset) / 8;
            const insn = insns[slot];
            out.set(slot, classify(cx, sec, insns, slot, insn, sym.shndx, sym.value, sym.type, sym.name, r.symbol));
          });
        }),
      );
    });
  }
  return out;
}

function classify(
  cx: LinkContext,
  sec: ElfSection,
  insns: readonly Insn[],
  slot: number,
  insn: Insn,
  shndx: number,
  value: bigint,
  symType: number,
  symName: string,
  symIdx: number,
): SlotReloc {
  const { elf } = cx;
  const isCall = insn.code === CALL;
  const isLd = insn.code === LD_IMM64;
  if (!isCall && !isLd) throw new KfError(`instruction ${slot} (opcode 0x${insn.code.toString(16)}) is neither ld_imm64 nor call`);
  if (isLd && slot + 1 >= insns.length) throw new KfError(`ld_imm64 at instruction ${slot} has no second slot`);
  if (symIdx === 0) throw new KfError('relocation against the null symbol');
  if (shndx === 0) {
    const e = cx.externs.byName.get(symName);
    if (!e) throw new KfError('symbol is undefined');
    if (isCall) {
      if (e.kind !== 'kfunc') throw new KfError(`extern is a ${e.kind} variable, not a function, but is called`);
      return { kind: 'extern', name: e.name, ext: 'kfunc' };
    }
    if (e.kind === 'kconfig') {
      if (cx.kconfigMap < 0) throw new KfError('kconfig extern without a .kconfig map');
      return { kind: 'map', map: cx.kconfigMap, ref: 'value', offset: e.offset ?? 0, name: e.name };
    }
    if (e.kind === 'kfunc') throw new KfError('taking the address of a kfunc is not supported');
    return { kind: 'extern', name: e.name, ext: 'var' };
  }
  if (shndx >= elf.sections.length) throw new KfError(`symbol section ${shndx} is not a section`);
  const target = elf.sections[shndx];
  if (cx.code.has(shndx)) {
    // Subprogram call or address of a function (callback).
    if (value % 8n !== 0n || value >= BigInt(target.data.length)) throw new KfError(`symbol offset ${value} is not an instruction`);
    let tslot: number;
    if (isCall) {
      if (insn.src !== PseudoCall.CALL) throw new KfError(`call at instruction ${slot} is not a BPF-to-BPF call (src ${insn.src})`);
      tslot = Number(value) / 8 + insn.imm + 1;
    } else {
      if (insn.imm % 8 !== 0) throw new KfError(`function address with offset ${insn.imm} not a multiple of 8`);
      tslot = Number(value) / 8 + insn.imm / 8;
    }
    if (tslot < 0 || tslot >= target.data.length / 8) throw new KfError(`target instruction ${tslot} outside section "${target.name}"`);
    return { kind: 'code', section: shndx, slot: tslot, name: symName };
  }
  if (isCall) throw new KfError(`call to a symbol in non-code section "${target.name}"`);
  const mi = cx.maps.findIndex((m) => m.section === target.name);
  if (mi < 0) throw new KfError(`reference to section "${target.name}" that holds no map or data`);
  const m = cx.maps[mi];
  if (m.kind === 'btf' || m.kind === 'legacy') {
    const off = value + (symType === 3 /* STT_SECTION */ ? BigInt(insn.imm) : 0n);
    const idx = cx.maps.findIndex((x) => x.section === target.name && BigInt(x.offset) === off);
    if (idx < 0) throw new KfError(`no map defined at offset ${off} of section "${target.name}"`);
    return { kind: 'map', map: idx, ref: 'fd', offset: 0, name: cx.maps[idx].name };
  }
  const off = value + BigInt(insn.imm);
  if (off < 0n || off > BigInt(m.valueSize)) throw new KfError(`offset ${off} outside data section "${target.name}" (size ${m.valueSize})`);
  return { kind: 'map', map: mi, ref: 'value', offset: Number(off), name: m.name };
}

/** Function of a section that contains `slot`. */
function funcAt(cx: LinkContext, section: number, slot: number): Func | undefined {
  return cx.funcs.get(section)?.find((f) => slot >= f.start && slot < f.end);
}

/**
 * Mirrors bpf_object__reloc_code() + bpf_object__relocate_data() for one
 * entry function: the program's final instructions with subprograms appended
 * in the order they are first referenced.
 */
export function linkProgram(
  cx: LinkContext,
  entry: Func,
  relocs: ReadonlyMap<number, ReadonlyMap<number, SlotReloc>>,
): Pick<BpfProgram, 'insns' | 'subprogs' | 'mapRefs' | 'externCalls' | 'funcInfo' | 'lineInfo' | 'coreRelos'> {
  const insns: Insn[] = [];
  const placed = new Map<Func, number>();
  const order: Func[] = [];
  const place = (f: Func): number => {
    let at = placed.get(f);
    if (at === undefined) {
      at = insns.length;
      placed.set(f, at);
      order.push(f);
      insns.push(...cx.code.get(f.section.index)!.slice(f.start, f.end));
    }
    return at;
  };
  place(entry);
  const mapRefs: MapRef[] = [];
  const externCalls: ExternRef[] = [];
  // libbpf recurses into a subprogram as soon as it appends it (depth first);
  // an explicit stack keeps hostile call chains from overflowing ours.
  const stack: { f: Func; j: number }[] = [{ f: entry, j: entry.start }];
  while (stack.length) {
    const fr = stack[stack.length - 1];
    const f = fr.f;
    if (fr.j >= f.end) {
      stack.pop();
      continue;
    }
    const j = fr.j++;
    const base = placed.get(f)!;
    const rel = relocs.get(f.section.index);
    const at = base + j - f.start;
    const insn = insns[at];
    let r = rel?.get(j);
    // A pseudo call inside a section that needed no relocation (local static callee).
    if (!r && insn.code === CALL && insn.src === PseudoCall.CALL) {
      r = { kind: 'code', section: f.section.index, slot: j + insn.imm + 1, name: '' };
    }
    if (!r) continue;
    const reloc = r;
    withContext(`section "${f.section.name}": instruction ${j}`, () => {
      const isLd = insn.code === LD_IMM64;
      if (isLd && j + 1 >= f.end) throw new KfError('ld_imm64 crosses the end of its function');
      switch (reloc.kind) {
        case 'map': {
          const src = reloc.ref === 'fd' ? PseudoLd.MAP_FD : PseudoLd.MAP_VALUE;
          insns[at] = { ...insn, src, imm: reloc.map };
          insns[at + 1] = { ...insns[at + 1], imm: reloc.ref === 'value' ? reloc.offset : 0 };
          mapRefs.push({ index: at, map: reloc.map, kind: reloc.ref, offset: reloc.offset });
          break;
        }
        case 'extern':
          if (reloc.ext === 'kfunc') insns[at] = { ...insn, src: PseudoCall.KFUNC_CALL, imm: 0, off: 0 };
          else {
            insns[at] = { ...insn, src: PseudoLd.BTF_ID, imm: 0 };
            insns[at + 1] = { ...insns[at + 1], imm: 0 };
          }
          externCalls.push({ index: at, name: reloc.name, kind: reloc.ext });
          break;
        case 'code': {
          const t = funcAt(cx, reloc.section, reloc.slot);
          if (!t) throw new KfError(`call target ${reloc.slot} in section "${cx.elf.sections[reloc.section].name}" is not inside a function`);
          if (!t.isSubprog && t !== entry) throw new KfError(`call to "${t.name}", which is a program, not a subprogram`);
          const fresh = !placed.has(t);
          const tAt = place(t) + (reloc.slot - t.start);
          const rel32 = tAt - at - 1;
          if (isLd) {
            insns[at] = { ...insn, src: PseudoLd.FUNC, imm: rel32 };
            insns[at + 1] = { ...insns[at + 1], imm: 0 };
          } else insns[at] = { ...insn, src: PseudoCall.CALL, imm: rel32 };
          if (fresh) stack.push({ f: t, j: t.start });
          break;
        }
      }
    });
  }

  // func_info / line_info / CO-RE records of each placed function, rebased.
  const funcInfo: FuncInfo[] = [];
  const lineInfo: LineInfo[] = [];
  const coreRelos: CoreRelo[] = [];
  for (const f of order) {
    const base = placed.get(f)!;
    const sec = f.section.name;
    const inF = (insnOff: number): number => {
      if (insnOff % 8 !== 0) return -1;
      const s = insnOff / 8;
      return s >= f.start && s < f.end ? base + s - f.start : -1;
    };
    for (const x of cx.ext?.funcInfo.get(sec) ?? []) {
      const i = inF(x.insnOff);
      if (i >= 0) funcInfo.push({ insn: i, typeId: x.typeId });
    }
    for (const x of cx.ext?.lineInfo.get(sec) ?? []) {
      const i = inF(x.insnOff);
      if (i >= 0) lineInfo.push({ insn: i, fileName: x.fileName, line: x.line, lineNum: x.lineNum, col: x.col });
    }
    for (const x of cx.ext?.coreRelos.get(sec) ?? []) {
      const i = inF(x.insnOff);
      if (i >= 0) coreRelos.push({ insn: i, typeId: x.typeId, access: x.access, kind: x.kind });
    }
  }
  funcInfo.sort((a, b) => a.insn - b.insn);
  lineInfo.sort((a, b) => a.insn - b.insn);
  const subprogs = order.map((f) => ({ name: f.name, start: placed.get(f)! }));
  return { insns, subprogs, mapRefs, externCalls, funcInfo, lineInfo, coreRelos };
}
