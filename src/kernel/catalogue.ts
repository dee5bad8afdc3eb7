// The model kernel's catalogue: helper id → name and prototype (the kernel's
// struct bpf_func_proto), kfunc name → flags and BTF id in the model BTF, and
// the native implementation of each.

import type { NativeFn } from '../vm/env.js';
import { KfError } from '../util/errors.js';
import type { KernelRuntime } from './runtime.js';
import type { StructLayouts } from './layout.js';
import { bpfMapDeleteElem, bpfMapLookupElem, bpfMapUpdateElem } from './helpers/maps.js';
import { bpfGetPrandomU32, bpfKtimeGetNs, bpfLoop, bpfTracePrintk } from './helpers/misc.js';
import { bpfGetCgroupClassid, bpfSkbLoadBytes, bpfSkbVlanPush, bpfXdpAdjustHead } from './helpers/packet.js';
import {
  bpfDynptrAdjust, bpfDynptrFromSkb, bpfDynptrFromXdp, bpfDynptrIsNull, bpfDynptrIsRdonly, bpfDynptrRead,
  bpfDynptrSize, bpfDynptrSlice, bpfDynptrSliceRdwr, bpfDynptrWrite,
} from './kfuncs/dynptr.js';
import { bpfIterNumDestroy, bpfIterNumNew, bpfIterNumNext } from './kfuncs/iter.js';
import {
  bpfSkbLoadBytesInternal, bpfSkbStoreBytesInternal, bpfXdpCopyBuf, bpfXdpLoadBytesInternal, bpfXdpPointer, bpfXdpStoreBytesInternal,
  htabMapLookupElemInternal, memcmpNative, memmoveNative, skbCopyBits,
} from './kfuncs/internal.js';

/** enum bpf_arg_type, as the kernel spells it (flags joined with ' | '). */
export type ArgType =
  | 'ARG_ANYTHING'
  | 'ARG_CONST_MAP_PTR'
  | 'ARG_PTR_TO_MAP_KEY'
  | 'ARG_PTR_TO_MAP_VALUE'
  | 'ARG_PTR_TO_CTX'
  | 'ARG_PTR_TO_MEM | MEM_RDONLY'
  | 'ARG_PTR_TO_UNINIT_MEM'
  | 'ARG_CONST_SIZE'
  | 'ARG_CONST_SIZE_OR_ZERO'
  | 'ARG_PTR_TO_FUNC'
  | 'ARG_PTR_TO_STACK_OR_NULL'
  | 'ARG_PTR_TO_DYNPTR | MEM_RDONLY';

/** enum bpf_return_type */
export type RetType = 'RET_INTEGER' | 'RET_VOID' | 'RET_PTR_TO_MAP_VALUE_OR_NULL';

export interface HelperProto {
  readonly id: number;
  readonly name: string;
  readonly ret: RetType;
  readonly args: readonly ArgType[];
  readonly gplOnly: boolean;
  /** bpf_func_proto.pkt_access: may be called with packet pointers. */
  readonly pktAccess: boolean;
  /** Program types that may call it (undefined: all modelled types). */
  readonly progTypes?: readonly number[];
  /** Whether the helper may change packet data (bpf_helper_changes_pkt_data()). */
  readonly changesPktData?: boolean;
  readonly impl: (rt: KernelRuntime) => NativeFn;
}

const SKB_TYPES = [1, 3, 4, 8];
const TC_TYPES = [3, 4];
const XDP_TYPES = [6];

