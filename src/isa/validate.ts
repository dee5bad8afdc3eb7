// Static validation of instruction encodings (RFC 9669 with the v4 additions).
//
// Mirrors the load-time checks of the kernel that need no verifier state:
// bpf_opcode_in_insntable(), the "uses reserved fields" checks in do_check(),
// check_alu_op(), check_cond_jmp_op(), check_ld_imm(), check_ld_abs(),
// check_atomic(), resolve_pseudo_ldimm64() (lddw second slot and pseudo
// sources), check_subprogs()/check_cfg() (jump ranges, jumps into lddw) and
// check_reg_arg() (register numbers, r10 is read only). Following the RFC,
// every field an instruction does not use must be zero (the kernel does not
// check `off` of exit; the RFC and the conformance suite do).

import { KfError } from '../util/errors.js';
import type { Insn } from './insn.js';
import { LD_IMM64, R10 } from './opcode.js';
import { isLdImm64Hi, tryDescribeInsn, writesMask, type InsnView } from './view.js';

export interface ValidateOptions {
  /** Accept the cpu v4 instructions (sdiv/smod, movsx, bswap, sign-extending loads, gotol, load-acquire/store-release). Default true. */
  allowV4?: boolean;
  /**
   * Also apply the kernel's load-time value checks that the RFC leaves to run
   * time: division/modulo by an immediate 0 ("div by zero") and shifts by an
   * immediate not below the operand width ("invalid shift"). Default false.
   */
  strict?: boolean;
  /**
   * Check the program as a whole, as check_subprogs() does: not empty, and the
   * last instruction is an exit or an unconditional jump. Default false.
   */
  wholeProgram?: boolean;
  /**
   * Slots whose call or function-address target a relocation supplies: an
   * object's code section before linking, where a call into another section
   * (a static function in .text: R_BPF_64_32 against the section symbol, imm
   * relative to it; a global one: against the function's symbol, imm -1) has
   * an imm that means nothing within this section. libbpf resolves these in
   * bpf_object__reloc_code(); their targets are checked once linked. Default none.
   */
  relocated?: ReadonlySet<number>;
}

const SZ: Record<number, string> = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' };

/** A short mnemonic naming the instruction in messages (uBPF-style: add64, ldxw, jeq32, be16). */
export function mnemonic(v: InsnView): string {
  switch (v.kind) {
    case 'alu':
      return `${v.op}${v.is64 ? '64' : ''}`;
    case 'endian':
      return `${v.to === 'swap' ? 'bswap' : v.to}${v.bits}`;
    case 'ld_imm64':
      return 'lddw';
    case 'ld_imm64_hi':
      return 'lddw second slot';
    case 'ld_abs':
      return `ldabs${SZ[v.size]}`;
    case 'ld_ind':
      return `ldind${SZ[v.size]}`;
    case 'ldx':
      return `ldx${v.signExtend ? 's' : ''}${SZ[v.size]}`;
    case 'st':
      return `st${SZ[v.size]}`;
    case 'stx':
      return `stx${SZ[v.size]}`;
    case 'atomic': {
      const base =
        v.op === 'load_acq'
          ? 'load_acquire'
          : v.op === 'store_rel'
            ? 'store_release'
            : v.op === 'xchg' || v.op === 'cmpxchg'
              ? v.op
              : `atomic_${v.fetch ? 'fetch_' : ''}${v.op}`;
      return `${base}${v.size * 8}`;
    }
    case 'ja':
      return v.long ? 'gotol' : 'ja';
    case 'may_goto':
      return 'may_goto';
    case 'jcond':
      return `${v.op}${v.is32 ? '32' : ''}`;
    case 'call':
      return v.callKind === 'helper' ? 'call' : v.callKind === 'local' ? 'call (bpf-to-bpf)' : 'call (kfunc)';
    case 'exit':
      return 'exit';
  }
}

type Field = 'dst_reg' | 'src_reg' | 'off' | 'imm';

function fieldValue(x: Insn, f: Field): number {
  switch (f) {
    case 'dst_reg':
      return x.dst;
    case 'src_reg':
      return x.src;
    case 'off':
      return x.off;
    case 'imm':
      return x.imm;
  }
}

/** Fields the instruction does not use (must be zero), and the register fields it uses. */
function fieldsOf(v: InsnView): { unused: Field[]; regs: Field[] } {
  switch (v.kind) {
    case 'alu': {
      if (v.op === 'neg') return { unused: ['src_reg', 'off', 'imm'], regs: ['dst_reg'] };
      const offUsed = v.op === 'sdiv' || v.op === 'smod' || v.op === 'movsx';
      const unused: Field[] = v.source === 'reg' ? ['imm'] : ['src_reg'];
      if (!offUsed) unused.push('off');
      return { unused, regs: v.source === 'reg' ? ['dst_reg', 'src_reg'] : ['dst_reg'] };
    }
    case 'endian':
      return { unused: ['src_reg', 'off'], regs: ['dst_reg'] };
    case 'ld_imm64':
      return { unused: ['off'], regs: ['dst_reg'] };
    case 'ld_imm64_hi':
      return { unused: ['dst_reg', 'src_reg', 'off'], regs: [] };
    case 'ld_abs':
      return { unused: ['dst_reg', 'src_reg', 'off'], regs: [] };
    case 'ld_ind':
      return { unused: ['dst_reg', 'off'], regs: ['src_reg'] };
    case 'ldx':
      return { unused: ['imm'], regs: ['dst_reg', 'src_reg'] };
    case 'st':
      return { unused: ['src_reg'], regs: ['dst_reg'] };
    case 'stx':
      return { unused: ['imm'], regs: ['dst_reg', 'src_reg'] };
    case 'atomic':
      return { unused: [], regs: ['dst_reg', 'src_reg'] };
    case 'ja':
      return { unused: v.long ? ['dst_reg', 'src_reg', 'off'] : ['dst_reg', 'src_reg', 'imm'], regs: [] };
    case 'may_goto':
      return { unused: ['dst_reg', 'imm'], regs: [] };
    case 'jcond':
      return { unused: v.source === 'reg' ? ['imm'] : ['src_reg'], regs: v.source === 'reg' ? ['dst_reg', 'src_reg'] : ['dst_reg'] };
    case 'call':
      return { unused: v.callKind === 'kfunc' ? ['dst_reg'] : ['dst_reg', 'off'], regs: [] };
    case 'exit':
      return { unused: ['dst_reg', 'src_reg', 'off', 'imm'], regs: [] };
  }
}

