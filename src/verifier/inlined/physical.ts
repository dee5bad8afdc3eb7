// The dual representation of stack objects (the talk's "Non-isolated kfunc
// bodies verification"): a STACK_DYNPTR / STACK_ITER slot keeps its logical
// view (slotType + spilled, checked against the program's rules) and, beside
// it, a physical view (StackSlot.phys: slot types and a spilled register, as
// struct bpf_stack_state) of the bytes inlined kfunc bodies read and write.
// A physical view belongs to one object (objId); a slot whose object is new
// starts from what the logical view knows: a dynptr's `data` is a
// KERNEL_VALUE, its size word carries the type in bits 28..30 (as the
// isolated mode's fake frame); an iterator's bytes are unknown.
import type { Env } from '../env.js';
import { Access, checkMemAccess } from '../check/mem.js';
import { markUnknown } from '../check/regs.js';
import { rangeWithin, scalarFromTnum } from '../num/scalar.js';
import { tnum, tnumIn } from '../num/tnum.js';
import type { FuncState, StackSlot } from '../state/frame.js';
import { regNotInit, type RegState } from '../state/reg.js';
import { BPF_REG_SIZE, RegType, SlotType } from '../state/types.js';
import { dynptrFirstSlot, dynptrType } from '../kfunc/slots.js';

type Phys = NonNullable<StackSlot['phys']>;

const DYNPTR_TYPE_SHIFT = 28n;
const SIZE_WORD_MASK = 0x8fffffffn;

const isIterSlot = (s: StackSlot | undefined): boolean => !!s && s.slotType[BPF_REG_SIZE - 1] === SlotType.ITER;
const isObjSlot = (s: StackSlot | undefined): boolean =>
  !!s && (s.slotType[BPF_REG_SIZE - 1] === SlotType.DYNPTR || s.slotType[BPF_REG_SIZE - 1] === SlotType.ITER);

/** The id that names the object a slot belongs to (dynptr id, iterator ref_obj_id). */
function objIdOf(f: FuncState, spi: number): number {
  const s = f.stack[spi];
  if (s.slotType[BPF_REG_SIZE - 1] === SlotType.DYNPTR) return s.spilled.id;
  // an iterator's ref_obj_id lives on its first slot only: find it
  for (let k = spi; k < f.stack.length; k++) {
    const t = f.stack[k];
    if (t.slotType[BPF_REG_SIZE - 1] !== SlotType.ITER) break;
    if (t.spilled.refObjId) return t.spilled.refObjId;
  }
  return -1;
}

function kernelValue(): RegState {
  const r = regNotInit();
  markUnknown(r);
  r.type = RegType.KERNEL_VALUE;
  return r;
}

/** The physical view a slot starts from, from its logical view. */
function defaultPhys(f: FuncState, spi: number, objId: number): Phys {
  const s = f.stack[spi];
  const p: Phys = { slotType: new Array<SlotType>(BPF_REG_SIZE).fill(SlotType.MISC), spilled: regNotInit(), objId };
  if (s.slotType[BPF_REG_SIZE - 1] !== SlotType.DYNPTR) return p;
  if (dynptrFirstSlot(s.spilled)) {
    // bytes 0..7: void *data
    p.slotType.fill(SlotType.SPILL);
    p.spilled = kernelValue();
  } else {
    // bytes 8..11: u32 size (type in bits 28..30, read-only bit 31); 12..15: offset, unknown
    const main = f.stack[spi + 1];
    const type = main ? dynptrType(main.spilled) : 0;
    for (let j = 0; j < BPF_REG_SIZE; j++) p.slotType[j] = j >= 4 ? SlotType.SPILL : SlotType.MISC;
    const sz = regNotInit();
    markUnknown(sz);
    sz.s = scalarFromTnum(tnum(BigInt(type & 7) << DYNPTR_TYPE_SHIFT, SIZE_WORD_MASK));
    p.spilled = sz;
  }
  return p;
}

/** The physical view of slot `spi` of `f` (created from the logical view when missing or stale). */
export function physOf(f: FuncState, spi: number): Phys {
  const s = f.stack[spi];
  const id = objIdOf(f, spi);
  if (!s.phys || s.phys.objId !== id) s.phys = defaultPhys(f, spi, id);
  return s.phys;
}

