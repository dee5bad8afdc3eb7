// CO-RE end to end: the same object relocated against the model kernel's BTF
// (kfinline's default target) and against the running kernel's, verified and
// run by kfinline, by the kernel (our relocated instructions through bpf()),
// and by libbpf + the kernel (bpftool prog loadall / prog run).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Btf } from '../../src/btf/index.js';
import { captureIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';
import { modelBtfFromObject } from '../../src/kernel/layout.js';
import { modelObject } from '../../src/kernel/model-blob.js';
import { loadObject } from '../../src/object/index.js';
import { loadObjectProgram, testRun } from '../../src/oracle/index.js';
import { bpfNote, NO_BPF } from '../oracle/env.js';
import { CAN_LOAD, CANNOT_LOAD_WHY, run } from '../elf/tools.js';
import { CORE_DIR, HAVE_VMLINUX, readCoreFixture, VMLINUX, vmlinuxBtf } from './core-tools.js';

const TC = join(CORE_DIR, 'core_tc.bpf.o');
const POISON = join(CORE_DIR, 'core_poison.bpf.o');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIo();
  const code = await runCli(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

async function retval(prog: string, btf: string): Promise<number> {
  const r = await cli('run', TC, '--prog', prog, '--data-size', '64', '--btf', btf, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out).retval;
}

const enumValue = (btf: Btf, en: string, name: string): number => {
  const t = btf.typeById(btf.findByNameKind(en, 'ENUM'));
  if (t.kind !== 'ENUM') throw new Error(`${en} is not an enum`);
  return Number(t.values.find((v) => v.name === name)!.value);
};
const hasMember = (btf: Btf, st: string, m: string): boolean => {
  try {
    btf.memberOffset(btf.findByNameKind(st, 'STRUCT'), m);
    return true;
  } catch {
    return false;
  }
};
/** What tc_core returns for 64 bytes of data, computed from a BTF directly. */
const tcCoreExpect = (btf: Btf): number =>
  64 * 16 + enumValue(btf, 'xdp_action', 'XDP_TX') + (hasMember(btf, '__sk_buff', 'protocol') ? 1 << 24 : 0);
const tcSizesExpect = (btf: Btf): number =>
  btf.resolveSize(btf.findByNameKind('sk_buff', 'STRUCT')) + btf.memberOffset(btf.findByNameKind('__sk_buff', 'STRUCT'), 'len').bitOffset / 8;

describe('CO-RE against the model kernel (kfinline run/verify --btf)', () => {
  const model = modelBtfFromObject(modelObject());

  it('run: the model BTF is the default target; --btf none keeps the compile-time values', async () => {
    expect(await retval('tc_core', 'model')).toBe(tcCoreExpect(model));
    // compile time: the local layout's len offset (8) reads __sk_buff.mark (0), then
    // 100 + (no_such exists: 1<<20) + (protocol: 1<<24) + 101
    expect(await retval('tc_core', 'none')).toBe(0 * 16 + 100 + (1 << 20) + (1 << 24) + 101);
    const r = await cli('run', TC, '--prog', 'tc_sizes', '--data-size', '64', '--json');
    expect(JSON.parse(r.out).retval).toBe(tcSizesExpect(model));
  });

  it('run --btf FILE: an ELF object\'s .BTF as the target (the model object itself)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-core-'));
    try {
      const f = join(dir, 'model.o');
      writeFileSync(f, modelObject());
      expect(await retval('tc_sizes', f)).toBe(tcSizesExpect(model));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('verify: a reachable poisoned relocation is rejected as the kernel rejects it', async () => {
    const r = await cli('verify', POISON);
    expect(r.code).toBe(1);
    expect(r.out).toContain('invalid func unknown#195896080');
    const ok = await cli('verify', TC);
    expect(ok.code, ok.out).toBe(0);
  });

  it('verify --btf with a missing file names the file', async () => {
    const r = await cli('verify', TC, '--btf', '/nonexistent/btf');
    expect(r.code).toBe(1);
    expect(r.err).toContain('/nonexistent/btf');
  });
});

describe.skipIf(NO_BPF || !HAVE_VMLINUX)(`CO-RE against the running kernel: kfinline = kernel = libbpf${bpfNote}`, () => {
  it('tc_core/tc_sizes: our relocation run by the kernel and by kfinline, and libbpf\'s run by the kernel, agree', async () => {
    const obj = loadObject(readCoreFixture('core_tc.bpf.o'), { targetBtf: vmlinuxBtf() });
    const data = new Uint8Array(64);
    for (const [prog, expectFn] of [['tc_core', tcCoreExpect], ['tc_sizes', tcSizesExpect]] as const) {
      const k = await loadObjectProgram(obj, prog, { keep: true });
      expect(k.accepted, k.log).toBe(true);
      let kernelRet: number;
      try {
        kernelRet = (await testRun(k.fd, { data, repeat: 1 })).retval;
      } finally {
        await k.close();
      }
      expect(kernelRet).toBe(expectFn(vmlinuxBtf()));
      expect(await retval(prog, VMLINUX)).toBe(kernelRet);
    }
  });

  it('the poisoned instruction: the kernel says what our verifier says', async () => {
    const obj = loadObject(readCoreFixture('core_poison.bpf.o'), { targetBtf: vmlinuxBtf() });
    const k = await loadObjectProgram(obj, 'tc_poisoned', {});
    expect(k.accepted).toBe(false);
    expect(k.log).toContain('invalid func unknown#195896080');
    const ours = await cli('verify', POISON, '--btf', VMLINUX);
    expect(ours.out).toContain('invalid func unknown#195896080');
  });

  it.skipIf(!CAN_LOAD)(`libbpf-loaded (bpftool prog loadall + prog run) returns what kfinline returns${CAN_LOAD ? '' : ` [skipped: ${CANNOT_LOAD_WHY}]`}`, async () => {
    const pin = `/sys/fs/bpf/kf_core_run_${process.pid}`;
    const dir = mkdtempSync(join(tmpdir(), 'kf-core-'));
    try {
      run('bpftool', ['prog', 'loadall', TC, pin]);
      const data = join(dir, 'data');
      writeFileSync(data, new Uint8Array(64));
      for (const prog of ['tc_core', 'tc_sizes']) {
        const out = run('bpftool', ['prog', 'run', 'pinned', `${pin}/${prog}`, 'data_in', data, 'repeat', '1']);
        const m = /Return value: (\d+)/.exec(out);
        expect(m, out).not.toBeNull();
        expect(await retval(prog, VMLINUX)).toBe(Number(m![1]));
      }
    } finally {
      rmSync(pin, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
