// A typed, readonly view of one instruction slot, discriminated on `kind`.
//
// describeInsn() decides what an instruction *is* (the fields that select its
// meaning: opcode, the `off` of sdiv/smod/movsx, the `imm` of byte swaps and
// atomics, the pseudo `src` of lddw and calls). It does not check reserved
// fields or jump ranges; that is validateInsns() (validate.ts), which uses it.
// It mirrors the dispatch of the kernel's do_check() / bpf_opcode_in_insntable().

import { KfError } from '../util/errors.js';
import {
  AluOp,
  AtomicOp,
  Class,
  JmpOp,
  LD_IMM64,
  Mode,
  Size,
  Source,
  opAlu,
  opClass,
  opJmp,
  opMode,
  opSize,
  opSrc,
  sizeBytes,
} from './opcode.js';
import type { Insn } from './insn.js';

export type AluOpName =
  | 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'or' | 'and' | 'lsh' | 'rsh'
  | 'neg' | 'mod' | 'smod' | 'xor' | 'mov' | 'movsx' | 'arsh';
export type JmpOpName =
  | 'jeq' | 'jgt' | 'jge' | 'jset' | 'jne' | 'jsgt' | 'jsge' | 'jlt' | 'jle' | 'jslt' | 'jsle';
export type AtomicOpName = 'add' | 'or' | 'and' | 'xor' | 'xchg' | 'cmpxchg' | 'load_acq' | 'store_rel';
export type MemSize = 1 | 2 | 4 | 8;
export type CallKind = 'helper' | 'local' | 'kfunc';

interface Base {
  /** Slot index in the program. */
  readonly index: number;
  /** The raw slot. */
  readonly insn: Insn;
}

/** Second operand of ALU and conditional jumps: a register (BPF_X) or the immediate (BPF_K). */
export type Operand =
  | { readonly source: 'reg'; readonly srcReg: number }
  | { readonly source: 'imm'; readonly imm: number };

export type AluView = Base & {
  readonly kind: 'alu';
  readonly is64: boolean;
  readonly op: AluOpName;
  readonly dst: number;
  /** For movsx: the width of the sign-extended source. */
  readonly movsxBits?: 8 | 16 | 32;
} & Operand;

export interface EndianView extends Base {
  readonly kind: 'endian';
  /** 'le'/'be': ALU|END to little/big endian; 'swap': ALU64|END (bswap). */
  readonly to: 'le' | 'be' | 'swap';
  readonly bits: 16 | 32 | 64;
  readonly dst: number;
}

export interface LdImm64View extends Base {
  readonly kind: 'ld_imm64';
  readonly dst: number;
  /** Pseudo source (PseudoLd): 0 plain constant, 1 map fd, 2 map value, 3 btf id, 4 func, 5 map idx, 6 map idx value. */
  readonly pseudo: number;
  /** The 64-bit constant, unsigned: (hi << 32) | lo. */
  readonly imm64: bigint;
  /** imm of the first slot (signed 32-bit, as stored). */
  readonly lo: number;
  /** imm of the second slot (signed 32-bit, as stored). */
  readonly hi: number;
}

export interface LdImm64HiView extends Base {
  readonly kind: 'ld_imm64_hi';
  /** Index of the first slot of this lddw. */
  readonly first: number;
}

export interface LdAbsView extends Base {
  readonly kind: 'ld_abs';
  readonly size: MemSize;
  readonly imm: number;
}

export interface LdIndView extends Base {
  readonly kind: 'ld_ind';
  readonly size: MemSize;
  readonly srcReg: number;
  readonly imm: number;
}

export interface LdxView extends Base {
  readonly kind: 'ldx';
  readonly size: MemSize;
  readonly signExtend: boolean;
  readonly dst: number;
  readonly srcReg: number;
  readonly off: number;
}

export interface StView extends Base {
  readonly kind: 'st';
  readonly size: MemSize;
  readonly dst: number;
  readonly off: number;
  readonly imm: number;
}

export interface StxView extends Base {
  readonly kind: 'stx';
  readonly size: MemSize;
  readonly dst: number;
  readonly srcReg: number;
  readonly off: number;
}

export interface AtomicView extends Base {
  readonly kind: 'atomic';
  readonly size: MemSize;
  readonly op: AtomicOpName;
  /** BPF_FETCH set (always for xchg and cmpxchg). */
  readonly fetch: boolean;
  readonly dst: number;
  readonly srcReg: number;
  readonly off: number;
}

