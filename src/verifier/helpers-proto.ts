// Helper prototypes as the verifier reads them: struct bpf_func_proto
// (arguments, return type) and env->ops->get_func_proto() (which program types
// may call a helper).
//
// Source of truth: the model kernel's catalogue (src/kernel/catalogue.ts
// HELPERS) for every helper the model implements; names come from
// src/isa/helpers.ts (func_id_str[]). VERIFY_ONLY below lists the few helpers
// the legacy verifier tests call that the model kernel does not implement
// (verification only: a program calling them cannot run in the VM).
import { HELPERS, type ArgType as KArg, type RetType as KRet } from '../kernel/catalogue.js';
import { HELPER_NAMES, helperName as isaHelperName } from '../isa/helpers.js';

/** mirrors enum bpf_arg_type (the subset modelled). */
export enum ArgType {
  DONTCARE = 0,
  ANYTHING,
  CONST_MAP_PTR,
  PTR_TO_MAP_KEY,
  PTR_TO_MAP_VALUE,
  PTR_TO_CTX,
  /** readable memory; size in the next CONST_SIZE(_OR_ZERO) argument */
  PTR_TO_MEM,
  PTR_TO_MEM_OR_NULL,
  /** writable, possibly uninitialised memory; size in the next argument */
  PTR_TO_UNINIT_MEM,
  CONST_SIZE,
  CONST_SIZE_OR_ZERO,
  /** a callback: PTR_TO_FUNC from an ld_imm64 of BPF_PSEUDO_FUNC */
  PTR_TO_FUNC,
  /** ARG_PTR_TO_STACK | PTR_MAYBE_NULL */
  PTR_TO_STACK_OR_NULL,
  /** ARG_PTR_TO_DYNPTR (checked by src/verifier/kfunc) */
  PTR_TO_DYNPTR,
}

/** mirrors enum bpf_return_type (the subset modelled). */
export enum RetType {
  INTEGER = 0,
  VOID,
  PTR_TO_MAP_VALUE_OR_NULL,
}

export interface HelperProto {
  readonly id: number;
  readonly name: string;
  readonly ret: RetType;
  readonly args: readonly ArgType[];
  /** bpf_helper_changes_pkt_data() */
  readonly pktChange?: boolean;
  /** Program types allowed; undefined = all (bpf_base_func_proto()). */
  readonly progTypes?: readonly number[];
}

const KARG: Record<KArg, ArgType> = {
  ARG_ANYTHING: ArgType.ANYTHING,
  ARG_CONST_MAP_PTR: ArgType.CONST_MAP_PTR,
  ARG_PTR_TO_MAP_KEY: ArgType.PTR_TO_MAP_KEY,
  ARG_PTR_TO_MAP_VALUE: ArgType.PTR_TO_MAP_VALUE,
  ARG_PTR_TO_CTX: ArgType.PTR_TO_CTX,
  'ARG_PTR_TO_MEM | MEM_RDONLY': ArgType.PTR_TO_MEM,
  ARG_PTR_TO_UNINIT_MEM: ArgType.PTR_TO_UNINIT_MEM,
  ARG_CONST_SIZE: ArgType.CONST_SIZE,
  ARG_CONST_SIZE_OR_ZERO: ArgType.CONST_SIZE_OR_ZERO,
  ARG_PTR_TO_FUNC: ArgType.PTR_TO_FUNC,
  ARG_PTR_TO_STACK_OR_NULL: ArgType.PTR_TO_STACK_OR_NULL,
  'ARG_PTR_TO_DYNPTR | MEM_RDONLY': ArgType.PTR_TO_DYNPTR,
};
const KRET: Record<KRet, RetType> = {
  RET_INTEGER: RetType.INTEGER,
  RET_VOID: RetType.VOID,
  RET_PTR_TO_MAP_VALUE_OR_NULL: RetType.PTR_TO_MAP_VALUE_OR_NULL,
};

// Program types (enum bpf_prog_type)
const SOCKET_FILTER = 1, KPROBE = 2, SCHED_CLS = 3, SCHED_ACT = 4, TRACEPOINT = 5, XDP = 6, PERF_EVENT = 7, CGROUP_SKB = 8;
const LWT_IN = 10, LWT_OUT = 11, LWT_XMIT = 12, SK_SKB = 14, RAW_TRACEPOINT = 17, TRACING = 26;
const TC = [SCHED_CLS, SCHED_ACT];
const TRACING_TYPES = [KPROBE, TRACEPOINT, PERF_EVENT, RAW_TRACEPOINT, TRACING];

