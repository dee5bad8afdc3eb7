// Dead code removal inside one kfunc instance, from what the verifier proved
// for that call site alone (the RFC's rewrite):
//  - a conditional jump whose fall-through was never taken becomes `goto off`;
//  - one whose target was never taken becomes `goto +0`;
//  - instructions no path reached are removed;
//  - gotos that land on the next remaining instruction are removed.
// may_goto is left alone: its outcome depends on a run-time budget.

import type { Insn } from '../isa/insn.js';
import { Class, JmpOp, LD_IMM64, opClass, opJmp } from '../isa/opcode.js';
import { isCondJump, isLdImm64Hi, jumpTarget } from '../isa/view.js';
import { EDGE_FALLTHROUGH, EDGE_TARGET, type InsnFacts } from './facts.js';
import { applyPatches, ja } from './patch.js';

export interface DceResult {
  readonly insns: Insn[];
  /** Conditional jumps turned into unconditional ones (or removed). */
  readonly branchesFolded: number;
  /** Slots removed (unreached code and no-op gotos). */
  readonly removed: number;
  /** Old slot → new slot (length old+1). */
  readonly map: Int32Array;
}

const isMayGoto = (x: Insn): boolean => x.code === (Class.JMP | JmpOp.JCOND);
const isGoto = (x: Insn): boolean => x.code === (Class.JMP | JmpOp.JA) || x.code === (Class.JMP32 | JmpOp.JA);

export function removeDeadCode(body: readonly Insn[], facts: InsnFacts): DceResult {
  const n = body.length;
  const insns = body.slice();
  let folded = 0;
  // 1. Hard-wire conditional jumps with one edge never taken (same length).
  for (let i = 0; i < n; i++) {
    const x = insns[i];
    if (!facts.reached[i] || isLdImm64Hi(insns, i) || !isCondJump(x) || isMayGoto(x)) continue;
    const e = facts.edges[i];
    if (e === EDGE_TARGET) {
      insns[i] = ja(x.off);
      folded++;
    } else if (e === EDGE_FALLTHROUGH) {
      insns[i] = ja(0);
      folded++;
    }
  }
  // 2. Delete unreached slots (an lddw is reached as its first slot).
  const dead = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const reached = isLdImm64Hi(insns, i) ? facts.reached[i - 1] : facts.reached[i];
    if (!reached) dead[i] = 1;
  }
  // 3. Delete gotos that fall through to the next live slot, to a fixpoint.
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < n; i++) {
      if (dead[i] || !isGoto(insns[i]) || isLdImm64Hi(insns, i)) continue;
      const t = jumpTarget(insns, i)!;
      if (t <= i) continue;
      let noop = true;
      for (let k = i + 1; k < t; k++) if (!dead[k]) noop = false;
      if (noop) {
        dead[i] = 1;
        changed = true;
      }
    }
  }
  const patches = new Map<number, Insn[]>();
  let removed = 0;
  for (let i = 0; i < n; i++) {
    if (dead[i]) {
      patches.set(i, []);
      removed++;
    }
  }
  const p = applyPatches(insns, patches);
  return { insns: p.insns, branchesFolded: folded, removed, map: p.map };
}

/** True when the slot is a conditional jump class instruction (for stats). */
export function isBranch(x: Insn): boolean {
  const c = opClass(x.code);
  return (c === Class.JMP || c === Class.JMP32) && opJmp(x.code) !== JmpOp.CALL && opJmp(x.code) !== JmpOp.EXIT && x.code !== LD_IMM64;
}
