// The running kernel's BTF against bpftool: the raw dump line for line, and
// btf_find_by_name_kind() ids.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dumpRaw, parseBtf, type BtfKind } from '../../src/btf/index.js';
import { haveTool } from './tools.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const haveVmlinux = existsSync(VMLINUX);
const haveBpftool = haveTool('bpftool', ['version']);
if (!haveVmlinux) console.warn(`skipping vmlinux BTF tests: ${VMLINUX} missing`);
if (!haveBpftool) console.warn('skipping bpftool comparisons: bpftool missing');

const bpftoolDump = (args: string[]): string =>
  execFileSync('bpftool', ['btf', 'dump', ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });

describe('vmlinux BTF', () => {
  it.skipIf(!haveVmlinux || !haveBpftool)('raw dump equals bpftool line for line', () => {
    const btf = parseBtf(readFileSync(VMLINUX));
    const want = bpftoolDump(['file', VMLINUX]).split('\n');
    expect(want.pop()).toBe('');
    const got = [...dumpRaw(btf)];
    let firstDiff = -1;
    for (let i = 0; i < Math.max(got.length, want.length); i++) {
      if (got[i] !== want[i]) {
        firstDiff = i;
        break;
      }
    }
    if (firstDiff >= 0) {
      expect({ line: firstDiff + 1, got: got[firstDiff] }).toEqual({ line: firstDiff + 1, got: want[firstDiff] });
    }
    expect(got.length).toBe(want.length);
    expect(want.length).toBeGreaterThan(1000);
  });

  it.skipIf(!haveVmlinux || !haveBpftool)('findByNameKind ids equal bpftool ids', () => {
    const btf = parseBtf(readFileSync(VMLINUX));
    const raw = bpftoolDump(['file', VMLINUX]);
    const cases: [string, BtfKind][] = [
      ['bpf_dynptr_slice', 'FUNC'],
      ['sk_buff', 'STRUCT'],
      ['xdp_buff', 'STRUCT'],
      ['bpf_dynptr_kern', 'STRUCT'],
      ['task_struct', 'STRUCT'],
      ['u32', 'TYPEDEF'],
      ['int', 'INT'],
      ['bpf_map_type', 'ENUM'],
    ];
    for (const [name, kind] of cases) {
      // bpftool lists ids in order; the first line with this kind and name is the lowest id.
      const m = new RegExp(`^\\[(\\d+)\\] ${kind} '${name}' `, 'm').exec(raw);
      const want = m ? Number(m[1]) : -1;
      expect([name, kind, btf.findByNameKind(name, kind)]).toEqual([name, kind, want]);
    }
    expect(btf.findByNameKind('no_such_type_anywhere', 'STRUCT')).toBe(-1);
    expect(btf.findByNameKind('sk_buff', 'UNION')).toBe(-1);
  });
});
