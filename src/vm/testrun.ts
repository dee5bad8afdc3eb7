// testRun(): like BPF_PROG_TEST_RUN (net/bpf/test_run.c). Builds the ctx
// (sk_buff for socket filter / tc / cgroup_skb, xdp_buff for xdp) in the
// address space, converts ctx accesses, runs the program `repeat` times and
// reports the return value, the packet and ctx afterwards, and the mean time.

import type { Insn } from '../isa/insn.js';
import { KfError } from '../util/errors.js';
import { buildSkb, buildXdp, skbBytes, xdpBytes, type BuiltCtx } from '../kernel/ctx-build.js';
import { convertCtxAccesses } from '../kernel/ctx-convert.js';
import { findCtxAccesses } from '../kernel/ctx-track.js';
import { ld, ldPtr, st } from '../kernel/mem.js';
import { ModelKernel } from '../kernel/model.js';
import { ENOTSUPP, NO_TEST_RUN, progType as progTypeInfo } from '../kernel/progtypes.js';
import type { MapSpec } from '../kernel/maps.js';
import type { Engine, Executable } from './env.js';
import type { BpfKfuncMap } from './bodies.js';
import { interpreter } from './interp.js';
import { jit } from './jit/jit.js';
import { AddressSpace } from './memory.js';
import { skbPacketLoad } from './ld-abs.js';

const engines = new Map<string, Engine>([
  ['interp', interpreter],
  ['jit', jit],
]);

/** Makes an engine available to testRun() by name (the JIT registers itself as 'jit'). */
export function registerEngine(e: Engine): void {
  engines.set(e.name, e);
}

export interface TestRunOptions {
  /** BPF_PROG_TYPE_*: 1 socket filter, 3 sched_cls, 6 xdp, 8 cgroup_skb. */
  progType: number;
  /** Packet bytes (starting with the Ethernet header). */
  data: Uint8Array;
  /** struct __sk_buff / struct xdp_md bytes (ctx_in). */
  ctxIn?: Uint8Array;
  /** Runs (default 1); durationNs is the mean. */
  repeat?: number;
  /** 'interp' (default), 'jit' (once registered) or an Engine. */
  engine?: 'interp' | 'jit' | Engine;
  /** Only the first linearLen bytes in the linear area; the rest in fragments. */
  nonLinear?: { linearLen: number };
  /** Sizes of the fragments (default: one holding everything non-linear). */
  frags?: number[];
  /** A kernel to run in (its maps already filled); default: a fresh one. */
  kernel?: ModelKernel;
  /** Maps to create in a fresh kernel (fds 1, 2, ... in order). */
  maps?: MapSpec[];
  /** Indices of ctx accesses (from the verifier); default: findCtxAccesses(). */
  ctxPcs?: ReadonlySet<number>;
  /** The program's ctx accesses are already converted. */
  converted?: boolean;
  /** Kfuncs run as BPF bodies instead of natively (LoadOptions.bpfKfuncs; e.g. bodiesById(defaultKfuncLibrary())). */
  bpfKfuncs?: BpfKfuncMap;
}

export interface TestRunResult {
  /** r0 as the kernel reports it (u32). */
  readonly retval: number;
  /** Full 64-bit r0. */
  readonly r0: bigint;
  /** The packet after the last run (linear + fragments; xdp: from data_meta). */
  readonly dataOut: Uint8Array;
  /** struct __sk_buff / xdp_md after the run. */
  readonly ctxOut: Uint8Array;
  /** Mean wall time per run in ns. */
  readonly durationNs: number;
  /**
   * The region r0 pointed into when the last run ended (its kind and name),
   * when r0 was an address: a program that returns a pointer (test_verifier's
   * POINTER_VALUE). The run's ctx and packet regions are unmapped afterwards.
   */
  readonly r0Region?: string;
  readonly kernel: ModelKernel;
  /** The program that ran (ctx accesses converted). */
  readonly insns: readonly Insn[];
}

