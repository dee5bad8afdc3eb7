// .BTF.ext of a rewritten object: each program's func_info, line_info and
// CO-RE records moved to their new slots, then grouped per output section
// with insn_off in bytes from the start of that section — what clang emits
// and libbpf's bpf_object__relocate() / adjust_prog_btf_ext_info() read.

import { cString } from '../btf/strings.js';
import { KfError } from '../util/errors.js';
import type { BpfProgram } from './types.js';

/** One record of a program, at a slot of the rewritten program; `rest` are the words after insn_off. */
export interface ExtRow {
  readonly slot: number;
  readonly rest: readonly number[];
}

export interface ExtRows {
  readonly func: readonly ExtRow[];
  readonly line: readonly ExtRow[];
  readonly core: readonly ExtRow[];
}

/** Records of one output section: the section name and its records (words; the first is insn_off in bytes). */
export interface ExtSection {
  readonly section: string;
  readonly func: readonly (readonly number[])[];
  readonly line: readonly (readonly number[])[];
  readonly core: readonly (readonly number[])[];
}

/** String → offset in the object's .BTF string section (first occurrence). */
export function btfStrings(btfBytes: Uint8Array, le: boolean): Map<string, number> {
  if (btfBytes.length < 24) throw new KfError(`.BTF of ${btfBytes.length} bytes has no header`);
  const dv = new DataView(btfBytes.buffer, btfBytes.byteOffset, btfBytes.byteLength);
  const hdrLen = dv.getUint32(4, le);
  const start = hdrLen + dv.getUint32(16, le);
  const end = start + dv.getUint32(20, le);
  if (end > btfBytes.length || start > end) throw new KfError(`.BTF string section [${start}, ${end}) outside its ${btfBytes.length} bytes`);
  const out = new Map<string, number>();
  let p = start;
  while (p < end) {
    let q = p;
    while (q < end && btfBytes[q] !== 0) q++;
    const s = cString(btfBytes, p, q);
    if (!out.has(s)) out.set(s, p - start);
    p = q + 1;
  }
  return out;
}

/** A lookup of strings that must already be in .BTF (the object's BTF is copied unchanged). */
export function btfStr(strs: ReadonlyMap<string, number>): (s: string, what: string) => number {
  return (s, what) => {
    const o = strs.get(s);
    if (o === undefined) throw new KfError(`${what} ${JSON.stringify(s.slice(0, 60))} is not in the .BTF string section`);
    return o;
  };
}

/** func_info / line_info / CO-RE records of `prog` moved to the new slots by `map` (old slot → new slot). */
export function extRows(prog: BpfProgram, map: Int32Array, str: (s: string, what: string) => number): ExtRows {
  const end = map[map.length - 1];
  const gone = (i: number) => map[i + 1] === map[i];
  // func_info: one record per function, at its new first slot.
  const func = prog.funcInfo.map((x) => ({ slot: map[x.insn], rest: [x.typeId] }));
  // line_info: strictly increasing slots (check_btf_line()); when records of
  // deleted slots collapse onto the slot that follows, the last one (the
  // record of that slot itself) wins.
  const line: ExtRow[] = [];
  for (const x of prog.lineInfo) {
    const slot = map[x.insn];
    if (slot >= end) continue;
    const r = { slot, rest: [str(x.fileName, 'file name'), str(x.line, 'source line'), ((x.lineNum << 10) | (x.col & 0x3ff)) >>> 0] };
    if (line.length && line[line.length - 1].slot === slot) line[line.length - 1] = r;
    else line.push(r);
  }
  const core = prog.coreRelos.filter((x) => !gone(x.insn)).map((x) => ({ slot: map[x.insn], rest: [x.typeId, str(x.access, 'CO-RE access string'), x.kind] }));
  return { func, line, core };
}

/** Encodes .BTF.ext version 1 (hdr_len 32: func_info, line_info, core_relo). Mirrors the layout btf_ext__new() parses. */
export function encodeBtfExt(secs: readonly ExtSection[], str: (s: string, what: string) => number, le: boolean): Uint8Array {
  const sub = (pick: (s: ExtSection) => readonly (readonly number[])[], recWords: number): number[] => {
    const words: number[] = [];
    const nonEmpty = secs.filter((s) => pick(s).length);
    if (!nonEmpty.length) return words;
    words.push(recWords * 4);
    for (const s of nonEmpty) {
      const rs = pick(s);
      words.push(str(s.section, 'section name'), rs.length);
      for (const r of rs) words.push(...r);
    }
    return words;
  };
  const f = sub((s) => s.func, 2);
  const l = sub((s) => s.line, 4);
  const c = sub((s) => s.core, 4);
  const HDR = 32;
  const out = new Uint8Array(HDR + 4 * (f.length + l.length + c.length));
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, le);
  out[2] = 1;
  out[3] = 0;
  dv.setUint32(4, HDR, le);
  dv.setUint32(8, 0, le);
  dv.setUint32(12, f.length * 4, le);
  dv.setUint32(16, f.length * 4, le);
  dv.setUint32(20, l.length * 4, le);
  dv.setUint32(24, (f.length + l.length) * 4, le);
  dv.setUint32(28, c.length * 4, le);
  [...f, ...l, ...c].forEach((w, k) => dv.setUint32(HDR + k * 4, w >>> 0, le));
  return out;
}
