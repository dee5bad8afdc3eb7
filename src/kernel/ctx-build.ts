// Builds the kernel objects a program run needs in the AddressSpace, like
// bpf_prog_test_run_skb() / bpf_prog_test_run_xdp() (net/bpf/test_run.c):
// an sk_buff with linear head and optional page fragments, or an xdp_buff
// with optional multi-buffer fragments, plus their net_device / rxq.

import type { Region } from '../vm/memory.js';
import { KfError } from '../util/errors.js';
import { ld, ldPtr, st } from './mem.js';
import type { KernelRuntime } from './runtime.js';
import { readFrags } from './skb.js';

/** NET_SKB_PAD + NET_IP_ALIGN as test_run uses for skbs; XDP_PACKET_HEADROOM for xdp. */
export const SKB_HEADROOM = 64 + 2;
export const XDP_PACKET_HEADROOM = 256;
export const ETH_HLEN = 14;
export const LOOPBACK_IFINDEX = 1;

export interface PacketLayout {
  /** Bytes in the linear area (default: all). */
  linearLen?: number;
  /** Sizes of the page fragments holding the rest (default: one fragment). */
  frags?: number[];
}

export interface BuiltCtx {
  /** Address of the sk_buff or xdp_buff (the program's r1). */
  readonly ctx: number;
  readonly regions: Region[];
}

function split(total: number, p: PacketLayout, maxFrags: number, what: string): { linear: number; frags: number[] } {
  const linear = p.linearLen ?? total;
  if (!Number.isInteger(linear) || linear < 0 || linear > total) throw new KfError(`${what}: linear length ${linear} outside [0, ${total}]`);
  const rest = total - linear;
  const frags = p.frags ?? (rest ? [rest] : []);
  const sum = frags.reduce((a, b) => a + b, 0);
  if (frags.some((f) => !Number.isInteger(f) || f <= 0) || sum !== rest) {
    throw new KfError(`${what}: fragment sizes [${frags.join(', ')}] must be positive and add up to ${rest} non-linear bytes`);
  }
  if (frags.length > maxFrags) throw new KfError(`${what}: ${frags.length} fragments, at most ${maxFrags}`);
  return { linear, frags };
}

function mapFrags(rt: KernelRuntime, sh: number, data: Uint8Array, from: number, frags: number[], regions: Region[]): void {
  const { L, mem } = rt;
  let off = from;
  frags.forEach((size, i) => {
    // a "page" with the fragment at a non-zero offset, like a real frag
    const pg = mem.map(size + 16, 'packet', `frag ${i}`);
    regions.push(pg);
    mem.write(pg.base + 16, data.subarray(off, off + size));
    const fa = sh + L.shinfo.frags + i * L.frag.size;
    st(mem, fa + L.frag.page, 8, pg.base);
    st(mem, fa + L.frag.offset, 4, 16);
    st(mem, fa + L.frag.len, 4, size);
    off += size;
  });
  st(mem, sh + L.shinfo.nr_frags, 1, frags.length);
}

export interface SkbOptions extends PacketLayout {
  /** Ethernet header pulled (socket filter) or not (tc: the program sees L2). */
  l2: boolean;
  ifindex?: number;
}

/** The packet type eth_type_trans() gives a frame received on a zero-MAC device. */
function pktType(data: Uint8Array): number {
  if (data.length < 6) return 0;
  const dst = data.subarray(0, 6);
  if (dst.every((b) => b === 0xff)) return 1; // PACKET_BROADCAST
  if (dst[0] & 1) return 2; // PACKET_MULTICAST
  return dst.every((b) => b === 0) ? 0 : 3; // PACKET_HOST : PACKET_OTHERHOST
}

/** mirrors bpf_prog_test_run_skb()'s skb setup (build_skb, eth_type_trans, bpf_compute_data_pointers). */
export function buildSkb(rt: KernelRuntime, data: Uint8Array, o: SkbOptions): BuiltCtx {
  const { L, mem } = rt;
  if (data.length < ETH_HLEN) throw new KfError(`skb test run: packet of ${data.length} bytes is shorter than an Ethernet header (${ETH_HLEN})`);
  const { linear, frags } = split(data.length, o, L.shinfo.maxFrags, 'skb test run');
  if (linear < ETH_HLEN) throw new KfError(`skb test run: linear part of ${linear} bytes cannot hold the Ethernet header`);
  const regions: Region[] = [];
  const dev = mem.map(L.dev.size, 'kernel', 'net_device');
  regions.push(dev);
  st(mem, dev.base + L.dev.ifindex, 4, o.ifindex ?? LOOPBACK_IFINDEX);
  // head: headroom | linear data | tailroom (room to pull all fragments) | skb_shared_info
  const end = (SKB_HEADROOM + data.length + 7) & ~7;
  const head = mem.map(end + L.shinfo.size, 'packet', 'skb head');
  regions.push(head);
  mem.write(head.base + SKB_HEADROOM, data.subarray(0, linear));
  const skbR = mem.map(L.skb.size, 'ctx', 'sk_buff');
  regions.push(skbR);
  const skb = skbR.base;
  mapFrags(rt, head.base + end, data, linear, frags, regions);
  const S = L.skb;
  st(mem, skb + S.dev, 8, dev.base);
  st(mem, skb + S.head, 8, head.base);
  st(mem, skb + S.end, 8, head.base + end);
  st(mem, skb + S.tail, 8, head.base + SKB_HEADROOM + linear);
  const pull = o.l2 ? 0 : ETH_HLEN; // eth_type_trans() pulls the MAC header; tc pushes it back
  st(mem, skb + S.data, 8, head.base + SKB_HEADROOM + pull);
  st(mem, skb + S.len, 4, data.length - pull);
  st(mem, skb + S.data_len, 4, data.length - linear);
  st(mem, skb + S.protocol, 2, data[12] | (data[13] << 8)); // __be16 kept in network order
  const pt = S.pkt_type;
  const byte = ld(mem, skb + pt.off, 1);
  st(mem, skb + pt.off, 1, (byte & ~(((1 << pt.bitSize) - 1) << pt.bitShift)) | (pktType(data) << pt.bitShift));
  st(mem, skb + S.skb_iif, 4, o.ifindex ?? LOOPBACK_IFINDEX);
  st(mem, skb + S.truesize, 4, end + L.shinfo.size);
  computeDataPointers(rt, skb);
  return { ctx: skb, regions };
}