export function testRun(prog: readonly Insn[], o: TestRunOptions): TestRunResult {
  // bpf_prog_test_run(): `if (!prog->aux->ops->test_run) return -ENOTSUPP;`
  const noRun = NO_TEST_RUN.get(o.progType);
  if (noRun) throw new KfError(`test run: program type ${noRun} (${o.progType}) has no test_run (bpf_prog_test_run() fails with -ENOTSUPP ${ENOTSUPP})`);
  const pt = progTypeInfo(o.progType);
  const repeat = o.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1) throw new KfError(`test run: repeat must be a positive integer, not ${repeat}`);
  const engine = typeof o.engine === 'object' ? o.engine : engines.get(o.engine ?? 'interp');
  if (!engine) throw new KfError(`test run: engine '${String(o.engine)}' is not available (registerEngine() it first)`);
  const kernel = o.kernel ?? new ModelKernel(new AddressSpace());
  if (o.kernel && o.maps?.length) throw new KfError('test run: pass maps either in `maps` or inside `kernel`, not both');
  for (const m of o.maps ?? []) kernel.maps.create(m);
  const rt = kernel.rt;
  rt.skbDynptrRdonly = !pt.pktWrite;
  const insns = o.converted ? [...prog] : convertCtxAccesses(prog, pt.id, o.ctxPcs ?? findCtxAccesses(prog), rt.L).insns;

  const pkt = { linearLen: o.nonLinear?.linearLen, frags: o.frags };
  let built: BuiltCtx;
  let headStart = 0;
  if (pt.kernelCtx === 'xdp_buff') {
    const c = parseXdpCtxIn(kernel, o.ctxIn, o.data.length);
    built = buildXdp(rt, o.data, { ...pkt, ...c });
  } else {
    built = buildSkb(rt, o.data, { ...pkt, l2: pt.l2 });
    headStart = rt.skb.data(built.ctx) - (pt.l2 ? 0 : 14);
    applySkbCtxIn(kernel, built.ctx, o.ctxIn);
  }
  let exe: Executable | undefined;
  const regions = [...built.regions];
  try {
    let env = kernel.env();
    if (pt.kernelCtx !== 'xdp_buff' && !env.packetLoad) {
      // LD_ABS / LD_IND read the skb (r6) through this hook
      const tmp = rt.mem.map(4, 'kernel', 'ld_abs scratch');
      regions.push(tmp);
      env = { ...env, packetLoad: skbPacketLoad(rt, tmp.base) };
    }
    exe = engine.load({ insns, name: 'test_run' }, env, rt.mem, o.bpfKfuncs ? { bpfKfuncs: o.bpfKfuncs } : {});
    let r0 = 0n;
    const t0 = performance.now();
    for (let i = 0; i < repeat; i++) r0 = exe.run(BigInt(built.ctx));
    const durationNs = ((performance.now() - t0) * 1e6) / repeat;
    const dataOut = pt.kernelCtx === 'xdp_buff' ? xdpBytes(rt, built.ctx) : skbBytes(rt, built.ctx, headStart);
    const ctxOut = pt.kernelCtx === 'xdp_buff' ? xdpCtxOut(kernel, built.ctx) : skbCtxOut(kernel, built.ctx);
    const at = r0 > 0n && r0 < BigInt(rt.mem.byteLength) ? rt.mem.regionAt(Number(r0), 1) : undefined;
    return {
      retval: Number(BigInt.asUintN(32, r0)),
      r0: BigInt.asUintN(64, r0),
      dataOut,
      ctxOut,
      durationNs,
      kernel,
      insns,
      ...(at && { r0Region: `${at.kind} ${at.name}` }),
    };
  } finally {
    exe?.dispose();
    for (const r of regions) rt.mem.unmap(r);
  }
}

