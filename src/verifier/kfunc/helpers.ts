// The dynptr helpers bpf_dynptr_read (201) and bpf_dynptr_write (202):
// mirrors check_helper_call() for their prototypes (ARG_PTR_TO_DYNPTR |
// MEM_RDONLY arguments go through process_dynptr_func()).
import type { Insn } from '../../isa/insn.js';
import type { Env } from '../env.js';
import { checkRegArg, markUnknown, markNotInit, Op } from '../check/regs.js';
import { RegType } from '../state/types.js';
import { regTypeStr } from '../state/reg.js';
import { checkDynptrRegType, processDynptrFunc } from './dynptr.js';
import { checkMemSizeReg } from './mem-arg.js';

export const BPF_FUNC_dynptr_read = 201;
export const BPF_FUNC_dynptr_write = 202;

/** True for helper calls this module checks. */
export const isDynptrHelper = (insn: Insn): boolean => insn.src === 0 && (insn.imm === BPF_FUNC_dynptr_read || insn.imm === BPF_FUNC_dynptr_write);

export function checkDynptrHelper(env: Env, insn: Insn): void {
  const read = insn.imm === BPF_FUNC_dynptr_read;
  for (let r = 1; r <= 5; r++) checkRegArg(env, r, Op.SRC);
  const dyn = read ? 3 : 1;
  const mem = read ? 1 : 3;
  checkDynptrRegType(env, dyn);
  processDynptrFunc(env, dyn, { uninit: false, type: 0, rdonly: true });
  for (const r of read ? [4, 5] : [2, 5]) if (env.regs[r].type === RegType.NOT_INIT) env.reject(`R${r} !read_ok`);
  const sizeReg = mem + 1;
  if (env.regs[sizeReg].type !== RegType.SCALAR_VALUE) env.reject(`R${sizeReg} type=${regTypeStr(env.regs[sizeReg])} expected=scalar`);
  // ARG_PTR_TO_UNINIT_MEM for read's dst (written by the helper), ARG_PTR_TO_MEM | MEM_RDONLY for write's src
  checkMemSizeReg(env, sizeReg, read, true);
  for (let i = 0; i <= 5; i++) {
    markNotInit(env.regs[i]);
    env.scratch.reg(i);
  }
  markUnknown(env.regs[0]);
}
