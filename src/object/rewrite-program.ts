// One program of a rewritten object (see rewrite-object.ts): its functions at
// their new slots, which references of the original program survived, and
// its instructions with every reference turned back into the relocation
// clang would have emitted — the inverse of libbpf's
// bpf_program__record_reloc() + bpf_object__reloc_code() +
// bpf_object__relocate_data() for one linked program.

import { R_BPF_64_32, R_BPF_64_64, STT_SECTION } from '../elf/index.js';
import { insn, type Insn } from '../isa/insn.js';
import { Class, JmpOp, LD_IMM64, PseudoCall, PseudoLd, opClass, opJmp } from '../isa/opcode.js';
import { KfError, withContext } from '../util/errors.js';
import type { BpfObject, BpfProgram, MapRef } from './types.js';

const CALL = Class.JMP | JmpOp.CALL; // 0x85

/** Names the kernel function a kfunc call (src 2) carries by its BTF id. */
export type KfuncNamer = (btfId: number) => string | undefined;

export type Target =
  | { readonly kind: 'sym'; readonly sym: number } // original symbol index
  | { readonly kind: 'secsym'; readonly section: string }; // section symbol of a section of the output

export interface Reloc {
  /** Slot in the rewritten program. */
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
function findOrigins(prog: BpfProgram, newInsns: readonly Insn[], map: Int32Array, kfuncName: KfuncNamer | undefined): Origins {
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
    if (kfuncName && kfuncName(x.imm) !== e.name) continue;
    externs.set(j, e.name);
  }
  return { maps, externs };
}

export interface Func {
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
function relocate(obj: BpfObject, newInsns: readonly Insn[], funcs: readonly Func[], origins: Origins, kfuncName: KfuncNamer | undefined): { out: Insn[]; relocs: Reloc[] } {
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
          if (!name && kfuncName) {
            const k = kfuncName(x.imm);
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


/** One program, ready to be laid out: entry function in slots [0, split), its subprograms in [split, out.length). */
export interface ProgramParts {
  readonly prog: BpfProgram;
  readonly funcs: readonly Func[];
  readonly split: number;
  /**
   * Final instructions. References into .text (calls from the entry
   * function, function addresses) count from the start of this program's
   * subprograms: add the block's slot in .text (see placeTextBlock()).
   */
  readonly out: Insn[];
  readonly relocs: readonly Reloc[];
}

/**
 * Program `prog` of `obj`, rewritten to `newInsns` (the whole linked program,
 * entry function then its subprograms); `map[old slot]` is the new slot of
 * each slot of `prog.insns` (length old + 1).
 */
export function rewriteProgram(obj: BpfObject, prog: BpfProgram, newInsns: readonly Insn[], map: Int32Array, kfuncName: KfuncNamer | undefined): ProgramParts {
  if (newInsns.length === 0) throw new KfError('the rewritten program is empty');
  checkMap(prog, newInsns, map);
  const funcs = newFunctions(prog, newInsns, map);
  const split = funcs.length > 1 ? funcs[1].start : newInsns.length;
  const origins = findOrigins(prog, newInsns, map, kfuncName);
  const { out, relocs } = relocate(obj, newInsns, funcs, origins, kfuncName);
  return { prog, funcs, split, out, relocs };
}

/**
 * Aims the references of `p` into .text at its subprograms placed at slot
 * `base` of .text: a call's imm counts slots from the .text section symbol
 * (minus one), a function address's imm counts bytes (libbpf's
 * sym_is_subprog() case of bpf_program__record_reloc()).
 */
export function placeTextBlock(p: ProgramParts, base: number): Insn[] {
  if (base === 0) return p.out;
  const out = p.out.slice();
  for (const r of p.relocs) {
    if (r.target.kind !== 'secsym' || r.target.section !== '.text') continue;
    const x = out[r.slot];
    out[r.slot] = insn(x.code, x.dst, x.src, x.off, x.code === LD_IMM64 ? x.imm + base * 8 : x.imm + base);
  }
  return out;
}
