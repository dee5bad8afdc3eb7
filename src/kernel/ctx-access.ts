// Which ctx offsets a program type may read or write: the kernel's
// *_is_valid_access() callbacks (net/core/filter.c, kernel/trace/bpf_trace.c,
// Linux 6.18) as one table-driven function, used by the verifier
// (check_ctx_access()) and by ctx conversion. Offsets of __sk_buff and xdp_md
// come from the model BTF; the ctx structs the model kernel does not define
// (bpf_sock, pt_regs, bpf_perf_event_data, the tracepoint record) are named
// constants below, each checked against the running kernel's BTF by
// test/kernel/ctx-access-kernel.test.ts.

import { KfError } from '../util/errors.js';
import type { StructLayouts } from './layout.js';
import { modelLayout } from './layout.js';

/** enum bpf_prog_type (include/uapi/linux/bpf.h): the program types this module knows by name. */
export const ProgType = {
  UNSPEC: 0,
  SOCKET_FILTER: 1,
  KPROBE: 2,
  SCHED_CLS: 3,
  SCHED_ACT: 4,
  TRACEPOINT: 5,
  XDP: 6,
  PERF_EVENT: 7,
  CGROUP_SKB: 8,
  CGROUP_SOCK: 9,
  LWT_IN: 10,
  LWT_OUT: 11,
  LWT_XMIT: 12,
  SOCK_OPS: 13,
  SK_SKB: 14,
  CGROUP_DEVICE: 15,
  SK_MSG: 16,
  LWT_SEG6LOCAL: 19,
  SK_REUSEPORT: 21,
  FLOW_DISSECTOR: 22,
  CGROUP_SOCKOPT: 25,
} as const;
export type ProgType = (typeof ProgType)[keyof typeof ProgType];

export const BPF_PROG_TYPE_SOCKET_FILTER = ProgType.SOCKET_FILTER;
export const BPF_PROG_TYPE_SCHED_CLS = ProgType.SCHED_CLS;
export const BPF_PROG_TYPE_SCHED_ACT = ProgType.SCHED_ACT;
export const BPF_PROG_TYPE_XDP = ProgType.XDP;
export const BPF_PROG_TYPE_CGROUP_SKB = ProgType.CGROUP_SKB;

/** The enum bpf_attach_type values the ctx rules look at (include/uapi/linux/bpf.h). */
export const AttachType = {
  CGROUP_INET_SOCK_CREATE: 2,
  CGROUP_INET4_POST_BIND: 12,
  CGROUP_INET6_POST_BIND: 13,
  XDP_DEVMAP: 33,
  CGROUP_INET_SOCK_RELEASE: 34,
} as const;

export type CtxRegType = 'SCALAR_VALUE' | 'PTR_TO_PACKET' | 'PTR_TO_PACKET_META' | 'PTR_TO_PACKET_END' | 'PTR_TO_SOCK_COMMON_OR_NULL';

export interface CtxAccessResult {
  readonly ok: boolean;
  /** The uapi field the access falls in ('' when none). */
  readonly field: string;
  /** What a load yields (info->reg_type). */
  readonly regType: CtxRegType;
  /** Why it is refused (for the log; the kernel just says "invalid bpf_context access"). */
  readonly reason?: string;
}

export interface CtxAccessOptions {
  /** The program's expected_attach_type (cgroup_sock and xdp rules depend on it); 0 by default. */
  readonly attach?: number;
  /** A sign-extending load (BPF_MEMSX): info->is_ldsx. */
  readonly ldsx?: boolean;
}

interface UField {
  name: string;
  off: number;
  size: number;
}

// ---- ctx structs the model kernel does not define --------------------------

/**
 * struct pt_regs on x86-64 (arch/x86/include/asm/ptrace.h): 21 unsigned longs.
 * kprobe programs read it; the model kernel has no CPU registers, so its BTF
 * does not carry the struct.
 */
export const PT_REGS_SIZE = 168;

/**
 * struct bpf_perf_event_data (include/uapi/linux/bpf_perf_event.h):
 * { bpf_user_pt_regs_t regs; __u64 sample_period; __u64 addr; }. The model
 * kernel has no perf events, so its BTF does not carry the struct.
 */
export const BPF_PERF_EVENT_DATA: readonly UField[] = [
  { name: 'regs', off: 0, size: PT_REGS_SIZE },
  { name: 'sample_period', off: PT_REGS_SIZE, size: 8 },
  { name: 'addr', off: PT_REGS_SIZE + 8, size: 8 },
];
export const BPF_PERF_EVENT_DATA_SIZE = PT_REGS_SIZE + 16;

