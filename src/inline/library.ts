// The inlinable kfunc library: a BPF ELF object whose global functions of
// `.text` are kfunc bodies (the RFC's inlinable_kfuncs.bpf.linked.o, loaded
// like its bpf_init_inlinable_kfuncs()).
//
//  - every STT_FUNC / STB_GLOBAL symbol of `.text` is one body; its
//    instructions are the symbol's byte range;
//  - the only relocation allowed is R_BPF_64_32 on a `call -1` (a pseudo call
//    to an undefined symbol): the callee is looked up with
//    btf_find_by_name_kind(kernel_btf, name, BTF_KIND_FUNC) and the call
//    becomes a kfunc call (src_reg = BPF_PSEUDO_KFUNC_CALL, imm = BTF id);
//  - anything else (another relocation type, a relocation on a non-call, an
//    unknown callee, a bpf-to-bpf call, a jump out of the body) is refused,
//    naming the body, the instruction index and the reason.
//
// A body's prototype (and `btfId`) comes from the kernel BTF; test libraries
// may define kfuncs the kernel lacks, whose prototypes then come from the
// library's own .BTF (built with -g) or from the program's BTF (`.ksyms`).

import type { Btf } from '../btf/btf.js';
import { parseBtf } from '../btf/parse.js';
import type { FuncSignature } from '../btf/resolve.js';
import { parseElf } from '../elf/reader.js';
import { EM_BPF, R_BPF_64_32, SHN_UNDEF, STB_GLOBAL, STT_FUNC } from '../elf/consts.js';
import type { ElfFile, ElfSection, ElfSymbol } from '../elf/types.js';
import { decodeInsns } from '../isa/codec.js';
import { insn, type Insn } from '../isa/insn.js';
import { Class, JmpOp, LD_IMM64, PseudoCall, opClass, opJmp } from '../isa/opcode.js';
import { isJump, jumpTarget } from '../isa/view.js';
import { KfError, hex, withContext } from '../util/errors.js';
import { modelBtfFromObject } from '../kernel/layout.js';
import { modelObject } from '../kernel/model-blob.js';
import { kfuncLibraryObject } from './library-blob.js';

/** A call from a body to a kernel function, patched into a kfunc call. */
export interface InternalCall {
  /** Instruction index inside the body. */
  readonly index: number;
  readonly name: string;
  /** BTF id of the FUNC in the kernel BTF (the patched call's imm). */
  readonly btfId: number;
}

/** Where a body's `btfId` and `proto` come from. */
export type ProtoSource = 'kernel' | 'library' | 'program';

export interface KfuncBody {
  readonly name: string;
  /** The body, with internal calls patched into kfunc calls. */
  readonly insns: Insn[];
  /** The kfunc's id in the kernel (model) BTF, or in the library/program BTF for test kfuncs. */
  readonly btfId: number;
  /** Which BTF `btfId` and `proto` refer to. */
  readonly protoSource: ProtoSource;
  readonly proto?: FuncSignature;
  readonly internalCalls: InternalCall[];
}

export interface KfuncLibrary {
  readonly bodies: Map<string, KfuncBody>;
  /** The library's own BTF, when the object kept one (test libraries). */
  readonly btf?: Btf;
}

export interface KfuncLibraryOptions {
  /** The BTF of the program the library serves (prototypes of `.ksyms` test kfuncs). */
  programBtf?: Btf;
}

/** One reason a global function of the object cannot be used as a body. */
export interface LibraryProblem {
  /** Body (function) name; '' for problems of the object as a whole. */
  readonly body: string;
  /** Instruction index inside the body, when the problem is one instruction. */
  readonly index?: number;
  readonly reason: string;
}

/** A problem as the message of a KfError: `kfunc library: body "x": instruction 3: reason`. */
export function problemError(p: LibraryProblem): KfError {
  const ctx = ['kfunc library'];
  if (p.body) ctx.push(`body "${p.body}"`);
  if (p.index !== undefined) ctx.push(`instruction ${p.index}`);
  return new KfError(p.reason, ctx);
}

const CALL = Class.JMP | JmpOp.CALL;

function textSection(elf: ElfFile): ElfSection {
  if (elf.header.machine !== EM_BPF) throw new KfError(`not a BPF object (e_machine ${elf.header.machine}, want ${EM_BPF})`);
  if (!elf.header.littleEndian) throw new KfError('big-endian BPF objects are not supported');
  const text = elf.sectionByName('.text');
  if (!text) throw new KfError('no .text section');
  if (text.size % 8 !== 0) throw new KfError(`.text is ${text.size} bytes, not a whole number of instructions`);
  return text;
}

