// The kernel loader (through bpftool/libbpf) accepts the example objects and
// the objects our writer re-emits from them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseElf, toWriteInput, writeElf } from '../../src/elf/index.js';
import { BUILD, CANNOT_LOAD_WHY, CAN_LOAD, exampleObjects, readExample, withLoaded } from './tools.js';

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
});
