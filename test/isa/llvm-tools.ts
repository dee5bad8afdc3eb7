// Test helpers around the llvm-19 tools (clang-19, llvm-objdump-19, llvm-objcopy-19).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeInsns } from '../../src/isa/codec.js';
import type { Insn } from '../../src/isa/insn.js';

function findTool(name: string): string | undefined {
  for (const p of [`/usr/bin/${name}`, `/usr/lib/llvm-19/bin/${name.replace(/-19$/, '')}`]) if (existsSync(p)) return p;
  return undefined;
}

export const CLANG = findTool('clang-19');
export const OBJDUMP = findTool('llvm-objdump-19');
export const OBJCOPY = findTool('llvm-objcopy-19');
export const HAVE_LLVM = !!(CLANG && OBJDUMP && OBJCOPY);
export const MISSING_LLVM = HAVE_LLVM ? '' : 'clang-19, llvm-objdump-19 or llvm-objcopy-19 missing';

export function withTmp<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'kfisa-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Assembles an llvm-mc syntax .s file into a .o (clang-19 -target bpf -mcpu=v4 -c). */
export function assemble(sFile: string, oFile: string): void {
  execFileSync(CLANG!, ['-target', 'bpf', '-mcpu=v4', '-c', sFile, '-o', oFile], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Instruction lines of `llvm-objdump-19 -d` for .text (the lines that start with an index). */
export function objdumpText(oFile: string, extra: string[] = []): string[] {
  const out = execFileSync(OBJDUMP!, ['-d', ...extra, oFile], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return out.split('\n').filter((l) => /^\s+\d+:\t/.test(l));
}

/** The raw bytes of .text (llvm-objcopy-19 -O binary --only-section=.text). */
export function textBytes(oFile: string, dir: string): Uint8Array {
  const bin = join(dir, 'text.bin');
  execFileSync(OBJCOPY!, ['-O', 'binary', '--only-section=.text', oFile, bin]);
  return new Uint8Array(readFileSync(bin));
}

/** A .s file that places these exact slots in .text. */
export function quadSource(insns: readonly Insn[]): string {
  const b = encodeInsns(insns);
  const dv = new DataView(b.buffer);
  const lines = ['\t.text'];
  for (let o = 0; o < b.length; o += 8) lines.push(`\t.quad 0x${dv.getBigUint64(o, true).toString(16).padStart(16, '0')}`);
  return lines.join('\n') + '\n';
}

/** objdump lines (both modes) for exact slots, assembled through .quad. */
export function objdumpOfInsns(insns: readonly Insn[], extra: string[] = []): string[] {
  return withTmp((dir) => {
    const s = join(dir, 'q.s');
    const o = join(dir, 'q.o');
    writeFileSync(s, quadSource(insns));
    assemble(s, o);
    return objdumpText(o, extra);
  });
}
