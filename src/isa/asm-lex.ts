// Source handling shared by the kernel/clang-syntax assembler: comments, the
// kernel selftests' quoted-string style, `;` separators, and a tokenizer whose
// tokens remember their line and column for error messages.
//
// Mirrors the lexing part of LLVM's BPFAsmParser (llvm/lib/Target/BPF/AsmParser),
// which treats `#` and `//` as comment starts and `;` as a statement separator.

import { KfError } from '../util/errors.js';

/** A KfError located at `line`:`col` (both 1-based): `line 4: col 9: <reason>`. */
export function asmError(line: number, col: number, reason: string): KfError {
  return new KfError(reason, col > 0 ? [`line ${line}`, `col ${col}`] : [`line ${line}`]);
}

export type TokKind = 'ident' | 'num' | 'op' | 'str' | 'end';

export interface Tok {
  readonly kind: TokKind;
  /** Identifier or operator text; for numbers the source spelling. */
  readonly text: string;
  /** Numeric value for `num` tokens (always non-negative: `-` is its own token). */
  readonly value: bigint;
  readonly line: number;
  readonly col: number;
}

/** One statement: the tokens between separators, ending with an `end` token. */
export interface Stmt {
  readonly line: number;
  readonly toks: Tok[];
}

// Longest operators first.
const OPS = [
  's>>=', '<<=', '>>=', 's/=', 's%=', 's>=', 's<=', 's>', 's<',
  '+=', '-=', '*=', '/=', '%=', '|=', '&=', '^=', '==', '!=', '>=', '<=',
  '>', '<', '=', '&', '(', ')', '[', ']', '*', '+', '-', ',', ':', '#', '{', '}',
];

const isIdStart = (c: string): boolean => /[A-Za-z_.$@]/.test(c);
const isIdChar = (c: string): boolean => /[A-Za-z0-9_.$@]/.test(c);

/**
 * Blanks out everything that is not assembly text, keeping columns: comments
 * (`//`, `/* *\/`, `#` at a word start) and, for lines in the selftest style
 * (`"r0 = 0;"  "exit;" \`), the quotes, escapes and anything outside the strings.
 */
function cleanLines(src: string): string[] {
  const lines = src.split(/\r?\n/);
  const out: string[] = [];
  let inBlock = false;
  // A selftest string continued on the next line with a trailing backslash.
  let inStr = false;
  for (const raw of lines) {
    let s = raw.replace(/\t/g, ' ');
    // Block comments may span lines.
    let t = '';
    for (let i = 0; i < s.length; i++) {
      if (inBlock) {
        if (s[i] === '*' && s[i + 1] === '/') {
          inBlock = false;
          t += '  ';
          i++;
        } else t += ' ';
      } else if (s[i] === '/' && s[i + 1] === '*') {
        inBlock = true;
        t += '  ';
        i++;
      } else t += s[i];
    }
    s = t;
    if (inStr || /^\s*"/.test(s)) [s, inStr] = unquote(s, inStr);
    // Line comments: `//` anywhere, `#` at the start of a word (so `call f#1` keeps its `#1`).
    const sl = s.indexOf('//');
    if (sl >= 0) s = s.slice(0, sl);
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '#' && (i === 0 || /\s|;/.test(s[i - 1]))) {
        s = s.slice(0, i);
        break;
      }
    }
    out.push(s);
  }
  return out;
}

/**
 * `  "r0 = 0;\n" "exit;" \` → `   r0 = 0;      exit;    ` (same columns). Returns the
 * text and whether a string continues on the next line (`"r0 = 0; \` at the end).
 */
function unquote(s: string, startInStr: boolean): [string, boolean] {
  let t = '';
  let inStr = startInStr;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (!inStr) {
      if (c === '"') inStr = true;
      t += ' ';
    } else if (c === '\\' && i + 1 === s.length) {
      return [t + ' ', true];
    } else if (c === '\\') {
      // `\n` separates statements like `;`; other escapes are blanks.
      t += s[i + 1] === 'n' ? '; ' : '  ';
      i++;
    } else if (c === '"') {
      inStr = false;
      t += ' ';
    } else t += c;
  }
  return [t, false];
}

