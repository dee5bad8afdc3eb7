// State equivalence for pruning: mirrors states_equal(), func_states_equal(),
// regsafe(), stacksafe(), refsafe() and check_ids() (kernel/bpf/verifier.c).
// NOT_EXACT (the pruning check) ignores imprecise scalars of the old state
// (precision.ts finds which are precise); RANGE_WITHIN (loop convergence)
// compares every scalar; EXACT (infinite-loop detection) compares all bits.
import type { Env } from './env.js';
import { rangeWithin, scalarEquals } from './num/scalar.js';
import { tnumIn } from './num/tnum.js';
import type { FuncState, StackSlot, VerifierState } from './state/frame.js';
import { regUnknown, type RegState } from './state/reg.js';
import { BPF_REG_SIZE, RegType, SlotType } from './state/types.js';
import { stackObjSafe } from './kfunc/slots.js';
import { physSafe } from './inlined/physical.js';

class IdMap {
  // mirrors struct bpf_idmap: (old, cur) pairs in two parallel arrays, reused across calls
  private olds: number[] = [];
  private curs: number[] = [];
  private n = 0;
  private tmp = 0;
  reset(): this {
    this.n = 0;
    this.tmp = 0;
    return this;
  }
  /** mirrors check_ids() */
  check(oldId: number, curId: number): boolean {
    if (!oldId) return true;
    if (!curId) return false;
    const olds = this.olds, curs = this.curs;
    for (let i = 0; i < this.n; i++) {
      if (olds[i] === oldId) return curs[i] === curId;
      if (curs[i] === curId) return false;
    }
    olds[this.n] = oldId;
    curs[this.n] = curId;
    this.n++;
    return true;
  }
  /** mirrors check_scalar_ids(): a scalar without id gets a fresh one */
  checkScalar(oldId: number, curId: number): boolean {
    if (!oldId) return true;
    return this.check(oldId, curId || --this.tmp);
  }
}
const idMap = new IdMap();

/** mirrors enum exact_level; `true`/`false` mean 'exact'/'range_within'. */
export type EqMode = 'not_exact' | 'range_within' | 'exact';
const modeOf = (m: boolean | EqMode): EqMode => (m === true ? 'exact' : m === false ? 'range_within' : m);

/**
 * The slices' stack buffers (RegState.bufLen): the running kernel prunes only
 * when both have none or the same frame and range (a wider or a narrower
 * buffer is not safe), probed in test/verifier/slice-buf.test.ts.
 */
const sameBuf = (o: RegState, c: RegState): boolean => o.bufLen === c.bufLen && (!o.bufLen || (o.bufOff === c.bufOff && o.bufFrame === c.bufFrame));

function regsExact(o: RegState, c: RegState, ids: IdMap): boolean {
  return (
    o.type === c.type && o.flags === c.flags && o.off === c.off && o.range === c.range && o.map === c.map && sameBuf(o, c) &&
    o.memSize === c.memSize && o.frameno === c.frameno && scalarEquals(o.s, c.s) && ids.check(o.id, c.id) && ids.check(o.refObjId, c.refObjId)
  );
}

/** range_within() && tnum_in(): every value of c is one of o's. */
const within = (o: RegState, c: RegState): boolean => rangeWithin(o.s, c.s) && tnumIn(o.s.varOff, c.s.varOff);

/** mirrors regsafe() */
function regsafe(o: RegState, c: RegState, ids: IdMap, mode: EqMode): boolean {
  const exact = mode === 'exact';
  if (o.type === RegType.NOT_INIT) {
    if (mode === 'not_exact' || c.type === RegType.NOT_INIT) return true;
  }
  if (o.type !== c.type || o.flags !== c.flags) return false;
  if (exact) return regsExact(o, c, ids);
  switch (o.type) {
    case RegType.SCALAR_VALUE:
      if (!o.precise && mode === 'not_exact') return true;
      // linked with a constant delta (check/alu.ts BPF_ADD_CONST): same flag, same delta
      if ((o.id & 0xc0000000) !== (c.id & 0xc0000000)) return false;
      if (o.id & 0xc0000000 && o.off !== c.off) return false;
      return ids.checkScalar(o.id, c.id) && within(o, c);
    case RegType.KERNEL_VALUE:
      return true;
    case RegType.PTR_TO_MAP_KEY:
    case RegType.PTR_TO_MAP_VALUE:
    case RegType.PTR_TO_MEM:
      return o.off === c.off && o.map === c.map && o.memSize === c.memSize && sameBuf(o, c) && within(o, c) && ids.check(o.id, c.id) && ids.check(o.refObjId, c.refObjId);
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_PACKET_META:
      if (o.range < 0 || c.range < 0) {
        if (o.range !== c.range) return false;
      } else if (o.range > c.range) return false;
      if (o.off !== c.off) return false;
      if (!ids.check(o.id, c.id)) return false;
      return within(o, c);
    case RegType.PTR_TO_STACK:
      return regsExact(o, c, ids) && o.frameno === c.frameno;
    default:
      return regsExact(o, c, ids);
  }
}

