// Reading sections of committed fixture objects with llvm-objcopy-19 (not our
// ELF reader), and tool detection for the BTF tests.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveTool } from './tools.js';

export const OBJCOPY = 'llvm-objcopy-19';
export const haveObjcopy = haveTool(OBJCOPY);
export const haveBpftool = haveTool('bpftool', ['version']);
export const haveObjdump = haveTool('llvm-objdump-19');

/** The bytes of section `name` of ELF object `obj`. */
export function dumpSection(obj: string, name: string): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'kfbtf-'));
  try {
    const out = join(dir, 'sec.bin');
    execFileSync(OBJCOPY, [`--dump-section=${name}=${out}`, obj, join(dir, 'discard.o')], { stdio: 'pipe' });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