function bodySymbols(elf: ElfFile, text: ElfSection, problems: LibraryProblem[]): ElfSymbol[] {
  const out: ElfSymbol[] = [];
  const seen = new Set<string>();
  for (const s of elf.symbols) {
    if (s.type !== STT_FUNC || s.bind !== STB_GLOBAL || s.shndx !== text.index) continue;
    const where = `at ${hex(s.value)} size ${s.size}`;
    if (!s.name) problems.push({ body: '', reason: `a global function of .text ${where} has no name` });
    else if (seen.has(s.name)) problems.push({ body: s.name, reason: 'defined twice' });
    else if (s.size === 0n || s.value % 8n || s.size % 8n) problems.push({ body: s.name, reason: `symbol ${where} is not a whole number of instructions` });
    else if (s.value + s.size > BigInt(text.size)) problems.push({ body: s.name, reason: `symbol ${where} lies outside .text (${text.size} bytes)` });
    else {
      seen.add(s.name);
      out.push(s);
    }
  }
  return out;
}

function findFunc(btf: Btf | undefined, name: string): number {
  if (!btf) return -1;
  try {
    return btf.findByNameKind(name, 'FUNC');
  } catch (e) {
    if (e instanceof KfError) return -1;
    throw e;
  }
}

function protoOf(btf: Btf, id: number, body: string, problems: LibraryProblem[]): FuncSignature | undefined {
  try {
    return btf.funcProto(id);
  } catch (e) {
    if (!(e instanceof KfError)) throw e;
    problems.push({ body, reason: `bad prototype in BTF: ${e.message}` });
    return undefined;
  }
}

/**
 * Reads every body and collects every problem (the CLI reports them all);
 * bodies with problems are left out of the library.
 */