const UNBOUND = regUnknown();

const isSpillByte = (t: SlotType): boolean => t === SlotType.SPILL;
const isMiscOrInvalid = (t: SlotType): boolean => t === SlotType.MISC || t === SlotType.INVALID;

/** mirrors scalar_reg_for_stack() */
function scalarForStack(s: StackSlot): RegState | null {
  if (s.slotType.every(isSpillByte) && s.spilled.type === RegType.SCALAR_VALUE) return s.spilled;
  if (s.slotType.every(isMiscOrInvalid)) return UNBOUND;
  return null;
}

/** mirrors stacksafe() */
function stacksafe(o: FuncState, c: FuncState, ids: IdMap, mode: EqMode): boolean {
  const exact = mode === 'exact';
  const oSize = o.stack.length * BPF_REG_SIZE;
  const cSize = c.stack.length * BPF_REG_SIZE;
  for (let i = 0; i < oSize; i++) {
    const spi = Math.floor(i / BPF_REG_SIZE);
    const j = i % BPF_REG_SIZE;
    const ot = o.stack[spi].slotType[j];
    if (exact && (i >= cSize || ot !== c.stack[spi].slotType[j])) return false;
    if (ot === SlotType.INVALID) continue;
    if (!exact && ot === SlotType.MISC) continue;
    if (i >= cSize) return false;
    const orr = scalarForStack(o.stack[spi]);
    const crr = scalarForStack(c.stack[spi]);
    if (orr && crr) {
      if (!regsafe(orr, crr, ids, mode)) return false;
      i += BPF_REG_SIZE - 1 - j;
      continue;
    }
    const ct = c.stack[spi].slotType[j];
    if (ot === SlotType.MISC && ct === SlotType.ZERO) continue;
    if (ot !== ct) return false;
    if (j !== BPF_REG_SIZE - 1) continue;
    if (ot === SlotType.SPILL) {
      if (!regsafe(o.stack[spi].spilled, c.stack[spi].spilled, ids, mode)) return false;
    } else if (ot === SlotType.DYNPTR || ot === SlotType.ITER) {
      if (!stackObjSafe(ot, o.stack[spi].spilled, c.stack[spi].spilled, (a, b) => ids.check(a, b))) return false;
      // non-isolated verification: the objects' physical bytes too (src/verifier/inlined/physical.ts)
      if ((o.stack[spi].phys || c.stack[spi].phys) && !physSafe(o, c, spi)) return false;
    } else if (ot !== SlotType.MISC && ot !== SlotType.ZERO) {
      return false;
    }
  }
  return true;
}

/** mirrors states_equal() */
export function statesEqual(env: Env, old: VerifierState, cur: VerifierState, eq: boolean | EqMode): boolean {
  const mode = modeOf(eq);
  if (old.curframe !== cur.curframe) return false;
  // paths through an inlined region's kernel code compare only with their own kind (src/verifier/inlined)
  if (old.region !== cur.region) return false;
  const ids = idMap.reset();
  if (old.refs.length !== cur.refs.length) return false;
  for (let i = 0; i < old.refs.length; i++) if (!ids.check(old.refs[i].id, cur.refs[i].id)) return false;
  for (let i = 0; i <= old.curframe; i++) {
    const of = old.frames[i];
    const cf = cur.frames[i];
    if (of.callsite !== cf.callsite) return false;
    const insnIdx = i === old.curframe ? old.insnIdx : old.frames[i + 1].callsite;
    // mirrors func_states_equal(): a later iteration of a callback may not prune against an earlier one
    if ((of.callbackDepth ?? 0) > (cf.callbackDepth ?? 0)) return false;
    const live = env.aux[insnIdx]?.liveRegs ?? 0x7ff;
    for (let r = 0; r < of.regs.length; r++) {
      // only the registers live before the frame's instruction, in every mode (live_regs_before)
      if (!(live & (1 << r))) continue;
      if (!regsafe(of.regs[r], cf.regs[r], ids, mode)) return false;
    }
    if (!stacksafe(of, cf, ids, mode)) return false;
  }
  return true;
}