/** mirrors bpf_compute_data_pointers(): data_meta/data_end in skb->cb. */
export function computeDataPointers(rt: KernelRuntime, skb: number): void {
  rt.skb.computeDataPointers(skb);
}

/** The whole packet of an skb (linear + fragments), from `from` (an address at or before data). */
export function skbBytes(rt: KernelRuntime, skb: number, from?: number): Uint8Array {
  const data = rt.skb.data(skb);
  const start = from ?? data;
  const lin = rt.mem.read(start, data - start + rt.skb.headlen(skb));
  const parts = [lin, ...rt.skb.frags(skb).map((f) => rt.mem.read(f.addr, f.size))];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface XdpOptions extends PacketLayout {
  ifindex?: number;
  rxQueue?: number;
  /** Bytes of metadata before data (xdp_md.data_meta of ctx_in). */
  metaLen?: number;
}

/** mirrors bpf_prog_test_run_xdp()'s xdp_buff setup (xdp_init_buff, xdp_prepare_buff, frags). */
export function buildXdp(rt: KernelRuntime, data: Uint8Array, o: XdpOptions = {}): BuiltCtx {
  const { L, mem } = rt;
  const { linear, frags } = split(data.length, o, L.shinfo.maxFrags, 'xdp test run');
  const meta = o.metaLen ?? 0;
  if (!Number.isInteger(meta) || meta < 0 || meta > linear || meta % 4) throw new KfError(`xdp test run: bad metadata length ${meta}`);
  const regions: Region[] = [];
  const dev = mem.map(L.dev.size, 'kernel', 'net_device');
  st(mem, dev.base + L.dev.ifindex, 4, o.ifindex ?? LOOPBACK_IFINDEX);
  const rxq = mem.map(L.rxq.size, 'kernel', 'xdp_rxq_info');
  st(mem, rxq.base + L.rxq.dev, 8, dev.base);
  st(mem, rxq.base + L.rxq.queue_index, 4, o.rxQueue ?? 0);
  const txq = mem.map(L.txq.size, 'kernel', 'xdp_txq_info');
  st(mem, txq.base + L.txq.dev, 8, dev.base);
  regions.push(dev, rxq, txq);
  // frame: headroom | data | skb_shared_info  (frame_sz covers it all)
  const frameSz = (XDP_PACKET_HEADROOM + linear + 7 + L.shinfo.size) & ~7;
  const frame = mem.map(frameSz, 'packet', 'xdp frame');
  regions.push(frame);
  const xr = mem.map(L.xdp.size, 'ctx', 'xdp_buff');
  regions.push(xr);
  const x = xr.base;
  const hard = frame.base;
  const d = hard + XDP_PACKET_HEADROOM;
  // the first `meta` bytes of the input are metadata (ctx_in data_meta = 0, data = meta)
  mem.write(d, data.subarray(0, linear));
  const X = L.xdp;
  st(mem, x + X.data_hard_start, 8, hard);
  st(mem, x + X.data_meta, 8, d);
  st(mem, x + X.data, 8, d + meta);
  st(mem, x + X.data_end, 8, d + linear);
  st(mem, x + X.rxq, 8, rxq.base);
  st(mem, x + X.txq, 8, txq.base);
  st(mem, x + X.frame_sz, 4, frameSz);
  const sh = hard + frameSz - L.shinfo.size;
  if (frags.length) {
    st(mem, x + X.flags, 4, 1); // XDP_FLAGS_HAS_FRAGS
    mapFrags(rt, sh, data, linear, frags, regions);
    st(mem, sh + L.shinfo.xdp_frags_size, 4, data.length - linear);
  }
  return { ctx: x, regions };
}

/** The packet of an xdp_buff from data_meta on, fragments included (what test_run copies out). */
export function xdpBytes(rt: KernelRuntime, x: number): Uint8Array {
  const { L, mem } = rt;
  const meta = ldPtr(mem, x + L.xdp.data_meta);
  const data = rt.xdp.data(x);
  const start = meta <= data ? meta : data;
  const lin = mem.read(start, rt.xdp.dataEnd(x) - start);
  const parts = [lin, ...(rt.xdp.hasFrags(x) ? readFrags(mem, L, rt.xdp.shinfo(x)).map((f) => mem.read(f.addr, f.size)) : [])];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
