// bpf() commands against the running kernel: maps, program load verdicts and
// logs, log buffer growth, test runs, program info.
import { describe, expect, it } from 'vitest';
import { insn, type Insn } from '../../src/isa/insn.js';
import {
  BPF_LOG_LEVEL2,
  closeFd,
  mapCreate,
  mapFreeze,
  mapLookupElem,
  mapUpdateElem,
  progInfo,
  progLoad,
  progTestRun,
  loadRawProgram,
  testRun,
} from '../../src/oracle/index.js';
import { KfError } from '../../src/util/errors.js';
import { NO_BPF, bpfNote } from './env.js';

const mov = (dst: number, imm: number): Insn => insn(0xb7, dst, 0, 0, imm);
const exit = insn(0x95, 0, 0, 0, 0);
const SOCKET_FILTER = 1;
const SCHED_CLS = 3;

describe.skipIf(NO_BPF)(`bpf() commands${bpfNote}`, () => {
  it('creates an array map, updates, looks up, freezes', async () => {
    const fd = await mapCreate({ mapType: 2, keySize: 4, valueSize: 8, maxEntries: 4, name: 'kf_test_arr' });
    try {
      const key = new Uint8Array([2, 0, 0, 0]);
      const val = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(await mapLookupElem(fd, key, 8)).toEqual(new Uint8Array(8));
      await mapUpdateElem(fd, key, val);
      expect(await mapLookupElem(fd, key, 8)).toEqual(val);
      await mapFreeze(fd);
      await expect(mapUpdateElem(fd, key, new Uint8Array(8))).rejects.toThrow(/BPF_MAP_UPDATE_ELEM.*EPERM/);
      expect(await mapLookupElem(fd, key, 8)).toEqual(val);
      // out of range key: the kernel says ENOENT, we say undefined
      expect(await mapLookupElem(fd, new Uint8Array([9, 0, 0, 0]), 8)).toBeUndefined();
    } finally {
      await closeFd(fd);
    }
  });

  it('reports a bad map definition as KfError with the errno', async () => {
    const e = await mapCreate({ mapType: 2, keySize: 3, valueSize: 8, maxEntries: 1 }).catch((x) => x);
    expect(e).toBeInstanceOf(KfError);
    expect(e.message).toMatch(/bpf\(BPF_MAP_CREATE\) failed: EINVAL \(22\)/);
  });

  it('accepts a program and reports processed insns that BPF_OBJ_GET_INFO_BY_FD confirms', async () => {
    const insns = [mov(0, 7), mov(1, 1), insn(0x0f, 0, 1, 0, 0), exit];
    const r = await loadRawProgram(insns, SCHED_CLS, { keep: true, name: 'kf_ok' });
    try {
      expect(r.accepted).toBe(true);
      expect(r.fd).toBeGreaterThan(0);
      const info = await progInfo(r.fd, { xlated: true });
      expect(info.verifiedInsns).toBe(r.processed);
      expect(info.name).toBe('kf_ok');
      expect(info.type).toBe(SCHED_CLS);
      expect(info.xlated!.length).toBe(info.xlatedLen);
      expect(r.verificationTimeUs).toBeGreaterThanOrEqual(0);
      expect(r.stackDepth).toEqual([0]);
    } finally {
      await r.close();
    }
    expect(r.fd).toBe(-1);
  });

  it('rejects reading an uninitialised register with the kernel error line', async () => {
    const r = await loadRawProgram([insn(0xbf, 0, 3, 0, 0), exit], SOCKET_FILTER);
    expect(r.accepted).toBe(false);
    expect(r.errno).toBe(13);
    expect(r.error).toBe('R3 !read_ok');
    expect(r.processed).toBe(1);
    expect(r.fd).toBe(-1);
  });

  it('rejects without a log at log level 0 and still reports errno', async () => {
    const r = await loadRawProgram([insn(0xbf, 0, 3, 0, 0), exit], SOCKET_FILTER, { logLevel: 0 });
    expect(r.accepted).toBe(false);
    expect(r.errno).toBe(13);
    expect(r.log).toBe('');
  });

  it('grows the log buffer on ENOSPC until the whole log fits', async () => {
    const insns: Insn[] = [];
    for (let i = 0; i < 300; i++) insns.push(mov(i % 10, i));
    insns.push(mov(0, 0), exit);
    const small = await progLoad({ progType: SOCKET_FILTER, insns, logLevel: BPF_LOG_LEVEL2, logSize: 256 });
    try {
      expect(small.fd).toBeGreaterThan(0);
      expect(small.log.length).toBeGreaterThan(256);
      expect(small.logTrueSize).toBe(small.log.length + 1);
      expect(small.log).toMatch(/^processed 302 insns/m);
      expect(small.log).toContain('0: (b7) r0 = 0');
    } finally {
      await closeFd(small.fd);
    }
  });

  it('test-runs a program and returns its retval and the packet', async () => {
    // r0 = skb->len (offset 0 of __sk_buff)
    const r = await loadRawProgram([insn(0x61, 0, 1, 0, 0), exit], SCHED_CLS, { keep: true });
    try {
      expect(r.accepted).toBe(true);
      const data = new Uint8Array(77).map((_, i) => i);
      const t = await testRun(r.fd, { data, repeat: 10 });
      expect(t.retval).toBe(77);
      expect(t.dataOut).toEqual(data);
      expect(t.durationNs).toBeGreaterThanOrEqual(0);
    } finally {
      await r.close();
    }
  });

  it('test-run errors are KfErrors naming the errno', async () => {
    const r = await loadRawProgram([mov(0, 1), exit], SCHED_CLS, { keep: true });
    try {
      // skb test runs need at least an Ethernet header
      await expect(progTestRun(r.fd, { data: new Uint8Array(4) })).rejects.toThrow(/BPF_PROG_TEST_RUN\) failed: EINVAL/);
      await expect(testRun(-1)).rejects.toThrow(KfError);
    } finally {
      await r.close();
    }
  });

  it('refuses bad attribute values before the syscall', async () => {
    await expect(mapCreate({ mapType: -1, keySize: 4, valueSize: 4, maxEntries: 1 })).rejects.toThrow(/map_type: -1 is not a u32/);
    await expect(loadRawProgram([exit], SOCKET_FILTER, { logLevel: 3 })).rejects.toThrow(/log level 3/);
  });
});