/** Splits the source into statements (by newline and `;`) and tokenizes each. */
export function lexStatements(src: string): Stmt[] {
  const stmts: Stmt[] = [];
  const lines = cleanLines(src);
  for (let li = 0; li < lines.length; li++) {
    const line = li + 1;
    const s = lines[li];
    let toks: Tok[] = [];
    const flush = (col: number): void => {
      if (toks.length) {
        toks.push({ kind: 'end', text: '', value: 0n, line, col });
        stmts.push({ line, toks });
      }
      toks = [];
    };
    let i = 0;
    while (i < s.length) {
      const c = s[i];
      const col = i + 1;
      if (c === ' ' || c === '\r' || c === '\f' || c === '\v') {
        i++;
        continue;
      }
      if (c === ';') {
        flush(col);
        i++;
        continue;
      }
      if (/[0-9]/.test(c)) {
        let j = i;
        let value: bigint;
        if (c === '0' && (s[i + 1] === 'x' || s[i + 1] === 'X')) {
          j = i + 2;
          while (j < s.length && /[0-9a-fA-F]/.test(s[j])) j++;
          if (j === i + 2) throw asmError(line, col, `malformed hexadecimal number "${s.slice(i, j)}"`);
          value = BigInt(s.slice(i, j));
        } else {
          while (j < s.length && /[0-9]/.test(s[j])) j++;
          value = BigInt(s.slice(i, j));
        }
        if (j < s.length && isIdChar(s[j])) {
          let k = j;
          while (k < s.length && isIdChar(s[k])) k++;
          throw asmError(line, col, `malformed number "${s.slice(i, k)}"`);
        }
        toks.push({ kind: 'num', text: s.slice(i, j), value, line, col });
        i = j;
        continue;
      }
      // Verifier-log opcode column at the start of a statement: `(b7) r0 = 0`, `0: (18) r1 = ...`.
      const atStart = toks.length === 0 || (toks.length === 2 && toks[0].kind === 'num' && toks[1].text === ':');
      if (c === '(' && atStart && /^\([0-9a-fA-F]{2}\)/.test(s.slice(i, i + 4))) {
        toks.push({ kind: 'op', text: '(op)', value: BigInt(`0x${s.slice(i + 1, i + 3)}`), line, col });
        i += 4;
        continue;
      }
      if (c === '"') {
        const close = s.indexOf('"', i + 1);
        if (close < 0) throw asmError(line, col, 'unterminated string');
        toks.push({ kind: 'str', text: s.slice(i + 1, close), value: 0n, line, col });
        i = close + 1;
        continue;
      }
      // Selftest operand placeholder: %[name] is the symbol name.
      if (c === '%' && s[i + 1] === '[') {
        const close = s.indexOf(']', i);
        const name = close > 0 ? s.slice(i + 2, close).trim() : '';
        if (close < 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          throw asmError(line, col, `malformed operand placeholder "${s.slice(i, close < 0 ? s.length : close + 1)}"`);
        }
        toks.push({ kind: 'ident', text: name, value: 0n, line, col });
        i = close + 1;
        continue;
      }
      if (isIdStart(c)) {
        // Signed operators start with an `s`: `s<`, `s>=`, `s>>=`, `s/=`, `s%=`.
        if (c === 's' && /[<>/%]/.test(s[i + 1] ?? '')) {
          const op = OPS.find((o) => o.startsWith('s') && s.startsWith(o, i));
          if (op) {
            toks.push({ kind: 'op', text: op, value: 0n, line, col });
            i += op.length;
            continue;
          }
        }
        let j = i + 1;
        while (j < s.length && isIdChar(s[j])) j++;
        // Selftest local labels: `l0_%=` (the compiler replaces %= by a number).
        if (s[j - 1] === '_' && s[j] === '%' && s[j + 1] === '=') j += 2;
        toks.push({ kind: 'ident', text: s.slice(i, j), value: 0n, line, col });
        i = j;
        continue;
      }
      const op = OPS.find((o) => !o.startsWith('s') && s.startsWith(o, i));
      if (op) {
        toks.push({ kind: 'op', text: op, value: 0n, line, col });
        i += op.length;
        continue;
      }
      throw asmError(line, col, `unexpected character ${JSON.stringify(c)}`);
    }
    flush(s.length + 1);
  }
  return stmts;
}

/** Human form of a token for "expected X, found Y" messages. */
export function describeTok(t: Tok): string {
  return t.kind === 'end' ? 'end of statement' : `"${t.text}"`;
}
