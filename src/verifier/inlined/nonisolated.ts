// Non-isolated verification of inlinable kfunc instances (the talk's second
// design, as Alexei Starovoitov suggested): at a call with an instance, the
// call's semantic checks run as for any kfunc (stack-object effects, r0 from
// the prototype, r1..r5 clobbered), then the caller's own path enters the
// body like a bpf-to-bpf call: a new frame #n+1 whose arguments are distilled
// (scalars and stack-object pointers as they are, everything else
// KERNEL_VALUE). Inside, the body reads and writes the stack objects'
// physical bytes (physical.ts), so what an inlined bpf_dynptr_from_skb wrote
// tells a later inlined bpf_dynptr_slice the dynptr's type; loads of fewer
// than 8 bytes through kernel pointers are scalars of that width (a u32 field
// is below 2^32). At the body's exit the path returns to the call site.
import type { Insn } from '../../isa/insn.js';
import type { Env } from '../env.js';
import { Access, checkMemAccess } from '../check/mem.js';
import { markUnknown } from '../check/regs.js';
import { scalarSext, scalarTruncate } from '../num/scalar.js';
import { tnumIsConst } from '../num/tnum.js';
import { newFrame, type VerifierState } from '../state/frame.js';
import { copyReg, type RegState } from '../state/reg.js';
import { MAX_CALL_FRAMES, RegType } from '../state/types.js';
import { kfuncEnv } from '../kfunc/context.js';
import type { InstanceDesc } from '../kfunc/context.js';
import { markScalarArgsPrecise } from './lineage.js';
import { havocPhys, physAccess } from './physical.js';
import type { StackObjRange } from './types.js';
import { markNiJmpPoints } from './ni-backtrack.js';

type Push = (target: number) => VerifierState;

export interface NiCall {
  readonly inst: InstanceDesc;
  readonly site: number;
  /** The body frame's r1..r5, distilled. */
  readonly args: RegState[];
  readonly objects: StackObjRange[];
}

/** True while the current instruction belongs to a body verified non-isolated. */
export function inNonIsolatedBody(env: Env): boolean {
  const k = kfuncEnv(env);
  return k.mode === 'non-isolated' && k.inInstance(env.insnIdx);
}

/** Before check_kfunc_call() at a call with an instance: the body's distilled arguments (undefined when not non-isolated). */
export function niPrepare(env: Env, insn: Insn): NiCall | undefined {
  const k = kfuncEnv(env);
  if (k.mode !== 'non-isolated' || k.inInstance(env.insnIdx)) return undefined;
  const inst = k.instanceAt.get(env.insnIdx);
  const meta = k.meta(insn.imm);
  if (!inst || !meta) return undefined;
  const args: RegState[] = [];
  const objects: StackObjRange[] = [];
  for (let r = 1; r <= 5; r++) {
    const src = env.regs[r];
    const a = meta.args[r - 1];
    const d = copyReg(src);
    if (!a || src.type === RegType.NOT_INIT) {
      d.type = RegType.NOT_INIT;
    } else if (src.type === RegType.SCALAR_VALUE) {
      d.id = 0;
    } else if (src.type === RegType.PTR_TO_STACK && (a.kind === 'dynptr' || a.kind === 'iter') && tnumIsConst(src.s.varOff)) {
      const lo = src.off + Number(BigInt.asIntN(64, src.s.varOff.value));
      objects.push({ frameno: src.frameno, lo, hi: lo + (a.kind === 'dynptr' ? 16 : 8 * a.nrSlots) });
    } else {
      markUnknown(d);
      d.type = RegType.KERNEL_VALUE;
    }
    args.push(d);
  }
  markScalarArgsPrecise(env, meta.args.length);
  return { inst, site: env.insnIdx, args, objects };
}

/** States check_kfunc_call() queues (an iterator's next round) skip the body: their objects' bytes are unknown. */
export function niPush(c: NiCall, push: Push): Push {
  return (target) => {
    const st = push(target);
    for (const o of c.objects) havocPhys(st.frames[o.frameno], o.lo, o.hi);
    return st;
  };
}

/** After check_kfunc_call(): enters the body in a new frame; returns its first slot. */
export function niEnter(env: Env, c: NiCall): number {
  const cur = env.cur;
  if (cur.curframe + 1 >= MAX_CALL_FRAMES) env.reject(`the call stack of ${cur.curframe + 2} frames is too deep`);
  const f = newFrame(cur.curframe + 1, c.site, -1);
  c.args.forEach((a, i) => Object.assign(f.regs[i + 1], a));
  const r10 = f.regs[10];
  Object.assign(r10, copyReg(cur.frames[cur.curframe].regs[10]));
  r10.frameno = f.frameno;
  cur.frames.push(f);
  cur.curframe++;
  markNiJmpPoints(env, c.site, c.inst.start);
  if (env.log.level) env.verbose(`${c.site}: entering inlined ${c.inst.kfunc} (non-isolated) at ${c.inst.start}\n`);
  return c.inst.start;
}

/** At an exit inside a non-isolated body: back to the caller; returns the slot after the call, or -1. */
export function niExit(env: Env): number {
  if (!inNonIsolatedBody(env)) return -1;
  const cur = env.cur;
  const site = cur.frames[cur.curframe].callsite;
  if (cur.curframe === 0 || !kfuncEnv(env).instanceAt.has(site)) return -1;
  cur.frames.pop();
  cur.curframe--;
  return site + 1;
}

/** check_mem_access() inside a non-isolated body (same signature as checkMemAccess). */
export function niMemAccess(env: Env, regno: number, off: number, size: number, t: Access, valueReg: number, strictOnce: boolean, ldsx: boolean): void {
  if (!inNonIsolatedBody(env)) {
    checkMemAccess(env, regno, off, size, t, valueReg, strictOnce, ldsx);
    return;
  }
  const reg = env.regs[regno];
  if (reg.type === RegType.PTR_TO_STACK && reg.frameno < env.cur.curframe) {
    if (!tnumIsConst(reg.s.varOff)) env.reject(`inlined body: insn ${env.insnIdx} accesses a caller's stack at a variable offset`);
    physAccess(env, regno, off, size, t, valueReg, strictOnce, ldsx, 'inlined body');
    return;
  }
  checkMemAccess(env, regno, off, size, t, valueReg, strictOnce, ldsx);
  if (reg.type === RegType.KERNEL_VALUE && t === Access.READ && valueReg >= 0 && size < 8) {
    // a field narrower than a pointer: a scalar of its width
    const v = env.regs[valueReg];
    markUnknown(v);
    v.s = ldsx ? scalarSext(v.s, size as 1 | 2 | 4) : scalarTruncate(v.s, size);
  }
}