/**
 * PERF_MAX_TRACE_SIZE (include/linux/trace_events.h): the bound of a
 * tracepoint program's ctx (the raw trace record, which has no struct).
 */
export const PERF_MAX_TRACE_SIZE = 8192;

/**
 * struct bpf_sock (include/uapi/linux/bpf.h), the ctx of cgroup_sock programs.
 * The model kernel's uapi header only forward-declares it (no program type it
 * runs has a socket ctx), so the layout is written out here.
 */
export const BPF_SOCK: readonly UField[] = [
  { name: 'bound_dev_if', off: 0, size: 4 },
  { name: 'family', off: 4, size: 4 },
  { name: 'type', off: 8, size: 4 },
  { name: 'protocol', off: 12, size: 4 },
  { name: 'mark', off: 16, size: 4 },
  { name: 'priority', off: 20, size: 4 },
  { name: 'src_ip4', off: 24, size: 4 },
  { name: 'src_ip6', off: 28, size: 16 },
  { name: 'src_port', off: 44, size: 4 },
  { name: 'dst_port', off: 48, size: 2 },
  { name: 'dst_ip4', off: 52, size: 4 },
  { name: 'dst_ip6', off: 56, size: 16 },
  { name: 'state', off: 72, size: 4 },
  { name: 'rx_queue_mapping', off: 76, size: 4 },
];
export const BPF_SOCK_SIZE = 80;

// ---- __sk_buff / xdp_md from the model BTF ---------------------------------

const cache = new WeakMap<StructLayouts, { skb: UField[]; xdp: UField[]; skbSize: number; xdpSize: number }>();

const SKB_FIELDS = [
  'len', 'pkt_type', 'mark', 'queue_mapping', 'protocol', 'vlan_present', 'vlan_tci', 'vlan_proto', 'priority',
  'ingress_ifindex', 'ifindex', 'tc_index', 'cb', 'hash', 'tc_classid', 'data', 'data_end', 'napi_id', 'family',
  'remote_ip4', 'local_ip4', 'remote_ip6', 'local_ip6', 'remote_port', 'local_port', 'data_meta', 'flow_keys',
  'tstamp', 'wire_len', 'gso_segs', 'sk', 'gso_size', 'tstamp_type', 'hwtstamp',
];
const XDP_FIELDS = ['data', 'data_end', 'data_meta', 'ingress_ifindex', 'rx_queue_index', 'egress_ifindex'];

/** The uapi ctx fields (name, offset, size) of __sk_buff and xdp_md, read from the model BTF. */
export function uapiFields(s: StructLayouts = modelLayout().structs) {
  let c = cache.get(s);
  if (!c) {
    const read = (st: string, names: string[]): UField[] => names.map((n) => ({ name: n, ...s.field(st, n) }));
    c = { skb: read('__sk_buff', SKB_FIELDS), xdp: read('xdp_md', XDP_FIELDS), skbSize: s.sizeof('__sk_buff'), xdpSize: s.sizeof('xdp_md') };
    cache.set(s, c);
  }
  return c;
}

const fieldAt = (fs: readonly UField[], off: number): UField | undefined => fs.find((f) => off >= f.off && off < f.off + f.size);
/** bpf_ctx_narrow_access_ok() */
const narrowOk = (size: number, sizeDefault: number): boolean => size <= sizeDefault && (size & (size - 1)) === 0;

function no(field: string, reason: string): CtxAccessResult {
  return { ok: false, field, regType: 'SCALAR_VALUE', reason };
}
const yes = (field: string, regType: CtxRegType = 'SCALAR_VALUE'): CtxAccessResult => ({ ok: true, field, regType });

