// The kernel loader (through bpftool/libbpf) accepts the example objects and
// the objects our writer re-emits from them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseElf, toWriteInput, writeElf } from '../../src/elf/index.js';
import { BUILD, HAVE_BPFTOOL, IS_ROOT, exampleObjects, readExample, run } from './tools.js';

const CAN_LOAD = HAVE_BPFTOOL && IS_ROOT && (() => {
  try {
    run('sh', ['-c', 'test -d /sys/fs/bpf && mountpoint -q /sys/fs/bpf']);
    return true;
  } catch {
    return false;
  }
})();
const why = !HAVE_BPFTOOL ? 'bpftool missing' : !IS_ROOT ? 'not root' : 'no bpffs at /sys/fs/bpf';

/** `bpftool prog loadall` into a fresh pin dir; returns the pinned program names. */
export function loadAll(obj: string): string[] {
  const pin = `/sys/fs/bpf/kf_test_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  try {
    run('bpftool', ['prog', 'loadall', obj, pin]);
    return run('ls', [pin]).split('\n').filter(Boolean).sort();
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
}

describe.skipIf(!CAN_LOAD)(`kernel load (${CAN_LOAD ? 'bpftool as root' : 'skipped: ' + why})`, () => {
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
