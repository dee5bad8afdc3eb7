// One statement of kernel/clang-syntax assembly → labels, a directive, or one
// instruction (two slots for lddw) with at most one symbolic fix-up.
// The forms are those of llvm/lib/Target/BPF/BPFInstrInfo.td (llvm-mc) and of the
// kernel's print_bpf_insn() (kernel/bpf/disasm.c), which the verifier log uses.

import { insn, type Insn } from './insn.js';
import { AluOp, Class, JmpOp, LD_IMM64, Mode, PseudoCall, Source } from './opcode.js';
import { type Stmt, type Tok } from './asm-lex.js';
import { Cursor, toImm32, type Reg } from './asm-cursor.js';
import { parseAtomicRhs, parseLoad, parseLock, parseStore, parseStoreRelease, sameReg } from './asm-kernel-mem.js';

export interface Fixup {
  /** off: 16-bit jump offset; imm: 32-bit jump offset (gotol); call: call target; ld: lddw symbol. */
  readonly kind: 'off' | 'imm' | 'call' | 'ld';
  readonly tok: Tok;
  /** `call name#12`: the id the kernel log printed after the name. */
  readonly hint?: number;
}

export interface Item {
  readonly insns: Insn[];
  readonly fixup?: Fixup;
}

export interface Directive {
  readonly kind: 'globl' | 'function' | 'extern' | 'section' | 'other';
  readonly names: string[];
}

export interface StmtResult {
  readonly labels: Tok[];
  readonly directive?: Directive;
  readonly item?: Item;
}

const IGNORED_DIRECTIVES = new Set([
  '.file', '.p2align', '.align', '.balign', '.size', '.addrsig', '.addrsig_sym', '.ident', '.loc',
  '.local', '.hidden', '.protected', '.internal', '.end', '.previous', '.popsection', '.pushsection',
]);

export function parseStatement(st: Stmt, symbols: Record<string, number | bigint>): StmtResult {
  const c = new Cursor(st.toks, symbols);
  // Verifier-log instruction index: `12: (b7) r0 = 0`.
  if (c.peek().kind === 'num' && c.isOp(':', 1)) {
    c.next();
    c.next();
  }
  const hint = c.isOp('(op)') ? c.next() : undefined;
  const labels: Tok[] = [];
  while (c.peek().kind === 'ident' && !c.isReg() && c.isOp(':', 1)) {
    labels.push(c.next());
    c.next();
  }
  if (c.atEnd()) {
    if (hint) throw c.expected('instruction');
    return { labels };
  }
  const t = c.peek();
  if (!hint && t.kind === 'ident' && t.text.startsWith('.')) {
    return { labels, directive: parseDirective(c) };
  }
  const item = parseInsn(c, hint);
  c.expectEnd();
  if (hint && item.insns[0].code !== Number(hint.value)) {
    throw c.error(
      hint,
      `opcode column (${hex2(Number(hint.value))}) does not match the instruction, which encodes as (${hex2(item.insns[0].code)})`,
    );
  }
  return { labels, item };
}

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');

function parseDirective(c: Cursor): Directive {
  const d = c.next();
  const names = (): string[] => {
    const out: string[] = [];
    while (!c.atEnd()) {
      const t = c.next();
      if (t.kind === 'ident' || t.kind === 'str') out.push(t.text);
      else if (!(t.kind === 'op' && t.text === ',')) throw c.expected('symbol name', t);
    }
    return out;
  };
  switch (d.text) {
    case '.globl':
    case '.global':
    case '.weak':
      return { kind: 'globl', names: names() };
    case '.extern':
      return { kind: 'extern', names: names() };
    case '.type': {
      const name = c.name('symbol name').text;
      c.eatOp(',');
      const ty = c.next();
      const isFunc = ty.text === '@function' || ty.text === 'function' || ty.text === '%function';
      return { kind: isFunc ? 'function' : 'other', names: [name] };
    }
    case '.section':
    case '.text':
      while (!c.atEnd()) c.next();
      return { kind: 'section', names: [] };
  }
  if (IGNORED_DIRECTIVES.has(d.text) || d.text.startsWith('.cfi_')) {
    while (!c.atEnd()) c.next();
    return { kind: 'other', names: [] };
  }
  throw c.error(d, `unknown directive "${d.text}"`);
}

