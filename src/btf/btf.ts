// class Btf: a parsed BTF blob (optionally split on top of a base). Types are
// decoded lazily from the bytes on first access and cached; parseBtf() has
// already checked every record fits and every reference is in range.

import { KfError } from '../util/errors.js';
import { typeName } from './cdecl.js';
import { NameIndex } from './name-index.js';
import { funcProto, memberOffset, resolveSize, skipModsAndTypedefs, type FuncSignature, type MemberLocation } from './resolve.js';
import { cString } from './strings.js';
import { BTF_KIND_NAMES, BTF_KIND_NUM, type BtfKind, type BtfLinkage, type BtfType } from './types.js';

/** The parsed layout parseBtf() hands to the constructor. */
export interface RawBtf {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  readonly le: boolean;
  readonly base: Btf | undefined;
  /** Id of the first type in these bytes (1, or the base's count). */
  readonly startId: number;
  /** Absolute byte offset of each own type record. */
  readonly offs: Int32Array;
  /** BTF_INFO_KIND of each own type. */
  readonly kinds: Uint8Array;
  readonly strStart: number;
  readonly strLen: number;
  /** String offsets below this belong to the base. */
  readonly strBase: number;
}

const LINKAGE: readonly BtfLinkage[] = ['static', 'global', 'extern'];
const VOID: BtfType = Object.freeze({ id: 0, kind: 'VOID', name: '' });

export class Btf {
  /** The base BTF of split BTF. */
  readonly base: Btf | undefined;
  /** Number of type ids, including void (0) and the base's. */
  readonly count: number;
  /** First id stored in this blob (1 unless split). */
  readonly startId: number;
  /** Byte order of the blob. */
  readonly littleEndian: boolean;
  /** Total string-offset space (base's plus own). */
  readonly strTotal: number;
  private readonly r: RawBtf;
  private readonly cache: (BtfType | undefined)[];
  private readonly strCache = new Map<number, string>();
  private index: NameIndex | undefined;

  /** Use parseBtf(); the constructor trusts its input. */
  constructor(raw: RawBtf) {
    this.r = raw;
    this.base = raw.base;
    this.startId = raw.startId;
    this.count = raw.startId + raw.offs.length;
    this.littleEndian = raw.le;
    this.strTotal = raw.strBase + raw.strLen;
    this.cache = new Array(raw.offs.length);
  }

  /** The string at string-table offset `off` ('' for 0). */
  str(off: number): string {
    if (off < this.r.strBase) return this.base!.str(off);
    let s = this.strCache.get(off);
    if (s === undefined) {
      if (off >= this.strTotal) throw new KfError(`BTF: string offset ${off} beyond the string table (${this.strTotal} bytes)`);
      const start = this.r.strStart + off - this.r.strBase;
      s = cString(this.r.bytes, start, this.r.strStart + this.r.strLen);
      this.strCache.set(off, s);
    }
    return s;
  }

