// Which instructions access the ctx: a small forward dataflow over the CFG
// that tracks registers (and 8-byte stack spills) holding the ctx pointer.
// A stand-in for the verifier's insn_aux_data[i].ptr_type == PTR_TO_CTX, for
// running programs that were not verified by src/verifier.

import type { Insn } from '../isa/insn.js';
import { Class, JmpOp, LD_IMM64, Mode, PseudoCall } from '../isa/opcode.js';
import { KfError } from '../util/errors.js';

interface St {
  /** bit r: register r may hold the ctx; bit 16+r: may hold something else. */
  regs: number;
  /** stack slot offset (from r10) → same 2-bit encoding (1 ctx, 2 other). */
  stack: Map<number, number>;
}

const CTX = 1;
const OTHER = 2;
const get = (s: St, r: number): number => ((s.regs >> r) & 1 ? CTX : 0) | ((s.regs >> (16 + r)) & 1 ? OTHER : 0);
function set(s: St, r: number, v: number): void {
  s.regs &= ~((1 << r) | (1 << (16 + r)));
  if (v & CTX) s.regs |= 1 << r;
  if (v & OTHER) s.regs |= 1 << (16 + r);
}
const clone = (s: St): St => ({ regs: s.regs, stack: new Map(s.stack) });

/** Joins `b` into `a`; true if `a` changed. Missing stack slots mean OTHER. */
function join(a: St, b: St): boolean {
  let changed = false;
  const regs = a.regs | b.regs;
  if (regs !== a.regs) {
    a.regs = regs;
    changed = true;
  }
  const keys = new Set([...a.stack.keys(), ...b.stack.keys()]);
  for (const k of keys) {
    const v = (a.stack.get(k) ?? OTHER) | (b.stack.get(k) ?? OTHER);
    if (v !== (a.stack.get(k) ?? OTHER)) {
      a.stack.set(k, v);
      changed = true;
    }
  }
  return changed;
}

/** The indices of LDX/STX/ST instructions whose base register holds the ctx on every path reaching them. */
export function findCtxAccesses(insns: readonly Insn[]): Set<number> {
  const n = insns.length;
  const states = new Array<St | undefined>(n);
  const entry: St = { regs: 0, stack: new Map() };
  for (let r = 0; r <= 10; r++) set(entry, r, r === 1 ? CTX : OTHER);
  states[0] = entry;
  const work = [0];
  const out = new Set<number>();
  const mixed = new Set<number>();
  const flow = (to: number, s: St, from: number): void => {
    if (to < 0 || to >= n) throw new KfError(`instruction ${from}: jump to ${to} outside the program`);
    const cur = states[to];
    if (!cur) {
      states[to] = clone(s);
      work.push(to);
    } else if (join(cur, s)) work.push(to);
  };
  let steps = 0;
  while (work.length) {
    if (++steps > 1_000_000) throw new KfError('ctx tracking did not converge');
    const pc = work.pop()!;
    const x = insns[pc];
    const s = clone(states[pc]!);
    const cls = x.code & 7;
    const op = x.code & 0xf0;
    const mode = x.code & 0xe0;
    if (x.code === LD_IMM64) {
      set(s, x.dst, OTHER);
      flow(pc + 2, s, pc);
      continue;
    }
    if (cls === Class.LDX || cls === Class.STX || cls === Class.ST) {
      const base = cls === Class.LDX ? x.src : x.dst;
      const b = get(s, base);
      if (b & CTX && mode === Mode.MEM) {
        if (b & OTHER) mixed.add(pc);
        else out.add(pc);
      }
      if (cls === Class.LDX) {
        const v = base === 10 && (x.code & 0x18) === 0x18 ? s.stack.get(x.off) ?? OTHER : OTHER;
        set(s, x.dst, v);
      } else if (base === 10) {
        for (const k of [...s.stack.keys()]) if (k > x.off - 8 && k < x.off + 8) s.stack.delete(k);
        if (cls === Class.STX && mode === Mode.MEM && (x.code & 0x18) === 0x18) s.stack.set(x.off, get(s, x.src));
      }
      if (cls === Class.STX && mode === Mode.ATOMIC && x.imm & 1) set(s, x.imm === 0xf1 ? 0 : x.src, OTHER);
      flow(pc + 1, s, pc);
      continue;
    }
    if (cls === Class.ALU || cls === Class.ALU64) {
      set(s, x.dst, cls === Class.ALU64 && op === 0xb0 && (x.code & 8) && x.off === 0 ? get(s, x.src) : OTHER);
      flow(pc + 1, s, pc);
      continue;
    }
    if (cls === Class.JMP || cls === Class.JMP32) {
      if (op === JmpOp.EXIT) continue;
      if (op === JmpOp.CALL) {
        if (x.src === PseudoCall.CALL) {
          const callee: St = { regs: 0, stack: new Map() };
          for (let r = 0; r <= 10; r++) set(callee, r, r >= 1 && r <= 5 ? get(s, r) : OTHER);
          flow(pc + 1 + x.imm, callee, pc);
        }
        for (let r = 0; r <= 5; r++) set(s, r, OTHER);
        flow(pc + 1, s, pc);
        continue;
      }
      if (op === JmpOp.JA) {
        flow(pc + 1 + (cls === Class.JMP32 ? x.imm : x.off), s, pc);
        continue;
      }
      flow(pc + 1, s, pc); // conditional jumps and may_goto: both ways
      flow(pc + 1 + x.off, s, pc);
      continue;
    }
    // LD_ABS / LD_IND: r0 and r1-r5 clobbered
    for (let r = 0; r <= 5; r++) set(s, r, OTHER);
    flow(pc + 1, s, pc);
  }
  if (mixed.size) throw new KfError(`instruction ${[...mixed][0]}: same insn cannot be used with different pointers`);
  return out;
}
