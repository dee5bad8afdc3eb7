// A minimal helper-prototype catalogue: mirrors struct bpf_func_proto for the
// common helpers (net/core/filter.c, kernel/bpf/helpers.c). The model kernel
// (src/kernel) will own the full catalogue; the lead reconciles later.

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
  /** Program types allowed; undefined = all. */
  readonly progTypes?: readonly number[];
}

/** func_id_str[] of include/uapi/linux/bpf.h, in id order. */
const NAMES = [
  'unspec', 'map_lookup_elem', 'map_update_elem', 'map_delete_elem', 'probe_read', 'ktime_get_ns',
  'trace_printk', 'get_prandom_u32', 'get_smp_processor_id', 'skb_store_bytes', 'l3_csum_replace',
  'l4_csum_replace', 'tail_call', 'clone_redirect', 'get_current_pid_tgid', 'get_current_uid_gid',
  'get_current_comm', 'get_cgroup_classid', 'skb_vlan_push', 'skb_vlan_pop', 'skb_get_tunnel_key',
  'skb_set_tunnel_key', 'perf_event_read', 'redirect', 'get_route_realm', 'perf_event_output',
  'skb_load_bytes', 'get_stackid', 'csum_diff', 'skb_get_tunnel_opt', 'skb_set_tunnel_opt',
  'skb_change_proto', 'skb_change_type', 'skb_under_cgroup', 'get_hash_recalc', 'get_current_task',
  'probe_write_user', 'current_task_under_cgroup', 'skb_change_tail', 'skb_pull_data', 'csum_update',
  'set_hash_invalid', 'get_numa_node_id', 'skb_change_head', 'xdp_adjust_head', 'probe_read_str',
  'get_socket_cookie', 'get_socket_uid', 'set_hash', 'setsockopt', 'skb_adjust_room', 'redirect_map',
  'sk_redirect_map', 'sock_map_update', 'xdp_adjust_meta', 'perf_event_read_value',
  'perf_prog_read_value', 'getsockopt', 'override_return', 'sock_ops_cb_flags_set', 'msg_redirect_map',
  'msg_apply_bytes', 'msg_cork_bytes', 'msg_pull_data', 'bind', 'xdp_adjust_tail',
];

export function helperName(id: number): string | undefined {
  const n = NAMES[id];
  return n === undefined ? undefined : `bpf_${n}`;
}

const SKB = [1, 3, 4, 8, 14]; // socket filter, tc cls/act, cgroup skb, sk_skb
const TC = [3, 4];
const A = ArgType;

const PROTOS: HelperProto[] = [
  { id: 1, name: 'map_lookup_elem', ret: RetType.PTR_TO_MAP_VALUE_OR_NULL, args: [A.CONST_MAP_PTR, A.PTR_TO_MAP_KEY] },
  { id: 2, name: 'map_update_elem', ret: RetType.INTEGER, args: [A.CONST_MAP_PTR, A.PTR_TO_MAP_KEY, A.PTR_TO_MAP_VALUE, A.ANYTHING] },
  { id: 3, name: 'map_delete_elem', ret: RetType.INTEGER, args: [A.CONST_MAP_PTR, A.PTR_TO_MAP_KEY] },
  { id: 5, name: 'ktime_get_ns', ret: RetType.INTEGER, args: [] },
  { id: 6, name: 'trace_printk', ret: RetType.INTEGER, args: [A.PTR_TO_MEM, A.CONST_SIZE, A.ANYTHING, A.ANYTHING, A.ANYTHING] },
  { id: 7, name: 'get_prandom_u32', ret: RetType.INTEGER, args: [] },
  { id: 8, name: 'get_smp_processor_id', ret: RetType.INTEGER, args: [] },
  { id: 9, name: 'skb_store_bytes', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.PTR_TO_MEM, A.CONST_SIZE, A.ANYTHING], pktChange: true, progTypes: TC },
  { id: 10, name: 'l3_csum_replace', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.ANYTHING, A.ANYTHING, A.ANYTHING], pktChange: true, progTypes: TC },
  { id: 11, name: 'l4_csum_replace', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.ANYTHING, A.ANYTHING, A.ANYTHING], pktChange: true, progTypes: TC },
  { id: 14, name: 'get_current_pid_tgid', ret: RetType.INTEGER, args: [], progTypes: [2, 5, 7, 17, 26] },
  { id: 17, name: 'get_cgroup_classid', ret: RetType.INTEGER, args: [A.PTR_TO_CTX], progTypes: TC },
  { id: 18, name: 'skb_vlan_push', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.ANYTHING], pktChange: true, progTypes: TC },
  { id: 19, name: 'skb_vlan_pop', ret: RetType.INTEGER, args: [A.PTR_TO_CTX], pktChange: true, progTypes: TC },
  { id: 23, name: 'redirect', ret: RetType.INTEGER, args: [A.ANYTHING, A.ANYTHING], progTypes: [3, 4, 6] },
  { id: 26, name: 'skb_load_bytes', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.PTR_TO_UNINIT_MEM, A.CONST_SIZE], progTypes: SKB },
  { id: 28, name: 'csum_diff', ret: RetType.INTEGER, args: [A.PTR_TO_MEM_OR_NULL, A.CONST_SIZE_OR_ZERO, A.PTR_TO_MEM_OR_NULL, A.CONST_SIZE_OR_ZERO, A.ANYTHING], progTypes: [3, 4, 6, 10, 11, 12] },
  { id: 34, name: 'get_hash_recalc', ret: RetType.INTEGER, args: [A.PTR_TO_CTX], progTypes: TC },
  { id: 39, name: 'skb_pull_data', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING], pktChange: true, progTypes: [3, 4, 14] },
  { id: 42, name: 'get_numa_node_id', ret: RetType.INTEGER, args: [] },
  { id: 43, name: 'skb_change_head', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING, A.ANYTHING], pktChange: true, progTypes: [3, 4, 14] },
  { id: 44, name: 'xdp_adjust_head', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING], pktChange: true, progTypes: [6] },
  { id: 54, name: 'xdp_adjust_meta', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING], pktChange: true, progTypes: [6] },
  { id: 65, name: 'xdp_adjust_tail', ret: RetType.INTEGER, args: [A.PTR_TO_CTX, A.ANYTHING], pktChange: true, progTypes: [6] },
];

const BY_ID = new Map(PROTOS.map((p) => [p.id, p]));

/** mirrors env->ops->get_func_proto(): undefined when the program type may not call it. */
export function helperProto(id: number, progType: number): HelperProto | undefined {
  const p = BY_ID.get(id);
  if (!p) return undefined;
  if (p.progTypes && !p.progTypes.includes(progType)) return undefined;
  return p;
}

/** Highest helper id the kernel knows (__BPF_FUNC_MAX_ID - 1 in 6.18). */
export const MAX_HELPER_ID = 211;
