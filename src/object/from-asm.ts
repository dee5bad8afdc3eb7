// An assembled program as a relocatable BPF object, the way clang lays one out:
// code in one executable section with a FUNC symbol per function, each kfunc
// call encoded as `call -1` (src BPF_PSEUDO_CALL) with an R_BPF_64_32
// relocation against an undefined FUNC symbol, each map reference as an lddw
// with an R_BPF_64_64 relocation against an undefined symbol, and a license
// section. The loader (loadObject) and llvm-objdump read it back.

import {
  R_BPF_64_32,
  R_BPF_64_64,
  SHF_ALLOC,
  SHF_EXECINSTR,
  SHF_WRITE,
  SHT_PROGBITS,
  SHT_REL,
  SHT_STRTAB,
  SHT_SYMTAB,
  STB_GLOBAL,
  STB_LOCAL,
  STT_FUNC,
  STT_NOTYPE,
  STT_OBJECT,
  STT_SECTION,
  writeElf,
  type WriteReloc,
  type WriteSymbol,
} from '../elf/index.js';
import { encodeInsns } from '../isa/codec.js';
import type { AsmProgram } from '../isa/asm-kernel.js';
import { insn, type Insn } from '../isa/insn.js';
import { KfError } from '../util/errors.js';

export interface AsmObjectOptions {
  /** Section of the code, e.g. "xdp", "tc", "socket". Default "socket". */
  readonly section?: string;
  /** Contents of the "license" section. Default "GPL". */
  readonly license?: string;
}

export function objectFromAsm(prog: AsmProgram, opts: AsmObjectOptions = {}): Uint8Array {
  const section = opts.section ?? 'socket';
  if (section === '' || section.includes('\0') || section === '.text') {
    throw new KfError(`section name "${section}" is not a program section`);
  }
  const all: Insn[] = prog.insns.slice();
  // The first function is the program (a global symbol in `section`); the
  // functions after it are its subprograms, placed in ".text" as local FUNC
  // symbols, the way libbpf expects clang's __noinline statics.
  const fns = prog.functions.length ? [...prog.functions].sort((a, b) => a.start - b.start) : [{ name: section.replace(/[^A-Za-z0-9_]/g, '_'), start: 0, end: all.length }];
  if (fns[0].start !== 0) throw new KfError(`function "${fns[0].name}" does not start at the first instruction`);
  const split = fns.length > 1 ? fns[1].start : all.length;
  // Sections (index in file = position + 1): 1 code, 2 .rel<code>, 3 .text, 4 .rel.text, 5 license, 6 .symtab, 7 .strtab
  const CODE = 1;
  const TEXT = 3;
  const LICENSE = 5;
  const SYMTAB = 6;
  const STRTAB = 7;
  const local: WriteSymbol[] = [
    { name: '', value: 0n, size: 0n, type: STT_SECTION, bind: STB_LOCAL, shndx: CODE },
    { name: '', value: 0n, size: 0n, type: STT_SECTION, bind: STB_LOCAL, shndx: TEXT },
  ];
  const subSym = new Map<number, number>(); // function start slot -> local symbol position
  for (const f of fns.slice(1)) {
    subSym.set(f.start, local.length);
    local.push({ name: f.name, value: BigInt((f.start - split) * 8), size: BigInt((f.end - f.start) * 8), type: STT_FUNC, bind: STB_LOCAL, shndx: TEXT });
  }
  const globals: WriteSymbol[] = [
    { name: fns[0].name, value: 0n, size: BigInt(split * 8), type: STT_FUNC, bind: STB_GLOBAL, shndx: CODE },
    { name: '_license', value: 0n, size: BigInt((opts.license ?? 'GPL').length + 1), type: STT_OBJECT, bind: STB_GLOBAL, shndx: LICENSE },
  ];
  const undef = new Map<string, number>();
  const symIndex = (name: string, type: number): number => {
    let k = undef.get(name);
    if (k === undefined) {
      k = globals.length;
      globals.push({ name, value: 0n, size: 0n, type, bind: STB_GLOBAL, shndx: 0 });
      undef.set(name, k);
    }
    return 1 + local.length + k; // +1: the null symbol
  };
  const relCode: WriteReloc[] = [];
  const relText: WriteReloc[] = [];
  const relOf = (i: number): [WriteReloc[], bigint] => (i < split ? [relCode, BigInt(i * 8)] : [relText, BigInt((i - split) * 8)]);
  for (const r of prog.relocations) {
    const x = all[r.index];
    const [rel, offset] = relOf(r.index);
    if (r.kind === 'kfunc') {
      all[r.index] = insn(x.code, x.dst, 1, x.off, -1);
      rel.push({ offset, type: R_BPF_64_32, symbol: symIndex(r.symbol, STT_FUNC) });
    } else if (r.kind === 'map') {
      all[r.index] = insn(x.code, x.dst, 0, x.off, 0);
      rel.push({ offset, type: R_BPF_64_64, symbol: symIndex(r.symbol, STT_NOTYPE) });
    } else {
      // 'call' / 'ld_func': pc-relative, already resolved by the assembler. A
      // reference from the program into .text crosses sections: relocate it.
      const target = r.index + x.imm + 1;
      const crosses = r.index < split ? target >= split : target < split;
      if (!crosses) continue;
      if (target < split) throw new KfError(`instruction ${r.index}: "${r.symbol}" refers back into the program function "${fns[0].name}"`);
      const sym = subSym.get(target);
      if (sym === undefined) throw new KfError(`instruction ${r.index}: "${r.symbol}" is not the start of a function`);
      if (r.kind === 'call') {
        all[r.index] = insn(x.code, x.dst, x.src, x.off, -1);
        rel.push({ offset, type: R_BPF_64_32, symbol: 1 + sym });
      } else {
        all[r.index] = insn(x.code, x.dst, x.src, x.off, 0);
        rel.push({ offset, type: R_BPF_64_64, symbol: 1 + sym });
      }
    }
  }
  const license = new TextEncoder().encode((opts.license ?? 'GPL') + '\0');
  return writeElf({
    sections: [
      { name: section, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addralign: 8, data: encodeInsns(all.slice(0, split)) },
      { name: `.rel${section}`, type: SHT_REL, link: SYMTAB, info: CODE, addralign: 8, entsize: 16, relocs: relCode },
      { name: '.text', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, addralign: 8, data: encodeInsns(all.slice(split)) },
      { name: '.rel.text', type: SHT_REL, link: SYMTAB, info: TEXT, addralign: 8, entsize: 16, relocs: relText },
      { name: 'license', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, addralign: 1, data: license },
      { name: '.symtab', type: SHT_SYMTAB, link: STRTAB, info: 1 + local.length, addralign: 8, entsize: 24, symbols: [...local, ...globals] },
      { name: '.strtab', type: SHT_STRTAB, addralign: 1 },
    ],
  });
}