function operandForm(v: InsnView): string {
  if ((v.kind === 'alu' && v.op !== 'neg') || v.kind === 'jcond') return v.source === 'reg' ? ' with register' : ' with immediate';
  return '';
}

/** Returns the reason slot `i` is invalid, or undefined. */
function checkOne(insns: readonly Insn[], i: number, v: InsnView, opts: ValidateOptions): string | undefined {
  const x = v.insn;
  const name = mnemonic(v) + operandForm(v);
  const { unused, regs } = fieldsOf(v);
  for (const f of regs) {
    const r = fieldValue(x, f);
    if (r > R10) return `invalid register r${r}`;
  }
  for (const f of unused) {
    if (fieldValue(x, f) !== 0) return `reserved field ${f} must be 0 in ${name}`;
  }
  if (writesMask(insns, i) & (1 << R10)) return `frame pointer r10 is read only (written by ${mnemonic(v)})`;
  switch (v.kind) {
    case 'ld_imm64': {
      // mirrors resolve_pseudo_ldimm64(): map fds and indexes have no high half.
      if ((v.pseudo === 1 || v.pseudo === 5) && v.hi !== 0) return `lddw of a map ${v.pseudo === 1 ? 'fd' : 'index'} must have imm 0 in its second slot`;
      if (v.pseudo === 4) return opts.relocated?.has(i) ? undefined : checkTarget(insns, v.lo + i + 1, 'function address');
      return undefined;
    }
    case 'alu':
      if (opts.strict && v.source === 'imm') {
        // mirrors check_alu_op()
        if ((v.op === 'div' || v.op === 'sdiv' || v.op === 'mod' || v.op === 'smod') && v.imm === 0) return 'div by zero';
        if ((v.op === 'lsh' || v.op === 'rsh' || v.op === 'arsh') && (v.imm < 0 || v.imm >= (v.is64 ? 64 : 32))) return `invalid shift ${v.imm}`;
      }
      return undefined;
    case 'ja':
    case 'may_goto':
    case 'jcond':
      return checkTarget(insns, v.target, 'jump');
    case 'call':
      if (v.callKind === 'local') return opts.relocated?.has(i) ? undefined : checkTarget(insns, v.target ?? -1, 'call');
      return undefined;
    default:
      return undefined;
  }
}

function checkTarget(insns: readonly Insn[], t: number, what: string): string | undefined {
  // mirrors check_subprogs() / check_cfg(): "jump out of range from insn %d to %d"
  if (t < 0 || t >= insns.length) return `${what} out of range to ${t}`;
  if (isLdImm64Hi(insns, t)) return `${what} into the middle of lddw at ${t}`;
  return undefined;
}

/**
 * Rejects invalid encodings with KfError `instruction N: <reason>`, N the slot
 * index. Checks every slot; the first problem found is reported.
 */
export function validateInsns(insns: readonly Insn[], opts: ValidateOptions = {}): void {
  const allowV4 = opts.allowV4 ?? true;
  if (opts.wholeProgram && insns.length === 0) throw new KfError('program has no instructions');
  for (let i = 0; i < insns.length; i++) {
    const x = insns[i];
    const v = tryDescribeInsn(insns, i, allowV4);
    if (typeof v === 'string') throw new KfError(`instruction ${i}: ${v}`);
    const why = checkOne(insns, i, v, opts);
    if (why !== undefined) throw new KfError(`instruction ${i}: ${why}`);
    if (x.code === LD_IMM64) {
      // mirrors resolve_pseudo_ldimm64(): "invalid bpf_ld_imm64 insn"
      const hi = insns[i + 1];
      if (hi.code !== 0) throw new KfError(`instruction ${i + 1}: lddw second slot must have opcode 0, not 0x${hi.code.toString(16).padStart(2, '0')}`);
      for (const f of ['dst_reg', 'src_reg', 'off'] as const) {
        if (fieldValue(hi, f) !== 0) throw new KfError(`instruction ${i + 1}: reserved field ${f} must be 0 in lddw second slot`);
      }
      i++;
    }
  }
  if (opts.wholeProgram) {
    // mirrors check_subprogs(): "last insn is not an exit or jmp"
    const last = tryDescribeInsn(insns, insns.length - 1, allowV4);
    if (typeof last === 'string' || (last.kind !== 'exit' && last.kind !== 'ja')) {
      throw new KfError(`instruction ${insns.length - 1}: last instruction is not an exit or jump`);
    }
  }
}

/** Like validateInsns but returns the error message (or undefined) instead of throwing. */
export function checkInsns(insns: readonly Insn[], opts: ValidateOptions = {}): string | undefined {
  try {
    validateInsns(insns, opts);
    return undefined;
  } catch (e) {
    if (e instanceof KfError) return e.message;
    throw e;
  }
}
