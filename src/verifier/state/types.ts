// Register and stack-slot types: mirrors enum bpf_reg_type / bpf_stack_slot_type
// (include/linux/bpf.h, include/linux/bpf_verifier.h, Linux 6.18).

/** Base register types. Flags (MAYBE_NULL, RDONLY) live beside them in RegState. */
export const enum RegType {
  NOT_INIT = 0,
  SCALAR_VALUE,
  PTR_TO_CTX,
  CONST_PTR_TO_MAP,
  PTR_TO_MAP_VALUE,
  PTR_TO_MAP_KEY,
  PTR_TO_STACK,
  PTR_TO_PACKET_META,
  PTR_TO_PACKET,
  PTR_TO_PACKET_END,
  PTR_TO_MEM,
  PTR_TO_BTF_ID,
  CONST_PTR_TO_DYNPTR,
  PTR_TO_FUNC,
  /** kfinline: an opaque value that came from the kernel (DESIGN.md). */
  KERNEL_VALUE,
}

/** Type flags, as the kernel's PTR_MAYBE_NULL / MEM_RDONLY bits. */
export const PTR_MAYBE_NULL = 1;
export const MEM_RDONLY = 2;

/** mirrors enum bpf_stack_slot_type */
export const enum SlotType {
  INVALID = 0,
  SPILL = 1,
  MISC = 2,
  ZERO = 3,
  DYNPTR = 4,
  ITER = 5,
}

/** mirrors slot_type_char[] in kernel/bpf/log.c */
export const SLOT_CHAR = ['?', 'r', 'm', '0', 'd', 'i'];

export const BPF_REG_SIZE = 8;
export const MAX_BPF_STACK = 512;
export const MAX_CALL_FRAMES = 8;
export const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;
export const BPF_COMPLEXITY_LIMIT_JMP_SEQ = 8192;
export const BPF_COMPLEXITY_LIMIT_STATES = 64;
