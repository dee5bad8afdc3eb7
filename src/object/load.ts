// loadObject(): a BPF ELF object → programs, maps, externs, BTF and
// func/line info. Mirrors the open phase of libbpf (bpf_object__open_mem():
// elf collect, BTF init, maps init, externs, programs, relocations), without
// any kernel interaction: map fds and kfunc BTF ids are left for later.

import { parseBtf, parseBtfExt, type Btf, type BtfExt } from '../btf/index.js';
import { parseElf, type ElfFile } from '../elf/index.js';
import type { Insn } from '../isa/insn.js';
import { KfError, withContext } from '../util/errors.js';
import { applyCoreRelosToSection, coreContext, type CoreReloOutcome } from './core-relo.js';
import { collectExterns } from './externs.js';
import { decodeSection, isCodeSection, sectionFuncs, type Func } from './funcs.js';
import { linkProgram, sectionRelocs, type LinkContext, type SlotReloc } from './link.js';
import { btfMaps, dataMaps, legacyMaps } from './maps.js';
import { PROG_TYPES, attachTypeNum, findSecDef, progTypeNum } from './sections.js';
import type { BpfMap, BpfObject, BpfProgram, LoadOptions } from './types.js';

function readLicense(elf: ElfFile): string {
  const s = elf.sectionByName('license');
  if (!s) return '';
  const end = s.data.indexOf(0);
  let out = '';
  for (let i = 0; i < (end < 0 ? s.data.length : end); i++) out += String.fromCharCode(s.data[i]);
  return out;
}

function readVersion(elf: ElfFile): number | undefined {
  const s = elf.sectionByName('version');
  if (!s) return undefined;
  if (s.data.length !== 4) throw new KfError(`section "version": size ${s.data.length} is not 4`);
  return new DataView(s.data.buffer, s.data.byteOffset, 4).getUint32(0, elf.header.littleEndian);
}

/** Parses a BPF object already read from disk (or memory). */
export function loadObject(bytes: Uint8Array, opts: LoadOptions = {}): BpfObject {
  const elf = parseElf(bytes);
  return opts.objectName ? withContext(`object "${opts.objectName}"`, () => loadElf(elf, opts)) : loadElf(elf, opts);
}

/** As loadObject(), from a parsed ELF file. */
export function loadElf(elf: ElfFile, opts: LoadOptions = {}): BpfObject {
  if (elf.header.machine !== 247 && elf.header.machine !== 0) {
    throw new KfError(`ELF: machine ${elf.header.machine} is not EM_BPF (247)`);
  }
  if (elf.symtabIndex === 0) throw new KfError('ELF: no symbol table (stripped object?)');
  let btf: Btf | undefined;
  let btfExt: BtfExt | undefined;
  const btfSec = elf.sectionByName('.BTF');
  if (btfSec) {
    btf = withContext('section ".BTF"', () => parseBtf(btfSec.data));
    const extSec = elf.sectionByName('.BTF.ext');
    if (extSec) btfExt = withContext('section ".BTF.ext"', () => parseBtfExt(extSec.data, btf!));
  }

  // Maps in libbpf's order: legacy, BTF-defined, global data, kconfig.
  const maps: BpfMap[] = [...legacyMaps(elf), ...btfMaps(elf, btf), ...dataMaps(elf, btf, opts.objectName)];
  const ext = collectExterns(elf, btf, opts.objectName);
  let kconfigMap = -1;
  if (ext.kconfigMap) {
    kconfigMap = maps.length;
    maps.push(ext.kconfigMap);
  }

  const code = new Map<number, Insn[]>();
  const funcs = new Map<number, Func[]>();
  for (const s of elf.sections) {
    if (!isCodeSection(s)) continue;
    code.set(s.index, withContext(`section "${s.name}"`, () => decodeSection(s.data, elf.header.littleEndian)));
    funcs.set(s.index, sectionFuncs(elf, s));
  }
  const cx: LinkContext = { elf, maps, externs: ext, kconfigMap, funcs, code, ...(btfExt && { ext: btfExt }) };
  const relocs = new Map<number, Map<number, SlotReloc>>();
  for (const idx of code.keys()) relocs.set(idx, sectionRelocs(cx, elf.sections[idx]));
  const coreOutcomes = opts.targetBtf ? applyCore(elf, btf, btfExt, opts.targetBtf, code, funcs) : undefined;

  const programs: BpfProgram[] = [];
  for (const [idx, fs] of funcs) {
    const sec = elf.sections[idx];
    for (const f of fs) {
      if (f.isSubprog) continue;
      programs.push(
        withContext(`section "${sec.name}": program "${f.name}"`, () => {
          const def = findSecDef(sec.name);
          const linked = linkProgram(cx, f, relocs);
          const p: BpfProgram = {
            name: f.name,
            section: sec.name,
            progType: def ? progTypeNum(def.progType) : 0,
            progTypeName: def ? def.progType : PROG_TYPES[0],
            sleepable: def?.sleepable ?? false,
            sectionOffset: f.start,
            ...linked,
          };
          return def?.attach ? { ...p, expectedAttachType: attachTypeNum(def.attach) } : p;
        }),
      );
    }
  }
  const kernVersion = readVersion(elf);
  return {
    programs,
    maps,
    externs: ext.externs,
    license: readLicense(elf),
    elf,
    ...(btf && { btf }),
    ...(btfExt && { btfExt }),
    ...(kernVersion !== undefined && { kernVersion }),
    ...(coreOutcomes && { coreOutcomes }),
  };
}

/**
 * Mirrors bpf_object__relocate_core(): CO-RE records of each code section
 * applied against `target` (in place in `code`), before programs are linked.
 */
function applyCore(
  elf: ElfFile,
  btf: Btf | undefined,
  ext: BtfExt | undefined,
  target: Btf | (() => Btf),
  code: Map<number, Insn[]>,
  funcs: ReadonlyMap<number, readonly Func[]>,
): CoreReloOutcome[] {
  const out: CoreReloOutcome[] = [];
  if (!ext || !btf || ext.coreRelos.size === 0) return out;
  const cx = coreContext(btf, typeof target === 'function' ? target() : target);
  for (const [idx, insns] of code) {
    const name = elf.sections[idx].name;
    const relos = ext.coreRelos.get(name);
    if (!relos) continue;
    const r = applyCoreRelosToSection(cx, name, insns, funcs.get(idx) ?? [], relos);
    code.set(idx, r.insns);
    out.push(...r.outcomes);
  }
  return out;
}
