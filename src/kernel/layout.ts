// Struct layouts of the model kernel, read from the model's BTF
// (kernel/build/model.o's .BTF, the model "vmlinux"). Native helpers, ctx
// conversion and test-run use these offsets, so they never disagree with the
// C headers that the inlinable kfunc bodies are compiled against.
//
// The object bytes are passed in (no node:fs here); modelLayout() without
// arguments uses the copy embedded in model-blob.ts.

import { Btf } from '../btf/btf.js';
import { parseBtf } from '../btf/parse.js';
import { parseElf } from '../elf/reader.js';
import { KfError, withContext } from '../util/errors.js';
import { modelObject } from './model-blob.js';

/** A member's place: byte offset and byte size; bitfields also carry bit position/width within `size` bytes at `off`. */
export interface Field {
  readonly off: number;
  readonly size: number;
  /** Bit position of a bitfield inside the `size`-byte unit at `off` (0 otherwise). */
  readonly bitShift: number;
  /** Width of a bitfield (0: not a bitfield). */
  readonly bitSize: number;
}

/** The .BTF of a BPF object file (the model kernel's vmlinux). */
export function modelBtfFromObject(obj: Uint8Array): Btf {
  return withContext('model kernel object', () => {
    const elf = parseElf(obj);
    const sec = elf.sectionByName('.BTF');
    if (!sec) throw new KfError('no .BTF section (was it built with clang -g?)');
    return parseBtf(sec.data);
  });
}

/** Layout lookups by name over one BTF. */
export class StructLayouts {
  constructor(readonly btf: Btf) {}

  structId(name: string): number {
    const id = this.btf.findByNameKind(name, 'STRUCT');
    if (id < 0) throw new KfError(`model BTF has no struct ${name}`);
    return id;
  }

  sizeof(name: string): number {
    return this.btf.resolveSize(this.structId(name));
  }

  /** `field('sk_buff', 'len')`, `field('skb_shared_info', 'frags[1].len')`. */
  field(struct: string, path: string): Field {
    const loc = withContext(`struct ${struct}`, () => this.btf.memberOffset(this.structId(struct), path));
    if (loc.bitSize) {
      // A bitfield: report the byte that holds it when it fits in one, else its 4-byte unit.
      const byte = Math.floor(loc.bitOffset / 8);
      const shift = loc.bitOffset % 8;
      if (shift + loc.bitSize <= 8) return { off: byte, size: 1, bitShift: shift, bitSize: loc.bitSize };
      const w = Math.floor(loc.bitOffset / 32) * 4;
      return { off: w, size: 4, bitShift: loc.bitOffset - w * 8, bitSize: loc.bitSize };
    }
    if (loc.bitOffset % 8) throw new KfError(`struct ${struct}: member ${path} is not byte aligned`);
    return { off: loc.bitOffset / 8, size: this.btf.resolveSize(loc.type), bitShift: 0, bitSize: 0 };
  }

  off(struct: string, path: string): number {
    return this.field(struct, path).off;
  }

  /** The BTF id of a FUNC (kfunc, helper or internal function), or -1. */
  funcId(name: string): number {
    return this.btf.findByNameKind(name, 'FUNC');
  }
}

/** The offsets native code needs, resolved once. */
export interface ModelLayout {
  readonly structs: StructLayouts;
  readonly skb: {
    size: number; dev: number; cb: number; len: number; data_len: number; queue_mapping: number;
    pkt_type: Field; tc_index: number; protocol: number; vlan_proto: number; vlan_tci: number; vlan_all: number;
    priority: number; skb_iif: number; hash: number; mark: number; napi_id: number; tstamp: number;
    tail: number; end: number; head: number; data: number; truesize: number;
  };
  readonly shinfo: { size: number; nr_frags: number; gso_size: number; gso_segs: number; hwtstamp: number; xdp_frags_size: number; frags: number; maxFrags: number };
  readonly frag: { size: number; page: number; len: number; offset: number };
  readonly qdiscCb: { pkt_len: number; tc_classid: number; data: number; dataLen: number };
  /** struct bpf_skb_data_end, which lives in skb->cb. */
  readonly skbDataEnd: { data_meta: number; data_end: number };
  readonly dev: { size: number; ifindex: number };
  readonly xdp: { size: number; data: number; data_end: number; data_meta: number; data_hard_start: number; rxq: number; txq: number; frame_sz: number; flags: number };
  readonly rxq: { size: number; dev: number; queue_index: number };
  readonly txq: { size: number; dev: number };
  readonly xdpFrameSize: number;
  readonly dynptr: { size: number; data: number; sizeField: number; offset: number };
  readonly iterNum: { size: number; cur: number; end: number };
  readonly map: { size: number; map_type: number; key_size: number; value_size: number; max_entries: number; map_flags: number; id: number };
  readonly array: { size: number; elem_size: number; index_mask: number; value: number; pptrs: number; nr_cpus: number };
  readonly htab: { size: number; buckets: number; elems: number; n_buckets: number; elem_size: number; count: number };
  readonly htabElem: { size: number; next: number; pprev: number; hash: number; key: number };
  readonly bucket: { size: number; first: number };
}

