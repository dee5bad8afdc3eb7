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
  for (const path of all) {
    it(`${relative(ROOT, path)}: code sections round-trip, validate and describe`, () => {
      const elf = parseElf(new Uint8Array(readFileSync(path)));
      if (elf.header.machine !== 247) return; // a host object among the fixtures
      const le = elf.header.littleEndian;
      let slots = 0;
      for (const s of elf.sections) {
        if ((s.flags & 0x4n) === 0n || s.data.length === 0) continue;
        if (!le) continue; // the shared codec is little-endian; big-endian objects are covered in test/object
        const insns = decodeInsns(s.data);
        expect(encodeInsns(insns)).toEqual(s.data);
        validateInsns(insns, { allowV4: true });
        for (let i = 0; i < insns.length; i++) if (!isLdImm64Hi(insns, i)) describeInsn(insns, i);
        slots += insns.length;
      }
      expect(slots).toBeGreaterThanOrEqual(0);
    });
  }
});
