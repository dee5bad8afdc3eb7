// Stack objects (dynptrs, iterators) in stack slots: mirrors the dynptr/iter
// parts of struct bpf_reg_state (reg->dynptr.{type,first_slot}, reg->iter.
// {btf_id,state,depth}) as the kernel keeps them in the spilled_ptr of
// STACK_DYNPTR / STACK_ITER slots, and their printing in print_verifier_state().
//
// RegState has no dynptr/iter union; for these slots (and only these) the
// spilled register's otherwise unused fields carry it:
//   dynptr: type CONST_PTR_TO_DYNPTR, memSize = dynptr type, range = first_slot (1/0), id
//   iter:   type PTR_TO_STACK, memSize = iterator struct BTF id, range = iter state,
//           off = depth, refObjId on the main slot
// Everything here reads/writes only through these accessors.
import type { FuncState, StackSlot } from '../state/frame.js';
import type { RegState } from '../state/reg.js';
import { BPF_REG_SIZE, RegType, SlotType } from '../state/types.js';

/** enum bpf_dynptr_type */
export const enum DynptrType {
  INVALID = 0,
  LOCAL = 1,
  RINGBUF = 2,
  SKB = 3,
  XDP = 4,
}

/** enum bpf_iter_state */
export const enum IterState {
  INVALID = 0,
  ACTIVE = 1,
  DRAINED = 2,
}

export const BPF_DYNPTR_NR_SLOTS = 2;

const DYNPTR_NAMES = ['invalid', 'local', 'ringbuf', 'skb', 'xdp'];

/** mirrors dynptr_type_str() */
export function dynptrTypeStr(t: number): string {
  return DYNPTR_NAMES[t] ?? 'unknown';
}

/** mirrors iter_state_str() */
export function iterStateStr(s: number): string {
  return s === IterState.ACTIVE ? 'active' : s === IterState.DRAINED ? 'drained' : '<invalid>';
}

export const dynptrType = (r: RegState): number => r.memSize;
export const dynptrFirstSlot = (r: RegState): boolean => r.range === 1;
export const iterBtfId = (r: RegState): number => r.memSize;
export const iterState = (r: RegState): number => r.range;
export const iterDepth = (r: RegState): number => r.off;

export function setDynptr(r: RegState, type: number, first: boolean, id: number): void {
  r.type = RegType.CONST_PTR_TO_DYNPTR;
  r.memSize = type;
  r.range = first ? 1 : 0;
  r.id = id;
}

export function setIter(r: RegState, btfId: number, state: number, depth: number, refObjId: number): void {
  r.type = RegType.PTR_TO_STACK;
  r.memSize = btfId;
  r.range = state;
  r.off = depth;
  r.refObjId = refObjId;
}

export function setIterState(r: RegState, state: number, depth: number): void {
  r.range = state;
  r.off = depth;
}

/** Iterator struct BTF id → its iter_type_str() ('iter_num'), filled as iterators are created. */
const ITER_NAMES = new Map<number, string>();
export function registerIterName(btfId: number, name: string): void {
  ITER_NAMES.set(btfId, name);
}

const isType = (s: StackSlot | undefined, t: SlotType): boolean => !!s && s.slotType.every((x) => x === t);
export const isDynptrSlot = (s: StackSlot | undefined): boolean => isType(s, SlotType.DYNPTR);
export const isIterSlot = (s: StackSlot | undefined): boolean => isType(s, SlotType.ITER);

/**
 * The text print_verifier_state() gives a STACK_DYNPTR / STACK_ITER slot at
 * `spi`, and how many further slots it covers; null when it prints nothing.
 * `iterName` names an iterator struct by BTF id ('iter_num').
 */
export function stackObjStr(f: FuncState, spi: number, iterName: (btfId: number) => string = (id) => ITER_NAMES.get(id) ?? 'iter'): { text: string; skip: number } | null {
  const slot = f.stack[spi];
  const t = slot.slotType[BPF_REG_SIZE - 1];
  if (t === SlotType.DYNPTR) {
    // skip to the main dynptr slot
    const main = spi + BPF_DYNPTR_NR_SLOTS - 1;
    const reg = f.stack[main]?.spilled ?? slot.spilled;
    const a: string[] = [];
    if (reg.id) a.push(`id=${reg.id}`);
    if (reg.refObjId) a.push(`ref_id=${reg.refObjId}`);
    // The kernel prints reg->dynptr_id, which shares a union with dynptr.first_slot
    // (struct { u32 mem_size; u32 dynptr_id; } vs struct { type; bool first_slot; }):
    // the main slot is the first slot, so it always reads 1.
    a.push('dynptr_id=1');
    return { text: ` fp${(-main - 1) * BPF_REG_SIZE}=dynptr_${dynptrTypeStr(dynptrType(reg))}(${a.join(',')})`, skip: BPF_DYNPTR_NR_SLOTS - 1 };
  }
  if (t === SlotType.ITER) {
    const reg = slot.spilled;
    if (!reg.refObjId) return { text: '', skip: 0 };
    return {
      text: ` fp${(-spi - 1) * BPF_REG_SIZE}=${iterName(iterBtfId(reg))}(ref_id=${reg.refObjId},state=${iterStateStr(iterState(reg))},depth=${iterDepth(reg)})`,
      skip: 0,
    };
  }
  return null;
}

/** mirrors the STACK_DYNPTR / STACK_ITER cases of stacksafe(): `ids` is check_ids(). */
export function stackObjSafe(t: SlotType, o: RegState, c: RegState, ids: (oldId: number, curId: number) => boolean): boolean {
  if (t === SlotType.DYNPTR)
    return dynptrType(o) === dynptrType(c) && dynptrFirstSlot(o) === dynptrFirstSlot(c) && ids(o.refObjId, c.refObjId);
  if (t === SlotType.ITER)
    // iter.depth is ignored (see is_state_visited())
    return iterBtfId(o) === iterBtfId(c) && iterState(o) === iterState(c) && ids(o.refObjId, c.refObjId);
  return false;
}
