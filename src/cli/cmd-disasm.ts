// kfinline disasm FILE.o [--prog NAME] [--syntax kernel|llvm] [--json]
//
// --syntax llvm prints what `llvm-objdump-19 -d --no-show-raw-insn FILE.o`
// prints: every executable section as stored in the object, split at its
// symbols. --syntax kernel (the default) prints each program as loaded (entry
// function, then the subprograms it calls) in the text of `bpftool prog dump
// xlated`, with source lines from .BTF.ext line info.

import { basename } from 'node:path';
import { parseElf, type ElfFile, type ElfSection, type ElfSymbol } from '../elf/index.js';
import { dumpXlated, type KernelDisasmOptions } from '../isa/disasm-kernel.js';
import { objdumpLines } from '../isa/disasm-llvm.js';
import { decodeInsns } from '../isa/codec.js';
import { jumpTarget } from '../isa/view.js';
import { loadObject, type BpfObject, type BpfProgram } from '../object/index.js';
import { KfError, withContext } from '../util/errors.js';
import { parseArgs } from './args.js';
import { readInput, toJson } from './files.js';
import type { Io } from './io.js';

const SHF_EXECINSTR = 0x4n;
const STT_SECTION = 3;
const STT_FILE = 4;

export async function disasmCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['prog', 'syntax'] });
  const path = args.positional[0];
  if (!path) throw new KfError('disasm: missing FILE.o');
  if (args.positional.length > 1) throw new KfError(`disasm: unexpected argument "${args.positional[1]}"`);
  const syntax = args.get('syntax') ?? 'kernel';
  const bytes = readInput(path);
  if (syntax === 'llvm') {
    const elf = withContext(path, () => parseElf(bytes));
    const out = llvmObjdump(elf, path, args.get('prog'));
    if (args.has('json')) io.out(toJson(out.json));
    else io.out(out.text.join('\n'));
    return 0;
  }
  if (syntax !== 'kernel') throw new KfError(`disasm: unknown syntax "${syntax}" (kernel or llvm)`);
  const obj = withContext(path, () => loadObject(bytes, { objectName: basename(path).replace(/\.(bpf\.)?o$/, "") }));
  const progs = selectPrograms(obj, args.get('prog'));
  if (args.has('json')) {
    io.out(toJson(progs.map((p) => ({ name: p.name, section: p.section, prog_type: p.progTypeName, insns: kernelLines(obj, p).map((l) => l) }))));
    return 0;
  }
  const text: string[] = [];
  for (const p of progs) {
    if (progs.length > 1) text.push(`${p.name}: section "${p.section}", ${p.progTypeName}`);
    text.push(...kernelLines(obj, p));
    if (progs.length > 1) text.push('');
  }
  io.out(text.join('\n'));
  return 0;
}

export function selectPrograms(obj: BpfObject, name: string | undefined): BpfProgram[] {
  if (obj.programs.length === 0) throw new KfError('object has no programs');
  if (name === undefined) return obj.programs;
  const p = obj.programs.filter((x) => x.name === name);
  if (p.length === 0) throw new KfError(`no program named "${name}" (programs: ${obj.programs.map((x) => x.name).join(', ')})`);
  return p;
}

/** Options that name helpers, kfunc externs and maps of an object program. */
export function objectDisasmOptions(obj: BpfObject, p: BpfProgram): KernelDisasmOptions {
  const externAt = new Map(p.externCalls.map((e) => [e.index, e.name]));
  const mapAt = new Map(p.mapRefs.map((m) => [m.index, m]));
  return {
    callName: (insn, index) => {
      if (insn.src === 2) {
        const n = externAt.get(index);
        return n;
      }
      return undefined;
    },
    kfuncName: () => undefined,
    ldImm64: (insn, imm64, index) => {
      const m = mapAt.get(index);
      if (m) {
        const map = obj.maps[m.map];
        return m.kind === 'fd' ? `map[id:${m.map}][name:${map?.name ?? '?'}]` : `map[id:${m.map}][name:${map?.name ?? '?'}][0]+${m.offset}`;
      }
      const e = externAt.get(index);
      if (e !== undefined) return `${e}`;
      return `0x${BigInt.asUintN(64, imm64).toString(16)}`;
    },
  };
}

