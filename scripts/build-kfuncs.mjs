#!/usr/bin/env node
// Rebuilds the inlinable kfunc libraries with `kfinline build-kfuncs`'s code
// (src/cli/cmd-build-kfuncs.ts, command lines from src/inline/build.ts):
//   kernel/inlinable_kfuncs.c -> kernel/build/inlinable_kfuncs.o   (the RFC's pipeline:
//       clang-19 -emit-llvm for the host, llc-19 -mcpu=v3 --mtriple=bpf, llvm-strip-19)
//   kernel/test_kfuncs.c      -> kernel/build/test_kfuncs.o        (clang-19 -target bpf -g, BTF kept)
// then src/inline/library-blob.ts, which embeds inlinable_kfuncs.o as base64.
//
//   node scripts/build-kfuncs.mjs            rebuild all
//   node scripts/build-kfuncs.mjs --blob     only regenerate library-blob.ts from the committed object
//   node scripts/build-kfuncs.mjs -v         print the command lines
//
// The TypeScript it needs is compiled on the fly (tsc, into a temporary directory).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const verbose = args.includes('-v') || args.includes('--verbose');

const out = mkdtempSync(join(tmpdir(), 'kfinline-tsc-'));
try {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const entry = join(root, 'src', 'cli', 'cmd-build-kfuncs.ts');
  try {
    execFileSync(process.execPath, [tsc, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--types', 'node', '--skipLibCheck', '--strict', '--outDir', out, '--rootDir', root, entry], { stdio: 'pipe' });
  } catch (e) {
    // tsc reports type errors but still emits; only a missing output is fatal.
    if (!existsSync(join(out, 'src', 'cli', 'cmd-build-kfuncs.js'))) {
      process.stderr.write(String(e.stdout ?? '') + String(e.stderr ?? ''));
      throw new Error('tsc could not compile src/cli/cmd-build-kfuncs.ts');
    }
  }
  const m = await import(pathToFileURL(join(out, 'src', 'cli', 'cmd-build-kfuncs.js')).href);
  const kdir = join(root, 'kernel');
  const lib = join(kdir, 'build', 'inlinable_kfuncs.o');
  const onCommand = verbose ? (l) => console.error(l) : undefined;
  const report = (r) => {
    for (const x of r.rejected) console.error(`cannot use ${x.name}: ${x.reason}`);
    if (!r.ok) throw new Error(`${r.output} not built`);
    console.log(`${r.output}: ${r.library.bodies.size} bodies (${r.pipeline})`);
  };
  if (!args.includes('--blob')) {
    report(m.buildKfuncLibrary(join(kdir, 'inlinable_kfuncs.c'), lib, { pipeline: 'emit-llvm', onCommand }));
    report(m.buildKfuncLibrary(join(kdir, 'test_kfuncs.c'), join(kdir, 'build', 'test_kfuncs.o'), { pipeline: 'bpf', keepBtf: true, onCommand }));
  }
  writeFileSync(join(root, 'src', 'inline', 'library-blob.ts'), m.libraryBlobModule(new Uint8Array(readFileSync(lib)), 'kernel/build/inlinable_kfuncs.o'));
} finally {
  rmSync(out, { recursive: true, force: true });
}
