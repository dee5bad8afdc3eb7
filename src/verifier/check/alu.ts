// ALU/ALU64: mirrors check_alu_op(), adjust_reg_min_max_vals(),
// adjust_ptr_min_max_vals() and adjust_scalar_min_max_vals().
import type { Insn } from '../../isa/insn.js';
import type { Env } from '../env.js';
import { boundsSync, scalarAlu, scalarConst, scalarConstImm, scalarConst32, scalarConstValue, scalarEndian, scalarIsConst, scalarMovsx, scalarUnknown, type AluOp, type Scalar } from '../num/scalar.js';
import { tnumAdd, tnumIsConst, tnumStr, tnumSub } from '../num/tnum.js';
import { S64_MAX, S64_MIN, U64_MAX } from '../num/u64.js';
import { isPktPointer, regTypeStr, type RegState } from '../state/reg.js';
import { PTR_MAYBE_NULL, RegType } from '../state/types.js';
import { checkRegArg, copyInto, markKnown, markUnknown, Op } from './regs.js';
import { markChainPrecision } from '../precision.js';

const ALU_STR = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', 'neg', '%=', '^=', '=', 's>>=', 'endian'];
const OPS: Record<number, AluOp> = {
  0x00: 'add', 0x10: 'sub', 0x20: 'mul', 0x30: 'div', 0x40: 'or', 0x50: 'and', 0x60: 'lsh', 0x70: 'rsh',
  0x90: 'mod', 0xa0: 'xor', 0xc0: 'arsh',
};
export const BPF_MAX_VAR_OFF = 1 << 29;

/**
 * Linked scalars with a constant delta (include/linux/bpf_verifier.h, 6.18.44:
 * the stable backport of "Support negative offsets, BPF_SUB, and alu32 for
 * linked register tracking" and its fixes). `r1 = r2; r1 += 10` leaves
 * r1.id = N | BPF_ADD_CONST64 and r1.off = 10 (`w1 += 10`: BPF_ADD_CONST32);
 * the log prints `id=N+10` (state/log print_reg_state()), sync_linked_regs()
 * (check/jmp.ts) adds the delta. Ids stay below 2^30, so the flags are the top bits.
 */
export const BPF_ADD_CONST64 = 0x80000000;
export const BPF_ADD_CONST32 = 0x40000000;
export const BPF_ADD_CONST = 0xc0000000;
/** reg->id & ~BPF_ADD_CONST */
export const scalarIdBase = (id: number): number => id & 0x3fffffff;
/** reg->id & BPF_ADD_CONST (0, BPF_ADD_CONST32 or BPF_ADD_CONST64) */
export const scalarIdFlags = (id: number): number => (id & BPF_ADD_CONST) >>> 0;

/** mirrors assign_scalar_id_before_mov() */
export function assignScalarId(env: Env, src: RegState): void {
  if (src.type !== RegType.SCALAR_VALUE) return;
  if (scalarIdFlags(src.id)) {
    // rY went through rY += const already: multiple rX += const are not supported
    src.id = 0;
    src.off = 0;
  }
  if (!src.id && !tnumIsConst(src.s.varOff)) src.id = env.nextId();
}

/** Bit width a scalar can hold: mirrors get_reg_width(). */
function regWidth(r: RegState): number {
  const m = r.s.umax;
  return m === 0n ? 0 : m.toString(2).length;
}

