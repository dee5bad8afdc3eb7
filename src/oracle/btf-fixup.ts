// The object's BTF made acceptable to BPF_BTF_LOAD, as libbpf's
// bpf_object__sanitize_and_load_btf() and btf_finalize_data() do:
// - DATASEC sizes and VAR offsets are filled in from the ELF sections and
//   symbols (clang leaves them 0; btf_fixup_datasec());
// - extern FUNCs and VARs get global linkage (the kernel's
//   btf_func_check_meta() / btf_var_check_meta() refuse BTF_*_EXTERN);
// - DATASECs without an ELF section (.ksyms, .kconfig) lose their entries
//   (libbpf rewrites them with dummy vars; nothing refers to them here).
// Returns the loaded BTF's fd and a string-offset lookup for line_info, or
// undefined when the kernel refuses the result (the caller loads without BTF).

import type { BpfObject } from '../object/index.js';
import { btfLoad } from './bpf.js';

export interface KernelBtf {
  readonly fd: number;
  /** Offset of `s` in the BTF string section, for bpf_line_info. */
  strOff(s: string): number | undefined;
}

const HDR_LEN = 24;
// BTF_KIND_* numbers and the size of what follows struct btf_type (12 bytes).
const INT = 1, ARRAY = 3, STRUCT = 4, UNION = 5, ENUM = 6, FUNC = 12, FUNC_PROTO = 13, VAR = 14, DATASEC = 15, DECL_TAG = 17, ENUM64 = 19;

function extraLen(kind: number, vlen: number): number {
  switch (kind) {
    case INT: case VAR: case DECL_TAG: return 4;
    case ARRAY: return 12;
    case STRUCT: case UNION: case DATASEC: case ENUM64: return 12 * vlen;
    case ENUM: case FUNC_PROTO: return 8 * vlen;
    default: return 0;
  }
}

/** The fixed-up BTF bytes, or undefined when the section is malformed (then no BTF is used). */
export function fixupObjectBtf(obj: BpfObject): { bytes: Uint8Array; strings: Map<string, number> } | undefined {
  const sec = obj.elf.sections.find((s) => s.name === '.BTF');
  if (!sec || sec.data.length < HDR_LEN) return undefined;
  const src = sec.data;
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  if (dv.getUint16(0, true) !== 0xeb9f) return undefined; // big-endian objects: not for this kernel
  const hdrLen = dv.getUint32(4, true);
  const typeOff = hdrLen + dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  const strOff = hdrLen + dv.getUint32(16, true);
  const strLen = dv.getUint32(20, true);
  if (typeOff + typeLen > src.length || strOff + strLen > src.length || typeLen % 4) return undefined;
  const strings = new Map<string, number>();
  const dec = new TextDecoder();
  for (let o = 0; o < strLen; ) {
    let e = o;
    while (e < strLen && src[strOff + e] !== 0) e++;
    const s = dec.decode(src.subarray(strOff + o, strOff + e));
    if (!strings.has(s)) strings.set(s, o);
    o = e + 1;
  }
  const strAt = (off: number): string => {
    let e = off;
    while (e < strLen && src[strOff + e] !== 0) e++;
    return dec.decode(src.subarray(strOff + off, strOff + e));
  };
  // Pass 1: FUNC_PROTOs of extern FUNCs get names for their anonymous
  // parameters (btf_func_check() wants them), as libbpf does.
  const protoName = new Map<number, number>();
  let id = 1;
  for (let o = typeOff; o + 12 <= typeOff + typeLen; id++) {
    const info = dv.getUint32(o + 4, true);
    const kind = (info >>> 24) & 0x1f;
    if (kind === FUNC && (info & 0xffff) === 2) protoName.set(dv.getUint32(o + 8, true), dv.getUint32(o, true));
    o += 12 + extraLen(kind, info & 0xffff);
  }
  const out: number[] = [];
  const put32 = (v: number): void => {
    out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  };
  id = 0;
  for (let o = typeOff; o < typeOff + typeLen; ) {
    id++;
    if (o + 12 > typeOff + typeLen) return undefined;
    const nameOff = dv.getUint32(o, true);
    let info = dv.getUint32(o + 4, true);
    let sizeType = dv.getUint32(o + 8, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const extra = extraLen(kind, vlen);
    if (o + 12 + extra > typeOff + typeLen) return undefined;
    if (kind === FUNC && vlen === 2) info = (info & ~0xffff) | 1; // BTF_FUNC_EXTERN -> BTF_FUNC_GLOBAL
    if (kind === DATASEC) {
      const name = strAt(nameOff);
      const elfSec = obj.elf.sections.find((s) => s.name === name);
      if (!elfSec || elfSec.size === 0) {
        // .ksyms / .kconfig: an empty section of size 4
        put32(nameOff);
        put32(info & ~0xffff);
        put32(4);
        o += 12 + extra;
        continue;
      }
      sizeType = Number(elfSec.size);
      put32(nameOff);
      put32(info);
      put32(sizeType);
      for (let i = 0; i < vlen; i++) {
        const p = o + 12 + i * 12;
        const varId = dv.getUint32(p, true);
        let off = dv.getUint32(p + 4, true);
        const size = dv.getUint32(p + 8, true);
        const varName = obj.btf?.nameOf(varId);
        const sym = varName ? obj.elf.symbols.find((y) => y.name === varName && y.shndx === elfSec.index) : undefined;
        if (sym) off = Number(sym.value);
        put32(varId);
        put32(off);
        put32(size);
      }
      o += 12 + extra;
      continue;
    }
    put32(nameOff);
    put32(info);
    put32(sizeType);
    if (kind === FUNC_PROTO && protoName.has(id)) {
      for (let i = 0; i < vlen; i++) {
        const p = o + 12 + i * 8;
        const n = dv.getUint32(p, true);
        const t = dv.getUint32(p + 4, true);
        put32(n === 0 && t !== 0 ? protoName.get(id)! : n);
        put32(t);
      }
    } else if (kind === VAR) {
      const linkage = dv.getUint32(o + 12, true);
      put32(linkage === 2 ? 1 : linkage); // BTF_VAR_GLOBAL_EXTERN -> BTF_VAR_GLOBAL_ALLOCATED
    } else {
      for (let i = 0; i < extra; i++) out.push(src[o + 12 + i]);
    }
    o += 12 + extra;
  }
  const bytes = new Uint8Array(HDR_LEN + out.length + strLen);
  const w = new DataView(bytes.buffer);
  w.setUint16(0, 0xeb9f, true);
  bytes[2] = 1;
  bytes[3] = 0;
  w.setUint32(4, HDR_LEN, true);
  w.setUint32(8, 0, true);
  w.setUint32(12, out.length, true);
  w.setUint32(16, out.length, true);
  w.setUint32(20, strLen, true);
  bytes.set(out, HDR_LEN);
  bytes.set(src.subarray(strOff, strOff + strLen), HDR_LEN + out.length);
  return { bytes, strings };
}

/** Loads the object's BTF into the kernel; undefined when there is none or the kernel refuses it. */
export async function objectBtfForKernel(obj: BpfObject): Promise<KernelBtf | undefined> {
  const fixed = fixupObjectBtf(obj);
  if (!fixed) return undefined;
  const r = await btfLoad(fixed.bytes, { logLevel: 0 });
  if (r.fd < 0) return undefined;
  return { fd: r.fd, strOff: (s) => fixed.strings.get(s) };
}
