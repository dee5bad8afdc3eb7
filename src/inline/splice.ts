// Splicing one kfunc body into its caller in place of the call, after
// verification (the RFC's inline_kfunc_call()):
//  - refuse when r10 escapes: stored as a value, or a source operand of an ALU
//    op (a copy of the frame pointer could be used after the frame moved);
//  - for each of r6..r9 the body uses, spill it before the body and fill it
//    after, in reverse order, in slots just below the caller's stack;
//  - move the body's r10-based slots below those spill slots;
//  - turn each `exit` into a jump to the end of the body;
//  - account the stack the body adds and refuse past the 512-byte limit
//    (the RFC did not re-check; kfinline does).

import { insn, type Insn } from '../isa/insn.js';
import { Class, JmpOp, Mode, opClass, opJmp, opMode, R10, Size, Source } from '../isa/opcode.js';
import { isLdImm64Hi } from '../isa/view.js';

export const MAX_BPF_STACK = 512;

export type SpliceResult =
  | {
      readonly ok: true;
      readonly insns: Insn[];
      /** Callee-saved registers spilled and filled around the body, ascending. */
      readonly spilled: number[];
      /** Bytes of stack below the caller's that the body and its spills need. */
      readonly stackAdded: number;
      /** Offset (negative, from r10) of the deepest slot used. */
      readonly deepest: number;
    }
  | { readonly ok: false; readonly reason: string };

/** Does r10 escape in the body? Returns the reason, or undefined. */
export function r10Escape(body: readonly Insn[]): string | undefined {
  for (let i = 0; i < body.length; i++) {
    const x = body[i];
    if (isLdImm64Hi(body, i)) continue;
    const cls = opClass(x.code);
    if (cls === Class.STX && x.src === R10) {
      return `instruction ${i}: r10 is stored as a value`;
    }
    if ((cls === Class.ALU || cls === Class.ALU64) && (x.code & Source.X) && x.src === R10) {
      return `instruction ${i}: r10 is a source operand of an ALU op`;
    }
    if ((cls === Class.JMP || cls === Class.JMP32) && (x.code & Source.X) && x.src === R10 && opJmp(x.code) !== JmpOp.CALL) {
      return `instruction ${i}: r10 is compared`;
    }
    if ((cls === Class.ALU || cls === Class.ALU64) && x.dst === R10) {
      return `instruction ${i}: r10 is written`;
    }
  }
  return undefined;
}

/** Callee-saved registers (r6..r9) that appear anywhere in the body. */
export function usedCalleeSaved(body: readonly Insn[]): number[] {
  const used = new Set<number>();
  for (let i = 0; i < body.length; i++) {
    const x = body[i];
    if (isLdImm64Hi(body, i)) continue;
    const cls = opClass(x.code);
    const isCall = (cls === Class.JMP) && opJmp(x.code) === JmpOp.CALL;
    if (x.dst >= 6 && x.dst <= 9 && !isCall) used.add(x.dst);
    const srcIsReg =
      cls === Class.LDX || cls === Class.STX ||
      ((cls === Class.ALU || cls === Class.ALU64 || cls === Class.JMP || cls === Class.JMP32) && (x.code & Source.X) !== 0 && !isCall);
    if (srcIsReg && x.src >= 6 && x.src <= 9) used.add(x.src);
  }
  return [...used].sort((a, b) => a - b);
}

/** Is slot i a memory access based on r10 (whose `off` is a frame offset)? */
function r10Based(x: Insn): boolean {
  const cls = opClass(x.code);
  if (cls === Class.LDX) return opMode(x.code) !== Mode.IMM && x.src === R10;
  if (cls === Class.ST || cls === Class.STX) return x.dst === R10;
  return false;
}

/** Deepest r10 offset the body touches (0 if none). */
export function bodyStackDepth(body: readonly Insn[]): number {
  let deepest = 0;
  for (let i = 0; i < body.length; i++) {
    const x = body[i];
    if (isLdImm64Hi(body, i) || !r10Based(x)) continue;
    if (x.off < deepest) deepest = x.off;
  }
  return -deepest;
}

const stxdw = (dst: number, src: number, off: number): Insn => insn(Class.STX | Mode.MEM | Size.DW, dst, src, off, 0);
const ldxdw = (dst: number, src: number, off: number): Insn => insn(Class.LDX | Mode.MEM | Size.DW, dst, src, off, 0);

/**
 * The instructions that replace a call: spills, the body with its frame moved
 * below the caller's `callerDepth` bytes, exits as jumps to the end, fills.
 * `liveAfter` (callee-saved registers live after the call) limits the spills
 * to those; without it every r6..r9 the body uses is spilled, as in the RFC.
 */
export function spliceBody(body: readonly Insn[], callerDepth: number, liveAfter?: readonly number[]): SpliceResult {
  const esc = r10Escape(body);
  if (esc) return { ok: false, reason: `r10 escapes (${esc})` };
  const base = Math.ceil(callerDepth / 8) * 8;
  // The RFC spills every callee-saved register the body uses; given the
  // registers live after the call, only those need saving.
  const spilled = usedCalleeSaved(body).filter((r) => !liveAfter || liveAfter.includes(r));
  const spillArea = 8 * spilled.length;
  const shift = base + spillArea;
  const own = bodyStackDepth(body);
  const total = shift + own;
  if (total > MAX_BPF_STACK) {
    return { ok: false, reason: `combined stack depth ${total} exceeds ${MAX_BPF_STACK} (caller ${base}, spills ${spillArea}, body ${own})` };
  }
  const out: Insn[] = [];
  spilled.forEach((r, k) => out.push(stxdw(R10, r, -(base + 8 * (k + 1)))));
  const bodyStart = out.length;
  const n = body.length;
  for (let i = 0; i < n; i++) {
    const x = body[i];
    if (isLdImm64Hi(body, i)) {
      out.push(x);
      continue;
    }
    if (x.code === (Class.JMP | JmpOp.EXIT)) {
      // To the first slot after the body: n - i - 1 slots ahead.
      out.push(insn(Class.JMP | JmpOp.JA, 0, 0, n - i - 1, 0));
      continue;
    }
    if (r10Based(x)) {
      out.push(insn(x.code, x.dst, x.src, x.off - shift, x.imm));
      continue;
    }
    out.push(x);
  }
  void bodyStart;
  for (let k = spilled.length - 1; k >= 0; k--) out.push(ldxdw(spilled[k], R10, -(base + 8 * (k + 1))));
  return { ok: true, insns: out, spilled, stackAdded: total - base, deepest: -total };
}




