// Assembler for uBPF's assembly syntax, the syntax of the bpf_conformance and
// uBPF test suites: `mov %r0, 1`, `ldxh %r0, [%r1+2]`, `jeq %r1, 0, +2`,
// `lddw %r0, 0x123456789`, `call local f`, `lock fetch add32 [%r10-4], %r1`.
//
// Mirrors bpf_conformance's bpf_assembler.cc and ubpf/assembler.py in what they
// accept and reject (the negative conformance cases), written from scratch.
// Bad input raises KfError naming the line: `line 3: invalid register "%r50"`.

import { KfError } from '../util/errors.js';
import { insn, type Insn } from './insn.js';
import { AluOp, AtomicOp, Class, JmpOp, LD_IMM64, Mode, PseudoCall, Size, Source } from './opcode.js';

export { parseConformanceCase, conformanceInsns, type ConformanceCase } from './asm-conformance.js';

type Shape =
  | 'alu' // op dst, src|imm
  | 'alu1' // neg dst / be16 dst
  | 'movsx' // movsx832 dst, src
  | 'ldx' // ldxw dst, [src+off]
  | 'st' // stw [dst+off], imm
  | 'stx' // stxw [dst+off], src
  | 'jcc' // jeq dst, src|imm, target
  | 'ja' // ja target (16-bit)
  | 'ja32' // ja32 target (32-bit, gotol)
  | 'call'
  | 'callx'
  | 'exit'
  | 'lddw'
  | 'ldabs' // ldabsw imm
  | 'ldind'; // ldindw src, imm

interface Op {
  readonly shape: Shape;
  readonly code: number;
  readonly off?: number;
  readonly imm?: number;
}

const SIZES: [string, Size][] = [
  ['b', Size.B],
  ['h', Size.H],
  ['w', Size.W],
  ['dw', Size.DW],
];

const OPS: Map<string, Op> = (() => {
  const m = new Map<string, Op>();
  const alu: [string, AluOp, number][] = [
    ['add', AluOp.ADD, 0], ['sub', AluOp.SUB, 0], ['mul', AluOp.MUL, 0], ['div', AluOp.DIV, 0],
    ['sdiv', AluOp.DIV, 1], ['or', AluOp.OR, 0], ['and', AluOp.AND, 0], ['lsh', AluOp.LSH, 0],
    ['rsh', AluOp.RSH, 0], ['mod', AluOp.MOD, 0], ['smod', AluOp.MOD, 1], ['xor', AluOp.XOR, 0],
    ['mov', AluOp.MOV, 0], ['arsh', AluOp.ARSH, 0],
  ];
  for (const [n, op, off] of alu) {
    m.set(n, { shape: 'alu', code: Class.ALU64 | op, off });
    m.set(`${n}64`, { shape: 'alu', code: Class.ALU64 | op, off });
    m.set(`${n}32`, { shape: 'alu', code: Class.ALU | op, off });
  }
  m.set('neg', { shape: 'alu1', code: Class.ALU64 | AluOp.NEG });
  m.set('neg64', { shape: 'alu1', code: Class.ALU64 | AluOp.NEG });
  m.set('neg32', { shape: 'alu1', code: Class.ALU | AluOp.NEG });
  for (const w of [16, 32, 64]) {
    m.set(`be${w}`, { shape: 'alu1', code: Class.ALU | AluOp.END | Source.X, imm: w });
    m.set(`le${w}`, { shape: 'alu1', code: Class.ALU | AluOp.END | Source.K, imm: w });
    m.set(`swap${w}`, { shape: 'alu1', code: Class.ALU64 | AluOp.END | Source.K, imm: w });
    m.set(`bswap${w}`, { shape: 'alu1', code: Class.ALU64 | AluOp.END | Source.K, imm: w });
  }
  for (const [n, cls, off] of [
    ['movsx832', Class.ALU, 8], ['movsx1632', Class.ALU, 16],
    ['movsx864', Class.ALU64, 8], ['movsx1664', Class.ALU64, 16], ['movsx3264', Class.ALU64, 32],
  ] as const) {
    m.set(n, { shape: 'movsx', code: cls | AluOp.MOV | Source.X, off });
  }
  for (const [s, size] of SIZES) {
    m.set(`ldx${s}`, { shape: 'ldx', code: Class.LDX | Mode.MEM | size });
    if (size !== Size.DW) m.set(`ldxs${s}`, { shape: 'ldx', code: Class.LDX | Mode.MEMSX | size });
    m.set(`st${s}`, { shape: 'st', code: Class.ST | Mode.MEM | size });
    m.set(`stx${s}`, { shape: 'stx', code: Class.STX | Mode.MEM | size });
    m.set(`ldabs${s}`, { shape: 'ldabs', code: Class.LD | Mode.ABS | size });
    m.set(`ldind${s}`, { shape: 'ldind', code: Class.LD | Mode.IND | size });
  }
  const jcc: [string, JmpOp][] = [
    ['jeq', JmpOp.JEQ], ['jgt', JmpOp.JGT], ['jge', JmpOp.JGE], ['jset', JmpOp.JSET],
    ['jne', JmpOp.JNE], ['jsgt', JmpOp.JSGT], ['jsge', JmpOp.JSGE], ['jlt', JmpOp.JLT],
    ['jle', JmpOp.JLE], ['jslt', JmpOp.JSLT], ['jsle', JmpOp.JSLE],
  ];
  for (const [n, op] of jcc) {
    m.set(n, { shape: 'jcc', code: Class.JMP | op });
    m.set(`${n}32`, { shape: 'jcc', code: Class.JMP32 | op });
  }
  m.set('ja', { shape: 'ja', code: Class.JMP | JmpOp.JA });
  m.set('ja32', { shape: 'ja32', code: Class.JMP32 | JmpOp.JA });
  m.set('jal', { shape: 'ja32', code: Class.JMP32 | JmpOp.JA });
  m.set('call', { shape: 'call', code: Class.JMP | JmpOp.CALL });
  m.set('callx', { shape: 'callx', code: Class.JMP | JmpOp.CALL | Source.X });
  m.set('exit', { shape: 'exit', code: Class.JMP | JmpOp.EXIT });
  m.set('lddw', { shape: 'lddw', code: LD_IMM64 });
  return m;
})();

