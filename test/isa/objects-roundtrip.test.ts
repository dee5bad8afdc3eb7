// Decode/encode round trip, validation and the typed view over every BPF
// object built in the repository (examples, the model kernel, the kfunc
// libraries, test fixtures).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../src/elf/index.js';
import { decodeInsns, encodeInsns } from '../../src/isa/codec.js';
import { validateInsns } from '../../src/isa/validate.js';
import { describeInsn, isLdImm64Hi } from '../../src/isa/view.js';

const ROOT = join(__dirname, '../..');
function objects(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === 'node_modules' || f.startsWith('.') || f === 'dist') return [];
    return statSync(p).isDirectory() ? objects(p) : f.endsWith('.o') ? [p] : [];
  });
}
const all = [...objects(join(ROOT, 'examples')), ...objects(join(ROOT, 'kernel')), ...objects(join(ROOT, 'test'))];

describe('every object built in the repo', () => {
  it('there are objects to check', () => {
    expect(all.length).toBeGreaterThanOrEqual(15);
  });
  it('a call a relocation resolves is not checked within its own section (global_funcs: tc calls bucket in .text)', () => {
    const elf = parseElf(new Uint8Array(readFileSync(join(ROOT, 'examples/build/global_funcs.bpf.o'))));
    const insns = decodeInsns(elf.sectionByName('tc')!.data);
    // slot 8: call 0x19, R_BPF_64_32 against the .text section symbol: .text slot 26, not tc slot 34
    expect(() => validateInsns(insns)).toThrow(/^instruction 8: call out of range to 34$/);
    expect(() => validateInsns(insns, { relocated: new Set([4, 8, 16]) })).not.toThrow();
  });
  for (const path of all) {
    it(`${relative(ROOT, path)}: code sections round-trip, validate and describe`, () => {
      const elf = parseElf(new Uint8Array(readFileSync(path)));
      if (elf.header.machine !== 247) return; // a host object among the fixtures
      const le = elf.header.littleEndian;
      let slots = 0;
      for (const [idx, s] of elf.sections.entries()) {
        if ((s.flags & 0x4n) === 0n || s.data.length === 0) continue;
        if (!le) continue; // the shared codec is little-endian; big-endian objects are covered in test/object
        const insns = decodeInsns(s.data);
        expect(encodeInsns(insns)).toEqual(s.data);
        // a call or function address a relocation resolves (libbpf's bpf_object__reloc_code()) may target
        // another section: not checked within this one, but its target in the relocation's section is
        const relocated = new Set<number>();
        for (const rs of elf.relocsFor(idx)) {
          for (const r of rs.entries) {
            const slot = Number(r.offset / 8n);
            const x = insns[slot];
            const call = x && x.code === 0x85 && x.src === 1;
            const fnAddr = x && x.code === 0x18 && x.src === 4;
            if (!call && !fnAddr) continue;
            relocated.add(slot);
            const sym = elf.symbols[r.symbol];
            if (sym.shndx === 0) continue; // an extern: libbpf makes the call a kfunc call
            const target = elf.sections[sym.shndx];
            // a global function's symbol carries its offset (imm -1); a section symbol carries 0 (imm relative to it)
            const t = Number(sym.value / 8n) + x.imm + 1;
            expect(t, `${s.name} slot ${slot} -> ${target.name}`).toBeGreaterThanOrEqual(0);
            expect(t, `${s.name} slot ${slot} -> ${target.name}`).toBeLessThan(target.data.length / 8);
          }
        }
        validateInsns(insns, { allowV4: true, relocated });
        for (let i = 0; i < insns.length; i++) if (!isLdImm64Hi(insns, i)) describeInsn(insns, i);
        slots += insns.length;
      }
      expect(slots).toBeGreaterThanOrEqual(0);
    });
  }
});
