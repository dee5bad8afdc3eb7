// CO-RE relocations against the running kernel's BTF, checked against
// libbpf's own decisions (bpftool -d prog loadall prints them).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadObject } from '../../src/object/index.js';
import { CAN_LOAD, CANNOT_LOAD_WHY } from '../elf/tools.js';
import { asDecisions, CORE_DIR, HAVE_VMLINUX, libbpfDecisions, readCoreFixture, vmlinuxBtf } from './core-tools.js';

const FIXTURES = ['core_task.bpf.o', 'core_more.bpf.o', 'core_tc.bpf.o', 'core_poison.bpf.o'];

describe('CO-RE relocations vs libbpf (bpftool -d prog loadall)', () => {
  for (const f of FIXTURES) {
    it.skipIf(!CAN_LOAD || !HAVE_VMLINUX)(`${f}: every relocation as libbpf decides it${CAN_LOAD ? '' : ` [skipped: ${CANNOT_LOAD_WHY}]`}`, () => {
      const obj = loadObject(readCoreFixture(f), { targetBtf: vmlinuxBtf() });
      const ours = asDecisions(obj.coreOutcomes!);
      const { decisions, log } = libbpfDecisions(join(CORE_DIR, f));
      expect(decisions.length, log).toBeGreaterThan(0);
      const key = (d: { prog: string; relo: number }) => `${d.prog}#${d.relo}`;
      const sort = <T extends { prog: string; relo: number }>(a: T[]) => [...a].sort((x, y) => key(x).localeCompare(key(y)));
      expect(sort(ours)).toEqual(sort(decisions));
    });
  }
});
