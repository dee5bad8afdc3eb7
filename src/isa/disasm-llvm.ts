// LLVM syntax, as `llvm-objdump-19 -d` prints BPF instructions
// (llvm/lib/Target/BPF: BPFInstrInfo.td asm strings, BPFInstPrinter).
//
// Two decoder modes, as in llvm-objdump: the default one, and the one with the
// `alu32` feature (`--mattr=+alu32`, or `--mcpu=v3`/`v4`), where 32-bit loads and
// stores name w registers and 32-bit atomics exist. Instructions LLVM 19 cannot
// decode print as `<unknown>`. Load-acquire and store-release are printed in the
// LLVM 20 syntax (LLVM 19 has no such instructions and misdecodes them).

import type { Insn } from './insn.js';
import { tryDescribeInsn, type InsnView } from './view.js';

export interface LlvmDisasmOptions {
  /** Decode as with the alu32 feature (`--mattr=+alu32`, `--mcpu=v3`/`v4`). Default false. */
  alu32?: boolean;
}

/** LLVM's formatImm in hex mode: 0x1f, -0x8. */
export function llvmHex(n: number | bigint): string {
  if (typeof n === 'bigint') return n < 0n ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
  return n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`;
}

/** `+0x3` / `-0x2`: pc-relative jump offsets. */
function rel(n: number): string {
  return n < 0 ? `-0x${(-n).toString(16)}` : `+0x${n.toString(16)}`;
}

/** `(r2 + 0x3)` / `(r10 - 0x8)`. */
function addr(reg: number, off: number): string {
  return off < 0 ? `r${reg} - 0x${(-off).toString(16)}` : `r${reg} + 0x${off.toString(16)}`;
}

const ALU_OPS: Record<string, string> = {
  add: '+=',
  sub: '-=',
  mul: '*=',
  div: '/=',
  sdiv: 's/=',
  or: '|=',
  and: '&=',
  lsh: '<<=',
  rsh: '>>=',
  mod: '%=',
  smod: 's%=',
  xor: '^=',
  arsh: 's>>=',
  mov: '=',
};

const JMP_OPS: Record<string, string> = {
  jeq: '==',
  jgt: '>',
  jge: '>=',
  jset: '&',
  jne: '!=',
  jsgt: 's>',
  jsge: 's>=',
  jlt: '<',
  jle: '<=',
  jslt: 's<',
  jsle: 's<=',
};

const ATOMIC_ALU: Record<string, string> = { add: '+=', or: '|=', and: '&=', xor: '^=' };

/** Jump target of a view, for the ` <sym+0x..>` annotation. */
function viewTarget(v: InsnView): number | undefined {
  return v.kind === 'ja' || v.kind === 'may_goto' || v.kind === 'jcond' ? v.target : undefined;
}

function fromView(v: InsnView, alu32: boolean): string {
  switch (v.kind) {
    case 'alu': {
      const r = v.is64 ? 'r' : 'w';
      const d = `${r}${v.dst}`;
      if (v.op === 'neg') return `${d} = -${d}`;
      if (v.op === 'movsx') return v.source === 'reg' ? `${d} = (s${v.movsxBits})${r}${v.srcReg}` : '<unknown>';
      const rhs = v.source === 'reg' ? `${r}${v.srcReg}` : llvmHex(v.imm);
      return `${d} ${ALU_OPS[v.op]} ${rhs}`;
    }
    case 'endian': {
      const name = v.to === 'swap' ? 'bswap' : v.to;
      return `r${v.dst} = ${name}${v.bits} r${v.dst}`;
    }
    case 'ld_imm64': {
      // With a pseudo source LLVM decodes LD_PSEUDO: the source and the low 32 bits.
      if (v.pseudo !== 0) return `ld_pseudo\tr${v.dst}, ${llvmHex(v.pseudo)}, 0x${(v.lo >>> 0).toString(16)}`;
      // BPFInstPrinter::printImm64Operand prints the 64-bit value as signed.
      const s = BigInt.asIntN(64, v.imm64);
      return `r${v.dst} = ${llvmHex(s)} ll`;
    }
    case 'ld_imm64_hi':
      return '<unknown>';
    case 'ld_abs':
      return `r0 = *(u${v.size * 8} *)skb[${llvmHex(v.imm)}]`;
    case 'ld_ind':
      return `r0 = *(u${v.size * 8} *)skb[r${v.srcReg}]`;
    case 'ldx': {
      const r = alu32 && !v.signExtend && v.size < 8 ? 'w' : 'r';
      return `${r}${v.dst} = *(${v.signExtend ? 's' : 'u'}${v.size * 8} *)(${addr(v.srcReg, v.off)})`;
    }
    case 'st':
      return `*(u${v.size * 8} *)(${addr(v.dst, v.off)}) = ${llvmHex(v.imm)}`;
    case 'stx': {
      const r = alu32 && v.size < 8 ? 'w' : 'r';
      return `*(u${v.size * 8} *)(${addr(v.dst, v.off)}) = ${r}${v.srcReg}`;
    }
    case 'atomic': {
      const bits = v.size * 8;
      const r = v.size === 8 ? 'r' : 'w';
      const m = `(u${bits} *)(${addr(v.dst, v.off)})`;
      if (v.op === 'load_acq') return `${v.size === 8 ? 'r' : 'w'}${v.dst} = load_acquire(${m})`;
      if (v.op === 'store_rel') return `store_release(${m}, ${r}${v.srcReg})`;
      if (v.size !== 8 && !alu32) {
        // Without alu32, LLVM 19 knows only the legacy 32-bit `lock add` (XADDW),
        // and its decoder ignores the fetch bit.
        return v.op === 'add' ? `lock *${m} += r${v.srcReg}` : '<unknown>';
      }
      switch (v.op) {
        case 'xchg':
          return `${r}${v.srcReg} = ${v.size === 8 ? 'xchg_64' : 'xchg32_32'}(${addr(v.dst, v.off)}, ${r}${v.srcReg})`;
        case 'cmpxchg':
          return `${r}0 = ${v.size === 8 ? 'cmpxchg_64' : 'cmpxchg32_32'}(${addr(v.dst, v.off)}, ${r}0, ${r}${v.srcReg})`;
        default:
          if (v.fetch) return `${r}${v.srcReg} = atomic_fetch_${v.op}(${m}, ${r}${v.srcReg})`;
          return `lock *${m} ${ATOMIC_ALU[v.op]} ${r}${v.srcReg}`;
      }
    }
    case 'ja':
      return `${v.long ? 'gotol' : 'goto'} ${rel(v.offset)}`;
    case 'may_goto':
      return `may_goto ${rel(v.offset)}`;
    case 'jcond': {
      const r = v.is32 ? 'w' : 'r';
      const rhs = v.source === 'reg' ? `${r}${v.srcReg}` : llvmHex(v.imm);
      return `if ${r}${v.dst} ${JMP_OPS[v.op]} ${rhs} goto ${rel(v.offset)}`;
    }
    case 'call':
      return `call ${llvmHex(v.imm)}`;
    case 'exit':
      return 'exit';
  }
}

/** The text llvm-objdump-19 prints for slot `i` (the lddw second slot prints `<unknown>`, llvm-objdump never shows it). */
export function disasmLlvm(insns: readonly Insn[], i: number, opts: LlvmDisasmOptions = {}): string {
  const v = tryDescribeInsn(insns, i);
  if (typeof v === 'string') return '<unknown>';
  return fromView(v, opts.alu32 ?? false);
}

export interface ObjdumpOptions extends LlvmDisasmOptions {
  /** Index printed for slot 0 (the section offset / 8). Default 0. */
  baseIndex?: number;
  /** Print the raw bytes column, as without --no-show-raw-insn. Default true. */
  showRaw?: boolean;
  /**
   * Symbol that jump targets are shown against, as `goto +0x3 <sym+0x70>`;
   * llvm-objdump uses the nearest preceding symbol, `.text` when there is none.
   * Offsets are from slot 0 (plus baseIndex). Default: no annotation.
   */
  symbol?: string;
}

function rawBytes(insns: readonly Insn[], i: number): string {
  const x = insns[i];
  const b = [x.code, (x.dst & 0xf) | ((x.src & 0xf) << 4), x.off & 0xff, (x.off >> 8) & 0xff, x.imm & 0xff, (x.imm >>> 8) & 0xff, (x.imm >>> 16) & 0xff, (x.imm >>> 24) & 0xff];
  return b.map((n) => n.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Lines as `llvm-objdump-19 -d` prints the instructions of a section:
 * `      12:\t61 62 00 00 00 00 00 00\tr2 = *(u32 *)(r6 + 0x0)`. An lddw is one
 * line with 16 bytes; its second slot has no line of its own.
 */
export function objdumpLines(insns: readonly Insn[], opts: ObjdumpOptions = {}): string[] {
  const base = opts.baseIndex ?? 0;
  const raw = opts.showRaw ?? true;
  const out: string[] = [];
  for (let i = 0; i < insns.length; i++) {
    const v = tryDescribeInsn(insns, i);
    let text = typeof v === 'string' ? '<unknown>' : fromView(v, opts.alu32 ?? false);
    let bytes = rawBytes(insns, i);
    const isLddw = typeof v !== 'string' && v.kind === 'ld_imm64';
    if (isLddw) bytes += ' ' + rawBytes(insns, i + 1);
    if (opts.symbol !== undefined && typeof v !== 'string') {
      const t = viewTarget(v);
      if (t !== undefined && t + base >= 0) {
        const off = (t + base) * 8;
        text += off === 0 ? ` <${opts.symbol}>` : ` <${opts.symbol}+0x${off.toString(16)}>`;
      }
    }
    const addrCol = `${String(base + i).padStart(8, ' ')}:`;
    out.push(raw ? `${addrCol}\t${bytes}\t${text}` : `${addrCol}\t${text}`);
    if (isLddw) i++;
  }
  return out;
}