export function checkAlu(env: Env, insn: Insn): void {
  const op = insn.code & 0xf0;
  const is64 = (insn.code & 7) === 7;
  const srcX = (insn.code & 8) !== 0;
  const regs = env.regs;
  if (op === 0xd0 || op === 0x80) {
    if (op === 0x80) {
      if (srcX || insn.src !== 0 || insn.off !== 0 || insn.imm !== 0) env.reject('BPF_NEG uses reserved fields');
    } else if (insn.src !== 0 || insn.off !== 0 || (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) || (is64 && srcX)) {
      env.reject('BPF_END uses reserved fields');
    }
    checkRegArg(env, insn.dst, Op.SRC);
    const dst = regs[insn.dst];
    if (dst.type === RegType.KERNEL_VALUE) return;
    if (op === 0x80 && dst.type === RegType.SCALAR_VALUE) {
      checkRegArg(env, insn.dst, Op.DST_NO_MARK);
      const s = scalarAlu('neg', is64, dst.s, dst.s);
      markUnknown(dst);
      dst.s = s;
      return;
    }
    if (op === 0xd0 && dst.type === RegType.SCALAR_VALUE) {
      const before = dst.s;
      checkRegArg(env, insn.dst, Op.DST);
      dst.s = scalarEndian(before, insn.imm as 16 | 32 | 64, srcX);
      return;
    }
    checkRegArg(env, insn.dst, Op.DST);
    return;
  }
  if (op === 0xb0) {
    checkMov(env, insn, is64, srcX);
    return;
  }
  if (op > 0xd0) env.reject(`invalid BPF_ALU opcode ${(op >> 4).toString(16)}`);
  const badOff = (insn.off !== 0 && insn.off !== 1) || (insn.off === 1 && op !== 0x90 && op !== 0x30);
  if (srcX) {
    if (insn.imm !== 0 || badOff) env.reject('BPF_ALU uses reserved fields');
    checkRegArg(env, insn.src, Op.SRC);
  } else if (insn.src !== 0 || badOff) {
    env.reject('BPF_ALU uses reserved fields');
  }
  checkRegArg(env, insn.dst, Op.SRC);
  if ((op === 0x90 || op === 0x30) && !srcX && insn.imm === 0) env.reject('div by zero');
  if ((op === 0x60 || op === 0x70 || op === 0xc0) && !srcX) {
    const size = is64 ? 64 : 32;
    if (insn.imm < 0 || insn.imm >= size) env.reject(`invalid shift ${insn.imm}`);
  }
  checkRegArg(env, insn.dst, Op.DST_NO_MARK);
  adjustRegMinMax(env, insn, is64, srcX, op);
}

function checkMov(env: Env, insn: Insn, is64: boolean, srcX: boolean): void {
  const regs = env.regs;
  if (srcX) {
    const okOff = is64 ? [0, 8, 16, 32] : [0, 8, 16];
    if (!okOff.includes(insn.off) || insn.imm) env.reject('BPF_MOV uses reserved fields');
    checkRegArg(env, insn.src, Op.SRC);
  } else if (insn.src !== 0 || insn.off !== 0) {
    env.reject('BPF_MOV uses reserved fields');
  }
  checkRegArg(env, insn.dst, Op.DST_NO_MARK);
  const dst = regs[insn.dst];
  if (!srcX) {
    markKnown(dst, is64 ? BigInt(insn.imm) : BigInt(insn.imm >>> 0));
    return;
  }
  const src = regs[insn.src];
  if (is64) {
    if (insn.off === 0) {
      assignScalarId(env, src);
      copyInto(dst, src);
      return;
    }
    if (src.type === RegType.SCALAR_VALUE) {
      const noSext = src.s.umax < 1n << BigInt(insn.off - 1);
      if (noSext) assignScalarId(env, src);
      copyInto(dst, src);
      if (!noSext) dst.id = 0;
      dst.s = scalarMovsx(src.s, insn.off as 8 | 16 | 32, true);
      dst.precise = src.precise;
    } else if (src.type === RegType.KERNEL_VALUE) {
      copyInto(dst, src);
    } else {
      markUnknown(dst);
    }
    return;
  }
  if (src.type === RegType.SCALAR_VALUE) {
    if (insn.off === 0) {
      const u32 = regWidth(src) <= 32;
      if (u32) assignScalarId(env, src);
      copyInto(dst, src);
      if (!u32) dst.id = 0;
      dst.s = scalarAlu('mov', false, dst.s, src.s);
    } else {
      const noSext = src.s.umax < 1n << BigInt(insn.off - 1);
      if (noSext) assignScalarId(env, src);
      copyInto(dst, src);
      if (!noSext) dst.id = 0;
      dst.s = scalarMovsx(src.s, insn.off as 8 | 16, false);
    }
  } else if (src.type === RegType.KERNEL_VALUE) {
    copyInto(dst, src);
  } else {
    markUnknown(dst);
    dst.s = scalarAlu('mov', false, dst.s, dst.s);
  }
}