/** mirrors bpf_skb_is_valid_access() */
function skbValid(fs: UField[], total: number, off: number, size: number, write: boolean, ldsx: boolean): CtxAccessResult {
  if (off < 0 || off >= total) return no('', `offset ${off} outside __sk_buff`);
  if (off % size !== 0) return no('', `offset ${off} not aligned to size ${size}`);
  const f = fieldAt(fs, off);
  if (!f) return no('', `offset ${off} is padding`);
  let regType: CtxRegType = 'SCALAR_VALUE';
  switch (f.name) {
    case 'cb':
      if (off + size > f.off + f.size) return no(f.name, 'crosses the end of cb[]');
      break;
    case 'data':
    case 'data_meta':
    case 'data_end':
      if (ldsx) return no(f.name, 'packet pointers cannot be sign-extended');
      if (size !== 4) return no(f.name, 'packet pointers need 4-byte loads');
      regType = f.name === 'data' ? 'PTR_TO_PACKET' : f.name === 'data_end' ? 'PTR_TO_PACKET_END' : 'PTR_TO_PACKET_META';
      break;
    case 'remote_ip6':
    case 'local_ip6':
    case 'remote_ip4':
    case 'local_ip4':
      if (size !== 4) return no(f.name, 'addresses need 4-byte accesses');
      break;
    case 'flow_keys':
      return no(f.name, 'flow_keys only in flow dissector programs');
    case 'hwtstamp':
      if (write || size !== 8) return no(f.name, 'read-only, 8 bytes');
      break;
    case 'tstamp':
      if (size !== 8) return no(f.name, 'needs 8 bytes');
      break;
    case 'sk':
      if (write || size !== 8) return no(f.name, 'read-only, 8 bytes');
      regType = 'PTR_TO_SOCK_COMMON_OR_NULL';
      break;
    case 'tstamp_type':
      // only tc_cls_act_is_valid_access() lets it through (1 byte), before this
      return no(f.name, 'not accessible');
    default:
      if (write ? size !== 4 : !narrowOk(size, 4)) return no(f.name, `bad size ${size}`);
  }
  if (off + size > f.off + f.size) return no(f.name, 'crosses the end of the field');
  return yes(f.name, regType);
}

const SK_FILTER_DENY = ['tc_classid', 'data', 'data_meta', 'data_end', 'family', 'remote_ip4', 'local_ip4', 'remote_ip6', 'local_ip6', 'remote_port', 'local_port', 'tstamp', 'wire_len', 'hwtstamp'];
const TC_WRITABLE = ['mark', 'tc_index', 'priority', 'tc_classid', 'cb', 'tstamp', 'queue_mapping'];
/** bpf_ctx_range_till(struct __sk_buff, family, local_port) */
const SOCK_FIELDS = ['family', 'remote_ip4', 'local_ip4', 'remote_ip6', 'local_ip6', 'remote_port', 'local_port'];
const CG_DENY = ['tc_classid', 'data_meta', 'wire_len'];
/** tstamp needs bpf_token_capable(CAP_BPF): the model runs as root. */
const CG_WRITABLE = ['mark', 'priority', 'cb', 'tstamp'];
const LWT_DENY = ['tc_classid', ...SOCK_FIELDS, 'data_meta', 'tstamp', 'wire_len', 'hwtstamp'];
const LWT_WRITABLE = ['mark', 'priority', 'cb'];
const SK_SKB_DENY = ['tc_classid', 'data_meta', 'tstamp', 'wire_len', 'hwtstamp'];
const SK_SKB_WRITABLE = ['tc_index', 'priority'];

/** The __sk_buff-based callbacks; `f` is the field the offset falls in ('' for none). */
function skbProg(progType: number, u: ReturnType<typeof uapiFields>, off: number, size: number, write: boolean, ldsx: boolean): CtxAccessResult {
  const f = fieldAt(u.skb, off)?.name ?? '';
  const skb = (): CtxAccessResult => skbValid(u.skb, u.skbSize, off, size, write, ldsx);
  switch (progType) {
    case ProgType.SOCKET_FILTER:
      // mirrors sk_filter_is_valid_access()
      if (SK_FILTER_DENY.includes(f)) return no(f, 'not accessible from socket filters');
      if (write && f !== 'cb') return no(f, 'socket filters may only write cb[]');
      return skb();
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT: // tc_cls_act_verifier_ops serve both
      // mirrors tc_cls_act_is_valid_access()
      if (write && !TC_WRITABLE.includes(f)) return no(f, 'not writable from tc');
      if (SOCK_FIELDS.includes(f)) return no(f, 'socket fields not accessible from tc');
      // the kernel sets prog->tstamp_type_access here and never reaches bpf_skb_is_valid_access()
      if (f === 'tstamp_type') return size === 1 ? yes(f) : no(f, 'tstamp_type is one byte');
      return skb();
    case ProgType.CGROUP_SKB:
      // mirrors cg_skb_is_valid_access() (data, data_end and tstamp writes need CAP_BPF: the model runs as root)
      if (CG_DENY.includes(f)) return no(f, 'not accessible from cgroup_skb');
      if (write && !CG_WRITABLE.includes(f)) return no(f, 'not writable from cgroup_skb');
      return skb();
    case ProgType.LWT_IN:
    case ProgType.LWT_OUT:
    case ProgType.LWT_XMIT:
      // mirrors lwt_is_valid_access()
      if (LWT_DENY.includes(f)) return no(f, 'not accessible from lwt programs');
      if (write && !LWT_WRITABLE.includes(f)) return no(f, 'not writable from lwt programs');
      return skb();
    case ProgType.SK_SKB:
      // mirrors sk_skb_is_valid_access()
      if (SK_SKB_DENY.includes(f)) return no(f, 'not accessible from sk_skb');
      if (write && !SK_SKB_WRITABLE.includes(f)) return no(f, 'not writable from sk_skb');
      if (f === 'mark') return no(f, 'not accessible from sk_skb');
      return skb();
    default:
      throw new KfError(`program type ${progType} has no __sk_buff rules`);
  }
}

