// Register operand checks: mirrors check_reg_arg() / __check_reg_arg().
import { MAX_BPF_REG, R10 } from '../../isa/opcode.js';
import type { Env } from '../env.js';
import { scalarConst, scalarUnknown } from '../num/scalar.js';
import { assignReg, resetReg, type RegState } from '../state/reg.js';
import { RegType } from '../state/types.js';

export const enum Op {
  SRC,
  DST,
  DST_NO_MARK,
}

/** mirrors check_reg_arg() */
export function checkRegArg(env: Env, regno: number, t: Op): void {
  if (regno >= MAX_BPF_REG) env.reject(`R${regno} is invalid`);
  env.scratch.reg(regno);
  const reg = env.regs[regno];
  if (t === Op.SRC) {
    if (reg.type === RegType.NOT_INIT) env.reject(`R${regno} !read_ok`);
    return;
  }
  if (regno === R10) env.reject('frame pointer is read only');
  if (t === Op.DST) markUnknown(reg);
}

/** mirrors __mark_reg_unknown(): in place. */
export function markUnknown(reg: RegState): void {
  resetReg(reg);
  reg.type = RegType.SCALAR_VALUE;
  reg.s = scalarUnknown();
}

/** mirrors __mark_reg_known() on a scalar register. */
export function markKnown(reg: RegState, v: bigint): void {
  resetReg(reg);
  reg.type = RegType.SCALAR_VALUE;
  reg.s = scalarConst(v);
}

/** mirrors __mark_reg_not_init() */
export function markNotInit(reg: RegState): void {
  resetReg(reg);
}

/** mirrors mark_reg_known_zero() followed by setting a pointer type. */
export function markPtr(reg: RegState, type: RegType, flags = 0): void {
  resetReg(reg);
  reg.type = type;
  reg.flags = flags;
  reg.s = scalarConst(0n);
}

/** mirrors copy_register_state() */
export function copyInto(dst: RegState, src: RegState): void {
  assignReg(dst, src);
}
