// parseBtfExt(): the .BTF.ext section: func_info, line_info and CO-RE
// relocation records grouped per ELF section name. Mirrors libbpf's
// btf_ext__new() / btf_ext_setup_info() checks.

import { KfError } from '../util/errors.js';
import type { Btf } from './btf.js';
import { btfByteOrder } from './parse.js';

export interface BtfFuncInfo {
  /** Byte offset of the function's first instruction in its section. */
  readonly insnOff: number;
  /** The FUNC type id. */
  readonly typeId: number;
}

export interface BtfLineInfo {
  readonly insnOff: number;
  readonly fileName: string;
  /** The source line text. */
  readonly line: string;
  readonly lineNum: number;
  readonly col: number;
}

export interface BtfCoreRelo {
  readonly insnOff: number;
  readonly typeId: number;
  /** Access string, e.g. '0:1:2'. */
  readonly access: string;
  /** enum bpf_core_relo_kind; see CORE_RELO_KIND_NAMES. */
  readonly kind: number;
}

export interface BtfExt {
  readonly funcInfo: Map<string, BtfFuncInfo[]>;
  readonly lineInfo: Map<string, BtfLineInfo[]>;
  readonly coreRelos: Map<string, BtfCoreRelo[]>;
}

/** enum bpf_core_relo_kind, by number. */
export const CORE_RELO_KIND_NAMES: readonly string[] = [
  'byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64', 'local_type_id',
  'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
];

const MIN_HDR = 24;

interface Sub {
  readonly what: string;
  readonly start: number;
  readonly len: number;
}

/** Walks one info sub-section: rec_size, then {sec_name_off, num_info, records} groups. */
function walkInfo(
  dv: DataView,
  le: boolean,
  btf: Btf,
  sub: Sub,
  minRec: number,
  onRecord: (sec: string, at: number, idx: number) => void,
): void {
  const { what, start, len } = sub;
  if (len === 0) return;
  if (len < 4) throw new KfError(`BTF.ext: ${what}: ${len} bytes, too short for the record size`);
  const recSize = dv.getUint32(start, le);
  if (recSize < minRec || recSize % 4 !== 0) {
    throw new KfError(`BTF.ext: ${what}: record size ${recSize} invalid (need a multiple of 4, at least ${minRec})`);
  }
  const end = start + len;
  let p = start + 4;
  while (p < end) {
    if (p + 8 > end) throw new KfError(`BTF.ext: ${what}: section header at offset ${p - start} truncated`);
    const nameOff = dv.getUint32(p, le);
    const num = dv.getUint32(p + 4, le);
    if (nameOff >= btf.strTotal) {
      throw new KfError(`BTF.ext: ${what}: section name offset ${nameOff} beyond the string table (${btf.strTotal} bytes)`);
    }
    const sec = btf.str(nameOff);
    if (num === 0) throw new KfError(`BTF.ext: ${what}: section '${sec}' has no records`);
    p += 8;
    if (num > (end - p) / recSize) {
      throw new KfError(`BTF.ext: ${what}: section '${sec}': ${num} records of ${recSize} bytes exceed the ${end - p} bytes left`);
    }
    for (let i = 0; i < num; i++, p += recSize) onRecord(sec, p, i);
  }
}

/** Parses .BTF.ext; strings and type ids refer to `btf` (the object's .BTF). */
export function parseBtfExt(bytes: Uint8Array, btf: Btf): BtfExt {
  const le = btfByteOrder(bytes, 0, 'BTF.ext: header');
  if (bytes.length < MIN_HDR) throw new KfError(`BTF.ext: header: ${bytes.length} bytes, need at least ${MIN_HDR}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[2] !== 1) throw new KfError(`BTF.ext: header: unsupported version ${bytes[2]}`);
  const hdrLen = dv.getUint32(4, le);
  if (hdrLen < MIN_HDR || hdrLen > bytes.length) {
    throw new KfError(`BTF.ext: header: hdr_len ${hdrLen} out of range [${MIN_HDR}, ${bytes.length}]`);
  }
  const dataLen = bytes.length - hdrLen;
  const sub = (what: string, offAt: number): Sub => {
    if (offAt + 8 > hdrLen) return { what, start: 0, len: 0 };
    const off = dv.getUint32(offAt, le);
    const len = dv.getUint32(offAt + 4, le);
    if (len && (off + len > dataLen || off % 4 !== 0)) {
      throw new KfError(`BTF.ext: header: ${what} [${off}, +${len}) misaligned or beyond the ${dataLen} data bytes`);
    }
    return { what, start: hdrLen + off, len };
  };
  const str = (what: string, off: number): string => {
    if (off >= btf.strTotal) throw new KfError(`BTF.ext: ${what}: string offset ${off} beyond the string table (${btf.strTotal} bytes)`);
    return btf.str(off);
  };
  const typeId = (what: string, id: number): number => {
    if (id >= btf.count) throw new KfError(`BTF.ext: ${what}: type id ${id} beyond the last type ${btf.count - 1}`);
    return id;
  };
  const push = <T>(m: Map<string, T[]>, k: string, v: T): void => {
    const a = m.get(k);
    if (a) a.push(v);
    else m.set(k, [v]);
  };

  const funcInfo = new Map<string, BtfFuncInfo[]>();
  const lineInfo = new Map<string, BtfLineInfo[]>();
  const coreRelos = new Map<string, BtfCoreRelo[]>();

  walkInfo(dv, le, btf, sub('func_info', 8), 8, (sec, p, i) => {
    const w = `func_info: section '${sec}' record ${i}`;
    push(funcInfo, sec, { insnOff: dv.getUint32(p, le), typeId: typeId(w, dv.getUint32(p + 4, le)) });
  });
  walkInfo(dv, le, btf, sub('line_info', 16), 16, (sec, p, i) => {
    const w = `line_info: section '${sec}' record ${i}`;
    const lineCol = dv.getUint32(p + 12, le);
    push(lineInfo, sec, {
      insnOff: dv.getUint32(p, le),
      fileName: str(w, dv.getUint32(p + 4, le)),
      line: str(w, dv.getUint32(p + 8, le)),
      lineNum: lineCol >>> 10,
      col: lineCol & 0x3ff,
    });
  });
  walkInfo(dv, le, btf, sub('core_relo', 24), 16, (sec, p, i) => {
    const w = `core_relo: section '${sec}' record ${i}`;
    const kind = dv.getUint32(p + 12, le);
    if (kind >= CORE_RELO_KIND_NAMES.length) throw new KfError(`BTF.ext: ${w}: unknown relocation kind ${kind}`);
    push(coreRelos, sec, {
      insnOff: dv.getUint32(p, le),
      typeId: typeId(w, dv.getUint32(p + 4, le)),
      access: str(w, dv.getUint32(p + 8, le)),
      kind,
    });
  });
  return { funcInfo, lineInfo, coreRelos };
}
