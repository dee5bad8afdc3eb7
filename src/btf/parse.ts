// parseBtf(): header, type and string sections of raw BTF, with the checks of
// the kernel's btf_parse_hdr() / btf_check_all_metas() / btf_parse_str_sec()
// that make later lookups safe: every record fits, every name offset is in
// the string table, every referenced type id exists.

import { KfError } from '../util/errors.js';
import { Btf, type RawBtf } from './btf.js';
import { BTF_KIND_MAX, BTF_KIND_NAMES } from './types.js';

export const BTF_MAGIC = 0xeb9f;
const HDR_LEN = 24;
/** BTF_MAX_TYPE */
const MAX_TYPES = 0xfffff;

/** Bytes that follow the 12-byte struct btf_type for a kind (btf_type_size()). */
export function btfExtraSize(kind: number, vlen: number): number {
  switch (kind) {
    case 1: return 4; // INT
    case 3: return 12; // ARRAY
    case 4: case 5: return vlen * 12; // STRUCT, UNION: btf_member
    case 6: return vlen * 8; // ENUM: btf_enum
    case 13: return vlen * 8; // FUNC_PROTO: btf_param
    case 14: return 4; // VAR
    case 15: return vlen * 12; // DATASEC: btf_var_secinfo
    case 17: return 4; // DECL_TAG
    case 19: return vlen * 12; // ENUM64
    default: return 0;
  }
}

/** Byte order from the magic at `off` (true: little endian). Throws if neither. */
export function btfByteOrder(bytes: Uint8Array, off: number, what: string): boolean {
  if (bytes.length < off + 2) throw new KfError(`${what}: ${bytes.length - off} bytes, too short for the magic`);
  const b0 = bytes[off];
  const b1 = bytes[off + 1];
  if (b0 === 0x9f && b1 === 0xeb) return true;
  if (b0 === 0xeb && b1 === 0x9f) return false;
  throw new KfError(`${what}: bad magic 0x${((b1 << 8) | b0).toString(16).padStart(4, '0')} (want 0xeb9f in either byte order)`);
}

/**
 * Parses raw BTF (a .BTF section or /sys/kernel/btf/<name>). With `base`, the
 * bytes are split BTF: ids continue after the base's last id and string
 * offsets after the base's string section.
 */
