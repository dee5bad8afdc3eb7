// Shared by the rewriteObject tests: slot maps, the non-identity rewrite
// (perturb), llvm-objdump's view of an object and a test packet.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { applyPatches } from '../../src/inline/patch.js';
import { insn, type Insn } from '../../src/isa/insn.js';
import { linkProgram as linkToModel } from '../../src/kernel/link.js';
import type { BpfObject, BpfProgram } from '../../src/object/index.js';
import { run } from '../elf/tools.js';

export const identity = (n: number) => Int32Array.from({ length: n + 1 }, (_, i) => i);
export const compose = (a: Int32Array, b: Int32Array) => a.map((v) => b[v]);

export const CALL = 0x85;
export const JA0 = insn(0x05, 0, 0, 0, 0); // goto +0
const SPILL_R1 = insn(0x7b, 10, 1, -504, 0); // *(u64 *)(r10 -504) = r1
const FILL_R1 = insn(0x79, 1, 10, -504, 0); // r1 = *(u64 *)(r10 -504)

export interface Case {
  readonly file: string;
  readonly obj: BpfObject;
  readonly prog: BpfProgram;
}

/**
 * A non-identity rewrite with the lead's patcher: a spill/fill pair of r1 at
 * -504 and a `goto +0` before every kfunc call, a `goto +0` before every
 * bpf-to-bpf call and at the start of every function; then one of the
 * inserted no-ops deleted again.
 */
export function perturb(p: BpfProgram, insns0: Insn[] = p.insns): { insns: Insn[]; map: Int32Array } {
  const before = new Map<number, Insn[]>();
  const pre = (i: number, xs: Insn[]) => before.set(i, [...(before.get(i) ?? []), ...xs]);
  for (const s of p.subprogs) if (p.insns[s.start].code !== 0x18) pre(s.start, [JA0]); // an lddw cannot be patched
  for (const e of p.externCalls) if (e.kind === 'kfunc') pre(e.index, [SPILL_R1, FILL_R1, JA0]);
  p.insns.forEach((x, i) => ((x.code === CALL && x.src === 1) || x.code === 0x95) && pre(i, x.code === 0x95 ? [JA0, JA0] : [JA0]));
  const r1 = applyPatches(insns0, new Map([...before].map(([i, xs]) => [i, [...xs, insns0[i]]])));
  // Slots of a patch are final: re-aim the bpf-to-bpf calls we put at the end of one.
  for (const [i, xs] of before) {
    const x = insns0[i];
    if (x.code !== CALL || x.src !== 1) continue;
    const at = r1.map[i] + xs.length;
    r1.insns[at] = insn(x.code, x.dst, x.src, x.off, r1.map[i + x.imm + 1] - at - 1);
  }
  const firstKfunc = p.externCalls.find((e) => e.kind === 'kfunc');
  // Delete the goto +0 after the first pair, or else the first inserted goto +0.
  const del = firstKfunc ? r1.map[firstKfunc.index] + 2 : r1.insns.findIndex((x, i) => i < r1.insns.length - 1 && x === JA0);
  expect(r1.insns[del]).toBe(JA0);
  const r2 = applyPatches(r1.insns, new Map([[del, []]]));
  return { insns: r2.insns, map: compose(r1.map, r2.map) };
}

/**
 * The perturbation of both encodings of a program: the object's (what
 * loadObject reads back) and the model kernel's (what the inliner hands over:
 * map fds, kfunc BTF ids, named back by `kfuncName`). A kfunc call at the end
 * of a patch (code inserted before it) is no longer at its old slot's new
 * slot, so it is written only because kfuncName names it.
 */
export function perturbed(c: Case) {
  const names = c.obj.externs.map((e) => e.name);
  const model = linkToModel(c.obj, c.prog, (n) => 1000 + names.indexOf(n)).insns;
  const kfuncName = (id: number) => names[id - 1000];
  const a = perturb(c.prog);
  const b = perturb(c.prog, model);
  expect(b.map).toEqual(a.map);
  return { insns: a.insns, model: b.insns, map: a.map, kfuncName };
}

/** Slots llvm-objdump shows (an lddw is one line), the symbol of each relocation in order, and the function labels. */
export function objdump(path: string): { lines: number; relocs: string[]; funcs: string[] } {
  const text = run('llvm-objdump-19', ['-dr', path]);
  const lines = text.split('\n').filter((l) => /^\s+\d+:\t[0-9a-f]{2} /.test(l)).length;
  const relocs = [...text.matchAll(/R_BPF_64_(?:32|64)\s+(\S+)/g)].map((m) => m[1]);
  const funcs = [...text.matchAll(/^[0-9a-f]{16} <([^>]+)>:$/gm)].map((m) => m[1]);
  return { lines, relocs, funcs };
}

/** Slots a program takes on llvm-objdump's lines (an lddw is one line). */
export function objdumpLines(insns: readonly Insn[]): number {
  let lddw = 0;
  for (let i = 0; i < insns.length; i++) if (insns[i].code === 0x18) (lddw++, i++);
  return insns.length - lddw;
}

export const TEST_RUN_TYPES = new Set(['SCHED_CLS', 'SCHED_ACT', 'XDP', 'SOCKET_FILTER', 'CGROUP_SKB']);

/** A 64-byte Ethernet/IPv4/UDP packet, written to `dir`/pkt.bin. */
export function packetFile(dir: string): string {
  const p = new Uint8Array(64);
  p.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  p.set([0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  p.set([0x04, 0xd2, 0x00, 0x35, 0, 30, 0, 0], 34);
  for (let i = 42; i < 64; i++) p[i] = i;
  const path = join(dir, 'pkt.bin');
  writeFileSync(path, p);
  return path;
}

/** BPF_PROG_TEST_RUN of a pinned program through bpftool: its return value. */
export function testRun(pinned: string, packet: string): number {
  const outp = run('bpftool', ['prog', 'run', 'pinned', pinned, 'data_in', packet, 'repeat', '1']);
  const m = /Return value: (\d+)/.exec(outp);
  expect(m, outp).not.toBeNull();
  return Number(m![1]);
}
