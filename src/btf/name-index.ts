// A hash index from (name bytes) to type ids, built without decoding any
// string: chains are hashed over the raw NUL-terminated bytes of the string
// section and compared byte-wise on lookup. Chains are kept in ascending id
// order so the first match is btf_find_by_name_kind()'s answer.

import type { Btf } from './btf.js';
import { cStringEquals, hashBytes, hashCString, utf8 } from './strings.js';

export class NameIndex {
  private readonly heads: Int32Array;
  private readonly next: Int32Array;
  private readonly mask: number;
  private readonly nameOffs: Uint32Array;
  constructor(
    private readonly btf: Btf,
    private readonly startId: number,
    offs: Int32Array,
    private readonly kinds: Uint8Array,
    dv: DataView,
    le: boolean,
  ) {
    const n = offs.length;
    let size = 16;
    while (size < n * 2) size *= 2;
    this.mask = size - 1;
    this.heads = new Int32Array(size).fill(-1);
    this.next = new Int32Array(n);
    this.nameOffs = new Uint32Array(n);
    const [own, ownStart] = btf.strLocation(btf.strTotal - 1);
    const ownBase = ownStart - (btf.strTotal - 1);
    const baseStrs = btf.base?.strTotal ?? 0;
    // Insert in descending order so each chain ends up ascending.
    for (let i = n - 1; i >= 0; i--) {
      const off = dv.getUint32(offs[i], le);
      this.nameOffs[i] = off;
      let h: number;
      if (off >= baseStrs) h = hashCString(own, ownBase + off) & this.mask;
      else {
        const [bytes, start] = btf.strLocation(off);
        h = hashCString(bytes, start) & this.mask;
      }
      this.next[i] = this.heads[h];
      this.heads[h] = i;
    }
  }

  /** Lowest own id with this name and kind number, or -1. */
  find(name: string, kind: number): number {
    const q = utf8(name);
    for (let i = this.heads[hashBytes(q) & this.mask]; i >= 0; i = this.next[i]) {
      if (this.kinds[i] !== kind) continue;
      const [bytes, start] = this.btf.strLocation(this.nameOffs[i]);
      if (cStringEquals(bytes, start, q)) return this.startId + i;
    }
    return -1;
  }
}
