// The talk's other pipeline (docs/other-pipeline.md), run where the tools exist:
//  (a) a header generated from the model BTF (scripts/btf-header.mjs, checked
//      against bpftool's `format c`), then kernel/inlinable_kfuncs.c compiled
//      with plain `clang-19 -O2 -target bpf -mcpu=v3` against it, adding the
//      re-declarations of test/inline/other-pipeline/stage{1,2,3}.h one stage at
//      a time: which bodies fail at each stage;
//  (b) gcc-bpf (Debian's bpf-gcc) on the library.
// Each library that builds is loaded with loadKfuncLibrary and its bodies run
// against the native kfuncs (same differential harness as more-kfuncs-diff).
// KF_PRINT=1 prints the per-body instruction counts of every pipeline.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKfuncLibrary, type KfuncLibrary } from '../../src/inline/library.js';
import { KDIR, MODEL_O, ROOT, modelBtf, tool } from './library-tools.js';
import { type Call, type Scenario, dynSpec, htabScenario, htabSpec, lib, makeDynptr, prop, rwCall, rwSpec, same, spread } from './more-kfuncs-tools.js';

const HAVE_CLANG = tool('clang-19') !== undefined;
const HAVE_BPFTOOL = tool('bpftool') !== undefined;
const GCC = tool('bpf-gcc') ?? tool('bpf-unknown-none-gcc');
const STAGES = join(ROOT, 'test', 'inline', 'other-pipeline');
const CFLAGS = ['-O2', '-target', 'bpf', '-mcpu=v3', '-fno-strict-overflow', '-ffreestanding', '-Wall', '-ferror-limit=0'];
const RUNS = Math.min(Number(process.env.KF_DIFF_RUNS ?? 100), 100);
const NAMES = [...lib.bodies.keys()].sort();