/** bpftool-style lines for one program, with func headers and `; source @ file:line`. */
export function kernelLines(obj: BpfObject, p: BpfProgram): string[] {
  const text = dumpXlated(p.insns, objectDisasmOptions(obj, p)).split('\n');
  if (text[text.length - 1] === '') text.pop();
  const lineAt = new Map<number, string>();
  for (const li of p.lineInfo) lineAt.set(li.insn, `; ${li.line} @ ${basename(li.fileName)}:${li.lineNum}`);
  const funcAt = new Map<number, string>();
  for (const fi of p.funcInfo) {
    if (obj.btf) {
      try {
        funcAt.set(fi.insn, `${obj.btf.typeName(obj.btf.typeById(fi.typeId).kind === 'FUNC' ? fi.typeId : fi.typeId)}`.replace(/^/, '') + ':');
      } catch {
        /* no name: skip the header */
      }
    }
  }
  for (const s of p.subprogs) if (!funcAt.has(s.start)) funcAt.set(s.start, `${s.name}:`);
  const out: string[] = [];
  for (const line of text) {
    const idx = Number(line.slice(0, line.indexOf(':')).trim());
    const f = funcAt.get(idx);
    if (f) out.push(f);
    const l = lineAt.get(idx);
    if (l) out.push(l);
    out.push(line);
  }
  return out;
}

interface LlvmOut {
  text: string[];
  json: { section: string; symbol: string; insns: { index: number; text: string }[] }[];
}

/** The text of `llvm-objdump -d --no-show-raw-insn` for an object. */
export function llvmObjdump(elf: ElfFile, fileName: string, onlyFunc?: string): LlvmOut {
  const text = ['', `${fileName}:\tfile format elf64-bpf`, ''];
  const json: LlvmOut['json'] = [];
  let found = onlyFunc === undefined;
  for (const sec of elf.sections) {
    if ((sec.flags & SHF_EXECINSTR) === 0n || sec.size === 0 || sec.data.length === 0) continue;
    const insns = withContext(`section "${sec.name}"`, () => decodeInsns(sec.data));
    const syms = sectionSymbols(elf, sec);
    const starts = syms.length && syms[0].value === 0n ? syms : [{ name: sec.name, value: 0n } as ElfSymbol, ...syms];
    const chunks: string[] = [];
    for (let k = 0; k < starts.length; k++) {
      const start = Number(starts[k].value) / 8;
      const end = k + 1 < starts.length ? Number(starts[k + 1].value) / 8 : insns.length;
      if (end <= start) continue;
      if (onlyFunc !== undefined && starts[k].name !== onlyFunc) continue;
      found = true;
      const slice = insns.slice(start, end);
      const lines = objdumpLines(slice, { baseIndex: start, showRaw: false });
      // Jump annotations: `<sym+0xoff>` against the nearest preceding symbol.
      let li = 0;
      for (let i = 0; i < slice.length; i++, li++) {
        const t = jumpTarget(slice, i);
        if (t !== undefined && slice[i].code !== 0x85) {
          const abs = (start + t) * 8;
          const sym = nearestSymbol(starts, abs);
          if (sym) {
            const off = abs - Number(sym.value);
            lines[li] += off === 0 ? ` <${sym.name}>` : ` <${sym.name}+0x${off.toString(16)}>`;
          }
        }
        if (slice[i].code === 0x18) i++;
      }
      chunks.push('', `${starts[k].value.toString(16).padStart(16, '0')} <${starts[k].name}>:`, ...lines);
      json.push({
        section: sec.name,
        symbol: starts[k].name,
        insns: lines.map((l) => {
          const [idx, t] = l.split('\t');
          return { index: Number(idx.replace(':', '').trim()), text: t };
        }),
      });
    }
    if (chunks.length) text.push(`Disassembly of section ${sec.name}:`, ...chunks, '');
  }
  if (!found) throw new KfError(`no function named "${onlyFunc}"`);
  while (text.length && text[text.length - 1] === '') text.pop();
  return { text, json };
}

function sectionSymbols(elf: ElfFile, sec: ElfSection): ElfSymbol[] {
  const seen = new Set<bigint>();
  return elf.symbols
    .filter((s) => s.shndx === sec.index && s.name !== '' && s.type !== STT_SECTION && s.type !== STT_FILE && s.value % 8n === 0n && s.value < BigInt(sec.size))
    .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
    .filter((s) => (seen.has(s.value) ? false : (seen.add(s.value), true)));
}

function nearestSymbol(syms: readonly ElfSymbol[], addr: number): ElfSymbol | undefined {
  let best: ElfSymbol | undefined;
  for (const s of syms) if (Number(s.value) <= addr) best = s;
  return best;
}
