// ctxAccess() (src/kernel/ctx-access.ts) against the running kernel: every
// aligned read and write of every size at every offset of __sk_buff (socket
// filter, tc cls/act, cgroup_skb) and xdp_md (xdp) is accepted by the model
// exactly when BPF_PROG_LOAD accepts `r0 = *(size *)(r1 + off)` / `*(size *)(r1 + off) = r2`.
import { describe, expect, it } from 'vitest';
import { insn, type Insn } from '../../src/isa/insn.js';
import { ctxAccess } from '../../src/kernel/ctx-access.js';
import { modelLayout } from '../../src/kernel/layout.js';
import { closeFd, progLoad } from '../../src/oracle/index.js';
import { NO_BPF, bpfNote } from '../oracle/env.js';

const SZ: Record<number, number> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };
const ldx = (size: number, off: number): Insn => insn(0x61 | SZ[size], 0, 1, off, 0);
const stx = (size: number, off: number): Insn => insn(0x63 | SZ[size], 1, 2, off, 0);
const mov = (d: number, imm: number): Insn => insn(0xb7, d, 0, 0, imm);
const exit = insn(0x95, 0, 0, 0, 0);
const S = modelLayout().structs;

describe.skipIf(NO_BPF)(`ctx access rules equal the kernel's${bpfNote}`, () => {
  for (const [pt, st] of [[1, '__sk_buff'], [3, '__sk_buff'], [4, '__sk_buff'], [8, '__sk_buff'], [6, 'xdp_md']] as const) {
    it(`program type ${pt} (${st})`, async () => {
      const diffs: string[] = [];
      let n = 0;
      for (const size of [1, 2, 4, 8]) {
        for (let off = 0; off < S.sizeof(st); off += size) {
          for (const write of [false, true]) {
            const insns = write ? [mov(2, 0), stx(size, off), mov(0, 0), exit] : [ldx(size, off), mov(0, 0), exit];
            const r = await progLoad({ progType: pt, insns, license: 'GPL', logLevel: 1 });
            if (r.fd >= 0) await closeFd(r.fd);
            const m = ctxAccess(pt, off, size, write);
            n++;
            if (m.ok !== r.fd >= 0) diffs.push(`off ${off} size ${size} ${write ? 'write' : 'read'}: kernel ${r.fd >= 0 ? 'accepts' : 'refuses'}, model ${m.ok ? 'accepts' : `refuses (${m.reason})`}`);
          }
        }
      }
      expect(n).toBeGreaterThan(S.sizeof(st));
      expect(diffs).toEqual([]);
    });
  }
});
