// Register liveness over a whole program (all subprograms): which registers
// may be read before being written, from each instruction on. The splice uses
// it to spill only the callee-saved registers whose values matter after the
// call (the RFC spills every r6..r9 the body uses, live or not).
//
// Calls (helpers, kfuncs, bpf-to-bpf) read r1..r5 and write r0..r5, leaving
// r6..r9 to the caller; `exit` reads r0 only, so r6..r9 die at a
// subprogram's end. Conservative where it cannot know (a call may read fewer
// arguments), which only makes more registers live.

import type { Insn } from '../isa/insn.js';
import { Class, JmpOp, LD_IMM64, opClass, opJmp } from '../isa/opcode.js';
import { isLdImm64Hi, jumpTarget, readsMask, writesMask } from '../isa/view.js';

/** live[i]: bit r set when register r is live before instruction i. */
export function liveIn(insns: readonly Insn[]): Uint16Array {
  const n = insns.length;
  const live = new Uint16Array(n + 1);
  const succ: number[][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const x = insns[i];
    if (isLdImm64Hi(insns, i)) {
      succ[i] = [i + 1];
      continue;
    }
    const cls = opClass(x.code);
    const isJmp = cls === Class.JMP || cls === Class.JMP32;
    const op = isJmp ? opJmp(x.code) : -1;
    if (isJmp && op === JmpOp.EXIT) succ[i] = [];
    else if (isJmp && op !== JmpOp.CALL) {
      const t = jumpTarget(insns, i)!;
      succ[i] = op === JmpOp.JA ? [t] : [i + 1, t];
    } else succ[i] = [x.code === LD_IMM64 ? i + 2 : i + 1];
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      let out = 0;
      for (const s of succ[i]) if (s >= 0 && s <= n) out |= live[s];
      const v = isLdImm64Hi(insns, i) ? out : (out & ~writesMask(insns, i)) | readsMask(insns, i);
      if (v !== live[i]) {
        live[i] = v;
        changed = true;
      }
    }
  }
  return live;
}

/** Callee-saved registers (r6..r9) live right after slot `site` (a call). */
export function liveCalleeSavedAfter(live: Uint16Array, site: number): number[] {
  const m = live[site + 1] ?? 0;
  return [6, 7, 8, 9].filter((r) => m & (1 << r));
}