const sh = (cmd: string, args: string[], cwd?: string): { ok: boolean; out: string } => {
  try {
    return { ok: true, out: execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 }) };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? ''}` };
  }
};

/** Bodies (global functions) of the C file by line range, to attribute compiler errors. */
function bodyRanges(src: string): { name: string; line: number; kfunc: boolean }[] {
  const out: { name: string; line: number; kfunc: boolean }[] = [];
  src.split('\n').forEach((l, i) => {
    const m = /^(__bpf_kfunc|__inline_body)\s.*?\b(\w+)\(/.exec(l);
    if (m) out.push({ name: m[2], line: i + 1, kfunc: m[1] === '__bpf_kfunc' });
  });
  return out;
}

/** The kfunc bodies whose text has a compiler error (errors in a static inline helper count for every body... not attributed). */
function failingBodies(errors: string, src: string): { bodies: Set<string>; errors: number } {
  const ranges = bodyRanges(src);
  const bodies = new Set<string>();
  let n = 0;
  for (const l of errors.split('\n')) {
    const m = /^inlinable_kfuncs\.c:(\d+):\d+: error/.exec(l);
    if (/: error: /.test(l)) n++;
    if (!m) continue;
    const line = Number(m[1]);
    const owner = ranges.filter((r) => r.line <= line).pop();
    if (owner) bodies.add(owner.name);
  }
  return { bodies, errors: n };
}

function insnCounts(l: KfuncLibrary): Record<string, number> {
  return Object.fromEntries([...l.bodies.values()].map((b) => [b.name, b.insns.length]));
}

/** A few scenarios over every body kind: slices, read/write, iterators, hash lookups. */
function differential(library: KfuncLibrary): void {
  const sliceSc = fc.tuple(dynSpec, spread, fc.integer({ min: 1, max: 64 }), fc.boolean()).map(
    ([d, off, sz, buf]): Scenario => (w) => {
      const { p, len } = makeDynptr(w, d);
      const b = buf ? w.mem.map(sz, 'stack', 'buf').base : 0;
      return ['bpf_dynptr_slice', 'bpf_dynptr_slice_rdwr'].map((fn): Call => ({ fn, args: [BigInt(p), BigInt(off % (len + 24)), BigInt(b), BigInt(sz)] }));
    },
  );
  const opts = { numRuns: RUNS };
  fc.assert(fc.property(sliceSc, (sc) => void same(NAMES, sc, library)), opts);
  fc.assert(fc.property(dynSpec, rwSpec, (d, s) => void same(NAMES, rwCall('bpf_dynptr_read', d, s), library)), opts);
  fc.assert(fc.property(dynSpec, rwSpec, (d, s) => void same(NAMES, rwCall('bpf_dynptr_write', d, s), library)), opts);
  fc.assert(fc.property(htabSpec, (s) => void same(NAMES, htabScenario(s), library)), opts);
  fc.assert(
    fc.property(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 8 }), (a, b, k) =>
      void same(NAMES, (w) => {
        const it = BigInt(w.mem.map(8, 'stack', 'iter').base);
        return [{ fn: 'bpf_iter_num_new', args: [it, BigInt(a), BigInt(b)] }, ...Array.from({ length: k }, () => ({ fn: 'bpf_iter_num_next', args: [it] })), { fn: 'bpf_iter_num_destroy', args: [it] }];
      }, library),
    ),
    opts,
  );
}

const counts: Record<string, Record<string, number>> = { 'emit-llvm (RFC)': insnCounts(lib) };

describe('(a) a header from the model BTF, then clang -target bpf', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kf-otherpipe-'));
  const src = readFileSync(join(KDIR, 'inlinable_kfuncs.c'), 'utf8');

  it.skipIf(!HAVE_CLANG)('scripts/btf-header.mjs emits a header that compiles and whose static asserts prove every size and offset (needs clang-19)', () => {
    const h = join(dir, 'model_btf.h');
    const r = sh('node', [join(ROOT, 'scripts', 'btf-header.mjs'), MODEL_O, '--funcs', '--asserts', '-o', h]);
    expect(r.ok, r.out).toBe(true);
    const text = readFileSync(h, 'utf8');
    expect((text.match(/_Static_assert/g) ?? []).length).toBeGreaterThan(100);
    writeFileSync(join(dir, 'only.c'), '#include "model_btf.h"\n');
    const c = sh('clang-19', ['-O2', '-target', 'bpf', '-Wall', '-Werror', '-c', 'only.c', '-o', 'only.o'], dir);
    expect(c.ok, c.out).toBe(true);
    // struct htab_elem's key is 8-aligned in C (__aligned(8)), which BTF only shows as an offset: padding is emitted
    expect(text).toMatch(/struct htab_elem \{[^}]*char __pad\d+\[4\];\n\tchar key\[0\];/);
  });

  it.skipIf(!HAVE_CLANG || !HAVE_BPFTOOL)('bpftool btf dump format c declares the same named types (needs bpftool)', () => {
    const ours = readFileSync(join(dir, 'model_btf.h'), 'utf8');
    const theirs = sh('bpftool', ['btf', 'dump', 'file', MODEL_O, 'format', 'c']).out;
    const defs = (t: string): string[] => [...t.matchAll(/^(struct|union|enum) (\w+) \{/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    const tdefs = (t: string): string[] => [...t.matchAll(/^typedef .*?(\w+);$/gm)].map((m) => m[1]).sort();
    expect(defs(ours)).toEqual(defs(theirs));
    expect(tdefs(ours)).toEqual(tdefs(theirs));
    // bpftool emits no function prototypes; ours does with --funcs
    expect(theirs).not.toMatch(/bpf_dynptr_slice\(/);
    expect(ours).toMatch(/void \*bpf_dynptr_slice\(const struct bpf_dynptr \*p, u32 offset, void \*buffer__opt, u32 buffer__szk\);/);
  });

  it.skipIf(!HAVE_CLANG)('stage by stage: what fails until macros and static inline functions are re-declared, then the library loads and agrees with the natives', () => {
    copyFileSync(join(KDIR, 'inlinable_kfuncs.c'), join(dir, 'inlinable_kfuncs.c'));
    cpSync(join(dir, 'model_btf.h'), join(dir, 'include', 'model_btf.h'), { recursive: true });
    const results: { stage: number; errors: number; bodies: Set<string>; ok: boolean }[] = [];
    for (const stage of [0, 1, 2, 3]) {
      writeFileSync(join(dir, 'include', 'model.h'), `#include "model_btf.h"\n${stage ? `#include "${join(STAGES, `stage${stage}.h`)}"\n` : ''}`);
      const r = sh('clang-19', [...CFLAGS, '-c', 'inlinable_kfuncs.c', '-o', `stage${stage}.o`], dir);
      results.push({ stage, ok: r.ok, ...failingBodies(r.out, src) });
    }
    const kfuncs = bodyRanges(src).filter((b) => b.kfunc).map((b) => b.name);
    if (process.env.KF_PRINT) for (const r of results) console.log(`stage ${r.stage}: ${r.errors} errors; failing: ${[...r.bodies].join(' ')}`);
    // stage 0 (the generated header alone): every kfunc body fails (at least __bpf_kfunc is a macro)
    for (const k of kfuncs) expect(results[0].bodies).toContain(k);
    expect(results[0].ok).toBe(false);
    // each stage removes errors; stage 2 still fails on the static inline helpers, stage 3 compiles
    expect(results[1].errors).toBeLessThan(results[0].errors);
    expect(results[2].errors).toBeLessThan(results[1].errors);
    expect(results[2].ok).toBe(false);
    expect(results[2].bodies).toContain('__bpf_dynptr_slice'); // its calls of bpf_dynptr_get_type() etc.
    expect(results[3].ok).toBe(true);
    const other = loadKfuncLibrary(new Uint8Array(readFileSync(join(dir, 'stage3.o'))), modelBtf());
    expect([...other.bodies.keys()].sort()).toEqual(NAMES);
    for (const b of other.bodies.values()) expect(b.protoSource).toBe('kernel');
    counts['clang -target bpf, BTF header'] = insnCounts(other);
    differential(other);
  }, 120_000);

  it.skipIf(!HAVE_CLANG)('clang -target bpf with the real headers gives the same code as with the BTF header', () => {
    const r = sh('clang-19', [...CFLAGS, '-c', join(KDIR, 'inlinable_kfuncs.c'), '-o', join(dir, 'plain.o')], KDIR);
    expect(r.ok, r.out).toBe(true);
    const plain = loadKfuncLibrary(new Uint8Array(readFileSync(join(dir, 'plain.o'))), modelBtf());
    counts['clang -target bpf, real headers'] = insnCounts(plain);
    counts['clang -target bpf, BTF header'] ??= {};
    const viaBtf = loadKfuncLibrary(new Uint8Array(readFileSync(join(dir, 'stage3.o'))), modelBtf());
    const differ = NAMES.filter((n) => JSON.stringify(viaBtf.bodies.get(n)!.insns) !== JSON.stringify(plain.bodies.get(n)!.insns));
    if (process.env.KF_PRINT) console.log(`bodies that differ between the real and the BTF header: ${differ.join(' ')}`);
    // BTF keeps offsets, not __aligned(8): struct bpf_iter_num_kern is 4-aligned in the generated
    // header, so clang may no longer merge the two 4-byte stores of `s->cur = s->end = 0` into one
    expect(differ).toContain('bpf_iter_num_destroy');
    expect(plain.bodies.get('bpf_iter_num_destroy')!.insns.length).toBeLessThan(viaBtf.bodies.get('bpf_iter_num_destroy')!.insns.length);
    for (const n of differ) expect(n).toMatch(/^bpf_iter_num_/);
  });
});