function adjustRegMinMax(env: Env, insn: Insn, is64: boolean, srcX: boolean, op: number): void {
  const regs = env.regs;
  const dst = regs[insn.dst];
  let srcS: Scalar;
  if (srcX) {
    const src = regs[insn.src];
    srcS = src.s;
    if (src.type === RegType.KERNEL_VALUE || dst.type === RegType.KERNEL_VALUE) {
      markUnknown(dst);
      dst.type = RegType.KERNEL_VALUE;
      return;
    }
    if (src.type !== RegType.SCALAR_VALUE) {
      if (dst.type !== RegType.SCALAR_VALUE) {
        if (op === 0x10) {
          markUnknown(dst);
          return;
        }
        env.reject(`R${insn.dst} pointer ${ALU_STR[op >> 4]} pointer prohibited`);
      }
      // scalar += pointer: the scalar offset must be precise
      markChainPrecision(env, insn.dst);
      adjustPtr(env, insn, is64, op, src, dst, true);
      return;
    }
    if (dst.type !== RegType.SCALAR_VALUE) {
      markChainPrecision(env, insn.src);
      adjustPtr(env, insn, is64, op, dst, src, false);
      return;
    }
    // if dst is precise, src must be precise as well
    if (dst.precise) markChainPrecision(env, insn.src);
  } else {
    if (dst.type === RegType.KERNEL_VALUE) return;
    srcS = scalarConstImm(insn.imm);
    if (dst.type !== RegType.SCALAR_VALUE) {
      adjustPtr(env, insn, is64, op, dst, { ...dst, type: RegType.SCALAR_VALUE, s: srcS, id: 0 }, false);
      return;
    }
  }
  let aop = OPS[op];
  if (insn.off === 1) aop = op === 0x30 ? 'sdiv' : 'smod';
  // alu32 links need the upper half zero before the operation
  const dstUmax = dst.s.umax;
  const s = scalarAlu(aop, is64, dst.s, srcS);
  dst.s = s;
  linkConstDelta(insn, is64, srcX, op, dst, srcS, dstUmax);
}

const S32_MIN_N = -0x80000000;

/**
 * The end of adjust_reg_min_max_vals(): `rX += const` / `rX -= const` on a
 * scalar with an id remembers the delta (BPF_ADD_CONST); any other result
 * is a new value and loses the id.
 */
function linkConstDelta(insn: Insn, is64: boolean, srcX: boolean, op: number, dst: RegState, srcS: Scalar, dstUmax: bigint): void {
  const alu32 = !is64;
  const clear = (): void => {
    dst.id = 0;
    dst.off = 0;
  };
  // src_reg == dst_reg: the source is the result, not a constant delta
  if ((op !== 0x00 && op !== 0x10) || !dst.id || !scalarIsConst(srcS, alu32) || (srcX && insn.src === insn.dst)) return clear();
  const val = scalarConstValue(srcS, alu32);
  if (!alu32 && (BigInt.asIntN(64, val) < BigInt(S32_MIN_N) || BigInt.asIntN(64, val) > 0x7fffffffn)) return clear();
  if (alu32 && dstUmax > 0xffffffffn) return clear();
  let off = Number(BigInt.asIntN(32, val));
  if (op === 0x10) {
    // negating S32_MIN would overflow
    if (off === S32_MIN_N) return clear();
    off = 0 - off;
  }
  // a register that went through rX += val already cannot accumulate another val
  if (scalarIdFlags(dst.id)) return clear();
  dst.id = (dst.id | (alu32 ? BPF_ADD_CONST32 : BPF_ADD_CONST64)) >>> 0;
  dst.off = off;
}

function scalarWith(v: { smin: bigint; smax: bigint; umin: bigint; umax: bigint }, varOff: Scalar['varOff']): Scalar {
  const u = scalarUnknown();
  return boundsSync({ ...u, varOff, smin: v.smin, smax: v.smax, umin: v.umin, umax: v.umax });
}

/** mirrors check_reg_sane_offset() */
function saneOffset(env: Env, reg: RegState, type: RegState): void {
  const known = tnumIsConst(reg.s.varOff);
  const val = BigInt.asIntN(64, reg.s.varOff.value);
  const lim = BigInt(BPF_MAX_VAR_OFF);
  const tstr = regTypeStr(type);
  if (known && (val >= lim || val <= -lim)) env.reject(`math between ${tstr} pointer and ${val} is not allowed`);
  if (reg.type !== RegType.SCALAR_VALUE && (reg.off >= BPF_MAX_VAR_OFF || reg.off <= -BPF_MAX_VAR_OFF))
    env.reject(`${tstr} pointer offset ${reg.off} is not allowed`);
  if (reg.s.smin === S64_MIN) env.reject(`math between ${tstr} pointer and register with unbounded min value is not allowed`);
  if (reg.s.smin >= lim || reg.s.smin <= -lim) env.reject(`value ${reg.s.smin} makes ${tstr} pointer be out of bounds`);
}