const one = (x: Insn): Item => ({ insns: [x] });

function parseInsn(c: Cursor, hint: Tok | undefined): Item {
  const t = c.peek();
  if (t.kind === 'ident') {
    switch (t.text) {
      case 'exit':
        c.next();
        return one(insn(Class.JMP | JmpOp.EXIT, 0, 0, 0, 0));
      case 'nospec':
        // The kernel's speculation barrier, BPF_ST | BPF_NOSPEC (verifier log only).
        c.next();
        return one(insn(Class.ST | Mode.ATOMIC, 0, 0, 0, 0));
      case 'call':
        c.next();
        return parseCall(c);
      case 'callx': {
        c.next();
        const r = c.reg64();
        return one(insn(Class.JMP | JmpOp.CALL | Source.X, r.n, 0, 0, 0));
      }
      case 'goto':
      case 'gotol':
      case 'may_goto': {
        c.next();
        const wide = t.text === 'gotol';
        const code = wide ? Class.JMP32 | JmpOp.JA : t.text === 'goto' ? Class.JMP | JmpOp.JA : Class.JMP | JmpOp.JCOND;
        return jump(c, insn(code, 0, 0, 0, 0), wide);
      }
      case 'if':
        c.next();
        return parseIf(c);
      case 'lock':
        c.next();
        return parseLock(c);
      case 'store_release':
        c.next();
        return parseStoreRelease(c);
    }
  }
  if (c.isOp('*')) return parseStore(c);
  if (c.isReg()) return parseAssign(c, hint);
  throw c.expected('instruction');
}

/** Jump target: `+3`, `-3`, `3`, `pc+3` (kernel log) or a label; then an optional `<f+0x30>` note. */
function jump(c: Cursor, x: Insn, wide: boolean): Item {
  let item: Item;
  if (c.isIdent('pc') && (c.isOp('+', 1) || c.isOp('-', 1))) c.next();
  if (c.isNumber()) {
    const v = wide ? c.imm32('jump offset') : c.off16('jump offset');
    item = one(wide ? insn(x.code, x.dst, x.src, x.off, v) : insn(x.code, x.dst, x.src, v, x.imm));
  } else {
    const lab = c.name('jump target (offset or label)');
    item = { insns: [x], fixup: { kind: wide ? 'imm' : 'off', tok: lab } };
  }
  skipNote(c);
  return item;
}

/** llvm-objdump's `<f+0x30>` after a target. */
function skipNote(c: Cursor): void {
  if (!c.isOp('<')) return;
  while (!c.atEnd() && !c.isOp('>')) c.next();
  c.expectOp('>');
}

function parseCall(c: Cursor): Item {
  const code = Class.JMP | JmpOp.CALL;
  // Kernel log: `call pc+3` is a bpf-to-bpf call.
  if (c.isIdent('pc') && (c.isOp('+', 1) || c.isOp('-', 1))) {
    c.next();
    const v = c.imm32('call offset');
    skipNote(c);
    return one(insn(code, 0, PseudoCall.CALL, 0, v));
  }
  if (c.isNumber()) {
    const v = c.imm32('helper id');
    skipNote(c);
    return one(insn(code, 0, PseudoCall.HELPER, 0, v));
  }
  const name = c.name('call target (helper id, helper, kfunc or function name)');
  let hint: number | undefined;
  if (c.eatOp('#')) hint = c.imm32('helper id');
  skipNote(c);
  return { insns: [insn(code, 0, 0, 0, 0)], fixup: { kind: 'call', tok: name, hint } };
}

