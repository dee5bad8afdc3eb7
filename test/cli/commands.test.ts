// The commands above the toolchain: verify, stats, run, inline, explain, report, demo.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';
import { loadObject } from '../../src/object/index.js';

const EX = join(__dirname, '../../examples/build');
const LEGACY = join(__dirname, '../../../shared/testsuites/kernel-verifier/legacy-6.12.jsonl');

async function cli(...argv: string[]) {
  const io = captureIo();
  const code = await runCli(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

describe('kfinline verify', () => {
  it('accepts the example programs and prints veristat-like JSON', async () => {
    const r = await cli('verify', join(EX, 'xdp_parse.bpf.o'), '--json');
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').map((l) => JSON.parse(l));
    expect(rows.map((x) => x.prog)).toEqual(['xdp_parse_udp', 'xdp_count_bytes']);
    for (const x of rows) {
      expect(x.accepted).toBe(true);
      expect(x.processed).toBeGreaterThan(0);
      expect(Object.keys(x)).toEqual(expect.arrayContaining(['prog', 'accepted', 'error', 'processed', 'states', 'peak_states', 'stack_depth']));
    }
  });
  it('prints the kernel-format log at level 2', async () => {
    const r = await cli('verify', join(EX, 'subprogs.bpf.o'), '--prog', 'xdp_hash', '--log-level', '2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^0: R1=ctx\(\) R10=fp0$/m);
    expect(r.out).toMatch(/processed \d+ insns \(limit 1000000\) max_states_per_insn \d+ total_states \d+ peak_states \d+ mark_read 0/);
  });
  it('exits 1 with the error line when a program is rejected', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const s = join(dir, 'bad.s');
    writeFileSync(s, 'r0 = r3\nexit\n');
    expect((await cli('asm', s, '-o', join(dir, 'bad.o'))).code).toBe(0);
    const r = await cli('verify', join(dir, 'bad.o'));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/R3 !read_ok/);
  });
  it('--cases over the legacy suite agrees with the kernel on the cases it recorded', async () => {
    const lines = readFileSync(LEGACY, 'utf8').split('\n').filter(Boolean).slice(0, 60);
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const f = join(dir, 'c.jsonl');
    writeFileSync(f, lines.join('\n'));
    const r = await cli('verify', '--cases', f);
    const ours = r.out.split('\n').map((l) => JSON.parse(l));
    const theirs = lines.map((l) => JSON.parse(l));
    let n = 0;
    let agree = 0;
    theirs.forEach((c, i) => {
      if (c.needs_fixup || c.fill_helper !== undefined || !c.oracle) return;
      n++;
      if (ours[i].accepted === c.oracle.accepted) agree++;
    });
    expect(n).toBeGreaterThan(30);
    expect(agree).toBe(n);
  });
});

describe('kfinline stats', () => {
  it('prints veristat columns, CSV, and compares two CSV runs', async () => {
    const t = await cli('stats', join(EX, 'xdp_parse.bpf.o'));
    expect(t.out.split('\n')[0]).toMatch(/^File\s+Program\s+Verdict\s+Duration \(us\)\s+Insns\s+States\s+Peak states/);
    const c = await cli('stats', join(EX, 'xdp_parse.bpf.o'), '-o', 'csv');
    expect(c.out.split('\n')[0]).toBe('file_name,prog_name,verdict,duration,total_insns,total_states,peak_states,max_states_per_insn,stack_depth');
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const a = join(dir, 'a.csv');
    const b = join(dir, 'b.csv');
    writeFileSync(a, c.out);
    writeFileSync(b, c.out.replace(/,success,(\d+),(\d+),/, (_m, d, i) => `,success,${d},${Number(i) + 10},`));
    const cmp = await cli('stats', '-C', a, b);
    expect(cmp.out).toMatch(/Insns \(DIFF\)/);
    expect(cmp.out).toMatch(/\+10 \(\+\d+\.\d+%\)/);
  });
});

describe('kfinline run', () => {
  it('test-runs a program in both engines with the same result', async () => {
    const a = await cli('run', join(EX, 'xdp_parse.bpf.o'), '--prog', 'xdp_parse_udp', '--data-size', '100', '--json');
    const b = await cli('run', join(EX, 'xdp_parse.bpf.o'), '--prog', 'xdp_parse_udp', '--data-size', '100', '--json', '--engine', 'jit');
    const ja = JSON.parse(a.out);
    const jb = JSON.parse(b.out);
    expect(ja.retval).toBe(jb.retval);
    expect(ja.data_out).toBe(jb.data_out);
  });
  it('--cases prints one JSON object a line', async () => {
    const lines = readFileSync(LEGACY, 'utf8').split('\n').filter(Boolean).slice(0, 5);
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const f = join(dir, 'c.jsonl');
    writeFileSync(f, lines.join('\n'));
    const r = await cli('run', '--cases', f);
    const out = r.out.split('\n').map((l) => JSON.parse(l));
    expect(out).toHaveLength(5);
    for (const o of out) expect('retval' in o || 'error' in o).toBe(true);
  });
});

describe('kfinline inline / explain', () => {
  it('inlines every call site of the RFC benchmark and reports each site', async () => {
    const r = await cli('inline', join(EX, 'dynptr_slice.bpf.o'), '--json');
    const j = JSON.parse(r.out);
    expect(j.sites).toHaveLength(101);
    expect(j.sites.filter((s: { kfunc: string }) => s.kfunc === 'bpf_dynptr_slice')).toHaveLength(100);
    for (const s of j.sites) {
      expect(s.inlined).toBe(true);
      expect(s.insns_after_dce).toBeLessThanOrEqual(s.insns_before);
    }
    // dead code removal shrinks the slice bodies
    expect(j.sites[1].insns_after_dce).toBeLessThan(j.sites[1].insns_before);
  });
  it('--dump xlated prints the rewritten program like bpftool', async () => {
    const r = await cli('inline', join(EX, 'dynptr_skb.bpf.o'), '--dump', 'xlated');
    expect(r.out).toMatch(/^ {3}0: \([0-9a-f]{2}\) /m);
    expect(r.out).toMatch(/\(05\) goto pc\+0/);
  });
  it('-o writes an object our loader and llvm-objdump read back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const out = join(dir, 'x.o');
    await cli('inline', join(EX, 'dynptr_slice.bpf.o'), '-o', out);
    const obj = loadObject(new Uint8Array(readFileSync(out)));
    expect(obj.programs[0].name).toBe('dynptr_slice_bench');
    expect(obj.programs[0].insns.length).toBeGreaterThan(1000);
  });
  it('--no-dce keeps the bodies whole', async () => {
    const r = await cli('inline', join(EX, 'dynptr_skb.bpf.o'), '--json', '--no-dce');
    const j = JSON.parse(r.out);
    for (const s of j.sites) expect(s.insns_after_dce).toBe(s.insns_before);
  });
  it('explain gives a decision and its reason per call site; never keeps every call', async () => {
    const r = await cli('explain', join(EX, 'dynptr_skb.bpf.o'), '--json');
    const j = JSON.parse(r.out);
    expect(j.sites.length).toBe(4);
    for (const s of j.sites) expect(s.reason).toMatch(/benefit .* vs cost/);
    const n = await cli('explain', join(EX, 'dynptr_skb.bpf.o'), '--json', '--policy', 'never');
    for (const s of JSON.parse(n.out).sites) expect(s.inline).toBe(false);
  });
});

