// BPF opcode fields (RFC 9669, with the v4 additions).
//
// Every instruction is 8 bytes:
//
//   63           48 47          32 31    28 27    24 23                 0
//  +---------------+--------------+--------+--------+--------------------+
//  |  imm (s32)    ...            | off (s16)       | src:4 | dst:4 | op:8 |   (little-endian view:
//  +---------------------------------------------------------------------+    byte 0 = opcode,
//                                                                              byte 1 = dst | src << 4,
//                                                                              bytes 2..3 = off, 4..7 = imm)
//
// The opcode byte has two layouts depending on its class (low 3 bits):
//
//  ALU, ALU64, JMP, JMP32:        LD, LDX, ST, STX:
//    7      4   3     2   0         7    5 4   3 2   0
//   +--------+-----+-----+         +------+-----+-----+
//   |  op    | src | cls |         | mode | size| cls |
//   +--------+-----+-----+         +------+-----+-----+

/** Instruction class: bits 0..2 of the opcode. */
export const enum Class {
  LD = 0x00,
  LDX = 0x01,
  ST = 0x02,
  STX = 0x03,
  ALU = 0x04,
  JMP = 0x05,
  JMP32 = 0x06,
  ALU64 = 0x07,
}

/** Source operand selector for ALU/JMP: bit 3. K = immediate, X = register. */
export const enum Source {
  K = 0x00,
  X = 0x08,
}

/** ALU operation: bits 4..7 for ALU and ALU64. */
export const enum AluOp {
  ADD = 0x00,
  SUB = 0x10,
  MUL = 0x20,
  DIV = 0x30, // off=1: SDIV
  OR = 0x40,
  AND = 0x50,
  LSH = 0x60,
  RSH = 0x70,
  NEG = 0x80,
  MOD = 0x90, // off=1: SMOD
  XOR = 0xa0,
  MOV = 0xb0, // off=8/16/32: MOVSX
  ARSH = 0xc0,
  END = 0xd0, // byte swap: ALU|TO_LE/TO_BE, ALU64|TO_LE = bswap
}

/** Jump operation: bits 4..7 for JMP and JMP32. */
export const enum JmpOp {
  JA = 0x00,
  JEQ = 0x10,
  JGT = 0x20,
  JGE = 0x30,
  JSET = 0x40,
  JNE = 0x50,
  JSGT = 0x60,
  JSGE = 0x70,
  CALL = 0x80,
  EXIT = 0x90,
  JLT = 0xa0,
  JLE = 0xb0,
  JSLT = 0xc0,
  JSLE = 0xd0,
  JCOND = 0xe0, // may_goto (src_reg = 0)
}

/** Memory access size: bits 3..4 for load/store classes. */
export const enum Size {
  W = 0x00,
  H = 0x08,
  B = 0x10,
  DW = 0x18,
}

/** Memory mode: bits 5..7 for load/store classes. */
export const enum Mode {
  IMM = 0x00,
  ABS = 0x20,
  IND = 0x40,
  MEM = 0x60,
  MEMSX = 0x80,
  ATOMIC = 0xc0,
}

/** Atomic operations, in imm of a STX|ATOMIC instruction. */
export const enum AtomicOp {
  ADD = 0x00,
  OR = 0x40,
  AND = 0x50,
  XOR = 0xa0,
  FETCH = 0x01,
  XCHG = 0xe0 | 0x01,
  CMPXCHG = 0xf0 | 0x01,
  LOAD_ACQ = 0x100,
  STORE_REL = 0x110,
}

/** Pseudo source registers of BPF_LD|BPF_IMM|BPF_DW. */
export const enum PseudoLd {
  NONE = 0,
  MAP_FD = 1,
  MAP_VALUE = 2, // BPF_PSEUDO_MAP_VALUE
  BTF_ID = 3,
  FUNC = 4,
  MAP_IDX = 5,
  MAP_IDX_VALUE = 6,
}

/** Pseudo source registers of BPF_JMP|BPF_CALL. */
export const enum PseudoCall {
  HELPER = 0,
  CALL = 1, // BPF-to-BPF: imm is the pc-relative offset of the callee
  KFUNC_CALL = 2, // imm is a BTF id, off a module BTF fd index (0 = vmlinux)
}

export const CLASS_MASK = 0x07;
export const SIZE_MASK = 0x18;
export const MODE_MASK = 0xe0;
export const OP_MASK = 0xf0;
export const SRC_MASK = 0x08;

export const opClass = (code: number): Class => (code & CLASS_MASK) as Class;
export const opSize = (code: number): Size => (code & SIZE_MASK) as Size;
export const opMode = (code: number): Mode => (code & MODE_MASK) as Mode;
export const opAlu = (code: number): AluOp => (code & OP_MASK) as AluOp;
export const opJmp = (code: number): JmpOp => (code & OP_MASK) as JmpOp;
export const opSrc = (code: number): Source => (code & SRC_MASK) as Source;

/** Bytes accessed by a load/store of the given size field. */
export function sizeBytes(size: Size): 1 | 2 | 4 | 8 {
  switch (size) {
    case Size.B:
      return 1;
    case Size.H:
      return 2;
    case Size.W:
      return 4;
    case Size.DW:
      return 8;
  }
}

/** The opcode of `lddw` (BPF_LD | BPF_IMM | BPF_DW), the only 16-byte instruction. */
export const LD_IMM64 = Class.LD | Mode.IMM | Size.DW; // 0x18

/** Register numbers. R10 is the read-only frame pointer; 11 is the kernel's internal AX. */
export const R0 = 0;
export const R1 = 1;
export const R10 = 10;
export const MAX_BPF_REG = 11;

/** Maximum value of a BPF instruction's s16 offset and s32 immediate. */
export const S16_MIN = -0x8000;
export const S16_MAX = 0x7fff;
export const S32_MIN = -0x80000000;
export const S32_MAX = 0x7fffffff;