export interface JaView extends Base {
  readonly kind: 'ja';
  /** gotol (JMP32|JA): the offset is in imm. */
  readonly long: boolean;
  readonly offset: number;
  readonly target: number;
}

export interface MayGotoView extends Base {
  readonly kind: 'may_goto';
  readonly offset: number;
  readonly target: number;
}

export type JcondView = Base & {
  readonly kind: 'jcond';
  readonly is32: boolean;
  readonly op: JmpOpName;
  readonly dst: number;
  readonly offset: number;
  readonly target: number;
} & Operand;

export interface CallView extends Base {
  readonly kind: 'call';
  readonly callKind: CallKind;
  /** Helper id, pc-relative callee offset (local) or BTF id (kfunc). */
  readonly imm: number;
  /** For kfuncs: index of the module BTF fd in fd_array (0 = vmlinux). */
  readonly off: number;
  /** For local calls: index of the callee's first instruction. */
  readonly target?: number;
}

export interface ExitView extends Base {
  readonly kind: 'exit';
}

export type InsnView =
  | AluView
  | EndianView
  | LdImm64View
  | LdImm64HiView
  | LdAbsView
  | LdIndView
  | LdxView
  | StView
  | StxView
  | AtomicView
  | JaView
  | MayGotoView
  | JcondView
  | CallView
  | ExitView;

export type InsnKind = InsnView['kind'];

const ALU_NAMES: Partial<Record<number, AluOpName>> = {
  [AluOp.ADD]: 'add',
  [AluOp.SUB]: 'sub',
  [AluOp.MUL]: 'mul',
  [AluOp.DIV]: 'div',
  [AluOp.OR]: 'or',
  [AluOp.AND]: 'and',
  [AluOp.LSH]: 'lsh',
  [AluOp.RSH]: 'rsh',
  [AluOp.NEG]: 'neg',
  [AluOp.MOD]: 'mod',
  [AluOp.XOR]: 'xor',
  [AluOp.MOV]: 'mov',
  [AluOp.ARSH]: 'arsh',
};

const JMP_NAMES: Partial<Record<number, JmpOpName>> = {
  [JmpOp.JEQ]: 'jeq',
  [JmpOp.JGT]: 'jgt',
  [JmpOp.JGE]: 'jge',
  [JmpOp.JSET]: 'jset',
  [JmpOp.JNE]: 'jne',
  [JmpOp.JSGT]: 'jsgt',
  [JmpOp.JSGE]: 'jsge',
  [JmpOp.JLT]: 'jlt',
  [JmpOp.JLE]: 'jle',
  [JmpOp.JSLT]: 'jslt',
  [JmpOp.JSLE]: 'jsle',
};

/** Opcode byte of each conditional jump name (JMP class, BPF_K); or with Source.X / Class.JMP32. */
export const JMP_OPCODES: Readonly<Record<JmpOpName, number>> = {
  jeq: JmpOp.JEQ,
  jgt: JmpOp.JGT,
  jge: JmpOp.JGE,
  jset: JmpOp.JSET,
  jne: JmpOp.JNE,
  jsgt: JmpOp.JSGT,
  jsge: JmpOp.JSGE,
  jlt: JmpOp.JLT,
  jle: JmpOp.JLE,
  jslt: JmpOp.JSLT,
  jsle: JmpOp.JSLE,
};

const ATOMIC_NAMES: Partial<Record<number, [AtomicOpName, boolean]>> = {
  [AtomicOp.ADD]: ['add', false],
  [AtomicOp.OR]: ['or', false],
  [AtomicOp.AND]: ['and', false],
  [AtomicOp.XOR]: ['xor', false],
  [AtomicOp.ADD | AtomicOp.FETCH]: ['add', true],
  [AtomicOp.OR | AtomicOp.FETCH]: ['or', true],
  [AtomicOp.AND | AtomicOp.FETCH]: ['and', true],
  [AtomicOp.XOR | AtomicOp.FETCH]: ['xor', true],
  [AtomicOp.XCHG]: ['xchg', true],
  [AtomicOp.CMPXCHG]: ['cmpxchg', true],
  [AtomicOp.LOAD_ACQ]: ['load_acq', false],
  [AtomicOp.STORE_REL]: ['store_rel', false],
};

const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

/**
 * Whether slot `i` is the second half of an lddw, parsing from the start as the
 * kernel does: in a run of 0x18 opcodes starting at an instruction boundary,
 * slots alternate first/second.
 */
