import { describe, expect, it } from 'vitest';
import { loadObject, type BpfObject, type BpfProgram } from '../../src/object/index.js';
import { exampleObjects, readExample } from '../elf/tools.js';

const load = (name: string): BpfObject => loadObject(readExample(name), { objectName: name });
const prog = (o: BpfObject, name: string): BpfProgram => {
  const p = o.programs.find((x) => x.name === name);
  if (!p) throw new Error(`no program ${name}`);
  return p;
};

// Expectations written from the C sources in examples/.
const EXPECT: Record<string, { progs: [string, string, string, number | undefined][]; maps: [string, string, number, number, number, number][] }> = {
  'xdp_parse.bpf.o': {
    progs: [
      ['xdp_parse_udp', 'xdp', 'XDP', 37],
      ['xdp_count_bytes', 'xdp', 'XDP', 37],
    ],
    maps: [['proto_count', 'btf', 6 /* PERCPU_ARRAY */, 4, 8, 256]],
  },
  'tc_counters.bpf.o': {
    progs: [
      ['tc_count_flows', 'tc', 'SCHED_CLS', undefined],
      ['tc_drop_short', 'classifier', 'SCHED_CLS', undefined],
    ],
    maps: [
      ['flows', 'btf', 1 /* HASH */, 4, 16, 1024],
      ['counters', 'btf', 2 /* ARRAY */, 4, 8, 4],
    ],
  },
  'loops.bpf.o': {
    progs: [
      ['tc_bounded_loop', 'tc', 'SCHED_CLS', undefined],
      ['tc_bpf_loop', 'tc', 'SCHED_CLS', undefined],
    ],
    maps: [['results', 'btf', 2, 4, 8, 1]],
  },
  'subprogs.bpf.o': {
    progs: [
      ['tc_hash', 'tc', 'SCHED_CLS', undefined],
      ['xdp_hash', 'xdp', 'XDP', 37],
    ],
    maps: [],
  },
  'dynptr_skb.bpf.o': {
    progs: [['tc_dynptr_parse', 'tc', 'SCHED_CLS', undefined]],
    maps: [['stats', 'btf', 2, 4, 8, 2]],
  },
  'dynptr_slice.bpf.o': {
    progs: [['dynptr_slice_bench', 'tc', 'SCHED_CLS', undefined]],
    maps: [['dynptr_s.bss', 'data', 2, 4, 8, 1]],
  },
  'parse_slices.bpf.o': {
    progs: [['tc_parse_slices', 'tc', 'SCHED_CLS', undefined]],
    maps: [['udp_ports', 'btf', 2, 4, 24, 16]],
  },
  'iter_num.bpf.o': {
    progs: [['tc_iter_num', 'tc', 'SCHED_CLS', undefined]],
    maps: [['results', 'btf', 2, 4, 8, 3]],
  },
  'htab_lookup.bpf.o': {
    progs: [['tc_htab_lookup', 'tc', 'SCHED_CLS', undefined]],
    maps: [
      ['flows', 'btf', 1, 8, 8, 256],
      ['hits', 'btf', 2, 4, 8, 2],
    ],
  },
  'xdp_frags.bpf.o': {
    progs: [['xdp_frags_slice', 'xdp.frags', 'XDP', 37]],
    maps: [['frag_stats', 'btf', 6, 4, 8, 3]],
  },
  'global_funcs.bpf.o': {
    progs: [
      ['tc_global_funcs', 'tc', 'SCHED_CLS', undefined],
      ['xdp_global_funcs', 'xdp', 'XDP', 37],
    ],
    maps: [['size_buckets', 'btf', 2 /* ARRAY */, 4, 8, 4]],
  },
  'global_data.bpf.o': {
    progs: [
      ['kprobe_nanosleep', 'kprobe/do_nanosleep', 'KPROBE', undefined],
      ['tp_nanosleep', 'tracepoint/syscalls/sys_enter_nanosleep', 'TRACEPOINT', undefined],
      ['raw_tp_switch', 'raw_tracepoint/sched_switch', 'RAW_TRACEPOINT', undefined],
      ['socket_filter', 'socket', 'SOCKET_FILTER', undefined],
      ['cgroup_ingress', 'cgroup_skb/ingress', 'CGROUP_SKB', 0 /* CGROUP_INET_INGRESS */],
    ],
    maps: [
      ['global_d.rodata', 'data', 2, 4, 21, 1],
      ['global_d.data', 'data', 2, 4, 40, 1],
      ['global_d.bss', 'data', 2, 4, 16, 1],
      ['.rodata.str1.1', 'data', 2, 4, 10, 1],
      ['global_.kconfig', 'kconfig', 2, 4, 8, 1],
    ],
  },
};

