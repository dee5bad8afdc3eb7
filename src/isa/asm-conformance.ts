// The `.data` test-case format of bpf_conformance and uBPF:
//
//   # comment
//   -- asm          uBPF assembly
//   -- raw          the program as bytes: `0x<16 hex digits>` (an instruction read as a
//                   little-endian u64) or `07 00 01 00 01 00 00 00` per line
//   -- mem          hex bytes; r1 points at them, r2 is their length
//   -- result       r0 at exit, hex
//   -- error        expected load/run error text (may be empty)
//
// uBPF also has `-- c`, `-- error pattern`, `-- no register offset`, `-- reload`, `-- unload`
// (kept in `other`).

import { KfError } from '../util/errors.js';
import { decodeInsns } from './codec.js';
import type { Insn } from './insn.js';
import { assembleUbpf } from './asm-ubpf.js';

export interface ConformanceCase {
  /** The `-- asm` section ('' when absent). */
  asm: string;
  mem?: Uint8Array;
  result?: bigint;
  error?: string;
  raw?: Insn[];
  /** Other known sections by name (`c`, `no register offset`, `reload`, `unload`). */
  other?: Record<string, string>;
}

const KNOWN = new Set(['asm', 'raw', 'mem', 'result', 'error', 'error pattern', 'c', 'no register offset', 'reload', 'unload', 'no jit']);

export function parseConformanceCase(text: string): ConformanceCase {
  if (typeof text !== 'string') throw new KfError('conformance case is not a string');
  const sections = new Map<string, { line: number; body: string[] }>();
  let cur: string[] | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const m = /^--\s*(.*?)\s*$/.exec(l);
    if (m) {
      const name = m[1];
      if (!KNOWN.has(name)) throw new KfError(`unknown section "-- ${name}"`, [`line ${i + 1}`]);
      if (sections.has(name)) throw new KfError(`duplicate section "-- ${name}"`, [`line ${i + 1}`]);
      cur = [];
      sections.set(name, { line: i + 1, body: cur });
    } else if (cur) cur.push(l);
  }
  const out: ConformanceCase = { asm: sections.get('asm')?.body.join('\n') ?? '' };
  for (const [name, { line, body }] of sections) {
    const at = (reason: string): KfError => new KfError(reason, [`line ${line}`, `section "-- ${name}"`]);
    switch (name) {
      case 'asm':
        break;
      case 'mem':
        out.mem = parseHexBytes(body.join(' '), at);
        break;
      case 'result': {
        const t = stripComments(body).join('').trim();
        if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(t)) throw at(`invalid result "${t}"`);
        out.result = BigInt(t);
        break;
      }
      case 'error':
        out.error = body.join('\n').trim();
        break;
      case 'raw':
        out.raw = parseRaw(body, at);
        break;
      default:
        (out.other ??= {})[name] = body.join('\n');
    }
  }
  return out;
}

/** The program of a case: its `-- raw` bytes if present, else its assembled `-- asm`. */
export function conformanceInsns(c: ConformanceCase): Insn[] {
  if (c.raw) return c.raw;
  const insns = assembleUbpf(c.asm);
  if (insns.length === 0) throw new KfError('conformance case has no program (no -- asm or -- raw instructions)');
  return insns;
}

function stripComments(body: string[]): string[] {
  return body.map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l !== '');
}

function parseHexBytes(s: string, at: (r: string) => KfError): Uint8Array {
  const toks = s.replace(/#.*$/gm, '').trim().split(/\s+/).filter((t) => t !== '');
  const out = new Uint8Array(toks.length);
  toks.forEach((t, i) => {
    if (!/^[0-9a-f]{2}$/i.test(t)) throw at(`invalid hex byte "${t}"`);
    out[i] = parseInt(t, 16);
  });
  return out;
}

function parseRaw(body: string[], at: (r: string) => KfError): Insn[] {
  const bytes: number[] = [];
  for (const l of stripComments(body)) {
    if (/^0x[0-9a-f]+$/i.test(l)) {
      if (l.length > 18) throw at(`raw instruction "${l}" has more than 64 bits`);
      let v = BigInt(l);
      for (let k = 0; k < 8; k++, v >>= 8n) bytes.push(Number(v & 0xffn));
    } else {
      const b = parseHexBytes(l, at);
      if (b.length !== 8) throw at(`raw instruction "${l}" is not 8 bytes`);
      bytes.push(...b);
    }
  }
  return decodeInsns(Uint8Array.from(bytes));
}
