// The model's sk_buff operations (net/core/skbuff.c, net/core/filter.c),
// natively: linear head plus page fragments listed in skb_shinfo(skb).

import type { AddressSpace } from '../vm/memory.js';
import { KfError } from '../util/errors.js';
import type { ModelLayout } from './layout.js';
import { ld, ldPtr, memmove, memset, st } from './mem.js';

const EFAULT = 14;
const EINVAL = 22;
const ENOMEM = 12;
const INT_MAX = 0x7fff_ffff;

export interface SkbFrag {
  /** Address of the fragment's bytes (skb_frag_address()). */
  readonly addr: number;
  readonly size: number;
}

export class SkbOps {
  constructor(readonly mem: AddressSpace, readonly L: ModelLayout) {}

  len(skb: number): number {
    return ld(this.mem, skb + this.L.skb.len, 4);
  }
  dataLen(skb: number): number {
    return ld(this.mem, skb + this.L.skb.data_len, 4);
  }
  /** skb_headlen() */
  headlen(skb: number): number {
    return (this.len(skb) - this.dataLen(skb)) >>> 0;
  }
  data(skb: number): number {
    return ldPtr(this.mem, skb + this.L.skb.data);
  }
  /** skb_shinfo(): skb->end (sk_buff_data_t is a pointer in the model). */
  shinfo(skb: number): number {
    return ldPtr(this.mem, skb + this.L.skb.end);
  }
  frags(skb: number): SkbFrag[] {
    return readFrags(this.mem, this.L, this.shinfo(skb));
  }

  /** mirrors skb_copy_bits(): 0 or -EFAULT. `offset`, `len` are C ints. */
  copyBits(skb: number, offset: number, to: number, len: number, pc = -1): number {
    if (len < 0) throw new KfError(`skb_copy_bits: negative length ${len}`);
    let start = this.headlen(skb);
    if (offset > (this.len(skb) | 0) - len) return -EFAULT;
    let copy = start - offset;
    if (copy > 0) {
      if (copy > len) copy = len;
      memmove(this.mem, to, this.data(skb) + offset, copy, pc);
      len -= copy;
      if (len === 0) return 0;
      offset += copy;
      to += copy;
    }
    for (const f of this.frags(skb)) {
      const end = start + f.size;
      copy = end - offset;
      if (copy > 0) {
        if (copy > len) copy = len;
        memmove(this.mem, to, f.addr + offset - start, copy, pc);
        len -= copy;
        if (len === 0) return 0;
        offset += copy;
        to += copy;
      }
      start = end;
    }
    return len === 0 ? 0 : -EFAULT;
  }

  /** mirrors skb_header_pointer(): the address of `len` bytes at `offset`, copying into `buffer` when not linear; 0 on failure. */
  headerPointer(skb: number, offset: number, len: number, buffer: number, pc = -1): number {
    if ((this.headlen(skb) | 0) - offset >= len) return this.data(skb) + offset;
    if (this.copyBits(skb, offset, buffer, len, pc) < 0) return 0;
    return buffer;
  }

  /**
   * mirrors skb_pointer_if_linear(): `skb_headlen(skb) - len >= offset` in
   * unsigned int arithmetic, so a negative offset is rejected (and, as in the
   * kernel, len > headlen wraps around; bpf_dynptr_slice() bounds len first).
   */
  pointerIfLinear(skb: number, offset: number, len: number): number {
    if (((this.headlen(skb) - len) >>> 0) >= offset >>> 0) return this.data(skb) + offset;
    return 0;
  }

  /** mirrors __bpf_skb_load_bytes(): 0, or -EFAULT with `to` zeroed. */
  loadBytes(skb: number, offset: number, to: number, len: number, pc = -1): number {
    if (offset >>> 0 <= INT_MAX) {
      const p = this.headerPointer(skb, offset | 0, len, to, pc);
      if (p) {
        if (p !== to) memmove(this.mem, to, p, len, pc);
        return 0;
      }
    }
    memset(this.mem, to, 0, len, pc);
    return -EFAULT;
  }

