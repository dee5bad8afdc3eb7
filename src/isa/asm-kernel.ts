// Assembler for the kernel/clang BPF assembly syntax: the syntax of llvm-mc and
// llvm-objdump (`r0 = 0`, `if w1 s< w2 goto +1`, `*(u64 *)(r10 - 8) = r1`), of the
// kernel selftests' inline asm (`"r0 = 0;" "exit;"`, `l0_%=`, `%[name]`), and the
// spellings the kernel verifier log prints (`goto pc+1`, `(r1 +0)`, `call f#1`,
// `atomic64_fetch_add(...)`, a leading `(b7)` opcode column which is checked).
//
// Two passes: statements become instructions with symbolic fix-ups (jump and call
// targets, symbols), then labels are resolved. Mirrors BPFAsmParser::MatchAndEmitInstruction
// for the forms llvm-mc knows, and the kernel's print_bpf_insn() for the rest.

import { KfError } from '../util/errors.js';
import { insn, type Insn } from './insn.js';
import { PseudoCall, PseudoLd, S16_MAX, S16_MIN } from './opcode.js';
import { asmError, lexStatements, type Tok } from './asm-lex.js';
import { helperId } from './asm-helpers.js';
import { parseStatement, type Fixup, type Item } from './asm-kernel-stmt.js';

export interface AsmFunction {
  name: string;
  /** First instruction slot. */
  start: number;
  /** One past the last slot. */
  end: number;
}

export type AsmRelocKind = 'map' | 'kfunc' | 'call' | 'ld_func';

export interface AsmRelocation {
  /** Slot of the instruction (the first slot of an lddw). */
  index: number;
  /**
   * `map`: `rX = sym ll` of a symbol that is not a label (src = BPF_PSEUDO_MAP_FD, imm 0);
   * `kfunc`: call of a declared kfunc (src = BPF_PSEUDO_KFUNC_CALL, imm -1 until resolved);
   * `call`: bpf-to-bpf call (src = BPF_PSEUDO_CALL, imm resolved, pc-relative);
   * `ld_func`: `rX = func ll` (src = BPF_PSEUDO_FUNC, imm resolved, pc-relative).
   */
  kind: AsmRelocKind;
  symbol: string;
}

export interface AsmProgram {
  insns: Insn[];
  functions: AsmFunction[];
  labels: Map<string, number>;
  relocations: AsmRelocation[];
}

export interface AsmKernelOptions {
  /** Names that `call name` treats as kfuncs (as does `.extern name`). */
  kfuncs?: readonly string[];
  /** Helper ids by name, consulted before the built-in uapi table. */
  helpers?: Record<string, number>;
  /** Values of named constants (`r1 = %[size]`, `r1 += MY_CONST`). */
  symbols?: Record<string, number | bigint>;
}

/** Assembles kernel/clang-syntax BPF assembly. Bad input raises KfError naming line and column. */
export function assembleKernel(src: string, opts: AsmKernelOptions = {}): AsmProgram {
  if (typeof src !== 'string') throw new KfError('assembler input is not a string');
  const stmts = lexStatements(src);
  const items: (Item & { pc: number })[] = [];
  const labels = new Map<string, number>();
  const labelToks = new Map<string, Tok>();
  const funcNames = new Set<string>();
  const externs = new Set<string>(opts.kfuncs ?? []);
  let pc = 0;
  let sectionStart = true;
  for (const st of stmts) {
    const res = parseStatement(st, opts.symbols ?? {});
    for (const lab of res.labels) {
      if (labels.has(lab.text)) {
        const prev = labelToks.get(lab.text)!;
        throw asmError(lab.line, lab.col, `label "${lab.text}" already defined at line ${prev.line}`);
      }
      labels.set(lab.text, pc);
      labelToks.set(lab.text, lab);
      if (sectionStart) funcNames.add(lab.text);
      sectionStart = false;
    }
    if (res.directive) {
      const d = res.directive;
      if (d.kind === 'globl' || d.kind === 'function') d.names.forEach((n) => funcNames.add(n));
      else if (d.kind === 'extern') d.names.forEach((n) => externs.add(n));
      else if (d.kind === 'section') sectionStart = true;
    }
    if (res.item) {
      items.push({ ...res.item, pc });
      pc += res.item.insns.length;
      sectionStart = false;
    }
  }

  const insns: Insn[] = [];
  const relocations: AsmRelocation[] = [];
  const jumpTargets = new Set<string>();
  for (const it of items) {
    if (it.fixup && (it.fixup.kind === 'off' || it.fixup.kind === 'imm')) jumpTargets.add(it.fixup.tok.text);
  }
  for (const it of items) {
    const fixed = it.fixup ? resolve(it, it.fixup, labels, externs, opts, funcNames, relocations) : it.insns;
    insns.push(...fixed);
  }
  // A label no jump names, right after an exit or goto, starts a function (plain `f: ... exit  g: ...`).
  for (const [name, at] of labels) {
    const prev = insns[at - 1];
    if (at === 0 || at >= insns.length || jumpTargets.has(name) || name.startsWith('.L')) continue;
    if (prev.code === 0x95 || prev.code === 0x05 || prev.code === 0x06) funcNames.add(name);
  }
  return { insns, functions: buildFunctions(insns.length, labels, funcNames), labels, relocations };
}

