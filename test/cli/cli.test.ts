import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';
import { run, tool } from './tools.js';

const EXAMPLES = join(__dirname, '../../examples/build');
const objects = readdirSync(EXAMPLES).filter((f) => f.endsWith('.o'));
const objdump = tool('llvm-objdump-19');
const bpftool = tool('bpftool');
const VMLINUX = '/sys/kernel/btf/vmlinux';

async function cli(...argv: string[]) {
  const io = captureIo();
  const code = await runCli(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

describe('kfinline disasm --syntax llvm', () => {
  it('has example objects to compare', () => {
    expect(objects.length).toBeGreaterThanOrEqual(5);
  });
  for (const f of objects) {
    it(`${f}: equals the committed llvm-objdump-19 -d golden text`, async () => {
      const golden = readFileSync(join(EXAMPLES, f.replace(/\.bpf\.o$/, '.objdump.txt')), 'utf8');
      const r = await cli('disasm', join(EXAMPLES, f), '--syntax', 'llvm');
      expect(r.code).toBe(0);
      const mine = r.out.replace(/^(\n?)[^\n]*:\tfile format/, `$1${f}:\tfile format`);
      expect(mine.trimEnd()).toBe(golden.trimEnd());
    });
    it.skipIf(!objdump)(`${f}: equals a fresh llvm-objdump-19 -d run${objdump ? '' : ' (llvm-objdump-19 missing)'}`, async () => {
      const path = join(EXAMPLES, f);
      const theirs = run('llvm-objdump-19', ['-d', '--no-show-raw-insn', path]);
      const r = await cli('disasm', path, '--syntax', 'llvm');
      expect(r.out.trimEnd()).toBe(theirs.trimEnd());
    });
  }
});

describe('kfinline disasm (kernel syntax)', () => {
  it('prints every program with bpftool-style indexes and source lines', async () => {
    const r = await cli('disasm', join(EXAMPLES, 'subprogs.bpf.o'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ {3}0: \(bf\) r6 = r1$/m);
    expect(r.out).toMatch(/call pc\+\d+/);
    expect(r.out).toMatch(/; .* @ subprogs\.bpf\.c:\d+/);
  });
  it('names kfunc externs at their calls', async () => {
    const r = await cli('disasm', join(EXAMPLES, 'dynptr_slice.bpf.o'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\(85\) call bpf_dynptr_slice#/);
    expect(r.out.match(/call bpf_dynptr_slice#/g)?.length).toBe(100);
  });
  it('--json gives one object per program', async () => {
    const r = await cli('disasm', join(EXAMPLES, 'subprogs.bpf.o'), '--json');
    const j = JSON.parse(r.out);
    expect(Array.isArray(j)).toBe(true);
    expect(j.map((p: { name: string }) => p.name)).toContain('tc_hash');
  });
  it('--prog selects one program and an unknown one is an error', async () => {
    const r = await cli('disasm', join(EXAMPLES, 'subprogs.bpf.o'), '--prog', 'nope');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no program named "nope"/);
  });
});

describe('kfinline errors', () => {
  it('a missing file is a clear error, exit 1', async () => {
    const r = await cli('disasm', '/nonexistent/x.o');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/\/nonexistent\/x\.o: no such file/);
  });
  it('a truncated object is a clear error naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const bytes = readFileSync(join(EXAMPLES, objects[0]));
    const p = join(dir, 'trunc.o');
    writeFileSync(p, bytes.subarray(0, 100));
    const r = await cli('disasm', p);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/trunc\.o/);
  });
  it('unknown commands and options', async () => {
    expect((await cli('frobnicate')).code).toBe(2);
    const r = await cli('disasm', 'x.o', '--bogus');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unknown option --bogus/);
  });
});

describe('kfinline asm', () => {
  it('assembles several functions and a kfunc call into an object that disassembles back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const s = join(dir, 'p.s');
    const o = join(dir, 'p.o');
    writeFileSync(s, 'f:\n  r1 = 0\n  call bpf_dynptr_is_null\n  call g\n  r0 += 1\n  exit\ng:\n  r0 = 2\n  exit\n');
    const a = await cli('asm', s, '-o', o, '--kfunc', 'bpf_dynptr_is_null', '--section', 'xdp');
    expect(a.err).toBe('');
    expect(a.code).toBe(0);
    const d = await cli('disasm', o);
    expect(d.code).toBe(0);
    expect(d.out).toContain('call bpf_dynptr_is_null#');
    expect(d.out).toMatch(/\(85\) call pc\+2/);
    expect(d.out).toMatch(/\(07\) r0 \+= 1/);
    if (objdump) {
      const theirs = run('llvm-objdump-19', ['-dr', o]);
      expect(theirs).toContain('R_BPF_64_32\tbpf_dynptr_is_null');
      expect(theirs).toContain('<g>:');
    }
  });
  it('reports a bad line with its number', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-'));
    const s = join(dir, 'bad.s');
    writeFileSync(s, 'r0 = 0\nr11 = 1\nexit\n');
    const r = await cli('asm', s, '-o', join(dir, 'bad.o'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/line 2/);
  });
});

describe.skipIf(!existsSync(VMLINUX))('kfinline btf (running kernel BTF)', () => {
  it.skipIf(!bpftool)('btf find bpf_dynptr_slice --kind func prints bpftool\'s id', async () => {
    const r = await cli('btf', 'find', 'bpf_dynptr_slice', '--kind', 'func');
    expect(r.code).toBe(0);
    const dump = run('bpftool', ['btf', 'dump', 'file', VMLINUX]);
    const line = dump.split('\n').find((l) => / FUNC 'bpf_dynptr_slice' /.test(l));
    expect(line).toBeDefined();
    expect(r.out).toBe(line);
  });
  it.skipIf(!bpftool)('btf dump equals bpftool btf dump line for line', async () => {
    const r = await cli('btf', 'dump', VMLINUX);
    const theirs = run('bpftool', ['btf', 'dump', 'file', VMLINUX]);
    const a = r.out.split('\n');
    const b = theirs.trimEnd().split('\n');
    expect(a.length).toBe(b.length);
    const firstDiff = a.findIndex((l, i) => l !== b[i]);
    expect(firstDiff === -1 ? undefined : `line ${firstDiff + 1}: ${a[firstDiff]} vs ${b[firstDiff]}`).toBeUndefined();
  });
  it('btf find of an unknown name exits 1', async () => {
    const r = await cli('btf', 'find', 'no_such_type_kfinline', '--kind', 'struct');
    expect(r.code).toBe(1);
  });
});