const CMP: Record<string, JmpOp> = {
  '==': JmpOp.JEQ,
  '!=': JmpOp.JNE,
  '>': JmpOp.JGT,
  '>=': JmpOp.JGE,
  '<': JmpOp.JLT,
  '<=': JmpOp.JLE,
  's>': JmpOp.JSGT,
  's>=': JmpOp.JSGE,
  's<': JmpOp.JSLT,
  's<=': JmpOp.JSLE,
  '&': JmpOp.JSET,
};

function parseIf(c: Cursor): Item {
  const d = c.reg();
  const opTok = c.peek();
  const op = opTok.kind === 'op' && Object.hasOwn(CMP, opTok.text) ? CMP[opTok.text] : undefined;
  if (op === undefined) throw c.expected('comparison (==, !=, >, >=, <, <=, s>, s>=, s<, s<=, &)');
  c.next();
  const cls = d.w ? Class.JMP32 : Class.JMP;
  let x: Insn;
  if (c.isReg()) {
    const s = c.regLike(d.w);
    x = insn(cls | op | Source.X, d.n, s.n, 0, 0);
  } else {
    x = insn(cls | op | Source.K, d.n, 0, 0, c.imm32());
  }
  c.expectIdent('goto');
  return jump(c, x, false);
}

const COMPOUND: Record<string, [AluOp, number]> = {
  '+=': [AluOp.ADD, 0],
  '-=': [AluOp.SUB, 0],
  '*=': [AluOp.MUL, 0],
  '/=': [AluOp.DIV, 0],
  '%=': [AluOp.MOD, 0],
  '|=': [AluOp.OR, 0],
  '&=': [AluOp.AND, 0],
  '^=': [AluOp.XOR, 0],
  '<<=': [AluOp.LSH, 0],
  '>>=': [AluOp.RSH, 0],
  's>>=': [AluOp.ARSH, 0],
  's/=': [AluOp.DIV, 1],
  's%=': [AluOp.MOD, 1],
};

