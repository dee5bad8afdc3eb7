// Memory arguments of kfuncs and of the dynptr helpers, on top of the one
// check_helper_mem_access() / check_mem_size_reg() (check/helper-mem.ts):
// mirrors check_kfunc_mem_size_reg() and check_mem_reg(), which check the
// memory for reading and then for writing (the kfunc may do both).
import type { Env } from '../env.js';
import { Access, checkHelperMemAccess, checkMemSizeReg as checkSizeReg, markRawModeWrites, newMemArgMeta } from '../check/helper-mem.js';
import { isKnownZero } from '../state/reg.js';
import { PTR_MAYBE_NULL, RegType } from '../state/types.js';

const BPF_PSEUDO_KFUNC_CALL = 2;

/** Runs `check` on the register in `regno` as if it were not NULL (mark_ptr_not_null_reg(), then restored). */
function asNotNull(env: Env, regno: number, check: () => void): void {
  const reg = env.regs[regno];
  const flags = reg.flags;
  const mayBeNull = reg.type !== RegType.SCALAR_VALUE && (flags & PTR_MAYBE_NULL) !== 0;
  if (mayBeNull) reg.flags &= ~PTR_MAYBE_NULL;
  try {
    check();
  } finally {
    if (mayBeNull) env.regs[regno].flags = flags;
  }
}

/** mirrors check_kfunc_mem_size_reg(): the size in `regno`, the memory in `regno - 1`. */
export function checkKfuncMemSizeReg(env: Env, regno: number): void {
  if (env.regs[regno].type !== RegType.SCALAR_VALUE) env.reject(`R${regno} is not a scalar`);
  const meta = newMemArgMeta();
  asNotNull(env, regno - 1, () => {
    checkSizeReg(env, regno, Access.READ, true, meta);
    checkSizeReg(env, regno, Access.WRITE, true, meta);
  });
}

/** mirrors check_mem_reg(): `size` bytes (from BTF) at the pointer in `regno`, NULL allowed. */
export function checkMemReg(env: Env, regno: number, size: number): void {
  if (isKnownZero(env.regs[regno])) return;
  asNotNull(env, regno, () => {
    checkHelperMemAccess(env, regno, size, Access.READ, true, null);
    checkHelperMemAccess(env, regno, size, Access.WRITE, true, null);
  });
}

/**
 * The memory in `regno - 1` with its size in `regno`: at a kfunc call
 * check_kfunc_mem_size_reg() (`write` is not used: it checks both); at a helper
 * call (bpf_dynptr_read/write) check_mem_size_reg() with `write` for an
 * ARG_PTR_TO_UNINIT_MEM buffer, then the helper's raw-mode writes.
 */
export function checkMemSizeReg(env: Env, regno: number, write: boolean, zeroOk: boolean): void {
  if (env.insns[env.insnIdx]?.src === BPF_PSEUDO_KFUNC_CALL) {
    checkKfuncMemSizeReg(env, regno);
    return;
  }
  if (env.regs[regno].type !== RegType.SCALAR_VALUE) env.reject(`R${regno} is not a scalar`);
  const meta = newMemArgMeta();
  meta.rawMode = write;
  checkSizeReg(env, regno, write ? Access.WRITE : Access.READ, zeroOk, meta);
  markRawModeWrites(env, meta);
}

/** A fixed-size kfunc memory argument: check_mem_reg(). */
export function checkHelperMem(env: Env, regno: number, size: number, _write: boolean, _zeroOk: boolean): void {
  checkMemReg(env, regno, size);
}