/** mirrors xdp_is_valid_access() / __is_valid_xdp_access() (never offloaded) */
function xdpValid(u: ReturnType<typeof uapiFields>, off: number, size: number, write: boolean, attach: number, ldsx: boolean): CtxAccessResult {
  const f = fieldAt(u.xdp, off);
  const name = f?.name ?? '';
  if (attach !== AttachType.XDP_DEVMAP && f?.name === 'egress_ifindex' && off === f.off) return no(name, 'only in devmap programs');
  if (write) return no(name, 'xdp_md is read-only');
  const ptr = f && off === f.off && (f.name === 'data' || f.name === 'data_end' || f.name === 'data_meta');
  if (ptr && ldsx) return no(name, 'packet pointers cannot be sign-extended');
  if (off < 0 || off >= u.xdpSize || off % size !== 0 || size !== 4 || !f) return no(name, 'xdp_md fields need aligned 4-byte loads');
  const regType: CtxRegType = !ptr ? 'SCALAR_VALUE' : f.name === 'data' ? 'PTR_TO_PACKET' : f.name === 'data_end' ? 'PTR_TO_PACKET_END' : 'PTR_TO_PACKET_META';
  return yes(f.name, regType);
}

/** mirrors bpf_sock_is_valid_access() */
function bpfSockValid(off: number, size: number): CtxAccessResult {
  if (off < 0 || off >= BPF_SOCK_SIZE) return no('', `offset ${off} outside bpf_sock`);
  if (off % size !== 0) return no('', `offset ${off} not aligned to size ${size}`);
  const f = fieldAt(BPF_SOCK, off);
  if (!f) return no('', `offset ${off} is padding`); // offsetofend(dst_port) ... offsetof(dst_ip4) - 1
  switch (f.name) {
    case 'state':
    case 'family':
    case 'type':
    case 'protocol':
    case 'src_port':
    case 'rx_queue_mapping':
      // `case offsetof(...)`: only the first byte of these takes the narrow path
      if (off === f.off) return narrowOk(size, 4) ? yes(f.name) : no(f.name, `bad size ${size}`);
      break;
    case 'src_ip4':
    case 'src_ip6':
    case 'dst_ip4':
    case 'dst_ip6':
      return narrowOk(size, 4) ? yes(f.name) : no(f.name, `bad size ${size}`);
    case 'dst_port': {
      // field_size = size == 4 ? 4 : sizeof_field(struct bpf_sock, dst_port)
      const fieldSize = size === 4 ? 4 : 2;
      return narrowOk(size, fieldSize) ? yes(f.name) : no(f.name, `bad size ${size}`);
    }
  }
  return size === 4 ? yes(f.name) : no(f.name, `bad size ${size}`);
}

/** mirrors __sock_filter_check_attach_type() */
function sockAttachOk(off: number, write: boolean, attach: number): boolean {
  const A = AttachType;
  // BPF_PROG_LOAD turns expected_attach_type 0 into BPF_CGROUP_INET_SOCK_CREATE (bpf_prog_load_fixup_attach_type())
  const at = attach || A.CGROUP_INET_SOCK_CREATE;
  const f = fieldAt(BPF_SOCK, off);
  switch (f && f.off === off ? f.name : '') {
    case 'bound_dev_if':
    case 'mark':
    case 'priority':
      return at === A.CGROUP_INET_SOCK_CREATE || at === A.CGROUP_INET_SOCK_RELEASE;
  }
  switch (f?.name) {
    case 'src_ip4':
      if (at !== A.CGROUP_INET4_POST_BIND) return false;
      break;
    case 'src_ip6':
      if (at !== A.CGROUP_INET6_POST_BIND) return false;
      break;
    case 'src_port':
      if (at !== A.CGROUP_INET4_POST_BIND && at !== A.CGROUP_INET6_POST_BIND) return false;
      break;
  }
  return !write;
}