import { execFileSync } from 'node:child_process';
const canLoad = (() => {
  try {
    execFileSync('bpftool', ['version'], { stdio: 'ignore' });
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

describe('kfinline inline with a test kfunc library', () => {
  const LIB = join(__dirname, '../../kernel/build/test_kfuncs.o');
  it('inlines kfuncs the model kernel does not have, from the library BTF', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const s = join(dir, 'p.s');
    writeFileSync(s, 'f:\n  r6 = 3\n  r1 = 1\n  *(u64 *)(r10 - 128) = r1\n  r2 = 2\n  call kf_test_clobber\n  r0 += r6\n  r1 = 7\n  call kf_test_scalar\n  exit\n');
    expect((await cli('asm', s, '-o', join(dir, 'p.o'), '--kfunc', 'kf_test_clobber', '--kfunc', 'kf_test_scalar')).code).toBe(0);
    const r = await cli('inline', join(dir, 'p.o'), '--kfuncs', LIB, '--json', '-o', join(dir, 'out.o'));
    const j = JSON.parse(r.out);
    expect(j.sites.map((x: { inlined: boolean }) => x.inlined)).toEqual([true, true]);
    expect(j.reverified.accepted).toBe(true);
    // r1 = 7 folds kf_test_scalar to its default arm
    expect(j.sites[1].insns_after_dce).toBe(2);
  });
  it.skipIf(!canLoad)(`the object written with -o loads into the running kernel${canLoad ? '' : ' (skipped: needs bpftool and root)'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const s = join(dir, 'p.s');
    writeFileSync(s, 'f:\n  r6 = 3\n  r1 = 1\n  *(u64 *)(r10 - 128) = r1\n  r2 = 2\n  call kf_test_clobber\n  r0 += r6\n  exit\n');
    await cli('asm', s, '-o', join(dir, 'p.o'), '--kfunc', 'kf_test_clobber');
    await cli('inline', join(dir, 'p.o'), '--kfuncs', LIB, '-o', join(dir, 'out.o'));
    const pin = `/sys/fs/bpf/kf_cli_${process.pid}`;
    try {
      execFileSync('bpftool', ['prog', 'load', join(dir, 'out.o'), pin], { stdio: 'pipe' });
      const x = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'pinned', pin], { encoding: 'utf8' });
      expect(x).toContain('*(u64 *)(r10 -136) = r6');
    } finally {
      execFileSync('rm', ['-f', pin]);
    }
  });
});

describe('kfinline report', () => {
  it('--json gives one row per program and mode with the issue\'s fields', async () => {
    const r = await cli('report', '--json', '--repeat', '20');
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').map((l) => JSON.parse(l));
    const progs = new Set(rows.map((x) => x.prog));
    expect(progs.size).toBeGreaterThanOrEqual(5);
    for (const x of rows) {
      for (const k of ['prog', 'mode', 'processed', 'states', 'insns_after', 'stack_depth', 'ns_per_run']) expect(x).toHaveProperty(k);
      expect(['none', 'isolated', 'non-isolated']).toContain(x.mode);
      expect(x.accepted, `${x.prog} ${x.mode}: ${x.error ?? ''}`).toBe(true);
    }
    // the inlined programs keep the original's return value
    for (const p of progs) {
      const rv = rows.filter((x) => x.prog === p).map((x) => x.retval);
      expect(new Set(rv).size, p).toBe(1);
    }
  });
});
