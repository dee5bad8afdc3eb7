// A cursor over one statement's tokens with the operand parsers the
// kernel/clang syntax needs: registers, numbers, `(u64 *)` casts and
// `(r10 - 8)` memory operands. Mirrors BPFAsmParser::parseRegister/parseImmediate.

import { Size, S16_MAX, S16_MIN } from './opcode.js';
import { asmError, describeTok, type Tok } from './asm-lex.js';
import type { KfError } from '../util/errors.js';

export interface Reg {
  readonly n: number;
  /** `w` registers name the low 32 bits (ALU32/JMP32 forms). */
  readonly w: boolean;
  readonly tok: Tok;
}

export interface MemType {
  readonly size: Size;
  readonly signed: boolean;
  readonly bits: 8 | 16 | 32 | 64;
  readonly tok: Tok;
}

const TYPES: Record<string, [Size, boolean, 8 | 16 | 32 | 64]> = {
  u8: [Size.B, false, 8],
  u16: [Size.H, false, 16],
  u32: [Size.W, false, 32],
  u64: [Size.DW, false, 64],
  s8: [Size.B, true, 8],
  s16: [Size.H, true, 16],
  s32: [Size.W, true, 32],
};

const REG_RE = /^([rw])(10|[0-9])$/;

export class Cursor {
  i = 0;
  constructor(
    readonly toks: readonly Tok[],
    private readonly symbols: Record<string, number | bigint> = {},
  ) {}

  peek(k = 0): Tok {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)];
  }
  next(): Tok {
    const t = this.peek();
    if (t.kind !== 'end') this.i++;
    return t;
  }
  atEnd(): boolean {
    return this.peek().kind === 'end';
  }
  isOp(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'op' && t.text === text;
  }
  isIdent(text?: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && (text === undefined || t.text === text);
  }
  isReg(k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && REG_RE.test(t.text);
  }
  eatOp(text: string): boolean {
    if (this.isOp(text)) {
      this.i++;
      return true;
    }
    return false;
  }
  eatIdent(text: string): boolean {
    if (this.isIdent(text)) {
      this.i++;
      return true;
    }
    return false;
  }

  error(t: Tok, reason: string): KfError {
    return asmError(t.line, t.col, reason);
  }
  expected(what: string, t: Tok = this.peek()): KfError {
    return asmError(t.line, t.col, `expected ${what}, found ${describeTok(t)}`);
  }

  expectOp(text: string): Tok {
    if (!this.isOp(text)) throw this.expected(`"${text}"`);
    return this.next();
  }
  expectIdent(text: string): Tok {
    if (!this.isIdent(text)) throw this.expected(`"${text}"`);
    return this.next();
  }
  expectEnd(): void {
    if (!this.atEnd()) throw this.expected('end of statement');
  }
  /** Any identifier (a label or symbol name). */
  name(what = 'name'): Tok {
    if (this.peek().kind !== 'ident' || this.isReg()) throw this.expected(what);
    return this.next();
  }

  reg(what = 'register'): Reg {
    const t = this.peek();
    const m = t.kind === 'ident' ? REG_RE.exec(t.text) : null;
    if (!m) throw this.expected(what, t);
    this.i++;
    return { n: Number(m[2]), w: m[1] === 'w', tok: t };
  }
  /** A 64-bit register (`rN`), as memory bases and `callx` need. */
  reg64(what = 'register'): Reg {
    const t = this.peek();
    const r = this.reg(what);
    if (r.w) throw this.expected(`64-bit register r${r.n}`, t);
    return r;
  }
  /** A register of the given width (the second operand of an ALU/JMP op). */
  regLike(w: boolean): Reg {
    const t = this.peek();
    const r = this.reg();
    if (r.w !== w) throw this.expected(`${w ? '32-bit (w)' : '64-bit (r)'} register`, t);
    return r;
  }

  isNumber(k = 0): boolean {
    const t = this.peek(k);
    if (t.kind === 'num') return true;
    if ((t.kind === 'op' && (t.text === '-' || t.text === '+')) && this.peek(k + 1).kind === 'num') return true;
    return t.kind === 'ident' && !REG_RE.test(t.text) && Object.hasOwn(this.symbols, t.text);
  }
  /** A signed number (`-8`, `+0x10`) or a symbol given in the options. */
  number(what = 'number'): { value: bigint; tok: Tok } {
    const t = this.peek();
    if (t.kind === 'ident' && Object.hasOwn(this.symbols, t.text) && !REG_RE.test(t.text)) {
      this.i++;
      const v = this.symbols[t.text];
      if (typeof v === 'bigint') return { value: v, tok: t };
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
        throw this.error(t, `symbol "${t.text}" has value ${String(v)}, not an integer`);
      }
      return { value: BigInt(v), tok: t };
    }
    let neg = false;
    if (this.isOp('-') || this.isOp('+')) {
      neg = this.next().text === '-';
    }
    const n = this.peek();
    if (n.kind !== 'num') throw this.expected(what, n);
    this.i++;
    return { value: neg ? -n.value : n.value, tok: t };
  }
  /** A 32-bit immediate: -2^31 .. 2^32-1, wrapped to s32 as llvm-mc does. */
  imm32(what = 'immediate'): number {
    const { value, tok } = this.number(what);
    return toImm32(value, tok, (r) => this.error(tok, r));
  }
  /** A 16-bit signed offset. */
  off16(what = 'offset'): number {
    const { value, tok } = this.number(what);
    if (value < BigInt(S16_MIN) || value > BigInt(S16_MAX)) {
      throw this.error(tok, `${what} ${value} does not fit in 16 signed bits`);
    }
    return Number(value);
  }

  /** `(u64 *)` — the cast of a load/store; also accepts `(u64*)`. */
  memType(): MemType {
    this.expectOp('(');
    const t = this.peek();
    const ty = t.kind === 'ident' ? TYPES[t.text] : undefined;
    if (!ty) throw this.expected('type u8, u16, u32, u64, s8, s16 or s32', t);
    this.i++;
    this.expectOp('*');
    this.expectOp(')');
    return { size: ty[0], signed: ty[1], bits: ty[2], tok: t };
  }
  /** `(r10 - 8)`, `(r1 + 0x10)`, `(r1 +0)` (kernel), `(r1 + -8)` and `(r1)`. */
  memRef(): { base: Reg; off: number } {
    this.expectOp('(');
    const base = this.reg64('base register');
    const off = this.optOffset();
    this.expectOp(')');
    return { base, off };
  }
  /** `r1 + 0`, `r1 - 8` (cmpxchg_64 / xchg_64 address form). */
  addr(): { base: Reg; off: number } {
    const base = this.reg64('base register');
    return { base, off: this.optOffset() };
  }
  private optOffset(): number {
    if (this.isOp('+') || this.isOp('-')) {
      const sign = this.next().text;
      const { value, tok } = this.number('offset');
      const v = sign === '-' ? -value : value;
      if (v < BigInt(S16_MIN) || v > BigInt(S16_MAX)) throw this.error(tok, `offset ${v} does not fit in 16 signed bits`);
      return Number(v);
    }
    return 0;
  }
}

export function toImm32(value: bigint, _tok: Tok, err: (reason: string) => KfError): number {
  if (value < -0x80000000n || value > 0xffffffffn) {
    throw err(`immediate ${value} does not fit in 32 bits`);
  }
  return Number(BigInt.asIntN(32, value));
}
