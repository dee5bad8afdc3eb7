// Per-call-site instances (the RFC's first step, before verification): every
// call of an inlinable kfunc gets its own copy of the body appended to the
// program as a hidden subprogram, so that the verifier's facts about a body
// are facts about one call site, and dead code is found per call site.

import type { Insn } from '../isa/insn.js';
import { Class, JmpOp } from '../isa/opcode.js';

export interface Instance {
  /** Slot of the kfunc call in the program. */
  readonly site: number;
  /** Name of the kfunc. */
  readonly kfunc: string;
  /** First slot of this instance's body in the extended program. */
  readonly start: number;
  /** Number of slots of the body. */
  readonly len: number;
}

export interface WithInstances {
  /** The program followed by one body per instance. */
  readonly insns: Insn[];
  /** Number of slots of the original program (instances start here). */
  readonly progLen: number;
  readonly instances: Instance[];
}

/** A kfunc call (src_reg BPF_PSEUDO_KFUNC_CALL). */
export const isKfuncCall = (x: Insn): boolean => x.code === (Class.JMP | JmpOp.CALL) && x.src === 2;

/** A helper call (src_reg 0). */
export const isHelperCall = (x: Insn): boolean => x.code === (Class.JMP | JmpOp.CALL) && x.src === 0;

/**
 * Appends an instance for every kfunc call for which `bodyOf` gives a body,
 * and for every helper call for which `helperBodyOf` (optional) gives one
 * (helpers with inlinable bodies, src/inline/helper-sites.ts).
 * Bodies are self-contained (their jumps stay inside them), so a copy placed
 * anywhere keeps its meaning.
 */
export function makeInstances(
  insns: readonly Insn[],
  bodyOf: (call: Insn, index: number) => { name: string; insns: readonly Insn[] } | undefined,
  helperBodyOf?: (call: Insn, index: number) => { name: string; insns: readonly Insn[] } | undefined,
): WithInstances {
  const out = insns.slice();
  const instances: Instance[] = [];
  for (let i = 0; i < insns.length; i++) {
    const x = insns[i];
    const kf = isKfuncCall(x);
    if (!kf && !(helperBodyOf && isHelperCall(x))) continue;
    const body = kf ? bodyOf(x, i) : helperBodyOf!(x, i);
    if (!body) continue;
    instances.push({ site: i, kfunc: body.name, start: out.length, len: body.insns.length });
    out.push(...body.insns);
  }
  return { insns: out, progLen: insns.length, instances };
}