/**
 * get_func_proto() availability of the non-base helpers (net/core/filter.c,
 * kernel/trace/bpf_trace.c): helper id → program types. Helpers absent here are
 * in bpf_base_func_proto() and callable from every program type.
 */
const AVAIL: Record<number, readonly number[]> = {
  9: [...TC, LWT_XMIT, SK_SKB], // skb_store_bytes
  10: TC, // l3_csum_replace
  11: TC, // l4_csum_replace
  14: TRACING_TYPES, // get_current_pid_tgid
  17: TC, // get_cgroup_classid
  18: TC, // skb_vlan_push
  19: TC, // skb_vlan_pop
  23: [...TC, XDP], // redirect
  26: [SOCKET_FILTER, ...TC, CGROUP_SKB, LWT_IN, LWT_OUT, LWT_XMIT, SK_SKB], // skb_load_bytes
  28: [...TC, XDP, LWT_IN, LWT_OUT, LWT_XMIT], // csum_diff
  34: TC, // get_hash_recalc
  39: [...TC, SK_SKB], // skb_pull_data
  43: [...TC, SK_SKB], // skb_change_head
  44: [XDP], // xdp_adjust_head
  54: [XDP], // xdp_adjust_meta
  65: [XDP], // xdp_adjust_tail
};

const A = ArgType;
/** Helpers the legacy verifier tests call that the model kernel does not implement. */
const VERIFY_ONLY: readonly Omit<HelperProto, 'name'>[] = [
  { id: 8, ret: RetType.INTEGER, args: [] }, // get_smp_processor_id
  { id: 9, ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.PTR_TO_MEM, A.CONST_SIZE, A.ANYTHING], pktChange: true },
  { id: 10, ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.ANYTHING, A.ANYTHING, A.ANYTHING], pktChange: true },
  { id: 11, ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.ANYTHING, A.ANYTHING, A.ANYTHING], pktChange: true },
  { id: 14, ret: RetType.INTEGER, args: [] }, // get_current_pid_tgid
  { id: 17, ret: RetType.INTEGER, args: [A.PTR_TO_CTX] },
  { id: 18, ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.ANYTHING], pktChange: true },
  { id: 19, ret: RetType.INTEGER, args: [A.PTR_TO_CTX], pktChange: true },
  { id: 23, ret: RetType.INTEGER, args: [A.ANYTHING, A.ANYTHING] }, // redirect
  { id: 28, ret: RetType.INTEGER, args: [A.PTR_TO_MEM_OR_NULL, A.CONST_SIZE_OR_ZERO, A.PTR_TO_MEM_OR_NULL, A.CONST_SIZE_OR_ZERO, A.ANYTHING] },
  { id: 34, ret: RetType.INTEGER, args: [A.PTR_TO_CTX] },
  { id: 39, ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING], pktChange: true },
  { id: 42, ret: RetType.INTEGER, args: [] }, // get_numa_node_id
  { id: 43, ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.ANYTHING], pktChange: true },
  { id: 54, ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING], pktChange: true }, // xdp_adjust_meta
  { id: 65, ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING], pktChange: true }, // xdp_adjust_tail
  { id: 118, ret: RetType.INTEGER, args: [] }, // jiffies64
];

const BY_ID = new Map<number, HelperProto>();
for (const p of VERIFY_ONLY) BY_ID.set(p.id, { ...p, name: HELPER_NAMES[p.id], progTypes: AVAIL[p.id] });
for (const h of HELPERS) {
  BY_ID.set(h.id, {
    id: h.id,
    name: h.name,
    ret: KRET[h.ret],
    args: h.args.map((a) => KARG[a]),
    pktChange: h.changesPktData,
    progTypes: AVAIL[h.id],
  });
}

/** The kernel's func_id_name(). */
export const helperName = isaHelperName;

/** mirrors env->ops->get_func_proto(): undefined when the program type may not call it. */
export function helperProto(id: number, progType: number): HelperProto | undefined {
  const p = BY_ID.get(id);
  if (!p) return undefined;
  if (p.progTypes && !p.progTypes.includes(progType)) return undefined;
  return p;
}

/** Highest helper id the kernel knows (__BPF_FUNC_MAX_ID - 1 in 6.18). */
export const MAX_HELPER_ID = HELPER_NAMES.length - 1;

/** Helpers that call a callback synchronously: mirrors is_sync_callback_calling_function(). */
export const isSyncCallbackHelper = (id: number): boolean => id === 164 || id === 180 || id === 181 || id === 209;
