// The raw instruction model: one object of fixed shape per 8-byte slot.
//
// A program is an array of slots, indexed exactly as the kernel indexes them
// (jump offsets, the verifier log and `bpftool prog dump xlated` all count
// slots). The 16-byte `lddw` occupies two slots: the first carries the opcode
// 0x18 and the low 32 bits of the constant in `imm`, the second has opcode 0
// and the high 32 bits in its `imm`.

export interface Insn {
  /** Opcode byte. */
  readonly code: number;
  /** Destination register, 0..15 (valid programs use 0..10). */
  readonly dst: number;
  /** Source register, 0..15; for lddw and calls, a pseudo selector. */
  readonly src: number;
  /** Signed 16-bit offset. */
  readonly off: number;
  /** Signed 32-bit immediate. */
  readonly imm: number;
}

export function insn(code: number, dst: number, src: number, off: number, imm: number): Insn {
  return { code: code & 0xff, dst: dst & 0xf, src: src & 0xf, off: (off << 16) >> 16, imm: imm | 0 };
}

export const INSN_SIZE = 8;
