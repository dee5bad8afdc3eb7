// Shared fixtures of the kfunc library tests: the committed objects, the model
// BTF, and the external tools (optional).

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { modelBtfFromObject } from '../../src/kernel/layout.js';
import { modelObject } from '../../src/kernel/model-blob.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KDIR = join(ROOT, 'kernel');
export const LIB_O = join(KDIR, 'build', 'inlinable_kfuncs.o');
export const TEST_O = join(KDIR, 'build', 'test_kfuncs.o');
export const MODEL_O = join(KDIR, 'build', 'model.o');

export const readBytes = (p: string): Uint8Array => new Uint8Array(readFileSync(p));
export const modelBtf = () => modelBtfFromObject(modelObject());

/** The tool's name when it runs, else undefined. */
export function tool(name: string): string | undefined {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return name;
  } catch {
    return undefined;
  }
}

export const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 28 });

export const HAVE_CLANG = tool('clang-19') !== undefined;
export const HAVE_LLVM = ['llc-19', 'llvm-strip-19', 'llvm-dis-19', 'llvm-extract-19'].every((t) => tool(t) !== undefined);
export const HAVE_OBJDUMP = tool('llvm-objdump-19') !== undefined;
export const HAVE_BPFTOOL = tool('bpftool') !== undefined;
