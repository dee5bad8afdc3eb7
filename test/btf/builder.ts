// A tiny raw-BTF writer for tests: builds type and string sections by hand so
// tests can make split BTF and malformed BTF.

export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly strs: number[];
  private readonly strIdx = new Map<string, number>();
  /** Id the next added type gets. */
  nextId: number;

  /**
   * @param startId 1, or the base's count for split BTF
   * @param strBase the base's string-section length for split BTF (0 otherwise)
   */
  constructor(startId = 1, private readonly strBase = 0) {
    this.nextId = startId;
    this.strs = strBase ? [] : [0];
    if (!strBase) this.strIdx.set('', 0);
  }

  /** Offset of `s` in the (combined) string table, adding it if new. */
  str(s: string): number {
    let off = this.strIdx.get(s);
    if (off === undefined) {
      off = this.strBase + this.strs.length;
      this.strs.push(...new TextEncoder().encode(s), 0);
      this.strIdx.set(s, off);
    }
    return off;
  }

  /** Adds a raw type: name, kind number, vlen, kflag, size/type, then extra u32 words. */
  type(name: string | number, kind: number, vlen: number, kflag: boolean, sizeOrType: number, extra: number[] = []): number {
    const nameOff = typeof name === 'number' ? name : this.str(name);
    this.words.push(nameOff, ((kflag ? 1 : 0) << 31) | (kind << 24) | vlen, sizeOrType, ...extra);
    return this.nextId++;
  }

  int(name: string, size: number, signed = false): number {
    return this.type(name, 1, 0, false, size, [((signed ? 1 : 0) << 24) | (size * 8)]);
  }
  ptr(to: number): number { return this.type(0, 2, 0, false, to); }
  typedef(name: string, to: number): number { return this.type(name, 8, 0, false, to); }
  const(to: number): number { return this.type(0, 10, 0, false, to); }
  array(elem: number, index: number, n: number): number { return this.type(0, 3, 0, false, 0, [elem, index, n]); }
  struct(name: string, size: number, members: [string, number, number][]): number {
    const extra = members.flatMap(([n, t, off]) => [this.str(n), t, off]);
    return this.type(name, 4, members.length, false, size, extra);
  }
  funcProto(ret: number, params: [string, number][]): number {
    return this.type(0, 13, params.length, false, ret, params.flatMap(([n, t]) => [this.str(n), t]));
  }
  func(name: string, proto: number, linkage = 1): number { return this.type(name, 12, linkage, false, proto); }

  /** The BTF blob, little endian unless `le` is false. */
  build(le = true): Uint8Array {
    const typeLen = this.words.length * 4;
    const strLen = this.strs.length;
    const out = new Uint8Array(24 + typeLen + strLen);
    const dv = new DataView(out.buffer);
    dv.setUint16(0, 0xeb9f, le);
    out[2] = 1;
    dv.setUint32(4, 24, le);
    dv.setUint32(8, 0, le);
    dv.setUint32(12, typeLen, le);
    dv.setUint32(16, typeLen, le);
    dv.setUint32(20, strLen, le);
    this.words.forEach((w, i) => dv.setUint32(24 + i * 4, w >>> 0, le));
    out.set(this.strs, 24 + typeLen);
    return out;
  }
}