export function parseBtf(bytes: Uint8Array, base?: Btf): Btf {
  const le = btfByteOrder(bytes, 0, 'BTF: header');
  if (bytes.length < HDR_LEN) throw new KfError(`BTF: header: ${bytes.length} bytes, need at least ${HDR_LEN}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[2];
  if (version !== 1) throw new KfError(`BTF: header: unsupported version ${version}`);
  const hdrLen = dv.getUint32(4, le);
  if (hdrLen < HDR_LEN || hdrLen > bytes.length) {
    throw new KfError(`BTF: header: hdr_len ${hdrLen} out of range [${HDR_LEN}, ${bytes.length}]`);
  }
  const typeOff = dv.getUint32(8, le);
  const typeLen = dv.getUint32(12, le);
  const strOff = dv.getUint32(16, le);
  const strLen = dv.getUint32(20, le);
  const dataLen = bytes.length - hdrLen;
  if (typeOff + typeLen > dataLen) {
    throw new KfError(`BTF: header: type section [${typeOff}, +${typeLen}) beyond the ${dataLen} data bytes`);
  }
  if (strOff + strLen > dataLen) {
    throw new KfError(`BTF: header: string section [${strOff}, +${strLen}) beyond the ${dataLen} data bytes`);
  }
  if (typeOff % 4 !== 0 || typeLen % 4 !== 0) {
    throw new KfError(`BTF: header: type section [${typeOff}, +${typeLen}) not 4-byte aligned`);
  }
  if (typeLen && strLen && typeOff < strOff + strLen && strOff < typeOff + typeLen) {
    throw new KfError(`BTF: header: type section [${typeOff}, +${typeLen}) overlaps string section [${strOff}, +${strLen})`);
  }
  const strStart = hdrLen + strOff;
  // mirrors libbpf btf_parse_str_sec()
  if (!(base && strLen === 0)) {
    if (strLen === 0 || bytes[strStart + strLen - 1] !== 0) {
      throw new KfError(`BTF: string section of ${strLen} bytes is not NUL-terminated`);
    }
    if (!base && bytes[strStart] !== 0) throw new KfError('BTF: string section does not start with an empty string');
  }

  const startId = base ? base.count : 1;
  const typeStart = hdrLen + typeOff;
  const typeEnd = typeStart + typeLen;
  // One pass: record offsets and kinds, and track the largest type id and
  // name offset referenced; the detailed check (validateTypes) runs only when
  // something is out of range, to name the culprit.
  const offs = new Int32Array(Math.min(typeLen / 12, MAX_TYPES) + 1);
  const kinds = new Uint8Array(offs.length);
  let n = 0;
  let maxRef = 0;
  let maxName = 0;
  let suspicious = false;
  for (let pos = typeStart; pos < typeEnd; ) {
    const id = startId + n;
    if (pos + 12 > typeEnd) throw new KfError(`BTF: type [${id}]: ${typeEnd - pos} bytes left in the type section, need 12`);
    if (n >= MAX_TYPES) throw new KfError(`BTF: more than ${MAX_TYPES} types`);
    const nameOff = dv.getUint32(pos, le);
    if (nameOff > maxName) maxName = nameOff;
    const info = dv.getUint32(pos + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === 0 || kind > BTF_KIND_MAX) throw new KfError(`BTF: type [${id}] at offset ${pos - typeStart}: unknown kind ${kind}`);
    const size = 12 + btfExtraSize(kind, vlen);
    if (pos + size > typeEnd) {
      throw new KfError(
        `BTF: type [${id}] ${BTF_KIND_NAMES[kind]}: vlen ${vlen} needs ${size} bytes, only ${typeEnd - pos} left in the type section`,
      );
    }
    const t = dv.getUint32(pos + 8, le);
    switch (kind) {
      case 2: case 8: case 9: case 10: case 11: case 18: case 13: // refs; FUNC_PROTO: return type
        if (t > maxRef) maxRef = t;
        if (kind === 13) {
          for (let q = pos + 12, e = pos + size; q < e; q += 8) {
            const no = dv.getUint32(q, le);
            if (no > maxName) maxName = no;
            const pt = dv.getUint32(q + 4, le);
            if (pt > maxRef) maxRef = pt;
          }
        }
        break;
      case 12: // FUNC
        if (t > maxRef) maxRef = t;
        if (vlen > 2) suspicious = true;
        break;
      case 14: // VAR
        if (t > maxRef) maxRef = t;
        if (dv.getUint32(pos + 12, le) > 2) suspicious = true;
        break;
      case 17: // DECL_TAG
        if (t > maxRef) maxRef = t;
        if (dv.getInt32(pos + 12, le) < -1) suspicious = true;
        break;
      case 3: { // ARRAY
        const elem = dv.getUint32(pos + 12, le);
        const index = dv.getUint32(pos + 16, le);
        if (elem > maxRef) maxRef = elem;
        if (index > maxRef) maxRef = index;
        break;
      }
      case 4: case 5: // STRUCT UNION
        for (let q = pos + 12, e = pos + size; q < e; q += 12) {
          const no = dv.getUint32(q, le);
          if (no > maxName) maxName = no;
          const mt = dv.getUint32(q + 4, le);
          if (mt > maxRef) maxRef = mt;
        }
        break;
      case 6: case 19: // ENUM ENUM64
        for (let q = pos + 12, e = pos + size, step = kind === 6 ? 8 : 12; q < e; q += step) {
          const no = dv.getUint32(q, le);
          if (no > maxName) maxName = no;
        }
        break;
      case 15: // DATASEC
        for (let q = pos + 12, e = pos + size; q < e; q += 12) {
          const vt = dv.getUint32(q, le);
          if (vt > maxRef) maxRef = vt;
        }
        break;
      default:
        break;
    }
    offs[n] = pos;
    kinds[n] = kind;
    n++;
    pos += size;
  }

  const raw: RawBtf = {
    bytes,
    dv,
    le,
    base,
    startId,
    offs: offs.subarray(0, n),
    kinds: kinds.subarray(0, n),
    strStart,
    strLen,
    strBase: base ? base.strTotal : 0,
  };
  const btf = new Btf(raw);
  if (suspicious || maxRef >= btf.count || maxName >= btf.strTotal) validateTypes(btf, raw);
  // FUNC must point at a FUNC_PROTO (ids are in range by now).
  for (let i = 0; i < n; i++) {
    if (kinds[i] === 12 && btf.kindNum(dv.getUint32(offs[i] + 8, le)) !== 13) validateTypes(btf, raw);
  }
  return btf;
}

/** The detailed check, naming the first bad type (btf_check_all_types()). */
function validateTypes(btf: Btf, r: RawBtf): void {
  const { dv, le, offs, kinds, startId } = r;
  const count = btf.count;
  const strTotal = btf.strTotal;
  const where = (i: number): string => {
    const off = dv.getUint32(offs[i], le);
    const name = off < strTotal ? btf.str(off) : '?';
    return `BTF: type [${startId + i}] ${BTF_KIND_NAMES[kinds[i]]} '${name}'`;
  };
  const badRef = (i: number, what: string, ref: number): never => {
    throw new KfError(`${where(i)}: ${what} refers to type ${ref} beyond the last type ${count - 1}`);
  };
  const badName = (i: number, what: string, off: number): never => {
    throw new KfError(`${where(i)}: ${what} name offset ${off} beyond the string table (${strTotal} bytes)`);
  };
  for (let i = 0; i < offs.length; i++) {
    const p = offs[i];
    const kind = kinds[i];
    const nameOff = dv.getUint32(p, le);
    if (nameOff >= strTotal) badName(i, 'type', nameOff);
    const info = dv.getUint32(p + 4, le);
    const vlen = info & 0xffff;
    const t = dv.getUint32(p + 8, le);
    switch (kind) {
      case 2: case 8: case 9: case 10: case 11: case 18: // PTR TYPEDEF VOLATILE CONST RESTRICT TYPE_TAG
        if (t >= count) badRef(i, 'it', t);
        break;
      case 12: // FUNC
        if (t >= count) badRef(i, 'it', t);
        if (vlen > 2) throw new KfError(`${where(i)}: unknown linkage ${vlen}`);
        if (btf.kindNum(t) !== 13) throw new KfError(`${where(i)}: type ${t} is not a FUNC_PROTO`);
        break;
      case 14: { // VAR
        if (t >= count) badRef(i, 'it', t);
        const linkage = dv.getUint32(p + 12, le);
        if (linkage > 2) throw new KfError(`${where(i)}: unknown linkage ${linkage}`);
        break;
      }
      case 17: // DECL_TAG
        if (t >= count) badRef(i, 'it', t);
        if (dv.getInt32(p + 12, le) < -1) throw new KfError(`${where(i)}: component_idx ${dv.getInt32(p + 12, le)} < -1`);
        break;
      case 3: { // ARRAY
        const elem = dv.getUint32(p + 12, le);
        const index = dv.getUint32(p + 16, le);
        if (elem >= count) badRef(i, 'element', elem);
        if (index >= count) badRef(i, 'index', index);
        break;
      }
      case 4: case 5: // STRUCT UNION
        for (let j = 0, q = p + 12; j < vlen; j++, q += 12) {
          const no = dv.getUint32(q, le);
          if (no >= strTotal) badName(i, `member ${j}`, no);
          const mt = dv.getUint32(q + 4, le);
          if (mt >= count) badRef(i, `member ${j}`, mt);
        }
        break;
      case 6: case 19: { // ENUM ENUM64
        const step = kind === 6 ? 8 : 12;
        for (let j = 0, q = p + 12; j < vlen; j++, q += step) {
          const no = dv.getUint32(q, le);
          if (no >= strTotal) badName(i, `value ${j}`, no);
        }
        break;
      }
      case 13: // FUNC_PROTO
        if (t >= count) badRef(i, 'return type', t);
        for (let j = 0, q = p + 12; j < vlen; j++, q += 8) {
          const no = dv.getUint32(q, le);
          if (no >= strTotal) badName(i, `param ${j}`, no);
          const pt = dv.getUint32(q + 4, le);
          if (pt >= count) badRef(i, `param ${j}`, pt);
        }
        break;
      case 15: // DATASEC
        for (let j = 0, q = p + 12; j < vlen; j++, q += 12) {
          const vt = dv.getUint32(q, le);
          if (vt >= count) badRef(i, `var ${j}`, vt);
        }
        break;
      default:
        break;
    }
  }
}
