// Program type and expected attach type from an ELF section name, as
// libbpf's section_defs[] table and sec_def_matches() decide them.
//
// Pattern forms (libbpf's): "name" matches exactly; "name+" matches "name"
// or "name/<anything>"; "name/" would be a plain prefix (not used here).

/** enum bpf_prog_type (include/uapi/linux/bpf.h). */
export const PROG_TYPES = [
  'UNSPEC', 'SOCKET_FILTER', 'KPROBE', 'SCHED_CLS', 'SCHED_ACT', 'TRACEPOINT', 'XDP', 'PERF_EVENT',
  'CGROUP_SKB', 'CGROUP_SOCK', 'LWT_IN', 'LWT_OUT', 'LWT_XMIT', 'SOCK_OPS', 'SK_SKB', 'CGROUP_DEVICE',
  'SK_MSG', 'RAW_TRACEPOINT', 'CGROUP_SOCK_ADDR', 'LWT_SEG6LOCAL', 'LIRC_MODE2', 'SK_REUSEPORT',
  'FLOW_DISSECTOR', 'CGROUP_SYSCTL', 'RAW_TRACEPOINT_WRITABLE', 'CGROUP_SOCKOPT', 'TRACING',
  'STRUCT_OPS', 'EXT', 'LSM', 'SK_LOOKUP', 'SYSCALL', 'NETFILTER',
] as const;
export type ProgTypeName = (typeof PROG_TYPES)[number];

/** enum bpf_attach_type (include/uapi/linux/bpf.h, Linux 6.18). */
export const ATTACH_TYPES = [
  'CGROUP_INET_INGRESS', 'CGROUP_INET_EGRESS', 'CGROUP_INET_SOCK_CREATE', 'CGROUP_SOCK_OPS',
  'SK_SKB_STREAM_PARSER', 'SK_SKB_STREAM_VERDICT', 'CGROUP_DEVICE', 'SK_MSG_VERDICT',
  'CGROUP_INET4_BIND', 'CGROUP_INET6_BIND', 'CGROUP_INET4_CONNECT', 'CGROUP_INET6_CONNECT',
  'CGROUP_INET4_POST_BIND', 'CGROUP_INET6_POST_BIND', 'CGROUP_UDP4_SENDMSG', 'CGROUP_UDP6_SENDMSG',
  'LIRC_MODE2', 'FLOW_DISSECTOR', 'CGROUP_SYSCTL', 'CGROUP_UDP4_RECVMSG', 'CGROUP_UDP6_RECVMSG',
  'CGROUP_GETSOCKOPT', 'CGROUP_SETSOCKOPT', 'TRACE_RAW_TP', 'TRACE_FENTRY', 'TRACE_FEXIT',
  'MODIFY_RETURN', 'LSM_MAC', 'TRACE_ITER', 'CGROUP_INET4_GETPEERNAME', 'CGROUP_INET6_GETPEERNAME',
  'CGROUP_INET4_GETSOCKNAME', 'CGROUP_INET6_GETSOCKNAME', 'XDP_DEVMAP', 'CGROUP_INET_SOCK_RELEASE',
  'XDP_CPUMAP', 'SK_LOOKUP', 'XDP', 'SK_SKB_VERDICT', 'SK_REUSEPORT_SELECT',
  'SK_REUSEPORT_SELECT_OR_MIGRATE', 'PERF_EVENT', 'TRACE_KPROBE_MULTI', 'LSM_CGROUP', 'STRUCT_OPS',
  'NETFILTER', 'TCX_INGRESS', 'TCX_EGRESS', 'TRACE_UPROBE_MULTI', 'CGROUP_UNIX_CONNECT',
  'CGROUP_UNIX_SENDMSG', 'CGROUP_UNIX_RECVMSG', 'CGROUP_UNIX_GETPEERNAME', 'CGROUP_UNIX_GETSOCKNAME',
  'NETKIT_PRIMARY', 'NETKIT_PEER', 'TRACE_KPROBE_SESSION', 'TRACE_UPROBE_SESSION',
] as const;
export type AttachTypeName = (typeof ATTACH_TYPES)[number];

export const progTypeNum = (t: ProgTypeName): number => PROG_TYPES.indexOf(t);
export const attachTypeNum = (t: AttachTypeName): number => ATTACH_TYPES.indexOf(t);

export interface SecDef {
  readonly pattern: string;
  readonly progType: ProgTypeName;
  /** Expected attach type (passed to BPF_PROG_LOAD), if the section sets one. */
  readonly attach?: AttachTypeName;
  readonly sleepable?: boolean;
}

