// The running kernel as an oracle for the numeric domains: compiles a tiny C
// loader (vlog.c) with clang-19 and loads raw socket-filter programs with
// log_level 2. Everything here returns null/skips when clang-19 or root is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let loader: string | null | undefined;

/** Why the kernel oracle is unavailable, or null when it is available. */
export function kernelMissing(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'bpf() needs root';
  if (!existsSync('/usr/bin/clang-19')) return 'clang-19 not installed';
  if (loader === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'kf-vlog-'));
    const out = join(dir, 'vlog');
    const r = spawnSync('/usr/bin/clang-19', ['-O2', '-o', out, join(here, 'vlog.c')], { encoding: 'utf8' });
    loader = r.status === 0 ? out : null;
  }
  if (!loader) return 'could not build the vlog.c loader';
  return null;
}

export interface LoadResult {
  errno: number;
  log: string;
}

/** Loads each program (raw instruction bytes) and returns errno and the level-2 log. */
export function loadPrograms(progs: Uint8Array[]): LoadResult[] {
  if (kernelMissing() || !loader) throw new Error('kernel oracle unavailable');
  const input = progs.map((p) => Buffer.from(p).toString('hex')).join('\n') + '\n';
  const r = spawnSync(loader, [], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`vlog failed: ${r.stderr}`);
  const out: LoadResult[] = [];
  const re = /^=== (\d+)\n([\s\S]*?)\n=== end$/gm;
  for (let m = re.exec(r.stdout); m; m = re.exec(r.stdout)) out.push({ errno: Number(m[1]), log: m[2]! });
  return out;
}

/** Splits "R0=scalar(smin=0,var_off=(0x0; 0xff)) R10=fp0" into register texts. */
export function parseRegs(text: string): Map<number, string> {
  const regs = new Map<number, string>();
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ') i++;
    const m = /^R(\d+)=/.exec(text.slice(i));
    if (!m) break;
    i += m[0].length;
    let depth = 0;
    let start = i;
    while (i < text.length && (depth > 0 || text[i] !== ' ')) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')') depth--;
      i++;
    }
    regs.set(Number(m[1]), text.slice(start, i));
    start = i;
  }
  return regs;
}

export interface InsnLine {
  idx: number;
  regs: Map<number, string>;
}

export interface ParsedLog {
  /** Instruction lines in order ("5: (25) if r0 > 0xa goto pc+1 ; R0=..."). */
  lines: InsnLine[];
  /** "from 3 to 7: R0=..." lines keyed "3->7". */
  from: Map<string, Map<number, string> | 'safe'>;
}

export function parseLog(log: string): ParsedLog {
  const lines: InsnLine[] = [];
  const from = new Map<string, Map<number, string> | 'safe'>();
  for (const l of log.split('\n')) {
    let m = /^(\d+): \([0-9a-f]{2}\) [^;]*?(?:\s+; (.*))?$/.exec(l);
    if (m) {
      lines.push({ idx: Number(m[1]), regs: m[2] ? parseRegs(m[2]) : new Map() });
      continue;
    }
    m = /^from (\d+) to (\d+): (.*)$/.exec(l);
    if (m) from.set(`${m[1]}->${m[2]}`, m[3] === 'safe' ? 'safe' : parseRegs(m[3]!));
  }
  return { lines, from };
}

/** Removes "id=N" / "id=N+K" annotations the numeric model does not track. */
export const stripIds = (s: string): string => s.replace(/id=\d+(?:[+-]\d+)?,?/g, '').replace(/,\)/g, ')').replace('scalar()', 'scalar()');

/** Encodes one instruction (little-endian). */
export function enc(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (src << 4) | dst;
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.length * 8);
  parts.forEach((p, i) => out.set(p, i * 8));
  return out;
}
