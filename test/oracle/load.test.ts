// Loading the example objects the way libbpf does. Oracles: the kernel's
// verdict, BPF_OBJ_GET_INFO_BY_FD, and bpftool (libbpf) loading the same
// object: same program tag and xlated size, same kfunc BTF ids.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadObject } from '../../src/object/index.js';
import { loadObjectProgram, mapLookupElem, mapUpdateElem, progInfo, testRun, vmlinuxBtf } from '../../src/oracle/index.js';
import { BUILD, CAN_LOAD, CANNOT_LOAD_WHY, HAVE_BPFTOOL, exampleObjects, readExample, run, withLoaded } from '../elf/tools.js';
import { NO_BPF, bpfNote } from './env.js';

const objectName = (f: string): string => f.replace(/\.bpf\.o$/, '');

describe.skipIf(NO_BPF)(`example objects load into the kernel${bpfNote}`, () => {
  for (const file of exampleObjects()) {
    it(`${file}: every program accepted; processed = verified_insns`, async () => {
      const obj = loadObject(readExample(file), { objectName: objectName(file) });
      expect(obj.programs.length).toBeGreaterThan(0);
      for (const p of obj.programs) {
        const r = await loadObjectProgram(obj, p, { keep: true });
        try {
          expect(r.accepted, `${p.name}: ${r.error}`).toBe(true);
          expect(r.withBtf).toBe(true);
          const info = await progInfo(r.fd);
          expect(info.verifiedInsns).toBe(r.processed);
          expect(info.nrFuncInfo).toBe(p.funcInfo.length);
          expect(r.stackDepth!.length).toBe(p.subprogs.length);
        } finally {
          await r.close();
        }
      }
    });
  }

  it.skipIf(!HAVE_BPFTOOL)(`kfunc calls carry the vmlinux BTF ids of their names${HAVE_BPFTOOL ? '' : ' [skipped: bpftool missing]'}`, async () => {
    const obj = loadObject(readExample('dynptr_slice.bpf.o'), { objectName: 'dynptr_slice' });
    const r = await loadObjectProgram(obj, 'dynptr_slice_bench');
    const p = obj.programs[0];
    expect(p.externCalls.length).toBe(101);
    const dump = run('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux']);
    for (const name of ['bpf_dynptr_slice', 'bpf_dynptr_from_skb']) {
      const m = new RegExp(`^\\[(\\d+)\\] FUNC '${name}'`, 'm').exec(dump);
      expect(m, name).not.toBeNull();
      expect(vmlinuxBtf().findByNameKind(name, 'FUNC')).toBe(Number(m![1]));
      for (const e of p.externCalls.filter((x) => x.name === name)) {
        expect(r.insns[e.index]).toMatchObject({ code: 0x85, src: 2, off: 0, imm: Number(m![1]) });
      }
    }
  });

  it('global data: .rodata holds its initial value and is frozen; .data is writable', async () => {
    const obj = loadObject(readExample('global_data.bpf.o'), { objectName: 'global_data' });
    const r = await loadObjectProgram(obj, 'kprobe_nanosleep', { keep: true });
    try {
      expect(r.accepted, r.error).toBe(true);
      const ro = r.maps.find((m) => m.map.section === '.rodata')!;
      expect(ro).toBeDefined();
      const v = await mapLookupElem(ro.fd, new Uint8Array(4), ro.map.valueSize);
      expect(v).toEqual(ro.map.initialValue);
      await expect(mapUpdateElem(ro.fd, new Uint8Array(4), new Uint8Array(ro.map.valueSize))).rejects.toThrow(/EPERM/);
      const data = r.maps.find((m) => m.map.section === '.data')!;
      expect(await mapLookupElem(data.fd, new Uint8Array(4), data.map.valueSize)).toEqual(data.map.initialValue);
    } finally {
      await r.close();
    }
  });

  it('test-runs the RFC benchmark: retval TC_ACT_OK, hits += 100 per run', async () => {
    const obj = loadObject(readExample('dynptr_slice.bpf.o'), { objectName: 'dynptr_slice' });
    const r = await loadObjectProgram(obj, 'dynptr_slice_bench', { keep: true });
    try {
      const bss = r.maps.find((m) => m.map.section === '.bss')!;
      const hits = async (): Promise<bigint> => {
        const v = (await mapLookupElem(bss.fd, new Uint8Array(4), 8))!;
        return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
      };
      expect(await hits()).toBe(0n);
      const t = await testRun(r.fd, { data: new Uint8Array(1000), repeat: 7 });
      expect(t.retval).toBe(0);
      expect(await hits()).toBe(700n);
    } finally {
      await r.close();
    }
  });

  it('a program not in the object is a KfError naming the programs', async () => {
    const obj = loadObject(readExample('subprogs.bpf.o'), { objectName: 'subprogs' });
    await expect(loadObjectProgram(obj, 'nope')).rejects.toThrow(/no program named "nope" \(programs: tc_hash, xdp_hash\)/);
  });
});

describe.skipIf(NO_BPF || !CAN_LOAD)(`same program as libbpf (bpftool prog loadall)${bpfNote}${CAN_LOAD ? '' : ` [skipped: ${CANNOT_LOAD_WHY}]`}`, () => {
  for (const file of exampleObjects()) {
    it(`${file}: tag and xlated size equal bpftool's`, async () => {
      const obj = loadObject(readExample(file), { objectName: objectName(file) });
      const ours = new Map<string, { tag: string; xlated: number }>();
      for (const p of obj.programs) {
        const r = await loadObjectProgram(obj, p, { keep: true, logLevel: 0 });
        try {
          const info = await progInfo(r.fd);
          ours.set(p.name, { tag: info.tag, xlated: info.xlatedLen });
        } finally {
          await r.close();
        }
      }
      withLoaded(join(BUILD, file), (pin, names) => {
        for (const name of names) {
          const show = JSON.parse(run('bpftool', ['prog', 'show', 'pinned', `${pin}/${name}`, '--json']));
          const p = obj.programs.find((x) => x.name.startsWith(name))!;
          expect(ours.get(p.name), name).toEqual({ tag: show.tag, xlated: show.bytes_xlated });
        }
      });
    });
  }
});
