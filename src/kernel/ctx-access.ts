// Which ctx offsets a program type may read or write: the kernel's
// *_is_valid_access() callbacks (net/core/filter.c) as a table-driven function
// for the verifier. Offsets come from the model BTF's __sk_buff / xdp_md.

import { KfError } from '../util/errors.js';
import type { StructLayouts } from './layout.js';
import { modelLayout } from './layout.js';

export const BPF_PROG_TYPE_SOCKET_FILTER = 1;
export const BPF_PROG_TYPE_SCHED_CLS = 3;
export const BPF_PROG_TYPE_SCHED_ACT = 4;
export const BPF_PROG_TYPE_XDP = 6;
export const BPF_PROG_TYPE_CGROUP_SKB = 8;

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

interface UField {
  name: string;
  off: number;
  size: number;
}

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

const fieldAt = (fs: UField[], off: number): UField | undefined => fs.find((f) => off >= f.off && off < f.off + f.size);
/** bpf_ctx_narrow_access_ok() */
const narrowOk = (size: number, sizeDefault: number): boolean => size <= sizeDefault && (size & (size - 1)) === 0;

function no(field: string, reason: string): CtxAccessResult {
  return { ok: false, field, regType: 'SCALAR_VALUE', reason };
}

/** mirrors bpf_skb_is_valid_access() */
function skbValid(fs: UField[], total: number, off: number, size: number, write: boolean): CtxAccessResult {
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
  return { ok: true, field: f.name, regType };
}

const range = (names: string[], n: string): boolean => names.includes(n);
const SK_FILTER_DENY = ['tc_classid', 'data', 'data_meta', 'data_end', 'family', 'remote_ip4', 'local_ip4', 'remote_ip6', 'local_ip6', 'remote_port', 'local_port', 'tstamp', 'wire_len', 'hwtstamp'];
const TC_WRITABLE = ['mark', 'tc_index', 'priority', 'tc_classid', 'cb', 'tstamp', 'queue_mapping'];
const SOCK_FIELDS = ['family', 'remote_ip4', 'local_ip4', 'remote_ip6', 'local_ip6', 'remote_port', 'local_port'];
const CG_DENY = ['tc_classid', 'data_meta', 'wire_len'];
/** tstamp needs bpf_token_capable(CAP_BPF): the model runs as root. */
const CG_WRITABLE = ['mark', 'priority', 'cb', 'tstamp'];

/**
 * Is a `size`-byte read or write at ctx offset `off` valid for `progType`?
 * Mirrors sk_filter_is_valid_access(), tc_cls_act_is_valid_access(),
 * cg_skb_is_valid_access() (without the CAP_BPF extras) and xdp_is_valid_access().
 */
export function ctxAccess(progType: number, off: number, size: number, write: boolean, s?: StructLayouts): CtxAccessResult {
  const u = uapiFields(s);
  if (![1, 2, 4, 8].includes(size)) return no('', `bad access size ${size}`);
  if (progType === BPF_PROG_TYPE_XDP) {
    // mirrors xdp_is_valid_access() / __is_valid_xdp_access() (not BPF_XDP_DEVMAP)
    const f = fieldAt(u.xdp, off);
    if (f?.name === 'egress_ifindex') return no(f.name, 'only in devmap programs');
    if (write) return no(f?.name ?? '', 'xdp_md is read-only');
    if (off < 0 || off >= u.xdpSize || off % size !== 0 || size !== 4 || !f) return no(f?.name ?? '', 'xdp_md fields need aligned 4-byte loads');
    const regType: CtxRegType = f.name === 'data' ? 'PTR_TO_PACKET' : f.name === 'data_end' ? 'PTR_TO_PACKET_END' : f.name === 'data_meta' ? 'PTR_TO_PACKET_META' : 'SCALAR_VALUE';
    return { ok: true, field: f.name, regType };
  }
  const f = fieldAt(u.skb, off)?.name ?? '';
  switch (progType) {
    case BPF_PROG_TYPE_SOCKET_FILTER:
      if (range(SK_FILTER_DENY, f)) return no(f, 'not accessible from socket filters');
      if (write && f !== 'cb') return no(f, 'socket filters may only write cb[]');
      return skbValid(u.skb, u.skbSize, off, size, write);
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT: // tc_cls_act_verifier_ops serve both
      if (write && !range(TC_WRITABLE, f)) return no(f, 'not writable from tc');
      if (range(SOCK_FIELDS, f)) return no(f, 'socket fields not accessible from tc');
      // the kernel sets prog->tstamp_type_access here and never reaches bpf_skb_is_valid_access()
      if (f === 'tstamp_type') return size === 1 ? { ok: true, field: f, regType: 'SCALAR_VALUE' } : no(f, 'tstamp_type is one byte');
      return skbValid(u.skb, u.skbSize, off, size, write);
    case BPF_PROG_TYPE_CGROUP_SKB:
      if (range(CG_DENY, f)) return no(f, 'not accessible from cgroup_skb');
      if (write && !range(CG_WRITABLE, f)) return no(f, 'not writable from cgroup_skb');
      if (!write && (f === 'data' || f === 'data_end' || f === 'tstamp')) {
        // bpf_capable() programs only; the model runs as root
      }
      return skbValid(u.skb, u.skbSize, off, size, write);
    default:
      throw new KfError(`program type ${progType} is not modelled`);
  }
}
