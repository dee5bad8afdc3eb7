// The model's xdp_buff operations (net/core/filter.c, include/net/xdp.h),
// natively, multi-buffer included.

import type { AddressSpace } from '../vm/memory.js';
import { ld, ldPtr, memmove, st } from './mem.js';
import type { ModelLayout } from './layout.js';
import { readFrags, type SkbFrag } from './skb.js';

const EFAULT = 14;
const EINVAL = 22;
const ETH_HLEN = 14;
const XDP_FLAGS_HAS_FRAGS = 1;

/** XdpOps.pointerAddr() for NULL (distinct from any address and any -errno). */
export const XDP_NULL = -0x1_0000_0000;

/** What bpf_xdp_pointer() returns. */
export type XdpPointer = { kind: 'ptr'; addr: number } | { kind: 'null' } | { kind: 'err'; errno: number };

export class XdpOps {
  constructor(readonly mem: AddressSpace, readonly L: ModelLayout) {}

  data(x: number): number {
    return ldPtr(this.mem, x + this.L.xdp.data);
  }
  dataEnd(x: number): number {
    return ldPtr(this.mem, x + this.L.xdp.data_end);
  }
  hasFrags(x: number): boolean {
    return (ld(this.mem, x + this.L.xdp.flags, 4) & XDP_FLAGS_HAS_FRAGS) !== 0;
  }
  /** xdp_get_shared_info_from_buff(): data_hard_start + frame_sz - sizeof(skb_shared_info). */
  shinfo(x: number): number {
    return ldPtr(this.mem, x + this.L.xdp.data_hard_start) + ld(this.mem, x + this.L.xdp.frame_sz, 4) - this.L.shinfo.size;
  }
  frags(x: number): SkbFrag[] {
    return this.hasFrags(x) ? readFrags(this.mem, this.L, this.shinfo(x)) : [];
  }
  /** xdp_get_buff_len() */
  buffLen(x: number): number {
    const len = this.dataEnd(x) - this.data(x);
    if (!this.hasFrags(x)) return len;
    return len + ld(this.mem, this.shinfo(x) + this.L.shinfo.xdp_frags_size, 4);
  }

  /** mirrors bpf_xdp_pointer(): offset/len are u32. */
  pointer(x: number, offset: number, len: number): XdpPointer {
    const a = this.pointerAddr(x, offset, len);
    return a >= 0 ? { kind: 'ptr', addr: a } : a === XDP_NULL ? { kind: 'null' } : { kind: 'err', errno: -a };
  }

  /** pointer() as one number, without allocating: the address (>= 0), XDP_NULL, or -errno. */
  pointerAddr(x: number, offset: number, len: number): number {
    let size = this.dataEnd(x) - this.data(x);
    let a = this.data(x);
    if (offset > 0xffff || len > 0xffff) return -EFAULT;
    if (offset + len > this.buffLen(x)) return -EINVAL;
    if (offset >= size) {
      offset -= size;
      for (const f of readFrags(this.mem, this.L, this.shinfo(x))) {
        if (offset < f.size) {
          a = f.addr;
          size = f.size;
          break;
        }
        offset -= f.size;
      }
    }
    return offset + len <= size ? a + offset : XDP_NULL;
  }

  /** mirrors bpf_xdp_copy_buf(): copies between the (possibly fragmented) packet and buf; flush = buf → packet. */
  copyBuf(x: number, off: number, buf: number, len: number, flush: boolean, pc = -1): void {
    const mv = (pkt: number, n: number): void => {
      if (flush) memmove(this.mem, pkt, buf, n, pc);
      else memmove(this.mem, buf, pkt, n, pc);
    };
    const linear = this.dataEnd(x) - this.data(x);
    if (linear >= off + len) {
      mv(this.data(x) + off, len);
      return;
    }
    const frags = readFrags(this.mem, this.L, this.shinfo(x));
    let next = 0;
    let ptrOff = 0;
    let ptrLen = linear;
    let ptrBuf = this.data(x);
    for (;;) {
      if (off < ptrOff + ptrLen) {
        const copyOff = off - ptrOff;
        const copyLen = Math.min(len, ptrLen - copyOff);
        mv(ptrBuf + copyOff, copyLen);
        off += copyLen;
        len -= copyLen;
        buf += copyLen;
      }
      if (!len || next === frags.length) break;
      ptrOff += ptrLen;
      ptrBuf = frags[next].addr;
      ptrLen = frags[next].size;
      next++;
    }
  }

  /** mirrors __bpf_xdp_load_bytes() / __bpf_xdp_store_bytes(): 0 or -errno. */
  loadStoreBytes(x: number, offset: number, buf: number, len: number, store: boolean, pc = -1): number {
    const p = this.pointerAddr(x, offset, len);
    if (p === XDP_NULL) this.copyBuf(x, offset, buf, len, store, pc);
    else if (p < 0) return p;
    else if (store) memmove(this.mem, p, buf, len, pc);
    else memmove(this.mem, buf, p, len, pc);
    return 0;
  }

  /** mirrors bpf_xdp_adjust_head() */
  adjustHead(x: number, offset: number): number {
    const { mem, L } = this;
    const hard = ldPtr(mem, x + L.xdp.data_hard_start);
    const data = this.data(x);
    const meta = ldPtr(mem, x + L.xdp.data_meta);
    const metalen = meta > data ? 0 : data - meta; // xdp_get_metalen(): 0 when meta is unsupported
    const dataStart = hard + L.xdpFrameSize + metalen;
    const nd = data + offset;
    if (nd < dataStart || nd > this.dataEnd(x) - ETH_HLEN) return -EINVAL;
    if (metalen) memmove(mem, meta + offset, meta, metalen);
    st(mem, x + L.xdp.data_meta, 8, meta + offset);
    st(mem, x + L.xdp.data, 8, nd);
    return 0;
  }
}