/** mirrors kprobe_prog_is_valid_access() */
function kprobeValid(off: number, size: number, write: boolean): CtxAccessResult {
  if (off < 0 || off >= PT_REGS_SIZE) return no('', `offset ${off} outside pt_regs`);
  if (write) return no('', 'pt_regs is read-only');
  if (off % size !== 0) return no('', `offset ${off} not aligned to size ${size}`);
  if (off + size > PT_REGS_SIZE) return no('', 'crosses the end of pt_regs');
  return yes('');
}

/** mirrors tp_prog_is_valid_access() */
function tpValid(off: number, size: number, write: boolean): CtxAccessResult {
  if (off < 8 || off >= PERF_MAX_TRACE_SIZE) return no('', `offset ${off} outside the trace record (8..${PERF_MAX_TRACE_SIZE})`);
  if (write) return no('', 'the trace record is read-only');
  if (off % size !== 0) return no('', `offset ${off} not aligned to size ${size}`);
  return yes('');
}

/** mirrors pe_prog_is_valid_access() (64-bit: sizeof(long) == 8) */
function peValid(off: number, size: number, write: boolean): CtxAccessResult {
  if (off < 0 || off >= BPF_PERF_EVENT_DATA_SIZE) return no('', `offset ${off} outside bpf_perf_event_data`);
  if (write) return no('', 'bpf_perf_event_data is read-only');
  if (off % size !== 0) return no('', `offset ${off} not aligned to size ${size}`);
  const f = fieldAt(BPF_PERF_EVENT_DATA, off)!;
  if (f.name === 'regs') return size === 8 ? yes(f.name) : no(f.name, 'registers need 8-byte loads');
  return narrowOk(size, 8) ? yes(f.name) : no(f.name, `bad size ${size}`);
}

/** One program type's ctx: what the table knows about it. */
export interface CtxProgType {
  readonly id: number;
  /** BPF_PROG_TYPE_* suffix, lower case. */
  readonly name: string;
  /** The uapi struct r1 points to (a name for the log and tests; 'trace record' has no struct). */
  readonly ctx: '__sk_buff' | 'xdp_md' | 'bpf_sock' | 'pt_regs' | 'bpf_perf_event_data' | 'trace record';
  /** The expected_attach_type values whose rules differ (the first is the default, 0). */
  readonly attachTypes: readonly number[];
}

/** Every program type ctxAccess() has rules for. */
export const CTX_PROG_TYPES: readonly CtxProgType[] = [
  { id: ProgType.SOCKET_FILTER, name: 'socket_filter', ctx: '__sk_buff', attachTypes: [0] },
  { id: ProgType.KPROBE, name: 'kprobe', ctx: 'pt_regs', attachTypes: [0] },
  { id: ProgType.SCHED_CLS, name: 'sched_cls', ctx: '__sk_buff', attachTypes: [0] },
  { id: ProgType.SCHED_ACT, name: 'sched_act', ctx: '__sk_buff', attachTypes: [0] },
  { id: ProgType.TRACEPOINT, name: 'tracepoint', ctx: 'trace record', attachTypes: [0] },
  { id: ProgType.XDP, name: 'xdp', ctx: 'xdp_md', attachTypes: [0, AttachType.XDP_DEVMAP] },
  { id: ProgType.PERF_EVENT, name: 'perf_event', ctx: 'bpf_perf_event_data', attachTypes: [0] },
  { id: ProgType.CGROUP_SKB, name: 'cgroup_skb', ctx: '__sk_buff', attachTypes: [0] },
  {
    id: ProgType.CGROUP_SOCK, name: 'cgroup_sock', ctx: 'bpf_sock',
    attachTypes: [0, AttachType.CGROUP_INET_SOCK_RELEASE, AttachType.CGROUP_INET4_POST_BIND, AttachType.CGROUP_INET6_POST_BIND],
  },
  { id: ProgType.LWT_IN, name: 'lwt_in', ctx: '__sk_buff', attachTypes: [0] },
  { id: ProgType.LWT_OUT, name: 'lwt_out', ctx: '__sk_buff', attachTypes: [0] },
  { id: ProgType.LWT_XMIT, name: 'lwt_xmit', ctx: '__sk_buff', attachTypes: [0] },
  { id: ProgType.SK_SKB, name: 'sk_skb', ctx: '__sk_buff', attachTypes: [0] },
];