/** Reads every offset the model kernel uses from `btf`. Throws KfError naming a missing struct/member. */
export function buildLayout(btf: Btf): ModelLayout {
  const s = new StructLayouts(btf);
  const o = (st: string, p: string): number => s.off(st, p);
  const arr = (st: string, p: string): number => {
    const loc = btf.memberOffset(s.structId(st), p);
    const t = btf.typeById(btf.skipModsAndTypedefs(loc.type));
    if (t.kind !== 'ARRAY') throw new KfError(`struct ${st}: member ${p} is not an array`);
    return t.nelems;
  };
  return {
    structs: s,
    skb: {
      size: s.sizeof('sk_buff'), dev: o('sk_buff', 'dev'), cb: o('sk_buff', 'cb'), len: o('sk_buff', 'len'),
      data_len: o('sk_buff', 'data_len'), queue_mapping: o('sk_buff', 'queue_mapping'), pkt_type: s.field('sk_buff', 'pkt_type'),
      tc_index: o('sk_buff', 'tc_index'), protocol: o('sk_buff', 'protocol'), vlan_proto: o('sk_buff', 'vlan_proto'),
      vlan_tci: o('sk_buff', 'vlan_tci'), vlan_all: o('sk_buff', 'vlan_all'), priority: o('sk_buff', 'priority'),
      skb_iif: o('sk_buff', 'skb_iif'), hash: o('sk_buff', 'hash'), mark: o('sk_buff', 'mark'), napi_id: o('sk_buff', 'napi_id'),
      tstamp: o('sk_buff', 'tstamp'), tail: o('sk_buff', 'tail'), end: o('sk_buff', 'end'), head: o('sk_buff', 'head'),
      data: o('sk_buff', 'data'), truesize: o('sk_buff', 'truesize'),
    },
    shinfo: {
      size: s.sizeof('skb_shared_info'), nr_frags: o('skb_shared_info', 'nr_frags'),
      gso_size: o('skb_shared_info', 'gso_size'), gso_segs: o('skb_shared_info', 'gso_segs'),
      hwtstamp: o('skb_shared_info', 'hwtstamps.hwtstamp'),
      xdp_frags_size: o('skb_shared_info', 'xdp_frags_size'), frags: o('skb_shared_info', 'frags'),
      maxFrags: arr('skb_shared_info', 'frags'),
    },
    frag: { size: s.sizeof('skb_frag'), page: o('skb_frag', 'page'), len: o('skb_frag', 'len'), offset: o('skb_frag', 'offset') },
    qdiscCb: { pkt_len: o('qdisc_skb_cb', 'pkt_len'), tc_classid: o('qdisc_skb_cb', 'tc_classid'), data: o('qdisc_skb_cb', 'data'), dataLen: arr('qdisc_skb_cb', 'data') },
    skbDataEnd: { data_meta: o('bpf_skb_data_end', 'data_meta'), data_end: o('bpf_skb_data_end', 'data_end') },
    dev: { size: s.sizeof('net_device'), ifindex: o('net_device', 'ifindex') },
    xdp: {
      size: s.sizeof('xdp_buff'), data: o('xdp_buff', 'data'), data_end: o('xdp_buff', 'data_end'),
      data_meta: o('xdp_buff', 'data_meta'), data_hard_start: o('xdp_buff', 'data_hard_start'), rxq: o('xdp_buff', 'rxq'),
      txq: o('xdp_buff', 'txq'), frame_sz: o('xdp_buff', 'frame_sz'), flags: o('xdp_buff', 'flags'),
    },
    rxq: { size: s.sizeof('xdp_rxq_info'), dev: o('xdp_rxq_info', 'dev'), queue_index: o('xdp_rxq_info', 'queue_index') },
    txq: { size: s.sizeof('xdp_txq_info'), dev: o('xdp_txq_info', 'dev') },
    xdpFrameSize: s.sizeof('xdp_frame'),
    dynptr: { size: s.sizeof('bpf_dynptr_kern'), data: o('bpf_dynptr_kern', 'data'), sizeField: o('bpf_dynptr_kern', 'size'), offset: o('bpf_dynptr_kern', 'offset') },
    iterNum: { size: s.sizeof('bpf_iter_num_kern'), cur: o('bpf_iter_num_kern', 'cur'), end: o('bpf_iter_num_kern', 'end') },
    map: {
      size: s.sizeof('bpf_map'), map_type: o('bpf_map', 'map_type'), key_size: o('bpf_map', 'key_size'),
      value_size: o('bpf_map', 'value_size'), max_entries: o('bpf_map', 'max_entries'), map_flags: o('bpf_map', 'map_flags'), id: o('bpf_map', 'id'),
    },
    array: {
      size: s.sizeof('bpf_array'), elem_size: o('bpf_array', 'elem_size'), index_mask: o('bpf_array', 'index_mask'),
      value: o('bpf_array', 'value'), pptrs: o('bpf_array', 'pptrs'), nr_cpus: o('bpf_array', 'nr_cpus'),
    },
    htab: {
      size: s.sizeof('bpf_htab'), buckets: o('bpf_htab', 'buckets'), elems: o('bpf_htab', 'elems'),
      n_buckets: o('bpf_htab', 'n_buckets'), elem_size: o('bpf_htab', 'elem_size'), count: o('bpf_htab', 'count'),
    },
    htabElem: {
      size: s.sizeof('htab_elem'), next: o('htab_elem', 'hash_node.next'), pprev: o('htab_elem', 'hash_node.pprev'),
      hash: o('htab_elem', 'hash'), key: o('htab_elem', 'key'),
    },
    bucket: { size: s.sizeof('bucket'), first: o('bucket', 'head.first') },
  };
}

let cached: ModelLayout | undefined;

/** The layout of the model kernel: from `obj` (a model.o) or, by default, from the embedded copy. */
export function modelLayout(obj?: Uint8Array): ModelLayout {
  if (obj) return buildLayout(modelBtfFromObject(obj));
  cached ??= buildLayout(modelBtfFromObject(modelObject()));
  return cached;
}
