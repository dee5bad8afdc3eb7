// Rewriting a program slot by slot while keeping every pc-relative reference
// right: conditional and unconditional jumps (off, or imm for gotol),
// may_goto, bpf-to-bpf calls (imm) and lddw of a function address (imm).
// Mirrors what the kernel's bpf_patch_insn_data()/adjust_jmp_off() and
// verifier_remove_insns() do together.
//
// A patch replaces one slot of the original program by a sequence of new
// slots (possibly none: deletion). New slots are final: their own jumps are
// relative to the sequence and are not adjusted. Unpatched slots are copied
// and their references re-aimed: a reference to a deleted slot lands on the
// first slot that follows it.

import { KfError } from '../util/errors.js';
import { insn, type Insn } from '../isa/insn.js';
import { Class, JmpOp, LD_IMM64, opClass, opJmp } from '../isa/opcode.js';
import { isLdImm64Hi } from '../isa/view.js';

export interface Patched {
  readonly insns: Insn[];
  /** For each old slot, the new index of its first replacement slot (or of what follows it when deleted); length old+1. */
  readonly map: Int32Array;
}

type Ref = { kind: 'off' } | { kind: 'imm' };

/** Which field of slot `i` holds a pc-relative reference, if any. */
export function pcRelField(insns: readonly Insn[], i: number): Ref | undefined {
  const x = insns[i];
  if (isLdImm64Hi(insns, i)) return undefined;
  if (x.code === LD_IMM64) return x.src === 4 ? { kind: 'imm' } : undefined;
  const cls = opClass(x.code);
  if (cls !== Class.JMP && cls !== Class.JMP32) return undefined;
  const op = opJmp(x.code);
  if (op === JmpOp.EXIT) return undefined;
  if (op === JmpOp.CALL) return cls === Class.JMP && x.src === 1 ? { kind: 'imm' } : undefined;
  if (cls === Class.JMP32 && op === JmpOp.JA) return { kind: 'imm' };
  return { kind: 'off' };
}

export function applyPatches(insns: readonly Insn[], patches: ReadonlyMap<number, readonly Insn[]>): Patched {
  const n = insns.length;
  const map = new Int32Array(n + 1);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    map[i] = pos;
    const p = patches.get(i);
    if (p) {
      if (insns[i].code === LD_IMM64 || isLdImm64Hi(insns, i)) {
        // An lddw can only be deleted, both slots together.
        const first = insns[i].code === LD_IMM64 && !isLdImm64Hi(insns, i) ? i : i - 1;
        const a = patches.get(first);
        const b = patches.get(first + 1);
        if (!a || !b || a.length || b.length) throw new KfError(`instruction ${first}: an lddw can only be deleted whole, not patched`);
      }
      pos += p.length;
    } else pos += 1;
  }
  map[n] = pos;
  const out: Insn[] = [];
  for (let i = 0; i < n; i++) {
    const p = patches.get(i);
    if (p) {
      out.push(...p);
      continue;
    }
    const x = insns[i];
    const ref = pcRelField(insns, i);
    if (!ref) {
      out.push(x);
      continue;
    }
    const oldRel = ref.kind === 'off' ? x.off : x.imm;
    const oldTarget = i + oldRel + 1;
    if (oldTarget < 0 || oldTarget > n) throw new KfError(`instruction ${i}: jump out of range to ${oldTarget}`);
    const rel = map[oldTarget] - map[i] - 1;
    if (ref.kind === 'off') {
      if (rel < -0x8000 || rel > 0x7fff) throw new KfError(`instruction ${i}: jump offset ${rel} does not fit in 16 bits after rewriting`);
      out.push(insn(x.code, x.dst, x.src, rel, x.imm));
    } else out.push(insn(x.code, x.dst, x.src, x.off, rel));
  }
  return { insns: out, map };
}

/** `goto +off`. */
export const ja = (off: number): Insn => insn(Class.JMP | JmpOp.JA, 0, 0, off, 0);

export function isJa(x: Insn): boolean {
  return x.code === (Class.JMP | JmpOp.JA);
}
