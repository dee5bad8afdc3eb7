// Shared helpers for ELF/object tests: locating the committed example objects
// and the external tools (each may be missing; tests skip with a message).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUILD = join(ROOT, 'examples', 'build');

export function exampleObjects(): string[] {
  return readdirSync(BUILD)
    .filter((f) => f.endsWith('.bpf.o'))
    .sort();
}

export function readExample(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(BUILD, name)));
}

export function hasTool(tool: string, args = ['--version']): boolean {
  try {
    return spawnSync(tool, args, { stdio: 'ignore' }).status === 0;
  } catch {
    return false;
  }
}

export const HAVE_CLANG = hasTool('clang-19');
export const HAVE_OBJDUMP = hasTool('llvm-objdump-19');
export const HAVE_READELF = hasTool('llvm-readelf-19');
export const HAVE_BPFTOOL = hasTool('bpftool', ['version']);
export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

export function run(tool: string, args: string[], cwd?: string): string {
  return execFileSync(tool, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** A tiny seeded PRNG (mulberry32) so fuzz runs are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** bpftool, root and a bpffs at /sys/fs/bpf: what loading into the kernel needs. */
export const CAN_LOAD: boolean =
  HAVE_BPFTOOL &&
  IS_ROOT &&
  (() => {
    try {
      run('sh', ['-c', 'test -d /sys/fs/bpf && mountpoint -q /sys/fs/bpf']);
      return true;
    } catch {
      return false;
    }
  })();
export const CANNOT_LOAD_WHY = !HAVE_BPFTOOL ? 'bpftool missing' : !IS_ROOT ? 'not root' : 'no bpffs at /sys/fs/bpf';

/** `bpftool prog loadall` into a fresh pin dir, runs `fn(pinDir, programNames)`, removes the dir. */
export function withLoaded<T>(obj: string, fn: (pin: string, names: string[]) => T): T {
  const pin = `/sys/fs/bpf/kf_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  try {
    run('bpftool', ['prog', 'loadall', obj, pin]);
    return fn(pin, run('ls', [pin]).split('\n').filter(Boolean).sort());
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
}

/** Suffix for test titles that names the missing tool when a test is skipped. */
export const needs = (tool: string, have: boolean): string => (have ? '' : ` [skipped: ${tool} missing]`);
