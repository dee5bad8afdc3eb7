// Kfunc bodies as their own functions: the honest non-inlined baseline.
//
// With LoadOptions.bpfKfuncs, a kfunc whose implementation is a BPF body (the
// kfunc library's bodies, src/inline/library.ts) runs as separately compiled
// code, like the kernel calling a native kfunc: the engines append every body
// to the program as one more subprogram, and a kfunc call to its BTF id
// enters it like a bpf-to-bpf call (args r1..r5, r0 back, r6..r9 preserved,
// a fresh 512-byte frame). The body's own kfunc calls (kernel internals such
// as skb_copy_bits) still go to the Env's native functions.

import { insn, type Insn } from '../isa/insn.js';
import { KfError } from '../util/errors.js';

/** A body: its instructions, or an object carrying them (a library KfuncBody fits). */
export type BpfKfuncBody = readonly Insn[] | { readonly name?: string; readonly insns: readonly Insn[] };

/** Kfunc BTF id (call src=2, off=0) → body. */
export type BpfKfuncMap = ReadonlyMap<number, BpfKfuncBody>;

export interface LinkedBody {
  readonly btfId: number;
  readonly name: string;
  /** First slot of the body in the combined program. */
  readonly start: number;
  readonly len: number;
}

/** The program with its bodies appended. */
export interface WithBodies {
  readonly insns: readonly Insn[];
  /** Slots of the program itself; bodies start here (after the gap slot, if any). */
  readonly progLen: number;
  readonly bodies: readonly LinkedBody[];
  /** BTF id → first slot of its body. */
  readonly startOf: ReadonlyMap<number, number>;
}

const bodyInsns = (b: BpfKfuncBody): readonly Insn[] => ('insns' in b ? b.insns : (b as readonly Insn[]));
const bodyName = (b: BpfKfuncBody, id: number): string => ('insns' in b && b.name ? b.name : `btf_id ${id}`);

/**
 * Appends the bodies a program may call to it. Refuses bodies the engines
 * cannot run as one function: empty ones, and ones with bpf-to-bpf calls or
 * function addresses (the kfunc library refuses those too).
 */
export function appendBodies(prog: readonly Insn[], bodies: BpfKfuncMap | undefined, opts: { gap?: boolean } = {}): WithBodies {
  if (!bodies || bodies.size === 0) return { insns: prog, progLen: prog.length, bodies: [], startOf: new Map() };
  const insns = prog.slice();
  // With `gap`, one invalid slot separates the program from the bodies, so
  // that an engine without subprogram boundaries faults there instead of
  // falling into the first body.
  if (opts.gap) insns.push(insn(0, 0, 0, 0, 0));
  const linked: LinkedBody[] = [];
  const startOf = new Map<number, number>();
  for (const [btfId, b] of bodies) {
    const name = bodyName(b, btfId);
    const where = `kfunc body "${name}" (btf_id ${btfId})`;
    if (!Number.isInteger(btfId) || btfId <= 0) throw new KfError(`bad kfunc BTF id ${btfId}`, [where]);
    const xs = bodyInsns(b);
    if (!Array.isArray(xs) || xs.length === 0) throw new KfError('the body has no instructions', [where]);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      if (x.code === 0x85 && x.src === 1) throw new KfError('bpf-to-bpf calls are not supported in a kfunc body', [where, `instruction ${i}`]);
      if (x.code === 0x18 && x.src === 4) throw new KfError('function addresses are not supported in a kfunc body', [where, `instruction ${i}`]);
      const cls = x.code & 7;
      const op = x.code & 0xf0;
      if ((cls === 5 || cls === 6) && op !== 0x80 && op !== 0x90) {
        const t = i + 1 + (x.code === 0x06 ? x.imm : x.off);
        if (t < 0 || t >= xs.length) throw new KfError(`jumps to ${t}, outside the body (0..${xs.length - 1})`, [where, `instruction ${i}`]);
      }
    }
    linked.push({ btfId, name, start: insns.length, len: xs.length });
    startOf.set(btfId, insns.length);
    for (const x of xs) insns.push(x);
  }
  return { insns, progLen: prog.length, bodies: linked, startOf };
}

/** Where a slot of the combined program is: `instruction N`, or the body and its instruction. */
export function whereIs(w: WithBodies, pc: number): string[] {
  if (pc < w.progLen) return [`instruction ${pc}`];
  for (const b of w.bodies) {
    if (pc >= b.start && pc < b.start + b.len) return [`kfunc body "${b.name}"`, `instruction ${pc - b.start}`];
  }
  return [`instruction ${pc}`];
}