const ATOMIC_OPS: Record<string, number> = {
  add: AtomicOp.ADD,
  and: AtomicOp.AND,
  or: AtomicOp.OR,
  xor: AtomicOp.XOR,
  xchg: AtomicOp.XCHG,
  cmpxchg: AtomicOp.CMPXCHG,
};

interface Pending {
  insns: Insn[];
  line: number;
  /** Label whose distance goes into `off` (jumps) or `imm` (ja32, call local). */
  label?: { name: string; field: 'off' | 'imm' };
}

const err = (line: number, reason: string): KfError => new KfError(reason, [`line ${line}`]);

const NUM_RE = /^([+-]?)(0x[0-9a-f]+|[0-9]+)$/i;
const LABEL_RE = /^[A-Za-z_.][A-Za-z0-9_.]*$/;

/** A number with its sign; `hex` says how it was written (hex may span the unsigned range). */
function parseNum(s: string, line: number, what: string): { v: bigint; hex: boolean } {
  const m = NUM_RE.exec(s.trim());
  if (!m) throw err(line, `invalid ${what} "${s}"`);
  const mag = BigInt(m[2]);
  return { v: m[1] === '-' ? -mag : mag, hex: /^0x/i.test(m[2]) };
}

/** imm32: decimal -2^31..2^31-1, hex up to 0xffffffff (the conformance suite's rules). */
function imm32(s: string, line: number): number {
  const { v, hex } = parseNum(s, line, 'immediate');
  const max = hex ? 0xffffffffn : 0x7fffffffn;
  if (v < -0x80000000n || v > max) throw err(line, `immediate ${s} out of 32-bit range`);
  return Number(BigInt.asIntN(32, v));
}

function off16(s: string, line: number): number {
  const { v } = parseNum(s, line, 'offset');
  if (v < -0x8000n || v > 0x7fffn) throw err(line, `offset ${s} out of 16-bit range`);
  return Number(v);
}

function reg(s: string, line: number): number {
  const m = /^%r([0-9]+)$/.exec(s.trim());
  // %r11..%r15 encode (the suites' load-time error cases use them); the validator rejects them.
  if (!m || Number(m[1]) > 15) throw err(line, `invalid register "${s}"`);
  return Number(m[1]);
}