// ---- ctx_in / ctx_out (convert___skb_to_skb(), convert_skb_to___skb(), xdp_convert_md_to_buff()) ----
// (without ctx_in the kernel skips convert___skb_to_skb(): cb, wire_len stay 0)

function uoff(k: ModelKernel, st: string, f: string): number {
  return k.rt.L.structs.off(st, f);
}

function applySkbCtxIn(k: ModelKernel, skb: number, ctxIn?: Uint8Array): void {
  if (!ctxIn) return;
  const { L, mem } = k.rt;
  const size = L.structs.sizeof('__sk_buff');
  if (ctxIn.length > size) throw new KfError(`test run: ctx_in of ${ctxIn.length} bytes is larger than struct __sk_buff (${size})`);
  const b = new Uint8Array(size);
  b.set(ctxIn);
  const dv = new DataView(b.buffer);
  const u32 = (f: string): number => dv.getUint32(uoff(k, '__sk_buff', f), true);
  // fields test_run accepts; any other non-zero byte is -EINVAL in the kernel
  const allowed = new Set<number>();
  const allow = (f: string): void => {
    const fl = L.structs.field('__sk_buff', f);
    for (let i = 0; i < fl.size; i++) allowed.add(fl.off + i);
  };
  ['mark', 'priority', 'ingress_ifindex', 'ifindex', 'cb', 'tstamp', 'wire_len', 'gso_segs', 'gso_size', 'hwtstamp'].forEach(allow);
  b.forEach((v, i) => {
    if (v && !allowed.has(i)) throw new KfError(`test run: ctx_in byte ${i} of struct __sk_buff must be zero`);
  });
  st(mem, skb + L.skb.mark, 4, u32('mark'));
  st(mem, skb + L.skb.priority, 4, u32('priority'));
  if (u32('ingress_ifindex')) st(mem, skb + L.skb.skb_iif, 4, u32('ingress_ifindex'));
  if (u32('ifindex')) st(mem, ldPtr(mem, skb + L.skb.dev) + L.dev.ifindex, 4, u32('ifindex'));
  mem.write(skb + L.skb.cb + L.qdiscCb.data, b.subarray(uoff(k, '__sk_buff', 'cb'), uoff(k, '__sk_buff', 'cb') + L.qdiscCb.dataLen));
  st(mem, skb + L.skb.tstamp, 8, dv.getBigUint64(uoff(k, '__sk_buff', 'tstamp'), true));
  // wire_len: 0 means skb->len; else at least skb->len and at most GSO_LEGACY_MAX_SIZE
  const len = ld(mem, skb + L.skb.len, 4);
  const wire = u32('wire_len');
  if (wire && (wire < len || wire > GSO_LEGACY_MAX_SIZE)) throw new KfError(`test run: ctx_in wire_len ${wire} outside [${len}, ${GSO_LEGACY_MAX_SIZE}] (-EINVAL)`);
  st(mem, skb + L.skb.cb + L.qdiscCb.pkt_len, 4, wire || len);
  const segs = u32('gso_segs');
  if (segs > GSO_MAX_SEGS) throw new KfError(`test run: ctx_in gso_segs ${segs} above ${GSO_MAX_SEGS} (-EINVAL)`);
  const sh = k.rt.skb.shinfo(skb);
  st(mem, sh + L.shinfo.gso_segs, 2, segs);
  st(mem, sh + L.shinfo.gso_size, 2, u32('gso_size') & 0xffff);
  if (dv.getBigUint64(uoff(k, '__sk_buff', 'hwtstamp'), true)) throw new KfError('test run: ctx_in hwtstamp (skb_shinfo(skb)->hwtstamps) is not modelled');
}

const GSO_MAX_SEGS = 65535;

const GSO_LEGACY_MAX_SIZE = 65536;