export function scanKfuncLibrary(
  bytes: Uint8Array,
  kernelBtf: Btf,
  opts: KfuncLibraryOptions = {},
): { library: KfuncLibrary; problems: LibraryProblem[] } {
  const problems: LibraryProblem[] = [];
  const elf = withContext('kfunc library', () => parseElf(bytes));
  const text = withContext('kfunc library', () => textSection(elf));
  const all = withContext('kfunc library: .text', () => decodeInsns(text.data));
  const syms = bodySymbols(elf, text, problems);
  let libBtf: Btf | undefined;
  const btfSec = elf.sectionByName('.BTF');
  if (btfSec) libBtf = withContext('kfunc library: .BTF', () => parseBtf(btfSec.data));

  // Relocations of .text, by instruction index.
  const relocAt = new Map<number, { type: number; sym: ElfSymbol | undefined; symIndex: number }>();
  for (const rs of elf.relocsFor(text.index)) {
    if (rs.symtab !== elf.symtabIndex) {
      problems.push({ body: '', reason: `relocation section ${rs.section} uses symbol table ${rs.symtab}, not .symtab` });
      continue;
    }
    for (const r of rs.entries) {
      if (r.offset % 8n || r.offset >= BigInt(text.size)) {
        problems.push({ body: '', reason: `relocation at .text+${hex(r.offset)} is not on an instruction` });
        continue;
      }
      relocAt.set(Number(r.offset / 8n), { type: r.type, sym: elf.symbols[r.symbol], symIndex: r.symbol });
    }
  }
  const owner = (i: number): string | undefined => syms.find((s) => BigInt(i * 8) >= s.value && BigInt(i * 8) < s.value + s.size)?.name;
  for (const i of relocAt.keys()) {
    if (owner(i) === undefined) problems.push({ body: '', reason: `relocation at .text instruction ${i} lies outside every global function` });
  }

  const bodies = new Map<string, KfuncBody>();
  for (const s of syms) {
    const name = s.name;
    const first = Number(s.value / 8n);
    const n = Number(s.size / 8n);
    const raw = all.slice(first, first + n);
    const before = problems.length;
    const insns: Insn[] = [];
    const internalCalls: InternalCall[] = [];
    const bad = (index: number, reason: string): void => {
      problems.push({ body: name, index, reason });
    };
    for (let i = 0; i < n; i++) {
      const x = raw[i];
      const r = relocAt.get(first + i);
      if (r) {
        const symName = r.sym?.name ?? '';
        if (r.type !== R_BPF_64_32) {
          bad(i, `relocation of type ${r.type}${relocName(r.type)} against "${symName}": only R_BPF_64_32 on call -1 is allowed`);
        } else if (!r.sym) {
          bad(i, `relocation refers to symbol ${r.symIndex}, which does not exist`);
        } else if (x.code !== CALL || x.src !== PseudoCall.CALL || x.imm !== -1) {
          bad(i, `R_BPF_64_32 relocation against "${symName}" on an instruction that is not call -1 (code ${hex(x.code)} src ${x.src} imm ${x.imm})`);
        } else if (r.sym.shndx !== SHN_UNDEF) {
          bad(i, `calls "${symName}", defined in the library: bpf-to-bpf calls are not allowed in a body`);
        } else {
          const id = findFunc(kernelBtf, symName);
          if (id < 0) bad(i, `calls "${symName}", which is not a FUNC in the kernel BTF`);
          else {
            insns.push(insn(CALL, 0, PseudoCall.KFUNC_CALL, 0, id));
            internalCalls.push({ index: i, name: symName, btfId: id });
            continue;
          }
        }
      } else if (x.code === CALL && x.src === PseudoCall.CALL) {
        bad(i, `bpf-to-bpf call (call ${x.imm}) without a relocation: not allowed in a body`);
      } else if (x.code === LD_IMM64 && x.src === 4) {
        bad(i, 'takes the address of a function (ld_imm64 src 4): not allowed in a body');
      } else if (isJump(x)) {
        const t = jumpTarget(raw, i);
        if (t !== undefined && (t < 0 || t >= n)) bad(i, `jumps to ${t}, outside the body (0..${n - 1})`);
      }
      insns.push(x);
      if (x.code === LD_IMM64) {
        if (i + 1 >= n) bad(i, 'ld_imm64 is cut off by the end of the body');
        else insns.push(raw[++i]);
      }
    }
    const last = raw[n - 1];
    const lastOp = opJmp(last.code);
    const ends = (opClass(last.code) === Class.JMP && (lastOp === JmpOp.EXIT || lastOp === JmpOp.JA)) || (opClass(last.code) === Class.JMP32 && lastOp === JmpOp.JA);
    if (!ends) bad(n - 1, 'the body does not end with exit or goto (it falls off its end)');

    // The prototype: kernel BTF first, then the library's own BTF, then the program's.
    let btfId = findFunc(kernelBtf, name);
    let protoSource: ProtoSource = 'kernel';
    let from: Btf | undefined = kernelBtf;
    if (btfId < 0 && (btfId = findFunc(libBtf, name)) >= 0) {
      protoSource = 'library';
      from = libBtf;
    } else if (btfId < 0 && (btfId = findFunc(opts.programBtf, name)) >= 0) {
      protoSource = 'program';
      from = opts.programBtf;
    }
    let proto: FuncSignature | undefined;
    if (btfId < 0 || !from) {
      problems.push({ body: name, reason: 'no FUNC of this name in the kernel BTF, the library BTF or the program BTF (its prototype is unknown)' });
    } else proto = protoOf(from, btfId, name, problems);
    if (problems.length === before) bodies.set(name, { name, insns, btfId, protoSource, proto, internalCalls });
  }
  return { library: { bodies, btf: libBtf }, problems };
}

const relocName = (t: number): string =>
  ({ 0: ' (R_BPF_NONE)', 1: ' (R_BPF_64_64)', 2: ' (R_BPF_64_ABS64)', 3: ' (R_BPF_64_ABS32)', 4: ' (R_BPF_64_NODYLD32)' } as Record<number, string>)[t] ?? '';

/** Loads a kfunc library object against the kernel BTF. Throws a KfError naming the first unusable body. */
export function loadKfuncLibrary(bytes: Uint8Array, kernelBtf: Btf, opts: KfuncLibraryOptions = {}): KfuncLibrary {
  const { library, problems } = scanKfuncLibrary(bytes, kernelBtf, opts);
  if (problems.length) throw problemError(problems[0]);
  if (library.bodies.size === 0) throw new KfError('no global functions in .text', ['kfunc library']);
  return library;
}

let cached: KfuncLibrary | undefined;

/** The built-in library (kernel/build/inlinable_kfuncs.o, embedded) against the embedded model BTF. */
export function defaultKfuncLibrary(): KfuncLibrary {
  cached ??= loadKfuncLibrary(kfuncLibraryObject(), modelBtfFromObject(modelObject()));
  return cached;
}