function resolve(
  it: Item & { pc: number },
  fx: Fixup,
  labels: Map<string, number>,
  externs: Set<string>,
  opts: AsmKernelOptions,
  funcNames: Set<string>,
  relocs: AsmRelocation[],
): Insn[] {
  const [x, ...rest] = it.insns;
  const name = fx.tok.text;
  const target = labels.get(name);
  const rel = target === undefined ? 0 : target - (it.pc + 1);
  const err = (r: string): KfError => asmError(fx.tok.line, fx.tok.col, r);
  switch (fx.kind) {
    case 'off': {
      if (target === undefined) throw err(`undefined label "${name}"`);
      if (rel < S16_MIN || rel > S16_MAX) throw err(`jump to "${name}" is ${rel} instructions away; does not fit in 16 bits (use gotol)`);
      return [insn(x.code, x.dst, x.src, rel, x.imm), ...rest];
    }
    case 'imm': {
      if (target === undefined) throw err(`undefined label "${name}"`);
      return [insn(x.code, x.dst, x.src, x.off, rel), ...rest];
    }
    case 'call': {
      if (target !== undefined) {
        funcNames.add(name);
        relocs.push({ index: it.pc, kind: 'call', symbol: name });
        return [insn(x.code, 0, PseudoCall.CALL, 0, rel)];
      }
      if (externs.has(name)) {
        relocs.push({ index: it.pc, kind: 'kfunc', symbol: name });
        return [insn(x.code, 0, PseudoCall.KFUNC_CALL, 0, fx.hint ?? -1)];
      }
      const id = fx.hint ?? (opts.helpers && Object.hasOwn(opts.helpers, name) ? opts.helpers[name] : helperId(name));
      if (id === undefined) throw err(`unknown call target "${name}" (not a label, a declared kfunc or a helper)`);
      if (!Number.isInteger(id) || id < -0x80000000 || id > 0xffffffff) throw err(`helper "${name}" has id ${id}, not a 32-bit integer`);
      return [insn(x.code, 0, PseudoCall.HELPER, 0, id)];
    }
    case 'ld': {
      if (target !== undefined) {
        funcNames.add(name);
        relocs.push({ index: it.pc, kind: 'ld_func', symbol: name });
        return [insn(x.code, x.dst, PseudoLd.FUNC, 0, rel), rest[0]];
      }
      relocs.push({ index: it.pc, kind: 'map', symbol: name });
      return [insn(x.code, x.dst, PseudoLd.MAP_FD, 0, 0), rest[0]];
    }
  }
}

function buildFunctions(n: number, labels: Map<string, number>, funcNames: Set<string>): AsmFunction[] {
  const starts = new Map<number, string>();
  for (const name of funcNames) {
    const at = labels.get(name);
    if (at !== undefined && at < n && !starts.has(at)) starts.set(at, name);
  }
  if (n > 0 && !starts.has(0)) {
    let first = 'main';
    for (const [name, at] of labels) {
      if (at === 0) {
        first = name;
        break;
      }
    }
    starts.set(0, first);
  }
  const sorted = [...starts.entries()].sort((a, b) => a[0] - b[0]);
  return sorted.map(([start, name], k) => ({ name, start, end: k + 1 < sorted.length ? sorted[k + 1][0] : n }));
}