  /**
   * mirrors __pskb_pull_tail() for the model: moves `delta` bytes from the
   * fragments into the linear area after tail. The model never reallocates the
   * head: returns false when the tailroom is too small (the kernel would expand it).
   */
  pullTail(skb: number, delta: number): boolean {
    const { mem, L } = this;
    const head = ldPtr(mem, skb + L.skb.head);
    const tail = ldPtr(mem, skb + L.skb.tail) - head;
    const end = ldPtr(mem, skb + L.skb.end) - head;
    if (tail + delta > end) return false;
    const off = this.headlen(skb);
    if (this.copyBits(skb, off, head + tail, delta) < 0) return false;
    // Eat the pulled bytes from the fragments (like the "eat" loop of __pskb_pull_tail()).
    const sh = this.shinfo(skb);
    const frags = this.frags(skb);
    let eat = delta;
    const keep: { page: number; off: number; size: number }[] = [];
    for (let i = 0; i < frags.length; i++) {
      const fa = sh + L.shinfo.frags + i * L.frag.size;
      const page = ldPtr(mem, fa + L.frag.page);
      const foff = ld(mem, fa + L.frag.offset, 4);
      const size = frags[i].size;
      if (size <= eat) {
        eat -= size;
        continue;
      }
      keep.push({ page, off: foff + eat, size: size - eat });
      eat = 0;
    }
    keep.forEach((f, i) => {
      const fa = sh + L.shinfo.frags + i * L.frag.size;
      st(mem, fa + L.frag.page, 8, f.page);
      st(mem, fa + L.frag.offset, 4, f.off);
      st(mem, fa + L.frag.len, 4, f.size);
    });
    st(mem, sh + L.shinfo.nr_frags, 1, keep.length);
    st(mem, skb + L.skb.tail, 8, head + tail + delta);
    st(mem, skb + L.skb.data_len, 4, this.dataLen(skb) - delta);
    return true;
  }

  /** mirrors pskb_may_pull() */
  mayPull(skb: number, len: number): boolean {
    const hl = this.headlen(skb);
    if (len <= hl) return true;
    if (len > this.len(skb)) return false;
    return this.pullTail(skb, len - hl);
  }

  /** mirrors bpf_compute_data_pointers(): data_meta/data_end in skb->cb (struct bpf_skb_data_end). */
  computeDataPointers(skb: number): void {
    const data = this.data(skb);
    const cb = skb + this.L.skb.cb;
    st(this.mem, cb + this.L.skbDataEnd.data_meta, 8, data);
    st(this.mem, cb + this.L.skbDataEnd.data_end, 8, data + this.headlen(skb));
  }

  /** mirrors bpf_try_make_writable(): skb_ensure_writable() (pskb_may_pull) then bpf_compute_data_pointers(). */
  tryMakeWritable(skb: number, writeLen: number): number {
    const ok = this.mayPull(skb, writeLen);
    this.computeDataPointers(skb);
    return ok ? 0 : -ENOMEM;
  }

  /** mirrors __bpf_skb_store_bytes(): pulls the written range into the linear area first. */
  storeBytes(skb: number, offset: number, from: number, len: number, flags: bigint, pc = -1): number {
    if (flags & ~3n) return -EINVAL; // BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH
    if (offset >>> 0 > INT_MAX) return -EFAULT;
    if (this.tryMakeWritable(skb, offset + len)) return -EFAULT;
    memmove(this.mem, this.data(skb) + offset, from, len, pc);
    return 0;
  }
}

/** The fragments listed in an skb_shared_info. */
export function readFrags(mem: AddressSpace, L: ModelLayout, sh: number): SkbFrag[] {
  const n = ld(mem, sh + L.shinfo.nr_frags, 1);
  if (n > L.shinfo.maxFrags) throw new KfError(`skb_shared_info: nr_frags ${n} exceeds ${L.shinfo.maxFrags}`);
  const out: SkbFrag[] = [];
  for (let i = 0; i < n; i++) {
    const fa = sh + L.shinfo.frags + i * L.frag.size;
    out.push({ addr: ldPtr(mem, fa + L.frag.page) + ld(mem, fa + L.frag.offset, 4), size: ld(mem, fa + L.frag.len, 4) });
  }
  return out;
}
