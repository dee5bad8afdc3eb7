import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findSecDef, loadObject } from '../../src/object/index.js';
import { HAVE_CLANG, ROOT, run } from '../elf/tools.js';

function compile(src: string, target = 'bpf'): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'kf-obj-'));
  try {
    const args = ['-O2', '-g', '-target', target, '-mcpu=v3', `-I${join(ROOT, 'examples/include')}`];
    const inc = run('sh', ['-c', 'ls -d /usr/include/*/asm 2>/dev/null | head -1']).trim();
    if (inc) args.push(`-I${inc.replace(/\/asm$/, '')}`);
    run('clang-19', [...args, '-c', src, '-o', join(dir, 'x.o')]);
    return new Uint8Array(readFileSync(join(dir, 'x.o')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!HAVE_CLANG)(`legacy maps, ksym variables, shared static subprograms (${HAVE_CLANG ? 'clang-19' : 'skipped: clang-19 missing'})`, () => {
  it('loads', () => {
    const o = loadObject(compile(join(ROOT, 'test/object/fixtures/legacy_maps.bpf.c')));
    expect(o.license).toBe('Dual MIT/GPL');
    expect(o.maps.map((m) => [m.name, m.kind, m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.offset])).toEqual([
      ['old_hash', 'legacy', 1, 8, 24, 77, 1, 0],
      ['old_array', 'legacy', 2, 4, 4, 3, 0, 20],
    ]);
    expect(o.externs).toEqual([expect.objectContaining({ name: 'bpf_prog_active', kind: 'ksym', weak: false, size: 4 })]);
    const x = o.programs.find((p) => p.name === 'uses_old_maps')!;
    expect([x.progTypeName, x.expectedAttachType]).toEqual(['XDP', 37]);
    expect(x.mapRefs.map((r) => [r.map, r.kind])).toEqual([
      [0, 'fd'],
      [1, 'fd'],
    ]);
    expect(x.externCalls.map((e) => [e.name, e.kind, x.insns[e.index].src])).toEqual([['bpf_prog_active', 'var', 3]]);
    const fe = o.programs.find((p) => p.name === 'fentry_prog')!;
    expect([fe.progTypeName, fe.expectedAttachType]).toEqual(['TRACING', 24]);
    // CO-RE records are kept (not applied): t->tgid is field 1 of task_struct___kf, byte_off (kind 0).
    expect(fe.coreRelos).toHaveLength(1);
    const cr = fe.coreRelos[0];
    expect([o.btf!.nameOf(cr.typeId), cr.access, cr.kind]).toEqual(['task_struct___kf', '0:1', 0]);
    expect(fe.insns[cr.insn].code).toBe(0x61); // the ldxw of t->tgid, offset 4 as compiled
    expect(fe.insns[cr.insn].off).toBe(4);
    for (const p of [x, fe]) {
      expect(p.subprogs.map((s) => s.name)).toEqual([p.name, 'helper']);
      const call = p.insns.findIndex((i) => i.code === 0x85 && i.src === 1);
      expect(call + p.insns[call].imm + 1).toBe(p.subprogs[1].start);
      expect(p.insns.slice(p.subprogs[1].start)).toEqual(o.programs[0].insns.slice(o.programs[0].subprogs[1].start));
    }
  });
});

describe.skipIf(!HAVE_CLANG)('big-endian objects (clang-19 -target bpfeb)', () => {
  for (const ex of ['subprogs', 'tc_counters', 'global_data', 'loops']) {
    it(`${ex}: loads to the same programs and maps as the little-endian build`, () => {
      const src = join(ROOT, 'examples', `${ex}.bpf.c`);
      const le = loadObject(compile(src, 'bpfel'));
      const be = loadObject(compile(src, 'bpfeb'));
      const strip = (o: ReturnType<typeof loadObject>) => ({
        // Code itself differs (byte-order constants, offsets of narrow loads); its shape must not.
        progs: o.programs.map((p) => ({ ...p, insns: p.insns.length, lineInfo: p.lineInfo.length })),
        maps: o.maps.map((m) => ({ ...m, initialValue: undefined })),
        externs: o.externs,
      });
      expect(be.elf.header.littleEndian).toBe(false);
      expect(strip(be)).toEqual(strip(le));
    });
  }
});

describe('section names → program types (libbpf section_defs)', () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ['xdp', 'XDP', 'XDP'],
    ['xdp.frags', 'XDP', 'XDP'],
    ['xdp/devmap', 'XDP', 'XDP_DEVMAP'],
    ['tc', 'SCHED_CLS', undefined],
    ['tc/ingress', 'SCHED_CLS', 'TCX_INGRESS'],
    ['tcx/egress', 'SCHED_CLS', 'TCX_EGRESS'],
    ['classifier', 'SCHED_CLS', undefined],
    ['socket', 'SOCKET_FILTER', undefined],
    ['kprobe/do_sys_open', 'KPROBE', undefined],
    ['kprobe', 'KPROBE', undefined],
    ['kprobe.multi/foo*', 'KPROBE', 'TRACE_KPROBE_MULTI'],
    ['tracepoint/syscalls/sys_enter_open', 'TRACEPOINT', undefined],
    ['tp/sched/sched_switch', 'TRACEPOINT', undefined],
    ['fentry/do_unlinkat', 'TRACING', 'TRACE_FENTRY'],
    ['fexit.s/foo', 'TRACING', 'TRACE_FEXIT'],
    ['lsm/file_open', 'LSM', 'LSM_MAC'],
    ['cgroup_skb/egress', 'CGROUP_SKB', 'CGROUP_INET_EGRESS'],
    ['cgroup/connect4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT'],
    ['iter/task', 'TRACING', 'TRACE_ITER'],
    ['struct_ops/foo', 'STRUCT_OPS', undefined],
    ['syscall', 'SYSCALL', undefined],
    ['xdpfoo', undefined, undefined],
    ['tcfoo', undefined, undefined],
    ['kprobefoo', undefined, undefined],
  ];
  for (const [sec, type, attach] of cases) {
    it(sec, () => {
      const d = findSecDef(sec);
      expect([d?.progType, d?.attach]).toEqual([type, attach]);
    });
  }
});
