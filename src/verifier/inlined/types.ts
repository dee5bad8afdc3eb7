// Inlined regions of a rewritten program (src/inline/pipeline.ts): each is
// kernel code standing for one call of a kfunc. Re-verification treats the
// program's path as if the call were still there and checks the region's own
// instructions separately, in kernel mode, on a copy of the state.
import type { Insn } from '../../isa/insn.js';
import type { KfuncMeta } from '../kfunc/proto.js';

/** One spliced body in the rewritten program: slots [start, end). */
export interface InlinedRegion {
  readonly start: number;
  readonly end: number;
  /** Name of the kfunc (for messages). */
  readonly kfunc: string;
  /** BTF id of the kfunc in the BTF kfunc calls refer to (the model's by default). */
  readonly btfId: number;
  /**
   * Bytes of the caller's own stack (the spliced body's frame sits below
   * them). Optional: when given, the region's r10-based accesses above
   * fp-stackBase are rejected even where the caller's slots are empty.
   */
  readonly stackBase?: number;
  /**
   * The region stands for a call of this helper (src/verifier/inlined/helper-bodies.ts)
   * instead of a kfunc; `btfId` is then the FUNC of its body in the model BTF.
   */
  readonly helper?: number;
}

/** A callee-saved register spilled at the region's head or filled at its tail. */
export interface SpillSlot {
  readonly reg: number;
  /** r10 offset of the 8-byte slot. */
  readonly off: number;
  /** Slot of the spill/fill instruction. */
  readonly idx: number;
}

/** What the re-verification knows of a region before exploring it. */
export interface RegionInfo {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  readonly kfunc: string;
  readonly btfId: number;
  readonly meta: KfuncMeta;
  /** Argument registers r1..r`nargs` of the call it stands for. */
  readonly nargs: number;
  /** For a helper region: the argument register pointing to a dynptr, if any. */
  readonly dynptrArg?: number;
  readonly stackBase: number;
  /** The region's real first instruction (its slot holds the call it stands for while verifying). */
  readonly first: Insn;
  /** The call instruction the region stands for (a kfunc call, or a helper call: src_reg 0). */
  readonly call: Insn;
  readonly spills: readonly SpillSlot[];
  readonly fills: readonly SpillSlot[];
  /** r6..r9 the region may leave changed (written and not restored): not readable after it. */
  readonly clobbers: readonly number[];
  /** "insns a..b" for messages */
  readonly where: string;
}

/** A stack object the kfunc was given (a dynptr, an iterator): its bytes [lo, hi) in frame `frameno`. */
export interface StackObjRange {
  readonly frameno: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * What a path through a region carries (VerifierState.region): interned per
 * distinct content, so that states compare it by reference.
 */
export interface RegionPath {
  readonly info: RegionInfo;
  /** The frame the region runs in (the caller's). */
  readonly frameno: number;
  readonly objects: readonly StackObjRange[];
  /** spi of the caller's slots in use at entry (not INVALID): the region may not touch them. */
  readonly inUse: ReadonlySet<number>;
}