/** `[%r1+2]`, `[%r10-8]`, `[%r1]`, `[%r1 + 0x10]`. */
function mem(s: string, line: number): { reg: number; off: number } {
  const m = /^\[\s*(%r[0-9]+)\s*(?:([+-])\s*(0x[0-9a-f]+|[0-9]+))?\s*\]$/i.exec(s.trim());
  if (!m) throw err(line, `invalid memory operand "${s}" (expected [%rN+off])`);
  return { reg: reg(m[1], line), off: m[2] ? off16(`${m[2]}${m[3]}`, line) : 0 };
}

/** Splits `a, b, c` into trimmed operands; an empty string has none. */
function splitOperands(s: string): string[] {
  const t = s.trim();
  return t === '' ? [] : t.split(',').map((x) => x.trim());
}

/** Assembles uBPF-syntax source into instruction slots. */
export function assembleUbpf(src: string): Insn[] {
  if (typeof src !== 'string') throw new KfError('assembler input is not a string');
  const labels = new Map<string, number>();
  const pending: Pending[] = [];
  let pc = 0;
  let firstExit: number | undefined;
  const lines = src.split(/\r?\n/);
  for (let li = 0; li < lines.length; li++) {
    const line = li + 1;
    let text = lines[li];
    const hash = text.indexOf('#');
    if (hash >= 0) text = text.slice(0, hash);
    text = text.trim();
    // Labels: `name:` (possibly followed by an instruction).
    let lm: RegExpExecArray | null;
    while ((lm = /^([A-Za-z_.][A-Za-z0-9_.]*)\s*:/.exec(text))) {
      if (labels.has(lm[1])) throw err(line, `duplicate label "${lm[1]}"`);
      labels.set(lm[1], pc);
      text = text.slice(lm[0].length).trim();
    }
    if (text === '') continue;
    const p = parseLine(text, line);
    if (p.insns[0].code === (Class.JMP | JmpOp.EXIT) && firstExit === undefined) firstExit = pc;
    pending.push(p);
    pc += p.insns.length;
  }
  // bpf_conformance names the first exit `exit`, so `ja exit` works.
  if (!labels.has('exit') && firstExit !== undefined) labels.set('exit', firstExit);

  const out: Insn[] = [];
  for (const p of pending) {
    const at = out.length;
    if (p.label) {
      const target = labels.get(p.label.name);
      if (target === undefined) throw err(p.line, `undefined label "${p.label.name}"`);
      const rel = target - (at + 1);
      const x = p.insns[0];
      if (p.label.field === 'off') {
        if (rel < -0x8000 || rel > 0x7fff) throw err(p.line, `jump to "${p.label.name}" does not fit in 16 bits`);
        out.push(insn(x.code, x.dst, x.src, rel, x.imm));
      } else out.push(insn(x.code, x.dst, x.src, x.off, rel));
    } else out.push(...p.insns);
  }
  return out;
}

