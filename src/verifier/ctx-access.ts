// Context access rules per program type: mirrors the *_is_valid_access()
// callbacks of net/core/filter.c and kernel/trace/bpf_trace.c (Linux 6.18).
// The model kernel (src/kernel) will own these tables; the lead reconciles.
import { RegType } from './state/types.js';

export const enum ProgType {
  UNSPEC = 0,
  SOCKET_FILTER = 1,
  KPROBE = 2,
  SCHED_CLS = 3,
  SCHED_ACT = 4,
  TRACEPOINT = 5,
  XDP = 6,
  PERF_EVENT = 7,
  CGROUP_SKB = 8,
  CGROUP_SOCK = 9,
  LWT_IN = 10,
  LWT_OUT = 11,
  LWT_XMIT = 12,
  SOCK_OPS = 13,
  SK_SKB = 14,
}

export interface CtxAccess {
  ok: boolean;
  /** Type of the loaded register when the field is a pointer (data, data_end...). */
  regType?: RegType;
}

// struct __sk_buff offsets
const SKB = {
  len: 0, pkt_type: 4, mark: 8, queue_mapping: 12, protocol: 16, vlan_present: 20, vlan_tci: 24,
  vlan_proto: 28, priority: 32, ingress_ifindex: 36, ifindex: 40, tc_index: 44, cb0: 48, cb4end: 68,
  hash: 68, tc_classid: 72, data: 76, data_end: 80, napi_id: 84, family: 88, local_port_end: 140,
  data_meta: 140, flow_keys: 144, tstamp: 152, wire_len: 160, gso_segs: 164, sk: 168, gso_size: 176,
  tstamp_type: 180, hwtstamp: 184, size: 192,
};

/** bpf_ctx_range(field of 4 bytes) */
const in4 = (off: number, f: number): boolean => off >= f && off < f + 4;
const in8 = (off: number, f: number): boolean => off >= f && off < f + 8;
const inCb = (off: number): boolean => off >= SKB.cb0 && off < SKB.cb4end;

/** mirrors bpf_ctx_narrow_access_ok() */
const narrowOk = (size: number, def: number): boolean => size <= def && (size & (size - 1)) === 0;

/** mirrors bpf_skb_is_valid_access() */
function skbValid(off: number, size: number, write: boolean): boolean {
  if (off < 0 || off >= SKB.size) return false;
  if (off % size !== 0) return false;
  if (inCb(off)) return off + size <= SKB.cb4end;
  if ((off >= 92 && off < SKB.local_port_end - 8) || in4(off, SKB.data) || in4(off, SKB.data_meta) || in4(off, SKB.data_end))
    return size === 4;
  if (in8(off, SKB.flow_keys)) return false;
  if (in8(off, SKB.hwtstamp)) return !write && size === 8;
  if (in8(off, SKB.tstamp)) return size === 8;
  if (off === SKB.sk) return !write && size === 8;
  if (off === SKB.tstamp_type) return false;
  if (off > SKB.tstamp_type && off < SKB.hwtstamp) return false;
  if (write) return size === 4;
  return narrowOk(size, 4);
}

function sockFilter(off: number, size: number, write: boolean): CtxAccess {
  if (in4(off, SKB.tc_classid) || in4(off, SKB.data) || in4(off, SKB.data_meta) || in4(off, SKB.data_end) ||
    (off >= SKB.family && off < SKB.local_port_end) || in8(off, SKB.tstamp) || in4(off, SKB.wire_len) || in8(off, SKB.hwtstamp))
    return { ok: false };
  if (write && !inCb(off)) return { ok: false };
  return { ok: skbValid(off, size, write) };
}

function pktType(off: number, meta: boolean): RegType | undefined {
  if (in4(off, SKB.data)) return RegType.PTR_TO_PACKET;
  if (meta && in4(off, SKB.data_meta)) return RegType.PTR_TO_PACKET_META;
  if (in4(off, SKB.data_end)) return RegType.PTR_TO_PACKET_END;
  return undefined;
}

function tcClsAct(off: number, size: number, write: boolean): CtxAccess {
  if (write && !(in4(off, SKB.mark) || in4(off, SKB.tc_index) || in4(off, SKB.priority) || in4(off, SKB.tc_classid) ||
    inCb(off) || in8(off, SKB.tstamp) || in4(off, SKB.queue_mapping)))
    return { ok: false };
  if (off >= SKB.family && off < SKB.local_port_end) return { ok: false };
  if (off === SKB.tstamp_type) return { ok: size === 1 };
  return { ok: skbValid(off, size, write), regType: pktType(off, true) };
}

