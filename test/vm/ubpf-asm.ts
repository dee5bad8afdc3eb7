// A temporary, minimal assembler for the uBPF/bpf_conformance `-- asm`
// syntax, used only by the VM tests until src/isa/asm-ubpf.ts exists.
// Throws on anything it does not know (the test then lists the case as skipped).

import { insn, type Insn } from '../../src/isa/insn.js';
import { decodeInsns } from '../../src/isa/codec.js';

const ALU: Record<string, [number, number]> = {
  add: [0x00, 0], sub: [0x10, 0], mul: [0x20, 0], div: [0x30, 0], sdiv: [0x30, 1], or: [0x40, 0], and: [0x50, 0],
  lsh: [0x60, 0], rsh: [0x70, 0], neg: [0x80, 0], mod: [0x90, 0], smod: [0x90, 1], xor: [0xa0, 0], mov: [0xb0, 0],
  arsh: [0xc0, 0],
};
const JMP: Record<string, number> = {
  jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
};
const SIZE: Record<string, number> = { w: 0x00, h: 0x08, b: 0x10, dw: 0x18 };
const ATOM: Record<string, number> = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0 };

function reg(s: string): number {
  const m = /^%r(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`bad register ${s}`);
  return Number(m[1]);
}
function num(s: string): bigint {
  const t = s.trim();
  const m = /^([+-]?)(0x[0-9a-f]+|\d+)$/i.exec(t);
  if (!m) throw new Error(`bad number ${s}`);
  const v = BigInt(m[2]);
  return m[1] === '-' ? -v : v;
}
const imm32 = (s: string): number => Number(BigInt.asIntN(32, num(s)));
function memop(s: string): [number, number] {
  const m = /^\[\s*(%r\d+)\s*(?:([+-])\s*(0x[0-9a-f]+|\d+))?\s*\]$/i.exec(s.trim());
  if (!m) throw new Error(`bad memory operand ${s}`);
  const off = m[3] ? Number(BigInt(m[3])) * (m[2] === '-' ? -1 : 1) : 0;
  return [reg(m[1]), off];
}

