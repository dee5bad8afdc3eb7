// Helpers whose implementation has an inlinable BPF body in the kfunc library
// (kernel/inlinable_kfuncs.c): a call of one of these may carry an instance
// (src/inline/helper-sites.ts) and, after inlining, a region standing for it.
//   - bpf_map_lookup_elem (1) on a BPF_MAP_TYPE_HASH map: __htab_map_lookup_elem()
//     plus the value offset, as htab_map_gen_lookup() emits it;
//   - bpf_dynptr_read (201) / bpf_dynptr_write (202): bodies of the same name
//     with the helper's argument order.
import type { Insn } from '../../isa/insn.js';

export interface HelperBody {
  readonly helper: number;
  /** Name of the body in the kfunc library (and of its FUNC in the model BTF). */
  readonly body: string;
  /** Argument registers r1..r`nargs` the body reads. */
  readonly nargs: number;
  /** The argument register pointing to a dynptr (a stack object), if any. */
  readonly dynptrArg?: number;
  /** A map-pointer argument that must be a map of this type (BPF_MAP_TYPE_*). */
  readonly mapType?: number;
}

export const BPF_FUNC_map_lookup_elem = 1;
export const BPF_MAP_TYPE_HASH = 1;

export const HELPER_BODIES: ReadonlyMap<number, HelperBody> = new Map<number, HelperBody>([
  [BPF_FUNC_map_lookup_elem, { helper: BPF_FUNC_map_lookup_elem, body: '__htab_map_lookup_elem', nargs: 2, mapType: BPF_MAP_TYPE_HASH }],
  [201, { helper: 201, body: 'bpf_dynptr_read', nargs: 5, dynptrArg: 3 }],
  [202, { helper: 202, body: 'bpf_dynptr_write', nargs: 5, dynptrArg: 1 }],
]);

/** A helper call (src_reg 0) whose helper has an inlinable body. */
export const isInlinableHelperCall = (x: Insn): boolean => x.code === 0x85 && x.src === 0 && HELPER_BODIES.has(x.imm);