export function isLdImm64Hi(insns: readonly Insn[], i: number): boolean {
  if (i <= 0 || i >= insns.length) return false;
  if (insns[i - 1].code !== LD_IMM64) return false;
  let s = i - 1;
  while (s > 0 && insns[s - 1].code === LD_IMM64) s--;
  return (i - 1 - s) % 2 === 0;
}

function operand(x: Insn): Operand {
  return opSrc(x.code) === Source.X ? { source: 'reg', srcReg: x.src } : { source: 'imm', imm: x.imm };
}

/**
 * Describes slot `i`, or returns the reason it cannot be described (unknown
 * opcode, a selector field with no meaning). Never throws.
 */
export function tryDescribeInsn(insns: readonly Insn[], i: number, allowV4 = true): InsnView | string {
  if (!Number.isInteger(i) || i < 0 || i >= insns.length) return `no instruction at index ${i} (program has ${insns.length})`;
  const x = insns[i];
  const base = { index: i, insn: x };
  if (isLdImm64Hi(insns, i)) return { ...base, kind: 'ld_imm64_hi', first: i - 1 };
  const code = x.code;
  const cls = opClass(code);
  const v4 = (what: string): string | undefined => (allowV4 ? undefined : `${what} needs cpu v4`);
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const is64 = cls === Class.ALU64;
      const op = opAlu(code);
      if (op === AluOp.END) {
        const src = opSrc(code);
        if (is64 && src === Source.X) return `unknown opcode ${hex2(code)}`;
        if (x.imm !== 16 && x.imm !== 32 && x.imm !== 64) return `invalid byte swap width ${x.imm} (must be 16, 32 or 64)`;
        if (is64) {
          const e = v4('bswap');
          if (e) return e;
        }
        return { ...base, kind: 'endian', to: is64 ? 'swap' : src === Source.X ? 'be' : 'le', bits: x.imm, dst: x.dst };
      }
      let name = ALU_NAMES[op];
      if (name === undefined) return `unknown opcode ${hex2(code)}`;
      if (op === AluOp.NEG) {
        if (opSrc(code) === Source.X) return `unknown opcode ${hex2(code)}`;
        return { ...base, kind: 'alu', is64, op: 'neg', dst: x.dst, source: 'imm', imm: x.imm };
      }
      let movsxBits: 8 | 16 | 32 | undefined;
      if ((op === AluOp.DIV || op === AluOp.MOD) && x.off === 1) {
        const e = v4(op === AluOp.DIV ? 'sdiv' : 'smod');
        if (e) return e;
        name = op === AluOp.DIV ? 'sdiv' : 'smod';
      } else if (op === AluOp.MOV && opSrc(code) === Source.X && (x.off === 8 || x.off === 16 || (x.off === 32 && is64))) {
        const e = v4('movsx');
        if (e) return e;
        name = 'movsx';
        movsxBits = x.off;
      }
      const v = { ...base, kind: 'alu' as const, is64, op: name, dst: x.dst, ...operand(x) };
      return movsxBits ? { ...v, movsxBits } : v;
    }
    case Class.JMP:
    case Class.JMP32: {
      const is32 = cls === Class.JMP32;
      const op = opJmp(code);
      const k = opSrc(code) === Source.K;
      switch (op) {
        case JmpOp.JA:
          if (!k) return `unknown opcode ${hex2(code)}`;
          if (is32) {
            const e = v4('gotol');
            if (e) return e;
            return { ...base, kind: 'ja', long: true, offset: x.imm, target: i + x.imm + 1 };
          }
          return { ...base, kind: 'ja', long: false, offset: x.off, target: i + x.off + 1 };
        case JmpOp.CALL: {
          if (is32 || !k) return `unknown opcode ${hex2(code)}`;
          if (x.src === 0) return { ...base, kind: 'call', callKind: 'helper', imm: x.imm, off: x.off };
          if (x.src === 1) return { ...base, kind: 'call', callKind: 'local', imm: x.imm, off: x.off, target: i + x.imm + 1 };
          if (x.src === 2) return { ...base, kind: 'call', callKind: 'kfunc', imm: x.imm, off: x.off };
          return `invalid call kind src_reg=${x.src} (0 helper, 1 bpf-to-bpf, 2 kfunc)`;
        }
        case JmpOp.EXIT:
          if (is32 || !k) return `unknown opcode ${hex2(code)}`;
          return { ...base, kind: 'exit' };
        case JmpOp.JCOND:
          if (is32 || !k) return `unknown opcode ${hex2(code)}`;
          if (x.src !== 0) return `invalid conditional pseudo-jump src_reg=${x.src} (0 may_goto)`;
          return { ...base, kind: 'may_goto', offset: x.off, target: i + x.off + 1 };
        default: {
          const name = JMP_NAMES[op];
          if (name === undefined) return `unknown opcode ${hex2(code)}`;
          return { ...base, kind: 'jcond', is32, op: name, dst: x.dst, offset: x.off, target: i + x.off + 1, ...operand(x) };
        }
      }
    }
    case Class.LD: {
      const mode = opMode(code);
      const size = opSize(code);
      if (mode === Mode.IMM && size === Size.DW) {
        if (i + 1 >= insns.length) return 'lddw is missing its second slot';
        const hi = insns[i + 1].imm;
        if (x.src > 6) return `invalid lddw pseudo src_reg=${x.src} (0..6)`;
        const imm64 = (BigInt(hi >>> 0) << 32n) | BigInt(x.imm >>> 0);
        return { ...base, kind: 'ld_imm64', dst: x.dst, pseudo: x.src, imm64, lo: x.imm, hi };
      }
      if ((mode === Mode.ABS || mode === Mode.IND) && size !== Size.DW) {
        if (mode === Mode.ABS) return { ...base, kind: 'ld_abs', size: sizeBytes(size), imm: x.imm };
        return { ...base, kind: 'ld_ind', size: sizeBytes(size), srcReg: x.src, imm: x.imm };
      }
      return `unknown opcode ${hex2(code)}`;
    }
    case Class.LDX: {
      const mode = opMode(code);
      const size = opSize(code);
      if (mode === Mode.MEM || (mode === Mode.MEMSX && size !== Size.DW)) {
        if (mode === Mode.MEMSX) {
          const e = v4('sign-extending load');
          if (e) return e;
        }
        return {
          ...base,
          kind: 'ldx',
          size: sizeBytes(size),
          signExtend: mode === Mode.MEMSX,
          dst: x.dst,
          srcReg: x.src,
          off: x.off,
        };
      }
      return `unknown opcode ${hex2(code)}`;
    }
    case Class.ST:
      if (opMode(code) !== Mode.MEM) return `unknown opcode ${hex2(code)}`;
      return { ...base, kind: 'st', size: sizeBytes(opSize(code)), dst: x.dst, off: x.off, imm: x.imm };
    case Class.STX: {
      const mode = opMode(code);
      const size = sizeBytes(opSize(code));
      if (mode === Mode.MEM) return { ...base, kind: 'stx', size, dst: x.dst, srcReg: x.src, off: x.off };
      if (mode !== Mode.ATOMIC) return `unknown opcode ${hex2(code)}`;
      const a = ATOMIC_NAMES[x.imm];
      if (a === undefined) return `invalid atomic operation imm=${hex2(x.imm >>> 0)}`;
      const [op, fetch] = a;
      // mirrors check_atomic(): read-modify-write atomics are 4 or 8 bytes wide;
      // load-acquire and store-release take every size.
      if (op !== 'load_acq' && op !== 'store_rel' && size < 4) return `invalid atomic operand size ${size} for atomic ${op}`;
      if (op === 'load_acq' || op === 'store_rel') {
        const e = v4(op === 'load_acq' ? 'load-acquire' : 'store-release');
        if (e) return e;
      }
      return { ...base, kind: 'atomic', size, op, fetch, dst: x.dst, srcReg: x.src, off: x.off };
    }
  }
  return `unknown opcode ${hex2(code)}`;
}

