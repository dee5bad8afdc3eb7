#!/usr/bin/env node
// Rebuilds examples/*.bpf.c into examples/build/<name>.bpf.o and regenerates
// the golden disassembly examples/build/<name>.objdump.txt
// (`llvm-objdump-19 -d --no-show-raw-insn`), both committed.
//
//   node scripts/build-examples.mjs [name ...]
//
// Environment: CLANG (default clang-19), OBJDUMP (default llvm-objdump-19).
// Compiles from inside examples/ with a relative file name and
// -fdebug-compilation-dir=. so the objects do not depend on the checkout path.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const exdir = join(root, 'examples');
const outdir = join(exdir, 'build');
const clang = process.env.CLANG ?? 'clang-19';
const objdump = process.env.OBJDUMP ?? 'llvm-objdump-19';

function have(tool) {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

for (const t of [clang, objdump]) {
  if (!have(t)) {
    console.error(`build-examples: ${t} not found (set CLANG / OBJDUMP)`);
    process.exit(1);
  }
}

// <asm/types.h> lives under a multiarch directory on Debian/Ubuntu.
const extraInc = [];
if (!existsSync('/usr/include/asm/types.h')) {
  for (const d of readdirSync('/usr/include')) {
    if (existsSync(join('/usr/include', d, 'asm/types.h'))) {
      extraInc.push(`-I/usr/include/${d}`);
      break;
    }
  }
}

export const CFLAGS = ['-O2', '-g', '-target', 'bpf', '-mcpu=v3', '-fdebug-compilation-dir=.', '-Iinclude', ...extraInc];

const wanted = process.argv.slice(2);
const sources = readdirSync(exdir)
  .filter((f) => f.endsWith('.bpf.c'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bpf\.c$/, '')))
  .sort();
mkdirSync(outdir, { recursive: true });
let failed = 0;
for (const src of sources) {
  const name = src.replace(/\.bpf\.c$/, '');
  const obj = `${name}.bpf.o`;
  try {
    execFileSync(clang, [...CFLAGS, '-c', src, '-o', join('build', obj)], { cwd: exdir, stdio: ['ignore', 'inherit', 'inherit'] });
    const dis = execFileSync(objdump, ['-d', '--no-show-raw-insn', obj], { cwd: outdir, encoding: 'utf8' });
    writeFileSync(join(outdir, `${name}.objdump.txt`), dis);
    console.log(`built examples/build/${obj}`);
  } catch (e) {
    failed++;
    console.error(`build-examples: ${src}: ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