function skbCtxOut(k: ModelKernel, skb: number): Uint8Array {
  const { L, mem } = k.rt;
  const b = new Uint8Array(L.structs.sizeof('__sk_buff'));
  const dv = new DataView(b.buffer);
  const put = (f: string, v: number): void => dv.setUint32(uoff(k, '__sk_buff', f), v >>> 0, true);
  put('len', ld(mem, skb + L.skb.len, 4));
  put('mark', ld(mem, skb + L.skb.mark, 4));
  put('priority', ld(mem, skb + L.skb.priority, 4));
  put('ingress_ifindex', ld(mem, skb + L.skb.skb_iif, 4));
  put('ifindex', ld(mem, ldPtr(mem, skb + L.skb.dev) + L.dev.ifindex, 4));
  put('tc_index', ld(mem, skb + L.skb.tc_index, 2));
  put('tc_classid', ld(mem, skb + L.skb.cb + L.qdiscCb.tc_classid, 2));
  put('wire_len', ld(mem, skb + L.skb.cb + L.qdiscCb.pkt_len, 4));
  const sh = k.rt.skb.shinfo(skb);
  put('gso_segs', ld(mem, sh + L.shinfo.gso_segs, 2));
  put('gso_size', ld(mem, sh + L.shinfo.gso_size, 2));
  b.set(mem.read(skb + L.skb.cb + L.qdiscCb.data, L.qdiscCb.dataLen), uoff(k, '__sk_buff', 'cb'));
  dv.setBigUint64(uoff(k, '__sk_buff', 'tstamp'), mem.load(skb + L.skb.tstamp, 8), true);
  return b;
}

function parseXdpCtxIn(k: ModelKernel, ctxIn: Uint8Array | undefined, len: number): { metaLen?: number; ifindex?: number; rxQueue?: number } {
  if (!ctxIn) return {};
  const size = k.rt.L.structs.sizeof('xdp_md');
  if (ctxIn.length > size) throw new KfError(`test run: ctx_in of ${ctxIn.length} bytes is larger than struct xdp_md (${size})`);
  const b = new Uint8Array(size);
  b.set(ctxIn);
  const dv = new DataView(b.buffer);
  const f = (n: string): number => dv.getUint32(uoff(k, 'xdp_md', n), true);
  // mirrors xdp_convert_md_to_buff(): data_meta must be 0, data the metadata length, data_end the packet length
  if (f('data_meta')) throw new KfError('test run: xdp_md.data_meta of ctx_in must be 0');
  if (f('data_end') && f('data_end') !== len) throw new KfError(`test run: xdp_md.data_end ${f('data_end')} differs from the packet length ${len}`);
  if (f('egress_ifindex')) throw new KfError('test run: xdp_md.egress_ifindex of ctx_in must be 0');
  return { metaLen: f('data'), ifindex: f('ingress_ifindex') || undefined, rxQueue: f('rx_queue_index') };
}

function xdpCtxOut(k: ModelKernel, x: number): Uint8Array {
  const { L, mem } = k.rt;
  const b = new Uint8Array(L.structs.sizeof('xdp_md'));
  const dv = new DataView(b.buffer);
  const meta = ldPtr(mem, x + L.xdp.data_meta);
  const data = ldPtr(mem, x + L.xdp.data);
  const base = meta <= data ? meta : data;
  dv.setUint32(uoff(k, 'xdp_md', 'data'), data - base, true);
  dv.setUint32(uoff(k, 'xdp_md', 'data_end'), ldPtr(mem, x + L.xdp.data_end) - base, true);
  const rxq = ldPtr(mem, x + L.xdp.rxq);
  dv.setUint32(uoff(k, 'xdp_md', 'ingress_ifindex'), ld(mem, ldPtr(mem, rxq + L.rxq.dev) + L.dev.ifindex, 4), true);
  dv.setUint32(uoff(k, 'xdp_md', 'rx_queue_index'), ld(mem, rxq + L.rxq.queue_index, 4), true);
  return b;
}