describe('(b) gcc-bpf', () => {
  it.skipIf(!GCC)('bpf-gcc refuses a 6-parameter static inline; with it folded, the library builds, loads and agrees with the natives (needs bpf-gcc)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-gccbpf-'));
    cpSync(KDIR, join(dir, 'kernel'), { recursive: true });
    const k = join(dir, 'kernel');
    const flags = ['-O2', '-mcpu=v3', '-fno-strict-overflow', '-ffreestanding', '-Wall', '-Wno-unknown-pragmas', '-c', 'inlinable_kfuncs.c', '-o', 'gcc.o'];
    const first = sh(GCC!, flags, k);
    expect(first.ok).toBe(false);
    expect(first.out).toMatch(/__skb_header_pointer[\s\S]*too many function arguments for eBPF/);
    // the workaround: fold __skb_header_pointer() (6 parameters) into skb_header_pointer() (4)
    const hp = join(k, 'include', 'model_skbuff.h');
    const h = readFileSync(hp, 'utf8');
    const a = h.indexOf('/* mirrors __skb_header_pointer()');
    const b = h.indexOf('/* mirrors skb_pointer_if_linear()');
    expect(a).toBeGreaterThan(0);
    writeFileSync(hp, `${h.slice(0, a)}static inline __attribute__((always_inline)) void *
skb_header_pointer(const struct sk_buff *skb, int offset, int len, void *buffer)
{
	if (likely((int)skb_headlen(skb) - offset >= len))
		return skb->data + offset;
	if (!skb || unlikely(skb_copy_bits(skb, offset, buffer, len) < 0))
		return NULL;
	return buffer;
}

${h.slice(b)}`);
    const r = sh(GCC!, flags, k);
    expect(r.ok, r.out).toBe(true);
    const g = loadKfuncLibrary(new Uint8Array(readFileSync(join(k, 'gcc.o'))), modelBtf());
    expect([...g.bodies.keys()].sort()).toEqual(NAMES);
    counts['bpf-gcc 12'] = insnCounts(g);
    // -gbtf: gcc writes .BTF and .BTF.ext; our reader parses them, and gcc 12 marks global functions static
    const gb = sh(GCC!, [...flags.slice(0, -2), '-gbtf', '-o', 'gccbtf.o'], k);
    expect(gb.ok, gb.out).toBe(true);
    const gl = loadKfuncLibrary(new Uint8Array(readFileSync(join(k, 'gccbtf.o'))), modelBtf());
    expect(gl.btf).toBeDefined();
    const fid = gl.btf!.findByNameKind('bpf_dynptr_slice', 'FUNC');
    expect(fid).toBeGreaterThan(0);
    expect((gl.btf!.typeById(fid) as { linkage?: string }).linkage).toBe('static');
    differential(g);
    if (process.env.KF_PRINT) {
      const pipes = Object.keys(counts);
      console.log(['body', ...pipes].join(' | '));
      for (const n of NAMES) console.log([n, ...pipes.map((p) => String(counts[p][n] ?? '-'))].join(' | '));
      console.log(['total', ...pipes.map((p) => String(Object.values(counts[p]).reduce((x, y) => x + y, 0)))].join(' | '));
    }
  }, 120_000);
});