/** Forgets the physical views of the objects at [lo, hi) of frame `f` (their bytes changed in ways not tracked). */
export function havocPhys(f: FuncState, lo: number, hi: number): void {
  for (let b = lo; b < hi; b += BPF_REG_SIZE) {
    const s = f.stack[Math.floor((-b - 1) / BPF_REG_SIZE)];
    if (s) delete s.phys;
  }
}

/**
 * An access of a kfunc body (frame curframe) through a pointer into a caller's
 * frame: only the physical bytes of stack objects may be touched; the access
 * runs with the normal stack rules on the physical view.
 */
export function physAccess(env: Env, regno: number, off: number, size: number, t: Access, valueReg: number, strictOnce: boolean, ldsx: boolean, where: string): void {
  const reg = env.regs[regno];
  const fr = reg.frameno;
  const f = env.cur.frames[fr];
  const lo = reg.off + Number(BigInt.asIntN(64, reg.s.varOff.value)) + off;
  const rw = t === Access.WRITE ? 'writes' : 'reads';
  let objs = 0;
  let dead = 0;
  for (let b = lo; b < lo + size; b++) {
    const s = b < 0 ? f.stack[Math.floor((-b - 1) / BPF_REG_SIZE)] : undefined;
    if (isObjSlot(s)) objs++;
    // an object the call released (bpf_iter_num_destroy): its slots are invalid for the program, their bytes dead
    else if (s && s.slotType.every((x) => x === SlotType.INVALID)) dead++;
    else env.reject(`${where}: insn ${env.insnIdx} ${rw} fp${lo} size ${size} of frame ${fr}, outside the stack objects it was given`);
  }
  if (dead) {
    if (objs) env.reject(`${where}: insn ${env.insnIdx} ${rw} fp${lo} size ${size} of frame ${fr} across the bounds of a stack object`);
    if (t === Access.READ && valueReg >= 0) markUnknown(env.regs[valueReg]);
    return;
  }
  // iterators' bytes are not kept (a loop would never converge on them): unknown at each access
  const shadow: FuncState = { ...f, stack: f.stack.map((s, spi) => (isIterSlot(s) ? defaultPhys(f, spi, -1) : isObjSlot(s) ? physOf(f, spi) : s)) };
  env.cur.frames[fr] = shadow;
  try {
    checkMemAccess(env, regno, off, size, t, valueReg, strictOnce, ldsx);
  } finally {
    env.cur.frames[fr] = f;
  }
  if (t !== Access.WRITE) return;
  // the type bits of a dynptr's size word are the logical type's (trusted
  // kernel code keeps them): a write that leaves the word unknown keeps them
  for (let spi = Math.floor((-lo - 1) / BPF_REG_SIZE); spi >= Math.floor((-(lo + size - 1) - 1) / BPF_REG_SIZE); spi--) {
    const s = f.stack[spi];
    if (s.slotType[BPF_REG_SIZE - 1] !== SlotType.DYNPTR || dynptrFirstSlot(s.spilled) || !s.phys) continue;
    const p = s.phys;
    if (p.slotType[BPF_REG_SIZE - 1] === SlotType.SPILL && p.spilled.type === RegType.SCALAR_VALUE) continue;
    s.phys = defaultPhys(f, spi, p.objId);
  }
}

function regPhysSafe(o: RegState, c: RegState): boolean {
  if (o.type === RegType.NOT_INIT) return true;
  if (o.type !== c.type) return false;
  if (o.type === RegType.SCALAR_VALUE) return rangeWithin(o.s, c.s) && tnumIn(o.s.varOff, c.s.varOff);
  if (o.type === RegType.KERNEL_VALUE) return true;
  return o.off === c.off && o.frameno === c.frameno && o.flags === c.flags && o.memSize === c.memSize && o.map === c.map && tnumIn(o.s.varOff, c.s.varOff) && rangeWithin(o.s, c.s);
}

/** The physical part of stacksafe() for a stack-object slot: `old` must cover `cur`. */
export function physSafe(of: FuncState, cf: FuncState, spi: number): boolean {
  if (isIterSlot(of.stack[spi])) return true;
  const o = physOf(of, spi);
  const c = physOf(cf, spi);
  for (let j = 0; j < BPF_REG_SIZE; j++) {
    const ot = o.slotType[j];
    if (ot === SlotType.MISC || ot === SlotType.INVALID) continue;
    if (ot !== c.slotType[j]) return false;
  }
  if (o.slotType[BPF_REG_SIZE - 1] === SlotType.SPILL) return regPhysSafe(o.spilled, c.spilled);
  return true;
}