/** The table's entry for a program type, or undefined when its ctx rules are not modelled. */
export const ctxProgType = (progType: number): CtxProgType | undefined => CTX_PROG_TYPES.find((p) => p.id === progType);

/** The size of a program type's ctx (the bound of the offsets its rules look at). */
export function ctxSize(progType: number, s?: StructLayouts): number {
  const p = ctxProgType(progType);
  switch (p?.ctx) {
    case '__sk_buff': return uapiFields(s).skbSize;
    case 'xdp_md': return uapiFields(s).xdpSize;
    case 'bpf_sock': return BPF_SOCK_SIZE;
    case 'pt_regs': return PT_REGS_SIZE;
    case 'bpf_perf_event_data': return BPF_PERF_EVENT_DATA_SIZE;
    case 'trace record': return PERF_MAX_TRACE_SIZE;
    default: throw new KfError(`program type ${progType} is not modelled`);
  }
}

/**
 * Is a `size`-byte read or write at ctx offset `off` valid for `progType`
 * (env->ops->is_valid_access())? Mirrors sk_filter_is_valid_access(),
 * tc_cls_act_is_valid_access(), cg_skb_is_valid_access() (as CAP_BPF),
 * lwt_is_valid_access(), sk_skb_is_valid_access(), xdp_is_valid_access(),
 * sock_filter_is_valid_access(), kprobe_prog_is_valid_access(),
 * tp_prog_is_valid_access() and pe_prog_is_valid_access().
 * Throws KfError for a program type the table does not have (see ctxProgType()).
 */
export function ctxAccess(progType: number, off: number, size: number, write: boolean, s?: StructLayouts, o: CtxAccessOptions = {}): CtxAccessResult {
  const p = ctxProgType(progType);
  if (!p) throw new KfError(`program type ${progType} is not modelled (ctx rules for: ${CTX_PROG_TYPES.map((t) => `${t.name} ${t.id}`).join(', ')})`);
  if (![1, 2, 4, 8].includes(size)) return no('', `bad access size ${size}`);
  const attach = o.attach ?? 0;
  const ldsx = o.ldsx ?? false;
  switch (p.ctx) {
    case '__sk_buff':
      return skbProg(progType, uapiFields(s), off, size, write, ldsx);
    case 'xdp_md':
      return xdpValid(uapiFields(s), off, size, write, attach, ldsx);
    case 'bpf_sock': {
      // mirrors sock_filter_is_valid_access()
      const r = bpfSockValid(off, size);
      if (!r.ok) return r;
      return sockAttachOk(off, write, attach) ? r : no(r.field, write ? 'not writable with this attach type' : 'not readable with this attach type');
    }
    case 'pt_regs':
      return kprobeValid(off, size, write);
    case 'trace record':
      return tpValid(off, size, write);
    case 'bpf_perf_event_data':
      return peValid(off, size, write);
  }
}

/**
 * mirrors may_access_direct_pkt_data(env, NULL, t): may the program read
 * (write = false) or write packet data through PTR_TO_PACKET?
 */
export function mayAccessDirectPktData(progType: number, write: boolean): boolean {
  switch (progType) {
    // program types only with direct read access
    case ProgType.LWT_IN:
    case ProgType.LWT_OUT:
    case ProgType.LWT_SEG6LOCAL:
    case ProgType.SK_REUSEPORT:
    case ProgType.FLOW_DISSECTOR:
    case ProgType.CGROUP_SKB:
      return !write;
    // program types with direct read + write access
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
    case ProgType.XDP:
    case ProgType.LWT_XMIT:
    case ProgType.SK_SKB:
    case ProgType.SK_MSG:
    case ProgType.CGROUP_SOCKOPT:
      return true;
    default:
      return false;
  }
}

/** Whether packet data may be written directly: may_access_direct_pkt_data(env, NULL, BPF_WRITE). */
export const mayWritePkt = (progType: number): boolean => mayAccessDirectPktData(progType, true);

/** mirrors may_access_skb(): are LD_ABS / LD_IND allowed? */
export function mayAccessSkb(progType: number): boolean {
  return progType === ProgType.SOCKET_FILTER || progType === ProgType.SCHED_CLS || progType === ProgType.SCHED_ACT;
}