export const HELPERS: readonly HelperProto[] = [
  { id: 1, name: 'bpf_map_lookup_elem', ret: 'RET_PTR_TO_MAP_VALUE_OR_NULL', args: ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MAP_KEY'], gplOnly: false, pktAccess: true, impl: bpfMapLookupElem },
  { id: 2, name: 'bpf_map_update_elem', ret: 'RET_INTEGER', args: ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MAP_KEY', 'ARG_PTR_TO_MAP_VALUE', 'ARG_ANYTHING'], gplOnly: false, pktAccess: true, impl: bpfMapUpdateElem },
  { id: 3, name: 'bpf_map_delete_elem', ret: 'RET_INTEGER', args: ['ARG_CONST_MAP_PTR', 'ARG_PTR_TO_MAP_KEY'], gplOnly: false, pktAccess: true, impl: bpfMapDeleteElem },
  { id: 5, name: 'bpf_ktime_get_ns', ret: 'RET_INTEGER', args: [], gplOnly: false, pktAccess: false, impl: bpfKtimeGetNs },
  { id: 6, name: 'bpf_trace_printk', ret: 'RET_INTEGER', args: ['ARG_PTR_TO_MEM | MEM_RDONLY', 'ARG_CONST_SIZE'], gplOnly: true, pktAccess: false, impl: bpfTracePrintk },
  { id: 7, name: 'bpf_get_prandom_u32', ret: 'RET_INTEGER', args: [], gplOnly: false, pktAccess: false, impl: bpfGetPrandomU32 },
  { id: 17, name: 'bpf_get_cgroup_classid', ret: 'RET_INTEGER', args: ['ARG_PTR_TO_CTX'], gplOnly: false, pktAccess: false, progTypes: TC_TYPES, impl: bpfGetCgroupClassid },
  { id: 18, name: 'bpf_skb_vlan_push', ret: 'RET_INTEGER', args: ['ARG_PTR_TO_CTX', 'ARG_ANYTHING', 'ARG_ANYTHING'], gplOnly: false, pktAccess: false, progTypes: TC_TYPES, changesPktData: true, impl: bpfSkbVlanPush },
  { id: 26, name: 'bpf_skb_load_bytes', ret: 'RET_INTEGER', args: ['ARG_PTR_TO_CTX', 'ARG_ANYTHING', 'ARG_PTR_TO_UNINIT_MEM', 'ARG_CONST_SIZE'], gplOnly: false, pktAccess: false, progTypes: SKB_TYPES, impl: bpfSkbLoadBytes },
  { id: 44, name: 'bpf_xdp_adjust_head', ret: 'RET_INTEGER', args: ['ARG_PTR_TO_CTX', 'ARG_ANYTHING'], gplOnly: false, pktAccess: false, progTypes: XDP_TYPES, changesPktData: true, impl: bpfXdpAdjustHead },
  { id: 181, name: 'bpf_loop', ret: 'RET_INTEGER', args: ['ARG_ANYTHING', 'ARG_PTR_TO_FUNC', 'ARG_PTR_TO_STACK_OR_NULL', 'ARG_ANYTHING'], gplOnly: false, pktAccess: false, impl: bpfLoop },
  { id: 201, name: 'bpf_dynptr_read', ret: 'RET_INTEGER', args: ['ARG_PTR_TO_UNINIT_MEM', 'ARG_CONST_SIZE_OR_ZERO', 'ARG_PTR_TO_DYNPTR | MEM_RDONLY', 'ARG_ANYTHING', 'ARG_ANYTHING'], gplOnly: false, pktAccess: false, impl: bpfDynptrRead },
  { id: 202, name: 'bpf_dynptr_write', ret: 'RET_INTEGER', args: ['ARG_PTR_TO_DYNPTR | MEM_RDONLY', 'ARG_ANYTHING', 'ARG_PTR_TO_MEM | MEM_RDONLY', 'ARG_CONST_SIZE_OR_ZERO', 'ARG_ANYTHING'], gplOnly: false, pktAccess: false, impl: bpfDynptrWrite },
];

export const helperById = (id: number): HelperProto | undefined => HELPERS.find((h) => h.id === id);

/** KF_* flags of BTF_ID_FLAGS() (include/linux/btf.h). */
export const KF_ACQUIRE = 1 << 0;
export const KF_RELEASE = 1 << 1;
export const KF_RET_NULL = 1 << 2;
export const KF_TRUSTED_ARGS = 1 << 4;
export const KF_ITER_NEW = 1 << 8;
export const KF_ITER_NEXT = 1 << 9;
export const KF_ITER_DESTROY = 1 << 10;

export interface KfuncDesc {
  readonly name: string;
  /** KF_* flags. */
  readonly flags: number;
  /** 'kfunc': callable by programs; 'internal': only by inlined kfunc bodies. */
  readonly kind: 'kfunc' | 'internal';
  /** Program types that may call it (undefined: all). */
  readonly progTypes?: readonly number[];
  readonly impl: (rt: KernelRuntime) => NativeFn;
}

export const KFUNCS: readonly KfuncDesc[] = [
  { name: 'bpf_dynptr_from_skb', flags: 0, kind: 'kfunc', progTypes: SKB_TYPES, impl: bpfDynptrFromSkb },
  { name: 'bpf_dynptr_from_xdp', flags: 0, kind: 'kfunc', progTypes: XDP_TYPES, impl: bpfDynptrFromXdp },
  { name: 'bpf_dynptr_slice', flags: KF_RET_NULL, kind: 'kfunc', impl: bpfDynptrSlice },
  { name: 'bpf_dynptr_slice_rdwr', flags: KF_RET_NULL, kind: 'kfunc', impl: bpfDynptrSliceRdwr },
  { name: 'bpf_dynptr_is_null', flags: 0, kind: 'kfunc', impl: bpfDynptrIsNull },
  { name: 'bpf_dynptr_is_rdonly', flags: 0, kind: 'kfunc', impl: bpfDynptrIsRdonly },
  { name: 'bpf_dynptr_size', flags: 0, kind: 'kfunc', impl: bpfDynptrSize },
  { name: 'bpf_dynptr_adjust', flags: 0, kind: 'kfunc', impl: bpfDynptrAdjust },
  { name: 'bpf_iter_num_new', flags: KF_ITER_NEW, kind: 'kfunc', impl: bpfIterNumNew },
  { name: 'bpf_iter_num_next', flags: KF_ITER_NEXT | KF_RET_NULL, kind: 'kfunc', impl: bpfIterNumNext },
  { name: 'bpf_iter_num_destroy', flags: KF_ITER_DESTROY, kind: 'kfunc', impl: bpfIterNumDestroy },
  { name: 'skb_copy_bits', flags: 0, kind: 'internal', impl: skbCopyBits },
  { name: 'bpf_xdp_pointer', flags: 0, kind: 'internal', impl: bpfXdpPointer },
  { name: 'bpf_xdp_copy_buf', flags: 0, kind: 'internal', impl: bpfXdpCopyBuf },
  { name: '__bpf_skb_load_bytes', flags: 0, kind: 'internal', impl: bpfSkbLoadBytesInternal },
  { name: '__bpf_skb_store_bytes', flags: 0, kind: 'internal', impl: bpfSkbStoreBytesInternal },
  { name: '__bpf_xdp_load_bytes', flags: 0, kind: 'internal', impl: bpfXdpLoadBytesInternal },
  { name: '__bpf_xdp_store_bytes', flags: 0, kind: 'internal', impl: bpfXdpStoreBytesInternal },
  { name: 'memmove', flags: 0, kind: 'internal', impl: memmoveNative },
  { name: 'memcmp', flags: 0, kind: 'internal', impl: memcmpNative },
  // the body behind bpf_map_lookup_elem() on hash maps (htab_map_gen_lookup())
  { name: '__htab_map_lookup_elem', flags: KF_RET_NULL, kind: 'internal', impl: htabMapLookupElemInternal },
];

export const kfuncByName = (name: string): KfuncDesc | undefined => KFUNCS.find((k) => k.name === name);

/** Kfunc name → BTF id (FUNC) in the model BTF. Throws if one is missing from the BTF. */
export function kfuncIds(structs: StructLayouts): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of KFUNCS) {
    const id = structs.funcId(k.name);
    if (id < 0) throw new KfError(`model BTF lacks FUNC ${k.name}`);
    out.set(k.name, id);
  }
  return out;
}
