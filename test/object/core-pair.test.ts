// CO-RE without a kernel: pair_local.bpf.o (compiled against a flavoured,
// reordered, partial layout) relocated with pair_target.bpf.o's BTF must
// become the instructions clang produced for pair_target.bpf.o itself (same
// program text compiled against the target layout). The committed objects
// are checked; with clang-19 present, freshly compiled ones too.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadObject, isCorePoison, type BpfObject } from '../../src/object/index.js';
import { HAVE_CLANG } from '../elf/tools.js';
import { CORE_DIR } from './core-tools.js';

const read = (p: string): Uint8Array => {
  const b = readFileSync(p);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
};

function checkPair(localBytes: Uint8Array, targetBytes: Uint8Array): void {
  const target = loadObject(targetBytes);
  expect(target.btf).toBeDefined();
  // The target relocated against itself: clang's values validated, bitfields recomputed libbpf's way.
  const self: BpfObject = loadObject(targetBytes, { targetBtf: target.btf! });
  const local = loadObject(localBytes, { targetBtf: target.btf! });
  expect(local.coreOutcomes!.length).toBeGreaterThan(20);
  expect(local.coreOutcomes!.filter((o) => o.action === 'poisoned')).toEqual([]);
  for (const o of self.coreOutcomes!) {
    // every relocation of the target against itself keeps clang's value, except bitfield details
    if (o.action !== 'poisoned' && !/bf|sbf/.test(o.result.localSpec)) expect(o.after, o.result.localSpec).toBe(o.before);
  }
  for (const p of self.programs) {
    const l = local.programs.find((x) => x.name === p.name)!;
    expect(l, p.name).toBeDefined();
    expect(l.insns.some(isCorePoison)).toBe(false);
    expect(l.insns, p.name).toEqual(p.insns);
  }
  // Without a target nothing is applied: the local object keeps its compile-time offsets.
  const raw = loadObject(localBytes);
  expect(raw.coreOutcomes).toBeUndefined();
  expect(raw.programs[0].insns).not.toEqual(self.programs[0].insns);
}

describe('CO-RE pair: local relocated against target BTF == target compiled', () => {
  it('committed objects (test/object/core/pair_*.bpf.o)', () => {
    checkPair(read(join(CORE_DIR, 'pair_local.bpf.o')), read(join(CORE_DIR, 'pair_target.bpf.o')));
  });

  it.skipIf(!HAVE_CLANG)(`freshly compiled with clang-19${HAVE_CLANG ? '' : ' [skipped: clang-19 missing]'}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-core-pair-'));
    try {
      const build = (name: string): Uint8Array => {
        const out = join(dir, `${name}.o`);
        execFileSync('clang-19', ['-O2', '-g', '-target', 'bpf', '-mcpu=v3', '-c', join(CORE_DIR, `${name}.bpf.c`), '-o', out]);
        return read(out);
      };
      checkPair(build('pair_local'), build('pair_target'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
