// Control-flow graph of a BPF program for the JIT: subprograms (split at
// bpf-to-bpf call and PSEUDO_FUNC targets, like the kernel's
// add_subprog_and_kfunc()), basic blocks, reverse postorder and dominators.

import { KfError } from '../../util/errors.js';
import type { Insn } from '../../isa/insn.js';

export type Term =
  | { kind: 'goto'; to: number }
  | { kind: 'cond'; pc: number; t: number; f: number }
  | { kind: 'exit'; pc: number }
  | { kind: 'fault'; pc: number; reason: string };

export interface Block {
  readonly id: number;
  readonly start: number;
  /** Index of the last instruction slot + 1. */
  readonly end: number;
  term: Term;
  succs: number[];
}

export interface Subprog {
  readonly start: number;
  readonly end: number;
  readonly blocks: Block[];
  /** Reverse postorder of the blocks reachable from block 0. */
  rpo: number[];
  /** Position of each block in rpo (-1: unreachable). */
  rpoIndex: number[];
  /** Immediate dominator (block id) of each reachable block; idom[0] = 0. */
  idom: number[];
}

const cls = (code: number): number => code & 7;
export const isJump = (code: number): boolean => {
  const c = cls(code);
  if (c !== 5 && c !== 6) return false;
  const op = code & 0xf0;
  return op !== 0x80 && op !== 0x90;
};
export const isExit = (code: number): boolean => code === 0x95;
export const isCond = (code: number): boolean => isJump(code) && (code & 0xf0) !== 0x00;
/** Target slot of a jump at pc (JMP32|JA = gotol uses imm). */
export const jumpTarget = (x: Insn, pc: number): number => pc + 1 + (x.code === 0x06 ? x.imm : x.off);

/** Starts of the subprograms, sorted; 0 first. */
export function subprogStarts(insns: readonly Insn[]): number[] {
  const s = new Set<number>([0]);
  for (let i = 0; i < insns.length; i++) {
    const x = insns[i];
    if ((x.code === 0x85 && x.src === 1) || (x.code === 0x18 && x.src === 4)) {
      const t = i + 1 + x.imm;
      if (t < 0 || t >= insns.length) throw new KfError(`call target ${t} out of range`, [`instruction ${i}`]);
      s.add(t);
    }
    if (x.code === 0x18) i++;
  }
  return [...s].sort((a, b) => a - b);
}

export function buildSubprog(insns: readonly Insn[], start: number, end: number): Subprog {
  const slotStart = new Uint8Array(end - start + 1); // 1 = an instruction starts here
  const leader = new Uint8Array(end - start + 1);
  leader[0] = 1;
  for (let i = start; i < end; ) {
    slotStart[i - start] = 1;
    const x = insns[i];
    const w = x.code === 0x18 ? 2 : 1;
    if (w === 2 && i + 1 >= end) throw new KfError('ld_imm64 is missing its second slot', [`instruction ${i}`]);
    if (isJump(x.code)) {
      const t = jumpTarget(x, i);
      if (t < start || t >= end) throw new KfError(`jump to ${t} leaves the subprogram [${start}, ${end})`, [`instruction ${i}`]);
      leader[t - start] = 1;
    }
    if (isJump(x.code) || isExit(x.code)) leader[i + w - start] = 1;
    i += w;
  }
  for (let i = start; i < end; i++) {
    const x = insns[i];
    if (isJump(x.code) && !slotStart[jumpTarget(x, i) - start]) {
      throw new KfError(`jump into the middle of ld_imm64 at ${jumpTarget(x, i)}`, [`instruction ${i}`]);
    }
  }
  const blocks: Block[] = [];
  const blockAt = new Int32Array(end - start + 1).fill(-1);
  let cur = start;
  for (let i = start + 1; i <= end; i++) {
    if (i === end || (leader[i - start] && slotStart[i - start])) {
      blockAt[cur - start] = blocks.length;
      blocks.push({ id: blocks.length, start: cur, end: i, term: { kind: 'exit', pc: -1 }, succs: [] });
      cur = i;
    }
  }
  for (const b of blocks) {
    let last = b.start;
    for (let i = b.start; i < b.end; i += insns[i].code === 0x18 ? 2 : 1) last = i;
    const x = insns[last];
    const next = b.end < end ? blockAt[b.end - start] : -1;
    const fallFault: Term = { kind: 'fault', pc: last, reason: 'fell off the end of the subprogram' };
    if (isExit(x.code)) b.term = { kind: 'exit', pc: last };
    else if (isJump(x.code) && !isCond(x.code)) b.term = { kind: 'goto', to: blockAt[jumpTarget(x, last) - start] };
    else if (isJump(x.code)) {
      const t = blockAt[jumpTarget(x, last) - start];
      b.term = next < 0 ? fallFault : { kind: 'cond', pc: last, t, f: next };
    } else b.term = next < 0 ? fallFault : { kind: 'goto', to: next };
    const tm = b.term;
    b.succs = tm.kind === 'goto' ? [tm.to] : tm.kind === 'cond' ? [tm.t, tm.f] : [];
  }
  const sp: Subprog = { start, end, blocks, rpo: [], rpoIndex: [], idom: [] };
  computeOrder(sp);
  return sp;
}

/** Reverse postorder (iterative DFS) and dominators (Cooper, Harvey, Kennedy). */
function computeOrder(sp: Subprog): void {
  const n = sp.blocks.length;
  const seen = new Uint8Array(n);
  const post: number[] = [];
  const stack: [number, number][] = [[0, 0]];
  seen[0] = 1;
  while (stack.length) {
    const top = stack[stack.length - 1];
    const b = sp.blocks[top[0]];
    if (top[1] < b.succs.length) {
      const s = b.succs[top[1]++];
      if (!seen[s]) {
        seen[s] = 1;
        stack.push([s, 0]);
      }
    } else {
      post.push(top[0]);
      stack.pop();
    }
  }
  sp.rpo = post.reverse();
  sp.rpoIndex = new Array(n).fill(-1);
  sp.rpo.forEach((b, i) => (sp.rpoIndex[b] = i));
  const preds: number[][] = sp.blocks.map(() => []);
  for (const b of sp.rpo) for (const s of sp.blocks[b].succs) preds[s].push(b);
  const idom = new Array<number>(n).fill(-1);
  idom[0] = 0;
  const ri = sp.rpoIndex;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (ri[a] > ri[b]) a = idom[a];
      while (ri[b] > ri[a]) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const b of sp.rpo) {
      if (b === 0) continue;
      let d = -1;
      for (const p of preds[b]) if (idom[p] >= 0) d = d < 0 ? p : intersect(p, d);
      if (d !== idom[b]) {
        idom[b] = d;
        changed = true;
      }
    }
  }
  sp.idom = idom;
}

/** True if block a dominates block b. */
export function dominates(sp: Subprog, a: number, b: number): boolean {
  for (;;) {
    if (a === b) return true;
    if (b === 0) return false;
    b = sp.idom[b];
  }
}