function skSkb(off: number, size: number, write: boolean): CtxAccess {
  if (in4(off, SKB.tc_classid) || in4(off, SKB.data_meta) || in8(off, SKB.tstamp) || in4(off, SKB.wire_len) || in8(off, SKB.hwtstamp))
    return { ok: false };
  if (write && !(in4(off, SKB.tc_index) || in4(off, SKB.priority))) return { ok: false };
  if (in4(off, SKB.mark)) return { ok: false };
  return { ok: skbValid(off, size, write), regType: pktType(off, false) };
}

function cgSkb(off: number, size: number, write: boolean): CtxAccess {
  if (in4(off, SKB.tc_classid) || in4(off, SKB.data_meta) || in4(off, SKB.wire_len)) return { ok: false };
  if (write && !(in4(off, SKB.mark) || in4(off, SKB.priority) || inCb(off) || in8(off, SKB.tstamp))) return { ok: false };
  return { ok: skbValid(off, size, write), regType: pktType(off, false) };
}

function lwt(off: number, size: number, write: boolean, progType: number): CtxAccess {
  if (in4(off, SKB.tc_classid) || (off >= SKB.family && off < SKB.local_port_end) || in4(off, SKB.data_meta) ||
    in8(off, SKB.tstamp) || in4(off, SKB.wire_len) || in8(off, SKB.hwtstamp))
    return { ok: false };
  if (write) {
    const okw = inCb(off) || ((in4(off, SKB.mark) || in4(off, SKB.priority)) && progType === ProgType.LWT_XMIT);
    if (!okw) return { ok: false };
  }
  return { ok: skbValid(off, size, write), regType: pktType(off, false) };
}

// struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
function xdp(off: number, size: number, write: boolean): CtxAccess {
  if (off === 20) return { ok: false }; // egress_ifindex needs BPF_XDP_DEVMAP
  if (write) return { ok: false };
  if (off < 0 || off >= 24 || off % size !== 0 || size !== 4) return { ok: false };
  const t = off === 0 ? RegType.PTR_TO_PACKET : off === 4 ? RegType.PTR_TO_PACKET_END : off === 8 ? RegType.PTR_TO_PACKET_META : undefined;
  return { ok: true, regType: t };
}

const PT_REGS_SIZE = 168; // x86-64 struct pt_regs

function perfEvent(off: number, size: number, write: boolean): CtxAccess {
  if (off < 0 || off >= PT_REGS_SIZE + 16 || write || off % size !== 0) return { ok: false };
  if (off >= PT_REGS_SIZE) return { ok: narrowOk(size, 8) };
  return { ok: size === 8 };
}

// struct bpf_sock (cgroup/sock)
function cgroupSock(off: number, size: number, write: boolean): CtxAccess {
  if (write && !((off === 0 || off === 16 || off === 20) && size === 4)) return { ok: false };
  if (off < 0 || off >= 80 || off % size !== 0) return { ok: false };
  if (off === 48) return { ok: narrowOk(size, 2) }; // dst_port
  if (off < 24 && off >= 4) return { ok: narrowOk(size, 4) };
  return { ok: size === 4 };
}

/** mirrors env->ops->is_valid_access() for the modelled program types. */
export function ctxAccess(progType: number, off: number, size: number, write: boolean): CtxAccess {
  switch (progType) {
    case ProgType.UNSPEC:
    case ProgType.SOCKET_FILTER:
      return sockFilter(off, size, write);
    case ProgType.SCHED_CLS:
    case ProgType.SCHED_ACT:
      return tcClsAct(off, size, write);
    case ProgType.SK_SKB:
      return skSkb(off, size, write);
    case ProgType.CGROUP_SKB:
      return cgSkb(off, size, write);
    case ProgType.LWT_IN:
    case ProgType.LWT_OUT:
    case ProgType.LWT_XMIT:
      return lwt(off, size, write, progType);
    case ProgType.XDP:
      return xdp(off, size, write);
    case ProgType.PERF_EVENT:
      return perfEvent(off, size, write);
    case ProgType.TRACEPOINT:
      return { ok: off >= 8 && off < 2048 && !write && off % size === 0 };
    case ProgType.KPROBE:
      return { ok: off >= 0 && off + size <= PT_REGS_SIZE && !write && off % size === 0 };
    case ProgType.CGROUP_SOCK:
      return cgroupSock(off, size, write);
    default:
      return { ok: false };
  }
}

/** Whether packet data may be written directly: mirrors may_access_direct_pkt_data(). */
export function mayWritePkt(progType: number): boolean {
  return [ProgType.SCHED_CLS, ProgType.SCHED_ACT, ProgType.XDP, ProgType.LWT_XMIT, ProgType.SK_SKB].includes(progType);
}

/** mirrors may_access_skb(): LD_ABS/LD_IND allowed. */
export function mayAccessSkb(progType: number): boolean {
  return progType === ProgType.SOCKET_FILTER || progType === ProgType.SCHED_CLS || progType === ProgType.SCHED_ACT || progType === ProgType.UNSPEC;
}