describe('loadObject on the examples', () => {
  it('covers every committed example', () => {
    expect(exampleObjects().sort()).toEqual(Object.keys(EXPECT).sort());
  });

  for (const [name, exp] of Object.entries(EXPECT)) {
    it(`${name}: programs, types, maps`, () => {
      const o = load(name);
      expect(o.license).toBe('GPL');
      expect(o.programs.map((p) => [p.name, p.section, p.progTypeName, p.expectedAttachType])).toEqual(exp.progs);
      expect(o.maps.map((m) => [m.name, m.kind, m.type, m.keySize, m.valueSize, m.maxEntries])).toEqual(exp.maps);
      expect(o.btf).toBeDefined();
    });

    it(`${name}: relocations are consistent with the instructions`, () => {
      const o = load(name);
      for (const p of o.programs) {
        const starts = new Set(p.subprogs.map((s) => s.start));
        expect(p.subprogs[0]).toEqual({ name: p.name, start: 0 });
        p.insns.forEach((x, i) => {
          // Every BPF-to-BPF call and function address lands on a subprogram start.
          if ((x.code === 0x85 && x.src === 1) || (x.code === 0x18 && x.src === 4)) expect(starts.has(i + x.imm + 1)).toBe(true);
          // No unresolved `call -1` of a relocated call remains a plain pseudo call.
          if (x.code === 0x85 && x.src === 2) expect(p.externCalls.some((e) => e.index === i && e.kind === 'kfunc')).toBe(true);
        });
        for (const r of p.mapRefs) {
          const x = p.insns[r.index];
          expect(x.code).toBe(0x18);
          expect(x.src).toBe(r.kind === 'fd' ? 1 : 2);
          expect(x.imm).toBe(r.map);
          expect(p.insns[r.index + 1].imm).toBe(r.offset);
          expect(r.offset).toBeLessThanOrEqual(o.maps[r.map].valueSize);
        }
        // func_info: one record per subprogram, at its start, naming a FUNC of that name.
        expect(p.funcInfo.map((f) => f.insn)).toEqual(p.subprogs.map((s) => s.start).sort((a, b) => a - b));
        for (const f of p.funcInfo) {
          const t = o.btf!.typeById(f.typeId);
          expect(t.kind).toBe('FUNC');
          expect(p.subprogs.find((s) => s.start === f.insn)!.name).toBe(t.name);
        }
        // line_info: inside the program, first record at 0, source text from the C file.
        expect(p.lineInfo.length).toBeGreaterThan(0);
        expect(p.lineInfo[0].insn).toBe(0);
        for (const l of p.lineInfo) {
          expect(l.insn).toBeLessThan(p.insns.length);
          expect(l.fileName).toMatch(/\.(bpf\.c|h)$/);
        }
        expect(p.coreRelos).toEqual([]);
      }
    });
  }

  it('subprograms are appended depth first, as libbpf does, shared .text copied per program', () => {
    const o = load('subprogs.bpf.o');
    expect(prog(o, 'tc_hash').subprogs.map((s) => s.name)).toEqual(['tc_hash', 'hash3', 'mix', 'clamp_len']);
    expect(prog(o, 'xdp_hash').subprogs.map((s) => s.name)).toEqual(['xdp_hash']); // mix was inlined there
  });

  it('calls of global functions (relocated against the function symbol) and of a static one in .text are linked', () => {
    const o = load('global_funcs.bpf.o');
    const tc = prog(o, 'tc_global_funcs');
    expect(tc.subprogs.map((s) => s.name)).toEqual(['tc_global_funcs', 'classify', 'payload_len', 'bucket', 'bump']);
    // func_info names the linkage: the verifier validates the global ones apart
    const linkage = tc.funcInfo.map((f) => {
      const t = o.btf!.typeById(f.typeId);
      return t.kind === 'FUNC' ? `${t.name}:${t.linkage}` : '';
    });
    expect(linkage.sort()).toEqual(['bucket:static', 'bump:global', 'classify:global', 'payload_len:global', 'tc_global_funcs:global'].sort());
    expect(prog(o, 'xdp_global_funcs').subprogs.map((s) => s.name)).toEqual(['xdp_global_funcs', 'eth_proto_hi']);
  });

  it('bpf_loop callback becomes a BPF_PSEUDO_FUNC ld_imm64', () => {
    const p = prog(load('loops.bpf.o'), 'tc_bpf_loop');
    expect(p.subprogs.map((s) => s.name)).toEqual(['tc_bpf_loop', 'sum_cb']);
    const i = p.insns.findIndex((x) => x.code === 0x18 && x.src === 4);
    expect(i + p.insns[i].imm + 1).toBe(p.subprogs[1].start);
  });

  it('kfunc calls stay by name; the benchmark has 1 + 100 of them', () => {
    const p = prog(load('dynptr_slice.bpf.o'), 'dynptr_slice_bench');
    const names = p.externCalls.map((e) => e.name);
    expect(names.filter((n) => n === 'bpf_dynptr_from_skb')).toHaveLength(1);
    expect(names.filter((n) => n === 'bpf_dynptr_slice')).toHaveLength(100);
    expect(p.externCalls.every((e) => e.kind === 'kfunc' && p.insns[e.index].src === 2 && p.insns[e.index].imm === 0)).toBe(true);
    // `hits` in .bss: one MAP_VALUE reference at offset 0.
    expect(p.mapRefs).toEqual([{ index: expect.any(Number), map: 0, kind: 'value', offset: 0 }]);
  });

  it('global data: initial values, read-only .rodata, kconfig externs laid out', () => {
    const o = load('global_data.bpf.o');
    const ro = o.maps.find((m) => m.section === '.rodata')!;
    expect(ro.flags & 0x80).toBe(0x80);
    expect(new DataView(ro.initialValue!.buffer).getUint32(0, true)).toBe(4); // sample_rate
    expect(String.fromCharCode(...ro.initialValue!.subarray(4, 12))).toBe('kfinline');
    const data = o.maps.find((m) => m.section === '.data')!;
    expect(new DataView(data.initialValue!.buffer).getBigUint64(0, true)).toBe(1n); // calls = 1
    expect(Array.from(new Uint32Array(data.initialValue!.slice(8, 20).buffer))).toEqual([1, 2, 3]);
    expect(o.maps.find((m) => m.section === '.bss')!.initialValue).toEqual(new Uint8Array(16));
    const kc = o.externs.filter((e) => e.kind === 'kconfig').map((e) => [e.name, e.weak, e.size, e.offset]);
    expect(kc.sort()).toEqual([
      ['CONFIG_KFINLINE_NOT_SET', true, 4, 0],
      ['LINUX_KERNEL_VERSION', false, 4, 4],
    ]);
    const tp = prog(o, 'tp_nanosleep');
    const kcMap = o.maps.findIndex((m) => m.kind === 'kconfig');
    expect(tp.mapRefs.filter((r) => r.map === kcMap).map((r) => r.offset).sort()).toEqual([0, 4]);
  });
});
