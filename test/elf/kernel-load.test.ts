// The kernel loader (through bpftool/libbpf) accepts the example objects and
// the objects our writer re-emits from them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseElf, toWriteInput, writeElf } from '../../src/elf/index.js';
import { decodeSection, encodeSection } from '../../src/object/index.js';
import { BUILD, CANNOT_LOAD_WHY, CAN_LOAD, exampleObjects, readExample, run, withLoaded } from './tools.js';

const loadAll = (obj: string): string[] => withLoaded(obj, (_pin, names) => names);

describe.skipIf(!CAN_LOAD)(`kernel load (${CAN_LOAD ? 'bpftool as root' : 'skipped: ' + CANNOT_LOAD_WHY})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'kf-load-'));
  for (const name of exampleObjects()) {
    it(`${name} and its rewritten copy load with bpftool prog loadall`, () => {
      const f = parseElf(readExample(name));
      const progs = f.symbols
        .filter((s) => s.type === 2 && s.bind === 1 && f.sections[s.shndx]?.name !== '.text')
        .map((s) => s.name)
        .sort();
      expect(loadAll(join(BUILD, name))).toEqual(progs);
      const out = join(dir, name);
      writeFileSync(out, writeElf(toWriteInput(f)));
      expect(loadAll(out)).toEqual(progs);
    });
  }

  it('a rewritten instruction takes effect in the kernel (bpftool prog run)', () => {
    const f = parseElf(readExample('xdp_parse.bpf.o'));
    const inp = toWriteInput(f);
    const xdp = f.sectionByName('xdp')!;
    const insns = decodeSection(xdp.data, true);
    // xdp_count_bytes ends with `w0 = 0x2; exit` (XDP_PASS): make it XDP_DROP.
    const sym = f.symbols.find((s) => s.name === 'xdp_count_bytes')!;
    const last = Number((sym.value + sym.size) / 8n) - 2;
    expect([insns[last].code, insns[last].imm, insns[last + 1].code]).toEqual([0xb4, 2, 0x95]);
    insns[last] = { ...insns[last], imm: 1 };
    const out = join(dir, 'rewritten.o');
    writeFileSync(out, writeElf({ ...inp, sections: inp.sections.map((s) => (s.name === 'xdp' ? { ...s, data: encodeSection(insns, true) } : s)) }));
    const pkt = join(dir, 'pkt.bin');
    writeFileSync(pkt, new Uint8Array(64));
    const retval = (obj: string) =>
      withLoaded(obj, (pin) => {
        const o = run('bpftool', ['prog', 'run', 'pinned', `${pin}/xdp_count_bytes`, 'data_in', pkt]);
        return Number(/Return value: (\d+)/.exec(o)![1]);
      });
    expect(retval(join(BUILD, 'xdp_parse.bpf.o'))).toBe(2);
    expect(retval(out)).toBe(1);
  });
});