function parseLine(text: string, line: number): Pending {
  const sp = /^(\S+)\s*(.*)$/.exec(text)!;
  const mnemonic = sp[1].toLowerCase();
  const rest = sp[2];
  if (mnemonic === 'lock') return parseLock(rest, line);
  const op = OPS.get(mnemonic);
  if (!op) throw err(line, `unknown mnemonic "${sp[1]}"`);
  let ops = splitOperands(rest);
  const want = (n: number): void => {
    if (ops.length !== n) throw err(line, `"${mnemonic}" takes ${n} operand${n === 1 ? '' : 's'}, found ${ops.length}`);
  };
  const one = (x: Insn): Pending => ({ insns: [x], line });
  const target = (s: string, field: 'off' | 'imm', x: (v: number) => Insn): Pending => {
    if (NUM_RE.test(s)) return one(x(field === 'off' ? off16(s, line) : imm32(s, line)));
    if (!LABEL_RE.test(s)) throw err(line, `invalid jump target "${s}"`);
    return { insns: [x(0)], line, label: { name: s, field } };
  };
  switch (op.shape) {
    case 'alu': {
      want(2);
      const d = reg(ops[0], line);
      if (ops[1].startsWith('%')) return one(insn(op.code | Source.X, d, reg(ops[1], line), op.off ?? 0, 0));
      return one(insn(op.code | Source.K, d, 0, op.off ?? 0, imm32(ops[1], line)));
    }
    case 'alu1':
      want(1);
      return one(insn(op.code, reg(ops[0], line), 0, 0, op.imm ?? 0));
    case 'movsx':
      want(2);
      return one(insn(op.code, reg(ops[0], line), reg(ops[1], line), op.off ?? 0, 0));
    case 'ldx': {
      want(2);
      const m = mem(ops[1], line);
      return one(insn(op.code, reg(ops[0], line), m.reg, m.off, 0));
    }
    case 'st': {
      want(2);
      const m = mem(ops[0], line);
      return one(insn(op.code, m.reg, 0, m.off, imm32(ops[1], line)));
    }
    case 'stx': {
      want(2);
      const m = mem(ops[0], line);
      return one(insn(op.code, m.reg, reg(ops[1], line), m.off, 0));
    }
    case 'jcc': {
      want(3);
      const d = reg(ops[0], line);
      const x = ops[1].startsWith('%')
        ? insn(op.code | Source.X, d, reg(ops[1], line), 0, 0)
        : insn(op.code | Source.K, d, 0, 0, imm32(ops[1], line));
      return target(ops[2], 'off', (v) => insn(x.code, x.dst, x.src, v, x.imm));
    }
    case 'ja':
      want(1);
      return target(ops[0], 'off', (v) => insn(op.code, 0, 0, v, 0));
    case 'ja32':
      want(1);
      return target(ops[0], 'imm', (v) => insn(op.code, 0, 0, 0, v));
    case 'exit':
      want(0);
      return one(insn(op.code, 0, 0, 0, 0));
    case 'callx':
      want(1);
      return one(insn(op.code, reg(ops[0], line), 0, 0, 0));
    case 'call': {
      // `call 1`, `call helper 1`, `call local f`, `call runtime 2`, `call %r2` (callx).
      ops = rest.trim() === '' ? [] : rest.trim().split(/\s+/);
      if (ops.length === 1 && ops[0].startsWith('%')) {
        return one(insn(Class.JMP | JmpOp.CALL | Source.X, reg(ops[0], line), 0, 0, 0));
      }
      if (ops.length === 1) ops.unshift('helper');
      want(2);
      switch (ops[0]) {
        case 'helper':
          return one(insn(op.code, 0, PseudoCall.HELPER, 0, imm32(ops[1], line)));
        case 'runtime':
          return one(insn(op.code, 0, PseudoCall.KFUNC_CALL, 0, imm32(ops[1], line)));
        case 'local':
          return target(ops[1], 'imm', (v) => insn(op.code, 0, PseudoCall.CALL, 0, v));
      }
      throw err(line, `invalid call mode "${ops[0]}" (expected helper, local or runtime)`);
    }
    case 'lddw': {
      want(2);
      const d = reg(ops[0], line);
      const { v } = parseNum(ops[1], line, 'immediate');
      if (v < -(1n << 63n) || v >= 1n << 64n) throw err(line, `immediate ${ops[1]} out of 64-bit range`);
      const lo = Number(BigInt.asIntN(32, v));
      const hi = Number(BigInt.asIntN(32, v >> 32n));
      return { insns: [insn(op.code, d, 0, 0, lo), insn(0, 0, 0, 0, hi)], line };
    }
    case 'ldabs':
      want(1);
      return one(insn(op.code, 0, 0, 0, imm32(ops[0], line)));
    case 'ldind':
      want(2);
      return one(insn(op.code, 0, reg(ops[0], line), 0, imm32(ops[1], line)));
  }
}

/** `lock [fetch] op[32] [%rD+off], %rS`. */
function parseLock(rest: string, line: number): Pending {
  const m = /^(?:(fetch)\s+)?([a-z]+?)(32)?\s+(.*)$/i.exec(rest.trim());
  if (!m) throw err(line, 'Invalid number of operands for lock (expected lock [fetch] op [%rN+off], %rM)');
  const [, fetch, name, w32, args] = m;
  const base = ATOMIC_OPS[name.toLowerCase()];
  if (base === undefined) throw err(line, `unknown atomic operation "${name}${w32 ?? ''}"`);
  const ops = splitOperands(args);
  if (ops.length !== 2) throw err(line, `Invalid number of operands for lock: expected 2, found ${ops.length}`);
  const a = mem(ops[0], line);
  const s = reg(ops[1], line);
  const size = w32 ? Size.W : Size.DW;
  const imm = fetch ? base | AtomicOp.FETCH : base;
  return { insns: [insn(Class.STX | Mode.ATOMIC | size, a.reg, s, a.off, imm)], line };
}
