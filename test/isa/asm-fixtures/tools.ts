// Helpers for the assembler tests: locating llvm tools and assembling with llvm-mc.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function findTool(name: string): string | undefined {
  for (const p of [name, `/usr/lib/llvm-19/bin/${name.replace(/-19$/, '')}`]) {
    const r = spawnSync(p, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return p;
  }
  return undefined;
}

export const CLANG = findTool('clang-19');
export const OBJCOPY = findTool('llvm-objcopy-19');
export const HAVE_LLVM = CLANG !== undefined && OBJCOPY !== undefined;
export const LLVM_MISSING = 'clang-19 or llvm-objcopy-19 not installed';

/** Assembles `src` with llvm-mc (clang-19 -target bpf -mcpu=v4) and returns the .text bytes. */
export function llvmText(src: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'kfasm-'));
  try {
    writeFileSync(join(dir, 'x.s'), src);
    const cc = spawnSync(CLANG!, ['-target', 'bpf', '-mcpu=v4', '-c', 'x.s', '-o', 'x.o'], { cwd: dir, encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`clang-19 failed: ${cc.stderr}`);
    const oc = spawnSync(OBJCOPY!, ['-O', 'binary', '--only-section=.text', 'x.o', 'out.bin'], { cwd: dir, encoding: 'utf8' });
    if (oc.status !== 0) throw new Error(`llvm-objcopy-19 failed: ${oc.stderr}`);
    return new Uint8Array(readFileSync(join(dir, 'out.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Compiles C with clang-19 -target bpf -mcpu=v4 -O2 and returns the .text bytes. */
export function clangCText(csrc: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'kfasm-'));
  try {
    writeFileSync(join(dir, 'x.c'), csrc);
    const cc = spawnSync(CLANG!, ['-target', 'bpf', '-mcpu=v4', '-O2', '-c', 'x.c', '-o', 'x.o'], { cwd: dir, encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`clang-19 failed: ${cc.stderr}`);
    const oc = spawnSync(OBJCOPY!, ['-O', 'binary', '--only-section=.text', 'x.o', 'out.bin'], { cwd: dir, encoding: 'utf8' });
    if (oc.status !== 0) throw new Error(`llvm-objcopy-19 failed: ${oc.stderr}`);
    return new Uint8Array(readFileSync(join(dir, 'out.bin')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