const d = (pattern: string, progType: ProgTypeName, attach?: AttachTypeName, sleepable = false): SecDef =>
  attach ? { pattern, progType, attach, sleepable } : { pattern, progType, sleepable };

/** Mirrors libbpf's section_defs[] (order matters: first match wins). */
export const SECTION_DEFS: readonly SecDef[] = [
  d('socket', 'SOCKET_FILTER'),
  d('sk_reuseport/migrate', 'SK_REUSEPORT', 'SK_REUSEPORT_SELECT_OR_MIGRATE'),
  d('sk_reuseport', 'SK_REUSEPORT', 'SK_REUSEPORT_SELECT'),
  d('kprobe+', 'KPROBE'),
  d('uprobe+', 'KPROBE'),
  d('uprobe.s+', 'KPROBE', undefined, true),
  d('kretprobe+', 'KPROBE'),
  d('uretprobe+', 'KPROBE'),
  d('uretprobe.s+', 'KPROBE', undefined, true),
  d('kprobe.multi+', 'KPROBE', 'TRACE_KPROBE_MULTI'),
  d('kretprobe.multi+', 'KPROBE', 'TRACE_KPROBE_MULTI'),
  d('kprobe.session+', 'KPROBE', 'TRACE_KPROBE_SESSION'),
  d('uprobe.multi+', 'KPROBE', 'TRACE_UPROBE_MULTI'),
  d('uretprobe.multi+', 'KPROBE', 'TRACE_UPROBE_MULTI'),
  d('uprobe.session+', 'KPROBE', 'TRACE_UPROBE_SESSION'),
  d('uprobe.multi.s+', 'KPROBE', 'TRACE_UPROBE_MULTI', true),
  d('uretprobe.multi.s+', 'KPROBE', 'TRACE_UPROBE_MULTI', true),
  d('uprobe.session.s+', 'KPROBE', 'TRACE_UPROBE_SESSION', true),
  d('ksyscall+', 'KPROBE'),
  d('kretsyscall+', 'KPROBE'),
  d('usdt+', 'KPROBE'),
  d('usdt.s+', 'KPROBE', undefined, true),
  d('tc/ingress', 'SCHED_CLS', 'TCX_INGRESS'),
  d('tc/egress', 'SCHED_CLS', 'TCX_EGRESS'),
  d('tcx/ingress', 'SCHED_CLS', 'TCX_INGRESS'),
  d('tcx/egress', 'SCHED_CLS', 'TCX_EGRESS'),
  d('tc', 'SCHED_CLS'),
  d('classifier', 'SCHED_CLS'),
  d('action', 'SCHED_ACT'),
  d('netkit/primary', 'SCHED_CLS', 'NETKIT_PRIMARY'),
  d('netkit/peer', 'SCHED_CLS', 'NETKIT_PEER'),
  d('tracepoint+', 'TRACEPOINT'),
  d('tp+', 'TRACEPOINT'),
  d('raw_tracepoint+', 'RAW_TRACEPOINT'),
  d('raw_tp+', 'RAW_TRACEPOINT'),
  d('raw_tracepoint.w+', 'RAW_TRACEPOINT_WRITABLE'),
  d('raw_tp.w+', 'RAW_TRACEPOINT_WRITABLE'),
  d('tp_btf+', 'TRACING', 'TRACE_RAW_TP'),
  d('fentry+', 'TRACING', 'TRACE_FENTRY'),
  d('fmod_ret+', 'TRACING', 'MODIFY_RETURN'),
  d('fexit+', 'TRACING', 'TRACE_FEXIT'),
  d('fentry.s+', 'TRACING', 'TRACE_FENTRY', true),
  d('fmod_ret.s+', 'TRACING', 'MODIFY_RETURN', true),
  d('fexit.s+', 'TRACING', 'TRACE_FEXIT', true),
  d('freplace+', 'EXT'),
  d('lsm+', 'LSM', 'LSM_MAC'),
  d('lsm.s+', 'LSM', 'LSM_MAC', true),
  d('lsm_cgroup+', 'LSM', 'LSM_CGROUP'),
  d('iter+', 'TRACING', 'TRACE_ITER'),
  d('iter.s+', 'TRACING', 'TRACE_ITER', true),
  d('syscall', 'SYSCALL', undefined, true),
  d('xdp.frags/devmap', 'XDP', 'XDP_DEVMAP'),
  d('xdp/devmap', 'XDP', 'XDP_DEVMAP'),
  d('xdp.frags/cpumap', 'XDP', 'XDP_CPUMAP'),
  d('xdp/cpumap', 'XDP', 'XDP_CPUMAP'),
  d('xdp.frags', 'XDP', 'XDP'),
  d('xdp', 'XDP', 'XDP'),
  d('perf_event', 'PERF_EVENT'),
  d('lwt_in', 'LWT_IN'),
  d('lwt_out', 'LWT_OUT'),
  d('lwt_xmit', 'LWT_XMIT'),
  d('lwt_seg6local', 'LWT_SEG6LOCAL'),
  d('sockops', 'SOCK_OPS', 'CGROUP_SOCK_OPS'),
  d('sk_skb/stream_parser', 'SK_SKB', 'SK_SKB_STREAM_PARSER'),
  d('sk_skb/stream_verdict', 'SK_SKB', 'SK_SKB_STREAM_VERDICT'),
  d('sk_skb/verdict', 'SK_SKB', 'SK_SKB_VERDICT'),
  d('sk_skb', 'SK_SKB'),
  d('sk_msg', 'SK_MSG', 'SK_MSG_VERDICT'),
  d('lirc_mode2', 'LIRC_MODE2', 'LIRC_MODE2'),
  d('flow_dissector', 'FLOW_DISSECTOR', 'FLOW_DISSECTOR'),
  d('cgroup_skb/ingress', 'CGROUP_SKB', 'CGROUP_INET_INGRESS'),
  d('cgroup_skb/egress', 'CGROUP_SKB', 'CGROUP_INET_EGRESS'),
  d('cgroup/skb', 'CGROUP_SKB'),
  d('cgroup/sock_create', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_CREATE'),
  d('cgroup/sock_release', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_RELEASE'),
  d('cgroup/sock', 'CGROUP_SOCK', 'CGROUP_INET_SOCK_CREATE'),
  d('cgroup/post_bind4', 'CGROUP_SOCK', 'CGROUP_INET4_POST_BIND'),
  d('cgroup/post_bind6', 'CGROUP_SOCK', 'CGROUP_INET6_POST_BIND'),
  d('cgroup/bind4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_BIND'),
  d('cgroup/bind6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_BIND'),
  d('cgroup/connect4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_CONNECT'),
  d('cgroup/connect6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_CONNECT'),
  d('cgroup/connect_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_CONNECT'),
  d('cgroup/sendmsg4', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP4_SENDMSG'),
  d('cgroup/sendmsg6', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP6_SENDMSG'),
  d('cgroup/sendmsg_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_SENDMSG'),
  d('cgroup/recvmsg4', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP4_RECVMSG'),
  d('cgroup/recvmsg6', 'CGROUP_SOCK_ADDR', 'CGROUP_UDP6_RECVMSG'),
  d('cgroup/recvmsg_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_RECVMSG'),
  d('cgroup/getpeername4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_GETPEERNAME'),
  d('cgroup/getpeername6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_GETPEERNAME'),
  d('cgroup/getpeername_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_GETPEERNAME'),
  d('cgroup/getsockname4', 'CGROUP_SOCK_ADDR', 'CGROUP_INET4_GETSOCKNAME'),
  d('cgroup/getsockname6', 'CGROUP_SOCK_ADDR', 'CGROUP_INET6_GETSOCKNAME'),
  d('cgroup/getsockname_unix', 'CGROUP_SOCK_ADDR', 'CGROUP_UNIX_GETSOCKNAME'),
  d('cgroup/sysctl', 'CGROUP_SYSCTL', 'CGROUP_SYSCTL'),
  d('cgroup/getsockopt', 'CGROUP_SOCKOPT', 'CGROUP_GETSOCKOPT'),
  d('cgroup/setsockopt', 'CGROUP_SOCKOPT', 'CGROUP_SETSOCKOPT'),
  d('cgroup/dev', 'CGROUP_DEVICE', 'CGROUP_DEVICE'),
  d('struct_ops+', 'STRUCT_OPS'),
  d('struct_ops.s+', 'STRUCT_OPS', undefined, true),
  d('sk_lookup', 'SK_LOOKUP', 'SK_LOOKUP'),
  d('netfilter', 'NETFILTER', 'NETFILTER'),
];

/** Mirrors sec_def_matches(). */
export function secDefMatches(def: SecDef, name: string): boolean {
  const p = def.pattern;
  if (p.endsWith('+')) {
    const base = p.slice(0, -1);
    return name === base || name.startsWith(base + '/');
  }
  if (p.endsWith('/')) return name.startsWith(p);
  return name === p;
}

/** Mirrors find_sec_def(): the first matching definition, or undefined. */
export function findSecDef(section: string): SecDef | undefined {
  return SECTION_DEFS.find((def) => secDefMatches(def, section));
}