  /** Where the bytes of string `off` live: [bytes, absolute start]. */
  strLocation(off: number): [Uint8Array, number] {
    if (off < this.r.strBase) return this.base!.strLocation(off);
    return [this.r.bytes, this.r.strStart + off - this.r.strBase];
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.count) {
      throw new KfError(`BTF: type id ${id} out of range [0, ${this.count - 1}]`);
    }
  }

  /** BTF_INFO_KIND number of a type (0 for void). */
  kindNum(id: number): number {
    if (id < this.startId) return id === 0 ? 0 : this.base!.kindNum(id);
    return this.r.kinds[id - this.startId];
  }

  /** The kind of a type, or 'VOID' for id 0. */
  kindOf(id: number): BtfKind | 'VOID' {
    this.checkId(id);
    const k = this.kindNum(id);
    return k === 0 ? 'VOID' : (BTF_KIND_NAMES[k] as BtfKind);
  }

  /** Raw name offset of type `id`. */
  nameOffOf(id: number): number {
    if (id < this.startId) return id === 0 ? 0 : this.base!.nameOffOf(id);
    return this.r.dv.getUint32(this.r.offs[id - this.startId], this.r.le);
  }

  /** The name of type `id` ('' when anonymous). */
  nameOf(id: number): string {
    this.checkId(id);
    return this.str(this.nameOffOf(id));
  }

  typeById(id: number): BtfType {
    this.checkId(id);
    if (id < this.startId) return id === 0 ? VOID : this.base!.typeById(id);
    const i = id - this.startId;
    let t = this.cache[i];
    if (!t) {
      t = Object.freeze(this.decode(id, this.r.offs[i], this.r.kinds[i]));
      this.cache[i] = t;
    }
    return t;
  }

  /** All own type ids (startId..count-1). */
  *ids(): Generator<number> {
    for (let id = this.startId; id < this.count; id++) yield id;
  }

  private decode(id: number, p: number, kind: number): BtfType {
    const { dv, le } = this.r;
    const u32 = (o: number): number => dv.getUint32(o, le);
    const name = this.str(u32(p));
    const info = u32(p + 4);
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const st = u32(p + 8); // size or type
    const q = p + 12;
    switch (kind) {
      case 1: {
        const v = u32(q);
        return { id, kind: 'INT', name, size: st, encoding: (v >>> 24) & 0x0f, offset: (v >>> 16) & 0xff, bits: v & 0xff };
      }
      case 2: case 8: case 9: case 10: case 11: case 18:
        return { id, kind: BTF_KIND_NAMES[kind] as 'PTR', name, type: st };
      case 3:
        return { id, kind: 'ARRAY', name, elemType: u32(q), indexType: u32(q + 4), nelems: u32(q + 8) };
      case 4: case 5: {
        const members = new Array(vlen);
        for (let j = 0, o = q; j < vlen; j++, o += 12) {
          const off = u32(o + 8);
          members[j] = Object.freeze({
            name: this.str(u32(o)),
            type: u32(o + 4),
            bitOffset: kflag ? off & 0xffffff : off,
            bitSize: kflag ? off >>> 24 : 0,
          });
        }
        return { id, kind: kind === 4 ? 'STRUCT' : 'UNION', name, size: st, kindFlag: kflag, members: Object.freeze(members) };
      }
      case 6: {
        const values = new Array(vlen);
        for (let j = 0, o = q; j < vlen; j++, o += 8) {
          values[j] = Object.freeze({ name: this.str(u32(o)), value: kflag ? dv.getInt32(o + 4, le) : u32(o + 4) });
        }
        return { id, kind: 'ENUM', name, size: st, signed: kflag, values: Object.freeze(values) };
      }
      case 19: {
        const values = new Array(vlen);
        for (let j = 0, o = q; j < vlen; j++, o += 12) {
          let v = (BigInt(u32(o + 8)) << 32n) | BigInt(u32(o + 4));
          if (kflag) v = BigInt.asIntN(64, v);
          values[j] = Object.freeze({ name: this.str(u32(o)), value: v });
        }
        return { id, kind: 'ENUM64', name, size: st, signed: kflag, values: Object.freeze(values) };
      }
      case 7:
        return { id, kind: 'FWD', name, fwdKind: kflag ? 'union' : 'struct' };
      case 12:
        return { id, kind: 'FUNC', name, type: st, linkage: LINKAGE[vlen] };
      case 13: {
        const params = new Array(vlen);
        for (let j = 0, o = q; j < vlen; j++, o += 8) {
          params[j] = Object.freeze({ name: this.str(u32(o)), type: u32(o + 4) });
        }
        return { id, kind: 'FUNC_PROTO', name, type: st, params: Object.freeze(params) };
      }
      case 14:
        return { id, kind: 'VAR', name, type: st, linkage: LINKAGE[u32(q)] };
      case 15: {
        const vars = new Array(vlen);
        for (let j = 0, o = q; j < vlen; j++, o += 12) {
          vars[j] = Object.freeze({ type: u32(o), offset: u32(o + 4), size: u32(o + 8) });
        }
        return { id, kind: 'DATASEC', name, size: st, vars: Object.freeze(vars) };
      }
      case 16:
        return { id, kind: 'FLOAT', name, size: st };
      case 17:
        return { id, kind: 'DECL_TAG', name, type: st, componentIdx: dv.getInt32(q, le) };
      default:
        throw new KfError(`BTF: type [${id}]: unknown kind ${kind}`);
    }
  }

  /**
   * Mirrors btf_find_by_name_kind(): the lowest id whose kind and name match
   * (base first for split BTF), or -1.
   */
  findByNameKind(name: string, kind: BtfKind): number {
    const k = BTF_KIND_NUM[kind];
    if (k === undefined) throw new KfError(`BTF: unknown kind '${String(kind)}'`);
    if (this.base) {
      const id = this.base.findByNameKind(name, kind);
      if (id >= 0) return id;
    }
    if (!this.index) this.index = new NameIndex(this, this.r.startId, this.r.offs, this.r.kinds, this.r.dv, this.r.le);
    return this.index.find(name, k);
  }

  /** Builds the name index now (findByNameKind() does it on first use). */
  buildIndex(): void {
    this.base?.buildIndex();
    if (!this.index) this.index = new NameIndex(this, this.r.startId, this.r.offs, this.r.kinds, this.r.dv, this.r.le);
  }

  /** Mirrors btf_resolve_size(): size in bytes, arrays multiplied out. */
  resolveSize(id: number): number {
    this.checkId(id);
    return resolveSize(this, id);
  }

  /** Mirrors btf_type_skip_modifiers(): skips const/volatile/restrict/type tags and typedefs. */
  skipModsAndTypedefs(id: number): number {
    this.checkId(id);
    return skipModsAndTypedefs(this, id);
  }

  /** Offset of a member path like 'data' or 'hdr.len' or 'arr[2].x' inside a struct/union. */
  memberOffset(structId: number, path: string): MemberLocation {
    this.checkId(structId);
    return memberOffset(this, structId, path);
  }

  /** Return type and named params of a FUNC (or FUNC_PROTO). */
  funcProto(funcId: number): FuncSignature {
    this.checkId(funcId);
    return funcProto(this, funcId);
  }

  /** C spelling of a type: 'struct sk_buff *', 'const char *', 'int (*)(void *)'. */
  typeName(id: number): string {
    this.checkId(id);
    return typeName(this, id);
  }
}