function parseAssign(c: Cursor, hint: Tok | undefined): Item {
  const d = c.reg();
  const cls = d.w ? Class.ALU : Class.ALU64;
  const opTok = c.peek();
  if (opTok.kind === 'op' && Object.hasOwn(COMPOUND, opTok.text)) {
    c.next();
    const [op, off] = COMPOUND[opTok.text];
    if (c.isReg()) return one(insn(cls | op | Source.X, d.n, c.regLike(d.w).n, off, 0));
    return one(insn(cls | op | Source.K, d.n, 0, off, c.imm32()));
  }
  if (!c.isOp('=')) throw c.expected('assignment operator (=, +=, -=, ...)');
  c.next();

  // Negation: `r0 = -r0`.
  if (c.isOp('-') && c.isReg(1)) {
    c.next();
    sameReg(c, d);
    return one(insn(cls | AluOp.NEG | Source.K, d.n, 0, 0, 0));
  }
  if (c.isNumber()) {
    const { value, tok } = c.number();
    const wide = c.eatIdent('ll') || (hint !== undefined && Number(hint.value) === LD_IMM64);
    if (wide) {
      if (d.w) throw c.expected('64-bit register for a 64-bit immediate', d.tok);
      if (value < -(1n << 63n) || value >= 1n << 64n) throw c.error(tok, `immediate ${value} does not fit in 64 bits`);
      return ldImm64(d.n, 0, BigInt.asUintN(64, value));
    }
    return one(insn(cls | AluOp.MOV | Source.K, d.n, 0, 0, toImm32(value, tok, (r) => c.error(tok, r))));
  }
  // Sign-extending move: `r1 = (s8)r2`, `w1 = (s16)w2`.
  if (c.isOp('(') && c.isIdent(undefined, 1) && c.isOp(')', 2)) {
    c.next();
    const ty = c.next();
    c.next();
    const bits = ty.text === 's8' ? 8 : ty.text === 's16' ? 16 : ty.text === 's32' && !d.w ? 32 : 0;
    if (!bits) throw c.expected(d.w ? 'cast (s8) or (s16)' : 'cast (s8), (s16) or (s32)', ty);
    const s = c.regLike(d.w);
    return one(insn(cls | AluOp.MOV | Source.X, d.n, s.n, bits, 0));
  }
  if (c.isReg()) return one(insn(cls | AluOp.MOV | Source.X, d.n, c.regLike(d.w).n, 0, 0));
  // Kernel log: `r1 = &(void __percpu *)(r2)` (mov with off -1).
  if (c.isOp('&') && !d.w) {
    c.next();
    c.expectOp('(');
    c.expectIdent('void');
    c.expectIdent('__percpu');
    c.expectOp('*');
    c.expectOp(')');
    c.expectOp('(');
    const s = c.regLike(false);
    c.expectOp(')');
    return one(insn(Class.ALU64 | AluOp.MOV | Source.X, d.n, s.n, -1, 0));
  }
  if (c.isOp('*')) return parseLoad(c, d);
  const f = c.peek();
  if (f.kind === 'ident') {
    const special = parseNamedRhs(c, d, f);
    if (special) return special;
    if (/^[rw]\d+$/.test(f.text)) throw c.expected('register');
    // Symbolic lddw: `r1 = map_name ll` (a map) or `r1 = func ll` (a function pointer).
    c.next();
    if (!c.eatIdent('ll')) throw c.expected('"ll" after symbol');
    if (d.w) throw c.expected('64-bit register for a 64-bit immediate', d.tok);
    return { insns: ldImm64(d.n, 0, 0n).insns, fixup: { kind: 'ld', tok: f } };
  }
  throw c.expected('register, immediate, load or operation');
}

export function ldImm64(dst: number, src: number, v: bigint): Item {
  const lo = Number(BigInt.asIntN(32, v));
  const hi = Number(BigInt.asIntN(32, v >> 32n));
  return { insns: [insn(LD_IMM64, dst, src, 0, lo), insn(0, 0, 0, 0, hi)] };
}

const ENDIAN_RE = /^(be|le|bswap)(16|32|64)$/;

/** Right-hand sides that start with a name: byte swaps, atomics, load_acquire. */
function parseNamedRhs(c: Cursor, d: Reg, f: Tok): Item | undefined {
  const name = f.text;
  const end = ENDIAN_RE.exec(name);
  if (end) {
    c.next();
    sameReg(c, d);
    const width = Number(end[2]);
    const code =
      end[1] === 'bswap' ? Class.ALU64 | AluOp.END | Source.K : Class.ALU | AluOp.END | (end[1] === 'be' ? Source.X : Source.K);
    return one(insn(code, d.n, 0, 0, width));
  }
  const atomic = parseAtomicRhs(c, d, f);
  if (atomic) return atomic;
  if (name === 'addr_space_cast') {
    // `r1 = addr_space_cast(r2, 0, 1)`: mov with off 1, imm = dst_as << 16 | src_as.
    c.next();
    c.expectOp('(');
    if (d.w) throw c.expected('64-bit (r) register', d.tok);
    const s = c.regLike(false);
    c.expectOp(',');
    const dstAs = c.number('address space');
    c.expectOp(',');
    const srcAs = c.number('address space');
    c.expectOp(')');
    for (const a of [dstAs, srcAs]) {
      if (a.value < 0n || a.value > 0xffffn) throw c.error(a.tok, `address space ${a.value} does not fit in 16 bits`);
    }
    const imm = Number(BigInt.asIntN(32, (dstAs.value << 16n) | srcAs.value));
    return one(insn(Class.ALU64 | AluOp.MOV | Source.X, d.n, s.n, 1, imm));
  }
  return undefined;
}
