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
import { BPF_REG_SIZE, MAX_BPF_STACK, RegType } from '../state/types.js';
import { kfuncEnv } from '../kfunc/context.js';
import type { KfuncMeta } from '../kfunc/proto.js';

/** Lowest and highest fp-relative offset a PTR_TO_STACK register may hold. */
function ptrRange(reg: RegState): [number, number] {
  if (reg.s.varOff.mask === 0n) {
    const o = Number(BigInt.asIntN(64, reg.s.varOff.value)) + reg.off;
    return [o, o];
  }
  return [Number(reg.s.smin) + reg.off, Number(reg.s.smax) + reg.off];
}

/** No read through the argument (write-only memory, an uninitialised dynptr or iterator). */
const NONE = -2;

/** The byte count a helper reads through argument `i` (0-based), or -1 when unknown, NONE when none. */
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
    case ArgType.PTR_TO_UNINIT_MEM: {
      // check_mem_size_reg() drops raw mode (meta = NULL) for a size that is not
      // constant, check_stack_range_initialized() for a variable offset: a read of umax bytes
      const next = args[i + 1];
      if (next !== ArgType.CONST_SIZE && next !== ArgType.CONST_SIZE_OR_ZERO) return NONE;
      const sz = regs[i + 2];
      const ptr = regs[i + 1];
      if (sz.type !== RegType.SCALAR_VALUE) return NONE;
      if (sz.s.varOff.mask === 0n && ptr.s.varOff.mask === 0n) return NONE;
      return sz.s.umax > BigInt(MAX_BPF_STACK) ? -1 : Number(sz.s.umax);
    }
    default:
      return -1;
  }
}

/**
 * The byte count a kfunc reads through argument `i` (0-based), -1 when unknown, NONE when none:
 * mirrors the reads of check_kfunc_args(): an initialised dynptr or iterator is read
 * (mark_stack_slot_obj_read()), an uninitialised one only written; memory with a size
 * is read for the size's umax (check_kfunc_mem_size_reg()), sized memory for its size.
 */
function kfuncReadSize(env: Env, meta: KfuncMeta, i: number): number {
  const a = meta.args[i];
  if (!a) return -1;
  switch (a.kind) {
    case 'dynptr':
      return a.uninit ? NONE : 16;
    case 'iter':
      return meta.name === `bpf_iter_${a.iterName}_new` ? NONE : a.nrSlots * BPF_REG_SIZE;
    case 'mem_size': {
      const sz = env.regs[i + 2];
      if (sz.type !== RegType.SCALAR_VALUE || sz.s.umax > BigInt(MAX_BPF_STACK)) return -1;
      return Number(sz.s.umax);
    }
    case 'mem':
      return a.size;
    default:
      return -1;
  }
}

/** Marks the stack slots the call `insn` (a helper or kfunc call) may read through its arguments. */
export function markCallStackReads(env: Env, insn: Insn): void {
  const live = stackLiveness(env);
  const proto = insn.src === 0 ? helperProto(insn.imm, env.progType) : undefined;
  const meta = insn.src === 2 ? kfuncEnv(env).meta(insn.imm) : undefined;
  for (let r = 1; r <= 5; r++) {
    const reg = env.regs[r];
    if (reg.type !== RegType.PTR_TO_STACK) continue;
    const [lo, hi] = ptrRange(reg);
    const size = proto ? readSize(env, proto.args, r - 1) : meta ? kfuncReadSize(env, meta, r - 1) : -1;
    if (size === NONE) continue;
    // check_stack_range_initialized() reads [min_off, max_off + size): a variable offset reads even for size 0
    if (size >= 0) live.readRange(reg.frameno, Math.max(lo, -MAX_BPF_STACK), hi + size);
    else live.readRange(reg.frameno, Math.max(lo, -MAX_BPF_STACK), 0);
  }
}
