import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HOST_TRIPLE,
  bitcodeCmd,
  bpfCompileCmd,
  callersOf,
  deleteFuncsCmd,
  formatCmd,
  irFunctions,
  llcCmd,
  parseLlcErrors,
  rejectForLlcErrors,
  stripCmd,
} from '../../src/inline/build.js';
import { loadKfuncLibrary } from '../../src/inline/library.js';
import { buildKfuncLibrary, buildKfuncsCommand, libraryBlobModule } from '../../src/cli/cmd-build-kfuncs.js';
import { captureIo } from '../../src/cli/io.js';
import { KfError } from '../../src/util/errors.js';
import { HAVE_CLANG, HAVE_LLVM, KDIR, LIB_O, ROOT, TEST_O, modelBtf, readBytes, run } from './library-tools.js';

const TOOLS = HAVE_CLANG && HAVE_LLVM;
const why = 'needs clang-19, llc-19, llvm-strip-19, llvm-dis-19 and llvm-extract-19';

const withTmp = <T>(f: (dir: string) => T): T => {
  const dir = mkdtempSync(join(tmpdir(), 'kfinline-test-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const withTmpAsync = async <T>(f: (dir: string) => Promise<T>): Promise<T> => {
  const dir = mkdtempSync(join(tmpdir(), 'kfinline-test-'));
  try {
    return await f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe('command lines (pure)', () => {
  it('follow the RFC pipeline', () => {
    expect(formatCmd(bitcodeCmd('k.c', 'x.bc'))).toMatch(new RegExp(`^clang-19 --target=${HOST_TRIPLE} -O2 .*-emit-llvm -c k\\.c -o x\\.bc$`));
    expect(formatCmd(llcCmd('x.bc', 'x.o'))).toBe('llc-19 -mcpu=v3 --mtriple=bpf --filetype=obj x.bc -o x.o');
    expect(formatCmd(stripCmd('x.o', 'lib.o'))).toBe("llvm-strip-19 --strip-debug '--remove-section=.*BTF*' -o lib.o x.o");
    expect(formatCmd(stripCmd('x.o', 'lib.o', {}, true))).toBe('llvm-strip-19 --strip-debug -o lib.o x.o');
    expect(formatCmd(bpfCompileCmd('t.c', 't.o'))).toBe('clang-19 -O2 -target bpf -mcpu=v3 -fno-strict-overflow -Wall -Werror -c t.c -o t.o');
    expect(bpfCompileCmd('t.c', 't.o', { keepBtf: true, cwd: '/k' }).args).toEqual(expect.arrayContaining(['-g', '-fdebug-prefix-map=/k=.']));
    expect(deleteFuncsCmd('a.bc', 'b.bc', ['f', 'g'], { tools: { llvmExtract: 'X' } })).toMatchObject({ tool: 'X', args: ['--delete', '--func=f', '--func=g', 'a.bc', '-o', 'b.bc'] });
    expect(() => deleteFuncsCmd('a.bc', 'b.bc', [])).toThrow(KfError);
  });

  const IR = [
    'define dso_local i32 @uses_asm(i32 noundef %0) local_unnamed_addr #0 {',
    '  %2 = tail call i64 asm sideeffect "rdtsc", "={ax}"() #4, !srcloc !4',
    '  ret i32 %0',
    '}',
    'define internal i32 @helper(i32 %0) {',
    '  call void asm sideeffect "nop", ""(), !srcloc !5',
    '  ret i32 %0',
    '}',
    'define dso_local i32 @via_helper(i32 %0) {',
    '  %2 = call i32 @helper(i32 %0)',
    '  %3 = tail call i32 @ext(i32 %2)',
    '  call void @llvm.memcpy.p0.p0.i64(ptr %x, ptr %y, i64 8, i1 false)',
    '  ret i32 %3',
    '}',
    'define dso_local i32 @"quoted.name"() {',
    '  ret i32 0',
    '}',
    '!4 = !{i64 79}',
    '!5 = !{i64 120}',
  ].join('\n');

  it('reads functions, linkage, inline asm and calls from IR text', () => {
    const fns = irFunctions(IR);
    expect(fns.map((f) => [f.name, f.global, f.hasInlineAsm, f.asmSrclocs, f.calls])).toEqual([
      ['uses_asm', true, true, [79], []],
      ['helper', false, true, [120], []],
      ['via_helper', true, false, [], ['helper', 'ext']],
      ['quoted.name', true, false, [], []],
    ]);
    expect(callersOf('helper', fns)).toEqual(['via_helper']);
  });

  it('pins llc errors on functions through the asm !srcloc cookies', () => {
    const fns = irFunctions(IR);
    const stderr = [
      "error: couldn't allocate output register for constraint '{ax}' at line 79",
      '<inline asm>:1:2: error: invalid register/token name',
      '\tnop',
      '\t^',
      'note: !srcloc = 120',
    ].join('\n');
    const errs = parseLlcErrors(stderr, fns);
    expect(errs).toEqual([
      { message: "couldn't allocate output register for constraint '{ax}' at line 79", fn: 'uses_asm' },
      { message: 'invalid register/token name: "nop"', fn: 'helper' },
    ]);
    const rej = rejectForLlcErrors(errs, fns, stderr);
    expect(rej.map((r) => r.name)).toEqual(['uses_asm', 'via_helper']);
    expect(rej[1].reason).toMatch(/^calls static function "helper", which contains host inline assembly that llc cannot lower to BPF: invalid register/);
    expect(() => rejectForLlcErrors([{ message: 'boom' }], [], 'boom')).toThrow(/llc failed and no function could be blamed/);
  });
});

const BAD_C = `
#include "include/model.h"
static inline unsigned long rdtsc_like(void) { unsigned long x; asm volatile("rdtsc; shl $32, %%rdx" : "=a"(x) :: "rdx"); return x; }
__bpf_kfunc int uses_asm(int a) { return a + (int)rdtsc_like(); }
__bpf_kfunc int callee(int a) { return a * 3; }
__bpf_kfunc int calls_callee(int a) { return callee(a) + 1; }
int not_in_model_btf(int);
__bpf_kfunc int calls_unknown(int a) { return not_in_model_btf(a); }
long some_global;
__bpf_kfunc long reads_global(void) { return some_global; }
__bpf_kfunc u32 bpf_dynptr_size(const struct bpf_dynptr *p) { return ((const struct bpf_dynptr_kern *)p)->size & DYNPTR_SIZE_MASK; }
`;

describe.skipIf(!TOOLS)(`building with the tools (${why})`, () => {
  it('a rebuild of kernel/inlinable_kfuncs.c reproduces the committed object', () =>
    withTmp((dir) => {
      const out = join(dir, 'lib.o');
      const r = buildKfuncLibrary(join(KDIR, 'inlinable_kfuncs.c'), out);
      expect(r.ok).toBe(true);
      expect(r.rejected).toEqual([]);
      const want = loadKfuncLibrary(readBytes(LIB_O), modelBtf());
      const got = loadKfuncLibrary(readBytes(out), modelBtf());
      expect([...got.bodies.keys()]).toEqual([...want.bodies.keys()]);
      for (const [n, b] of want.bodies) expect(got.bodies.get(n)!.insns, n).toEqual(b.insns);
      expect(readBytes(out)).toEqual(readBytes(LIB_O));
      // and the embedded blob module is what the script generated
      expect(libraryBlobModule(readBytes(out), 'kernel/build/inlinable_kfuncs.o')).toBe(readFileSync(join(ROOT, 'src/inline/library-blob.ts'), 'utf8'));
    }));

  it('a rebuild of kernel/test_kfuncs.c (bpf pipeline, BTF kept) reproduces the committed object', () =>
    withTmp((dir) => {
      const out = join(dir, 'test.o');
      const r = buildKfuncLibrary(join(KDIR, 'test_kfuncs.c'), out, { pipeline: 'bpf', keepBtf: true });
      expect(r.ok).toBe(true);
      expect(readBytes(out)).toEqual(readBytes(TEST_O));
    }));

  it('the host build really is host code: clang emits an x86-64 bitcode module', () =>
    withTmp((dir) => {
      const bc = join(dir, 'x.bc');
      const c = bitcodeCmd('inlinable_kfuncs.c', bc);
      run(c.tool, c.args.map((a) => (a === 'inlinable_kfuncs.c' ? join(KDIR, a) : a)));
      const ll = run('llvm-dis-19', [bc, '-o', '-']);
      expect(ll).toMatch(/target triple = "x86_64-unknown-linux-gnu"/);
      expect(irFunctions(ll).filter((f) => f.global).map((f) => f.name)).toContain('bpf_dynptr_slice');
    }));

  it('build-kfuncs reports every function it cannot use, and writes a library of the rest', async () =>
    withTmpAsync(async (dir) => {
      const src = join(KDIR, `.kf-bad-${process.pid}.c`); // beside include/
      writeFileSync(src, BAD_C);
      try {
        const out = join(dir, 'bad.o');
        const io = captureIo();
        const code = await buildKfuncsCommand([src, '-o', out, '--json'], io);
        expect(code).toBe(0);
        const rep = JSON.parse(io.stdout.join('\n'));
        const rejected = new Map<string, string>(rep.rejected.map((r: { name: string; reason: string }) => [r.name, r.reason]));
        expect([...rejected.keys()].sort()).toEqual(['callee', 'calls_callee', 'calls_unknown', 'reads_global', 'uses_asm']);
        expect(rejected.get('callee')).toMatch(/no FUNC of this name in the kernel BTF, the library BTF or the program BTF/);
        expect(rejected.get('uses_asm')).toMatch(/host inline assembly that llc cannot lower to BPF: couldn't allocate output register/);
        expect(rejected.get('calls_callee')).toMatch(/instruction \d+: calls "callee", defined in the library: bpf-to-bpf calls are not allowed/);
        expect(rejected.get('calls_unknown')).toMatch(/instruction \d+: calls "not_in_model_btf", which is not a FUNC in the kernel BTF/);
        expect(rejected.get('reads_global')).toMatch(/instruction 0: relocation of type 1 \(R_BPF_64_64\) against "some_global"/);
        const lib = loadKfuncLibrary(readBytes(out), modelBtf(), {});
        expect([...lib.bodies.keys()]).toEqual(['bpf_dynptr_size']);
      } finally {
        rmSync(src, { force: true });
      }
    }));

  it('the bpf pipeline reports problems and writes nothing', async () =>
    withTmpAsync(async (dir) => {
      const src = join(KDIR, `.kf-bad2-${process.pid}.c`);
      writeFileSync(src, BAD_C.replace(/^static inline unsigned long rdtsc_like.*$/m, 'static inline unsigned long rdtsc_like(void) { return 1; }'));
      try {
        const out = join(dir, 'bad.o');
        const io = captureIo();
        expect(await buildKfuncsCommand([src, '-o', out, '--pipeline', 'bpf'], io)).toBe(1);
        expect(existsSync(out)).toBe(false);
        const err = io.stderr.join('\n');
        expect(err).toMatch(/cannot use calls_unknown: instruction \d+: calls "not_in_model_btf"/);
        expect(err).toMatch(/cannot use reads_global: instruction 0: relocation of type 1/);
        expect(err).toMatch(/not written/);
      } finally {
        rmSync(src, { force: true });
      }
    }));

  it('bad command lines are KfErrors', async () => {
    await expect(buildKfuncsCommand([], captureIo())).rejects.toThrow(/missing SRC\.c/);
    await expect(buildKfuncsCommand(['x.c'], captureIo())).rejects.toThrow(/missing -o LIB\.o/);
    await expect(buildKfuncsCommand(['x.c', '-o', 'y.o', '--pipeline', 'gcc'], captureIo())).rejects.toThrow(/unknown pipeline "gcc"/);
    await expect(buildKfuncsCommand(['/nonexistent/x.c', '-o', 'y.o'], captureIo())).rejects.toThrow(/no such file/);
  });
});
