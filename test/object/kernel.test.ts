// Oracle: libbpf (through bpftool) and the running kernel load each example;
// the programs, their types, their maps and the order of their subprograms
// must be what loadObject() says.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadObject } from '../../src/object/index.js';
import { BUILD, CANNOT_LOAD_WHY, CAN_LOAD, exampleObjects, readExample, run, withLoaded } from '../elf/tools.js';

const MAP_TYPE_NAMES: Record<number, string> = { 1: 'hash', 2: 'array', 3: 'prog_array', 5: 'percpu_hash', 6: 'percpu_array' };

describe.skipIf(!CAN_LOAD)(`loadObject agrees with the kernel (${CAN_LOAD ? 'bpftool as root' : 'skipped: ' + CANNOT_LOAD_WHY})`, () => {
  for (const name of exampleObjects()) {
    it(name, () => {
      const o = loadObject(readExample(name), { objectName: name });
      withLoaded(join(BUILD, name), (pin, pinned) => {
        expect(pinned).toEqual(o.programs.map((p) => p.name).sort());
        for (const p of o.programs) {
          const show = JSON.parse(run('bpftool', ['prog', 'show', 'pinned', `${pin}/${p.name}`, '--json']));
          expect(show.type).toBe(p.progTypeName.toLowerCase());
          expect(p.name.startsWith(show.name)).toBe(true); // bpftool prints the BTF name, else 15 chars
          const xl = JSON.parse(run('bpftool', ['prog', 'dump', 'xlated', 'pinned', `${pin}/${p.name}`, '--json'])) as { proto?: string }[];
          const protos = xl.filter((x) => x.proto).map((x) => /(\w+)\(/.exec(x.proto!)![1]);
          expect(protos).toEqual(p.subprogs.map((s) => s.name));
          // line_info: the kernel prints each record's source line at its (rewritten) instruction.
          const ksrc = (xl as { src?: string }[]).filter((x) => x.src !== undefined).map((x) => x.src);
          // The verifier drops records of dead code it removes, so the kernel's list is
          // an in-order subsequence of ours (compared without whitespace/escapes, which bpftool alters).
          const norm = (t: string) => t.replace(/[\s\\]+/g, '');
          const lines = p.lineInfo.map((l) => norm(l.line));
          let k = 0;
          for (const t of ksrc.map((x) => norm(x!))) {
            while (k < lines.length && lines[k] !== t) k++;
            expect(k, `kernel line "${t}" not found in order`).toBeLessThan(lines.length);
            k++;
          }
          expect(ksrc.length).toBeGreaterThan(0);
          if (!name.startsWith('global_data')) expect(ksrc.length).toBe(lines.length);
          const kmaps = ((show.map_ids ?? []) as number[]).map((id) => {
            const m = JSON.parse(run('bpftool', ['map', 'show', 'id', String(id), '--json']));
            return [m.name, m.type, m.bytes_key, m.bytes_value, m.max_entries, m.flags];
          });
          // libbpf also binds the object's read-only data maps (.rodata, .rodata.*)
          // to every program (BPF_PROG_BIND_MAP).
          const used = new Set(p.mapRefs.map((r) => r.map));
          o.maps.forEach((m, i) => m.kind === 'data' && m.section.startsWith('.rodata') && used.add(i));
          const ours = [...used].map((i) => {
            const m = o.maps[i];
            return [m.name, MAP_TYPE_NAMES[m.type] ?? String(m.type), m.keySize, m.valueSize, m.maxEntries, m.flags];
          });
          const key = (a: unknown[]) => JSON.stringify(a);
          expect(kmaps.map(key).sort()).toEqual(ours.map(key).sort());
        }
      });
    });
  }
});