/** Describes slot `i` of `insns`; throws KfError `instruction i: <reason>` when it is not an instruction. */
export function describeInsn(insns: readonly Insn[], i: number, opts?: { allowV4?: boolean }): InsnView {
  const v = tryDescribeInsn(insns, i, opts?.allowV4 ?? true);
  if (typeof v === 'string') throw new KfError(`instruction ${i}: ${v}`);
  return v;
}

/** Describes every slot of a program (lddw second slots included as 'ld_imm64_hi'). */
export function describeProgram(insns: readonly Insn[], opts?: { allowV4?: boolean }): InsnView[] {
  const out = new Array<InsnView>(insns.length);
  for (let i = 0; i < insns.length; i++) out[i] = describeInsn(insns, i, opts);
  return out;
}

// ---- small helpers over raw slots ------------------------------------------------

/** Slots this instruction takes: 2 for lddw, else 1. */
export function slotCount(x: Insn): 1 | 2 {
  return x.code === LD_IMM64 ? 2 : 1;
}

/** lddw (first slot). */
export function isLdImm64(x: Insn): boolean {
  return x.code === LD_IMM64;
}

function isJmpClass(code: number): boolean {
  const c = opClass(code);
  return c === Class.JMP || c === Class.JMP32;
}

/** Jumps with a target inside the function: goto, gotol, may_goto and conditional jumps (not call/exit). */
export function isJump(x: Insn): boolean {
  if (!isJmpClass(x.code)) return false;
  const op = opJmp(x.code);
  return op !== JmpOp.CALL && op !== JmpOp.EXIT;
}

