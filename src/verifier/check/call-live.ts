// Stack reads of helper and kfunc calls for the stack liveness
// (state/liveness.ts): mirrors the bpf_mark_stack_read() calls of
// check_stack_range_initialized() and of the dynptr/iterator argument checks.
// Where the size read is known (map keys and values, memory with a size
// argument) exactly those slots are marked; a raw-mode (write-only) buffer is
// not a read. Anything else counts as reading every slot from the lowest byte
// the pointer can reach up to the frame pointer: more than the kernel marks,
// never less.
import type { Insn } from '../../isa/insn.js';
import type { Env } from '../env.js';
import { ArgType, helperProto } from '../helpers-proto.js';
import type { RegState } from '../state/reg.js';
import { stackLiveness } from '../state/liveness.js';
import { MAX_BPF_STACK, RegType } from '../state/types.js';

/** Lowest and highest fp-relative offset a PTR_TO_STACK register may hold. */
function ptrRange(reg: RegState): [number, number] {
  if (reg.s.varOff.mask === 0n) {
    const o = Number(BigInt.asIntN(64, reg.s.varOff.value)) + reg.off;
    return [o, o];
  }
  return [Number(reg.s.smin) + reg.off, Number(reg.s.smax) + reg.off];
}

/** The byte count a helper reads through argument `i` (0-based), or -1 when unknown, 0 when none. */
function readSize(env: Env, args: readonly ArgType[], i: number): number {
  const regs = env.regs;
  switch (args[i]) {
    case ArgType.PTR_TO_MAP_KEY:
    case ArgType.PTR_TO_MAP_VALUE: {
      const m = regs[1].type === RegType.CONST_PTR_TO_MAP ? regs[1].map : null;
      if (!m) return -1;
      return args[i] === ArgType.PTR_TO_MAP_KEY ? m.keySize : m.valueSize;
    }
    case ArgType.PTR_TO_MEM:
    case ArgType.PTR_TO_MEM_OR_NULL: {
      const next = args[i + 1];
      if (next !== ArgType.CONST_SIZE && next !== ArgType.CONST_SIZE_OR_ZERO) return -1;
      const sz = regs[i + 2];
      if (sz.type !== RegType.SCALAR_VALUE || sz.s.umax > BigInt(MAX_BPF_STACK)) return -1;
      return Number(sz.s.umax);
    }
    case ArgType.PTR_TO_UNINIT_MEM:
      return 0;
    default:
      return -1;
  }
}

/** Marks the stack slots the call `insn` (a helper or kfunc call) may read through its arguments. */
export function markCallStackReads(env: Env, insn: Insn): void {
  const live = stackLiveness(env);
  const proto = insn.src === 0 ? helperProto(insn.imm, env.progType) : undefined;
  for (let r = 1; r <= 5; r++) {
    const reg = env.regs[r];
    if (reg.type !== RegType.PTR_TO_STACK) continue;
    const [lo, hi] = ptrRange(reg);
    const size = proto ? readSize(env, proto.args, r - 1) : -1;
    if (size === 0) continue;
    if (size > 0) live.readRange(reg.frameno, Math.max(lo, -MAX_BPF_STACK), hi + size);
    else live.readRange(reg.frameno, Math.max(lo, -MAX_BPF_STACK), 0);
  }
}
