// The program types the model kernel runs: their ctx, how test-run builds it,
// and the ctx conversion / access rules (ctx-access.ts, ctx-convert.ts).
// ctx-access.ts has the ctx rules of more program types than run here (the
// verifier checks kprobe, tracepoint, perf_event, cgroup_sock, lwt, sk_skb
// programs too); PROG_TYPES lists the ones test-run can build a ctx for.

import { KfError } from '../util/errors.js';
import {
  BPF_PROG_TYPE_CGROUP_SKB, BPF_PROG_TYPE_SCHED_ACT, BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_XDP, mayWritePkt,
} from './ctx-access.js';

export {
  ctxAccess, ctxProgType, ctxSize, mayAccessDirectPktData, mayAccessSkb, mayWritePkt, AttachType, CTX_PROG_TYPES, ProgType,
  type CtxAccessOptions, type CtxAccessResult, type CtxProgType, type CtxRegType,
} from './ctx-access.js';
export { convertCtxAccesses, convertCtxInsn, type ConvertedProgram } from './ctx-convert.js';
export { findCtxAccesses } from './ctx-track.js';
export { BPF_PROG_TYPE_CGROUP_SKB, BPF_PROG_TYPE_SCHED_ACT, BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_XDP };

export interface ProgTypeInfo {
  readonly id: number;
  /** BPF_PROG_TYPE_* suffix, lower case. */
  readonly name: string;
  /** The kernel object r1 really points to. */
  readonly kernelCtx: 'sk_buff' | 'xdp_buff';
  /** The uapi struct programs are written against. */
  readonly uapiCtx: '__sk_buff' | 'xdp_md';
  /** Whether the program sees the Ethernet header at data (test_run's is_l2). */
  readonly l2: boolean;
  /** may_access_direct_pkt_data(env, NULL, BPF_WRITE): mayWritePkt(id) */
  readonly pktWrite: boolean;
  /** ELF section prefixes libbpf maps to this type. */
  readonly sections: readonly string[];
}

const RUNNABLE: readonly Omit<ProgTypeInfo, 'pktWrite'>[] = [
  { id: BPF_PROG_TYPE_SOCKET_FILTER, name: 'socket_filter', kernelCtx: 'sk_buff', uapiCtx: '__sk_buff', l2: false, sections: ['socket'] },
  { id: BPF_PROG_TYPE_SCHED_CLS, name: 'sched_cls', kernelCtx: 'sk_buff', uapiCtx: '__sk_buff', l2: true, sections: ['tc', 'classifier', 'tcx/ingress', 'tcx/egress'] },
  { id: BPF_PROG_TYPE_SCHED_ACT, name: 'sched_act', kernelCtx: 'sk_buff', uapiCtx: '__sk_buff', l2: true, sections: ['action'] },
  { id: BPF_PROG_TYPE_XDP, name: 'xdp', kernelCtx: 'xdp_buff', uapiCtx: 'xdp_md', l2: true, sections: ['xdp', 'xdp.frags'] },
  { id: BPF_PROG_TYPE_CGROUP_SKB, name: 'cgroup_skb', kernelCtx: 'sk_buff', uapiCtx: '__sk_buff', l2: false, sections: ['cgroup_skb/ingress', 'cgroup_skb/egress'] },
];

export const PROG_TYPES: readonly ProgTypeInfo[] = RUNNABLE.map((p) => ({ ...p, pktWrite: mayWritePkt(p.id) }));

export function progType(id: number): ProgTypeInfo {
  const t = PROG_TYPES.find((p) => p.id === id);
  if (!t) throw new KfError(`program type ${id} is not modelled (socket_filter 1, sched_cls 3, sched_act 4, xdp 6, cgroup_skb 8)`);
  return t;
}

/** The program type of an ELF section name, as libbpf's section table maps it. */
export function progTypeOfSection(sec: string): ProgTypeInfo | undefined {
  return PROG_TYPES.find((p) => p.sections.some((s) => sec === s || sec.startsWith(s + '/')));
}

/**
 * Program types whose bpf_prog_ops have no .test_run: bpf_prog_test_run()
 * (kernel/bpf/syscall.c) refuses them with -ENOTSUPP before the program runs.
 */
export const NO_TEST_RUN: ReadonlyMap<number, string> = new Map([
  [2, 'kprobe'], [5, 'tracepoint'], [7, 'perf_event'], [9, 'cgroup_sock'], [13, 'sock_ops'], [14, 'sk_skb'],
  [15, 'cgroup_device'], [16, 'sk_msg'],
]);

/** errno of the refusal (ENOTSUPP, include/linux/errno.h) */
export const ENOTSUPP = 524;