export function assembleUbpfMini(src: string): Insn[] {
  const lines: string[][] = [];
  const labels = new Map<string, number>();
  let pc = 0;
  for (const raw of src.split('\n')) {
    let line = raw.replace(/#.*/, '').trim();
    const lm = /^([A-Za-z_][\w]*):\s*(.*)$/.exec(line);
    if (lm) {
      labels.set(lm[1], pc);
      line = lm[2];
    }
    if (!line) continue;
    const sp = line.indexOf(' ');
    const mn = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    const ops = rest ? rest.split(',').map((x) => x.trim()) : [];
    lines.push([mn, ...ops]);
    pc += mn === 'lddw' ? 2 : 1;
  }
  const out: Insn[] = [];
  const exits: number[] = [];
  {
    let p = 0;
    for (const [mn] of lines) {
      if (mn === 'exit') exits.push(p);
      p += mn === 'lddw' ? 2 : 1;
    }
  }
  const target = (s: string, at: number): number => {
    if (labels.has(s)) return labels.get(s)! - at - 1;
    // bpf_conformance: a jump to `exit` goes to the next exit instruction
    if (s === 'exit') {
      const e = exits.find((p) => p > at);
      if (e !== undefined) return e - at - 1;
    }
    return Number(num(s));
  };
  for (const [mn, ...ops] of lines) {
    const at = out.length;
    let m: RegExpExecArray | null;
    if (mn === 'exit') out.push(insn(0x95, 0, 0, 0, 0));
    else if (mn === 'lddw') {
      const v = BigInt.asUintN(64, num(ops[1]));
      out.push(insn(0x18, reg(ops[0]), 0, 0, Number(BigInt.asIntN(32, v))));
      out.push(insn(0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n))));
    } else if ((m = /^(be|le|bswap|swap)(16|32|64)$/.exec(mn))) {
      const code = m[1] === 'be' ? 0xdc : m[1] === 'le' ? 0xd4 : 0xd7;
      out.push(insn(code, reg(ops[0]), 0, 0, Number(m[2])));
    } else if ((m = /^movsx(8|16|32)(32|64)$/.exec(mn))) {
      out.push(insn(m[2] === '64' ? 0xbf : 0xbc, reg(ops[0]), reg(ops[1]), Number(m[1]), 0));
    } else if ((m = /^([a-z]+?)(32)?$/.exec(mn)) && ALU[m[1]]) {
      const [op, off] = ALU[m[1]];
      const cls = m[2] ? 0x04 : 0x07;
      if (op === 0x80) out.push(insn(cls | op, reg(ops[0]), 0, 0, 0));
      else if (ops[1].startsWith('%')) out.push(insn(cls | op | 8, reg(ops[0]), reg(ops[1]), off, 0));
      else out.push(insn(cls | op, reg(ops[0]), 0, off, imm32(ops[1])));
    } else if (mn === 'ja') out.push(insn(0x05, 0, 0, target(ops[0], at), 0));
    else if (mn === 'ja32') out.push(insn(0x06, 0, 0, 0, target(ops[0], at)));
    else if ((m = /^([a-z]+?)(32)?$/.exec(mn)) && JMP[m[1]] !== undefined) {
      const cls = m[2] ? 0x06 : 0x05;
      const off = target(ops[2], at);
      if (ops[1].startsWith('%')) out.push(insn(cls | JMP[m[1]] | 8, reg(ops[0]), reg(ops[1]), off, 0));
      else out.push(insn(cls | JMP[m[1]], reg(ops[0]), 0, off, imm32(ops[1])));
    } else if (mn === 'call') {
      const a = ops[0] ?? '';
      if (a.startsWith('local ')) out.push(insn(0x85, 0, 1, 0, target(a.slice(6).trim(), at)));
      else if (a.startsWith('%')) throw new Error('callx is not supported');
      else out.push(insn(0x85, 0, 0, 0, imm32(a)));
    } else if ((m = /^ldx(s?)(dw|w|h|b)$/.exec(mn))) {
      const [r, off] = memop(ops[1]);
      out.push(insn((m[1] ? 0x81 : 0x61) | SIZE[m[2]], reg(ops[0]), r, off, 0));
    } else if ((m = /^st(x?)(dw|w|h|b)$/.exec(mn))) {
      const [r, off] = memop(ops[0]);
      if (m[1]) out.push(insn(0x63 | SIZE[m[2]], r, reg(ops[1]), off, 0));
      else out.push(insn(0x62 | SIZE[m[2]], r, 0, off, imm32(ops[1])));
    } else if (mn === 'lock') {
      const parts = ops[0].split(/\s+/);
      const fetch = parts[0] === 'fetch' ? 1 : 0;
      const opname = parts[fetch];
      const mem = parts.slice(fetch + 1).join(' ');
      const om = /^([a-z]+?)(32)?$/.exec(opname)!;
      let imm: number;
      if (om[1] === 'xchg') imm = 0xe1;
      else if (om[1] === 'cmpxchg') imm = 0xf1;
      else if (ATOM[om[1]] !== undefined) imm = ATOM[om[1]] | fetch;
      else throw new Error(`unknown atomic ${opname}`);
      const [r, off] = memop(mem);
      out.push(insn(0xc3 | (om[2] ? 0x00 : 0x18), r, reg(ops[1]), off, imm));
    } else throw new Error(`unknown mnemonic ${mn}`);
  }
  return out;
}

export interface Case {
  asm?: string;
  raw?: Insn[];
  mem?: Uint8Array;
  result?: bigint;
  error?: string;
  sections: string[];
}

export function parseCase(text: string): Case {
  const sec = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of text.split('\n')) {
    const m = /^-- (.+)$/.exec(line);
    if (m) {
      cur = [];
      sec.set(m[1].trim(), cur);
    } else cur?.push(line);
  }
  const c: Case = { sections: [...sec.keys()] };
  if (sec.has('asm')) c.asm = sec.get('asm')!.join('\n');
  if (sec.has('raw')) {
    const words = sec.get('raw')!.map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);
    const b = new Uint8Array(words.length * 8);
    const dv = new DataView(b.buffer);
    words.forEach((w, i) => dv.setBigUint64(i * 8, BigInt(w), true));
    c.raw = decodeInsns(b);
  }
  if (sec.has('mem')) {
    const hex = sec.get('mem')!.join(' ').replace(/#.*/g, '').trim().split(/\s+/).filter(Boolean);
    c.mem = Uint8Array.from(hex.map((h) => parseInt(h, 16)));
  }
  if (sec.has('result')) {
    const t = sec.get('result')!.map((l) => l.replace(/#.*/, '').trim()).filter(Boolean)[0];
    if (t !== undefined) c.result = BigInt.asUintN(64, num(t));
  }
  if (sec.has('error')) c.error = sec.get('error')!.join('\n').trim();
  return c;
}