/** mirrors adjust_ptr_min_max_vals(); `dst` is the destination register. */
function adjustPtr(env: Env, insn: Insn, is64: boolean, op: number, ptr: RegState, offReg: RegState, dstIsOff: boolean): void {
  const dst = env.regs[insn.dst];
  const o = offReg.s;
  const known = tnumIsConst(o.varOff);
  if ((known && (o.smin !== o.smax || o.umin !== o.umax)) || o.smin > o.smax || o.umin > o.umax) {
    markUnknown(dst);
    return;
  }
  if (!is64) {
    if (op === 0x10) {
      markUnknown(dst);
      return;
    }
    env.reject(`R${insn.dst} 32-bit pointer arithmetic prohibited`);
  }
  if (ptr.flags & PTR_MAYBE_NULL) env.reject(`R${insn.dst} pointer arithmetic on ${regTypeStr(ptr)} prohibited, null-check it first`);
  switch (ptr.type) {
    case RegType.PTR_TO_CTX:
    case RegType.PTR_TO_MAP_VALUE:
    case RegType.PTR_TO_MAP_KEY:
    case RegType.PTR_TO_STACK:
    case RegType.PTR_TO_PACKET_META:
    case RegType.PTR_TO_PACKET:
    case RegType.PTR_TO_BTF_ID:
    case RegType.PTR_TO_MEM:
    case RegType.PTR_TO_FUNC:
    case RegType.CONST_PTR_TO_DYNPTR:
      break;
    case RegType.CONST_PTR_TO_MAP:
      if (known && o.smin === 0n && op === 0x00) break;
      env.reject(`R${insn.dst} pointer arithmetic on ${regTypeStr(ptr)} prohibited`);
      break;
    default:
      env.reject(`R${insn.dst} pointer arithmetic on ${regTypeStr(ptr)} prohibited`);
  }
  saneOffset(env, offReg, ptr);
  saneOffset(env, ptr, ptr);
  const p = ptr.s;
  const res: RegState = { ...ptr };
  const fitsS32 = (v: bigint): boolean => v === BigInt.asIntN(32, v);
  switch (op) {
    case 0x00: {
      const noff = BigInt(ptr.off) + o.smin;
      if (known && fitsS32(noff)) {
        res.off = Number(noff);
        break;
      }
      let smin = p.smin + o.smin, smax = p.smax + o.smax;
      if (smin !== BigInt.asIntN(64, smin) || smax !== BigInt.asIntN(64, smax)) [smin, smax] = [S64_MIN, S64_MAX];
      let umin = p.umin + o.umin, umax = p.umax + o.umax;
      if (umin > U64_MAX || umax > U64_MAX) [umin, umax] = [0n, U64_MAX];
      res.s = scalarWith({ smin, smax, umin, umax }, tnumAdd(p.varOff, o.varOff));
      if (isPktPointer(ptr)) {
        res.id = env.nextId();
        res.range = 0;
      }
      break;
    }
    case 0x10: {
      if (dstIsOff) env.reject(`R${insn.dst} tried to subtract pointer from scalar`);
      if (ptr.type === RegType.PTR_TO_STACK) env.reject(`R${insn.dst} subtraction from stack pointer prohibited`);
      const noff = BigInt(ptr.off) - o.smin;
      if (known && fitsS32(noff)) {
        res.off = Number(noff);
        break;
      }
      let smin = p.smin - o.smax, smax = p.smax - o.smin;
      if (smin !== BigInt.asIntN(64, smin) || smax !== BigInt.asIntN(64, smax)) [smin, smax] = [S64_MIN, S64_MAX];
      let umin: bigint, umax: bigint;
      if (p.umin < o.umax) [umin, umax] = [0n, U64_MAX];
      else [umin, umax] = [p.umin - o.umax, p.umax - o.umin];
      res.s = scalarWith({ smin, smax, umin, umax }, tnumSub(p.varOff, o.varOff));
      if (isPktPointer(ptr)) {
        res.id = env.nextId();
        if (o.smin < 0n) res.range = 0;
      }
      break;
    }
    case 0x40:
    case 0x50:
    case 0xa0:
      env.reject(`R${insn.dst} bitwise operator ${ALU_STR[op >> 4]} on pointer prohibited`);
      break;
    default:
      env.reject(`R${insn.dst} pointer arithmetic with ${ALU_STR[op >> 4]} operator prohibited`);
  }
  Object.assign(dst, res);
  saneOffset(env, dst, ptr);
}

export { tnumStr, scalarConst32 };