/** Jumps with two successors (target and fall-through): conditional jumps and may_goto. */
export function isCondJump(x: Insn): boolean {
  if (!isJump(x)) return false;
  return opJmp(x.code) !== JmpOp.JA;
}

/** Target index of the jump at `i` (goto/gotol/may_goto/conditional), else undefined. Not range-checked. */
export function jumpTarget(insns: readonly Insn[], i: number): number | undefined {
  const x = insns[i];
  if (x === undefined || !isJump(x) || isLdImm64Hi(insns, i)) return undefined;
  if (x.code === (Class.JMP32 | JmpOp.JA)) return i + x.imm + 1;
  return i + x.off + 1;
}

/**
 * Target index of a bpf-to-bpf call (`call pc+N`) or of an lddw of a function
 * address (src_reg 4) at `i`, else undefined. Not range-checked.
 */
export function callTarget(insns: readonly Insn[], i: number): number | undefined {
  const x = insns[i];
  if (x === undefined || isLdImm64Hi(insns, i)) return undefined;
  if (x.code === (Class.JMP | JmpOp.CALL) && x.src === 1) return i + x.imm + 1;
  if (x.code === LD_IMM64 && x.src === 4) return i + x.imm + 1;
  return undefined;
}

const CALLER_SAVED = 0b111111; // r0..r5
const ARGS = 0b111110; // r1..r5

/**
 * Registers read by slot `i`, as a bit mask (bit n = rn). Calls read r1..r5
 * (conservatively: the callee's prototype decides how many), exit reads r0,
 * legacy packet loads read r6 (the skb).
 */
export function readsMask(insns: readonly Insn[], i: number): number {
  const v = tryDescribeInsn(insns, i);
  if (typeof v === 'string') return 0;
  const bit = (r: number): number => 1 << r;
  switch (v.kind) {
    case 'alu': {
      let m = v.op === 'mov' || v.op === 'movsx' ? 0 : bit(v.dst);
      if (v.source === 'reg') m |= bit(v.srcReg);
      return m;
    }
    case 'endian':
      return bit(v.dst);
    case 'ld_imm64':
    case 'ld_imm64_hi':
    case 'ja':
    case 'may_goto':
      return 0;
    case 'ld_abs':
      return bit(6);
    case 'ld_ind':
      return bit(6) | bit(v.srcReg);
    case 'ldx':
      return bit(v.srcReg);
    case 'st':
      return bit(v.dst);
    case 'stx':
      return bit(v.dst) | bit(v.srcReg);
    case 'atomic':
      if (v.op === 'load_acq') return bit(v.srcReg);
      return bit(v.dst) | bit(v.srcReg) | (v.op === 'cmpxchg' ? bit(0) : 0);
    case 'jcond':
      return bit(v.dst) | (v.source === 'reg' ? bit(v.srcReg) : 0);
    case 'call':
      return ARGS;
    case 'exit':
      return bit(0);
  }
}

/** Registers written by slot `i`, as a bit mask. Calls and legacy packet loads clobber r0..r5. */
export function writesMask(insns: readonly Insn[], i: number): number {
  const v = tryDescribeInsn(insns, i);
  if (typeof v === 'string') return 0;
  const bit = (r: number): number => 1 << r;
  switch (v.kind) {
    case 'alu':
    case 'endian':
    case 'ld_imm64':
    case 'ldx':
      return bit(v.dst);
    case 'ld_abs':
    case 'ld_ind':
    case 'call':
      return CALLER_SAVED;
    case 'atomic':
      if (v.op === 'load_acq') return bit(v.dst);
      if (v.op === 'cmpxchg') return bit(0);
      return v.fetch ? bit(v.srcReg) : 0;
    default:
      return 0;
  }
}

function maskToRegs(m: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < 16; r++) if (m & (1 << r)) out.push(r);
  return out;
}

/** Registers read by slot `i`, ascending. */
export function readsRegs(insns: readonly Insn[], i: number): number[] {
  return maskToRegs(readsMask(insns, i));
}

/** Registers written by slot `i`, ascending. */
export function writesRegs(insns: readonly Insn[], i: number): number[] {
  return maskToRegs(writesMask(insns, i));
}
