// Test helpers for kfunc verification: assemble with kfunc names resolved in
// a BTF (the model's for kfinline, vmlinux's for the running kernel).
import { assembleKernel } from '../../src/isa/asm-kernel.js';
import type { Insn } from '../../src/isa/insn.js';
import { loadObject } from '../../src/object/index.js';
import { linkProgram } from '../../src/kernel/link.js';
import { kfuncIds } from '../../src/kernel/catalogue.js';
import { modelLayout } from '../../src/kernel/layout.js';
import { readFileSync } from 'node:fs';

export const KFUNC_NAMES = [
  'bpf_dynptr_from_skb', 'bpf_dynptr_from_xdp', 'bpf_dynptr_slice', 'bpf_dynptr_slice_rdwr', 'bpf_dynptr_size',
  'bpf_dynptr_is_null', 'bpf_dynptr_is_rdonly', 'bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy',
];

/** Assembles `src` (statements separated by ';' or newlines), kfunc calls resolved by `id`. */
export function asmWithKfuncs(src: string, id: (name: string) => number, extra: readonly string[] = []): Insn[] {
  const p = assembleKernel(src.replace(/;\s*/g, '\n'), { kfuncs: [...KFUNC_NAMES, ...extra] });
  const insns = p.insns.slice();
  for (const r of p.relocations) if (r.kind === 'kfunc') insns[r.index] = { ...insns[r.index], imm: id(r.symbol) };
  return insns;
}

export const modelIds = kfuncIds(modelLayout().structs);
export const modelId = (n: string): number => {
  const v = modelIds.get(n);
  if (v === undefined) throw new Error(`no model kfunc ${n}`);
  return v;
};

export function linkedExample(file: string) {
  const obj = loadObject(readFileSync(`examples/build/${file}.bpf.o`));
  const prog = obj.programs[0];
  return { obj, prog, linked: linkProgram(obj, prog, (n) => modelIds.get(n)) };
}
