// Splitting code sections into functions by their STT_FUNC symbols (mirrors
// libbpf's bpf_object__add_programs()), and decoding instructions in the
// object's byte order.

import { SHF_EXECINSTR, SHT_PROGBITS, STB_LOCAL, STT_FUNC, type ElfFile, type ElfSection } from '../elf/index.js';
import { decodeInsns, encodeInsns } from '../isa/codec.js';
import { INSN_SIZE, type Insn } from '../isa/insn.js';
import { KfError, withContext } from '../util/errors.js';

export interface Func {
  readonly name: string;
  readonly section: ElfSection;
  /** First slot within the section. */
  readonly start: number;
  /** One past the last slot. */
  readonly end: number;
  /** In .text: a subprogram, never a program. */
  readonly isSubprog: boolean;
  readonly global: boolean;
}

/** Decodes instructions of either byte order (big-endian BPF swaps the register nibbles). */
export function decodeSection(bytes: Uint8Array, littleEndian: boolean): Insn[] {
  if (littleEndian) return decodeInsns(bytes);
  if (bytes.length % INSN_SIZE !== 0) throw new KfError(`code size ${bytes.length} is not a multiple of ${INSN_SIZE}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o < bytes.length; o += INSN_SIZE) {
    const regs = bytes[o + 1];
    out.push({ code: bytes[o], dst: regs >> 4, src: regs & 0xf, off: dv.getInt16(o + 2, false), imm: dv.getInt32(o + 4, false) });
  }
  return out;
}

/** The inverse of decodeSection(): instruction bytes in the given byte order. */
export function encodeSection(insns: readonly Insn[], littleEndian: boolean): Uint8Array {
  if (littleEndian) return encodeInsns(insns);
  const out = new Uint8Array(insns.length * INSN_SIZE);
  const dv = new DataView(out.buffer);
  insns.forEach((x, i) => {
    const o = i * INSN_SIZE;
    out[o] = x.code & 0xff;
    out[o + 1] = ((x.dst & 0xf) << 4) | (x.src & 0xf);
    dv.setInt16(o + 2, x.off, false);
    dv.setInt32(o + 4, x.imm | 0, false);
  });
  return out;
}

export function isCodeSection(s: ElfSection): boolean {
  return s.type === SHT_PROGBITS && (s.flags & SHF_EXECINSTR) !== 0n && s.size > 0;
}

/** Functions of one code section, ordered by start, checked not to overlap. */
export function sectionFuncs(elf: ElfFile, sec: ElfSection, textName = '.text'): Func[] {
  return withContext(`section "${sec.name}"`, () => {
    if (sec.data.length % INSN_SIZE !== 0) throw new KfError(`size ${sec.data.length} is not a multiple of ${INSN_SIZE}`);
    const nslots = sec.data.length / INSN_SIZE;
    const syms = elf.symbols.filter((s) => s.index > 0 && s.shndx === sec.index && s.type === STT_FUNC);
    const funcs: Func[] = [];
    for (const s of syms) {
      if (s.value % 8n !== 0n || s.value >= BigInt(sec.data.length)) {
        throw new KfError(`function "${s.name}": offset ${s.value} is not an instruction in the section (size ${sec.data.length})`);
      }
      if (s.size % 8n !== 0n || s.value + s.size > BigInt(sec.data.length)) {
        throw new KfError(`function "${s.name}": offset ${s.value} + size ${s.size} beyond section size ${sec.data.length}`);
      }
      const isSubprog = sec.name === textName;
      if (!isSubprog && s.bind === STB_LOCAL) {
        // Mirrors libbpf: "sec '%s': program '%s' is static and not supported".
        throw new KfError(`program "${s.name}" is static and not supported`);
      }
      const start = Number(s.value) / INSN_SIZE;
      const end = s.size === 0n ? -1 : start + Number(s.size) / INSN_SIZE;
      funcs.push({ name: s.name, section: sec, start, end, isSubprog, global: s.bind !== STB_LOCAL });
    }
    funcs.sort((a, b) => a.start - b.start);
    // Functions of unknown size run to the next function.
    const out = funcs.map((f, i) => (f.end >= 0 ? f : { ...f, end: i + 1 < funcs.length ? funcs[i + 1].start : nslots }));
    for (let i = 1; i < out.length; i++) {
      if (out[i].start < out[i - 1].end) {
        throw new KfError(`functions "${out[i - 1].name}" and "${out[i].name}" overlap`);
      }
    }
    if (out.length === 0) throw new KfError('code section without function symbols');
    return out;
  });
}
