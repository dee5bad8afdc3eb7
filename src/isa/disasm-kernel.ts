// Kernel syntax: the text of print_bpf_insn() (kernel/bpf/disasm.c, Linux 6.18),
// as the verifier log and `bpftool prog dump xlated` print instructions:
//   (bf) r6 = r1    (07) r1 += -8    (15) if r2 == 0x0 goto pc+5    (95) exit
//
// Like the kernel, this works on the raw fields and prints anything, valid or
// not (`BUG_ld_..` for what it cannot name); it never throws for a slot that
// exists.

import { KfError } from '../util/errors.js';
import type { Insn } from './insn.js';
import { helperName as defaultHelperName } from './helpers.js';
import { isLdImm64Hi } from './view.js';

export interface KernelDisasmOptions {
  /**
   * Name of helper `id` (src_reg 0 calls). Defaults to the kernel's func_id_str[]
   * table; an unknown id prints `unknown` as the kernel does.
   */
  helperName?: (id: number) => string | undefined;
  /**
   * Name of the kfunc with this BTF id in the BTF at fd_array index `off` (0 =
   * vmlinux). The verifier's disasm_kfunc_name() callback; without it a kfunc
   * call prints `kernel-function`.
   */
  kfuncName?: (btfId: number, off: number) => string | undefined;
  /**
   * The cb_call callback in full: called for every call the helper table does
   * not name (unknown helpers, bpf-to-bpf calls, kfuncs), before kfuncName. A
   * bpf-to-bpf call prints `call pc<result>`; the default result is `%+d` of imm.
   */
  callName?: (insn: Insn, index: number) => string | undefined;
  /**
   * The cb_imm callback: the text after `rN = ` of an lddw (default `0x%llx` of
   * the 64-bit value). bpftool's is `bpftoolImm`.
   */
  ldImm64?: (insn: Insn, imm64: bigint, index: number, next: Insn) => string;
  /** When false, pointer-valued lddw constants (map, map value, BTF id) print as 0, as for unprivileged users. Default true. */
  allowPtrLeaks?: boolean;
}

const ALU: readonly (string | undefined)[] = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', 'neg', '%=', '^=', '=', 's>>=', 'endian'];
const ALU_SIGN: readonly (string | undefined)[] = [, , , 's/=', , , , , , 's%='];
const MOVSX: readonly (string | undefined)[] = ['(s8)', '(s16)', undefined, '(s32)'];
const ATOMIC_ALU: Readonly<Record<number, string>> = { 0x00: 'add', 0x50: 'and', 0x40: 'or', 0xa0: 'xor' };
const LDST = ['u32', 'u16', 'u8', 'u64'];
const LDSX: readonly (string | undefined)[] = ['s32', 's16', 's8', undefined];
const JMP: readonly (string | undefined)[] = ['jmp', '==', '>', '>=', '&', '!=', 's>', 's>=', 'call', 'exit', '<', '<=', 's<', 's<='];

/** C's "%s" of a NULL pointer, as glibc and the kernel's vsnprintf print it. */
const str = (s: string | undefined): string => s ?? '(null)';
/** "%02x" of the opcode. */
const op2 = (code: number): string => code.toString(16).padStart(2, '0');
/** "%+d". */
const plus = (n: number): string => (n < 0 ? `${n}` : `+${n}`);

/** bpftool's print_imm() for `bpftool prog dump xlated` (map ids, map values, subprog addresses). */
export function bpftoolImm(x: Insn, imm64: bigint, _index: number, next: Insn): string {
  switch (x.src) {
    case 1:
      return `map[id:${x.imm >>> 0}]`;
    case 2:
      return `map[id:${x.imm >>> 0}][0]+${next.imm >>> 0}`;
    case 6:
      return `map[idx:${x.imm >>> 0}]+${next.imm >>> 0}`;
    case 4:
      return `subprog[${plus(x.imm)}]`;
    default:
      return `0x${imm64.toString(16)}`;
  }
}

// mirrors __func_get_name()
function funcName(x: Insn, i: number, opts: KernelDisasmOptions): string | undefined {
  if (x.src === 0) {
    const n = (opts.helperName ?? defaultHelperName)(x.imm);
    if (n !== undefined) return n;
  }
  const cb = opts.callName?.(x, i);
  if (cb !== undefined) return cb;
  if (x.src === 2 && opts.kfuncName) {
    const n = opts.kfuncName(x.imm, x.off);
    if (n !== undefined) return n;
  }
  if (x.src === 1) return plus(x.imm);
  if (x.src === 2) return 'kernel-function';
  return undefined;
}

/** print_bpf_insn() for slot `i`, without the `i: ` prefix. */
export function disasmKernel(insns: readonly Insn[], i: number, opts: KernelDisasmOptions = {}): string {
  const x = insns[i];
  if (x === undefined) throw new KfError(`no instruction at index ${i} (program has ${insns.length})`);
  const code = x.code;
  const cls = code & 7;
  const op = code >> 4;
  const head = `(${op2(code)})`;
  const isX = (code & 8) !== 0;
  const size = (code >> 3) & 3;
  const mode = code & 0xe0;
  if (cls === 4 || cls === 7) {
    const r = cls === 4 ? 'w' : 'r';
    if (op === 0xd) {
      if (cls === 7) return `${head} r${x.dst} = bswap${x.imm} r${x.dst}`;
      return `${head} r${x.dst} = ${isX ? 'be' : 'le'}${x.imm} r${x.dst}`;
    }
    if (op === 0x8) return `${head} ${r}${x.dst} = -${r}${x.dst}`;
    if (code === 0xbf && x.off === 1) return `${head} r${x.dst} = addr_space_cast(r${x.src}, ${x.imm >>> 16}, ${x.imm & 0xffff})`;
    if (code === 0xbf && x.off === -1) return `${head} r${x.dst} = &(void __percpu *)(r${x.src})`;
    const sdiv = (op === 0x3 || op === 0x9) && x.off === 1;
    const name = str(sdiv ? ALU_SIGN[op] : ALU[op]);
    if (isX) {
      const movsx = op === 0xb && (x.off === 8 || x.off === 16 || x.off === 32) ? str(MOVSX[(x.off >> 3) - 1]) : '';
      return `${head} ${r}${x.dst} ${name} ${movsx}${r}${x.src}`;
    }
    return `${head} ${r}${x.dst} ${name} ${x.imm}`;
  }
  if (cls === 3) {
    const t = LDST[size];
    const m = `(${t} *)(r${x.dst} ${plus(x.off)})`;
    if (mode === 0x60) return `${head} *${m} = r${x.src}`;
    if (mode === 0xc0) {
      const imm = x.imm;
      const w = size === 3 ? '64' : '';
      if (imm === 0x00 || imm === 0x50 || imm === 0x40 || imm === 0xa0) return `${head} lock *${m} ${str(ALU[imm >> 4])} r${x.src}`;
      if (imm === 0x01 || imm === 0x51 || imm === 0x41 || imm === 0xa1) {
        return `${head} r${x.src} = atomic${w}_fetch_${ATOMIC_ALU[imm & 0xf0]}(${m}, r${x.src})`;
      }
      if (imm === 0xf1) return `${head} r0 = atomic${w}_cmpxchg(${m}, r0, r${x.src})`;
      if (imm === 0xe1) return `${head} r${x.src} = atomic${w}_xchg(${m}, r${x.src})`;
      if (imm === 0x100) return `${head} r${x.dst} = load_acquire((${t} *)(r${x.src} ${plus(x.off)}))`;
      if (imm === 0x110) return `${head} store_release(${m}, r${x.src})`;
    }
    return `BUG_${op2(code)}`;
  }
  if (cls === 2) {
    if (mode === 0x60) return `${head} *(${LDST[size]} *)(r${x.dst} ${plus(x.off)}) = ${x.imm}`;
    if (mode === 0xc0) return `${head} nospec`;
    return `BUG_st_${op2(code)}`;
  }
  if (cls === 1) {
    if (mode !== 0x60 && mode !== 0x80) return `BUG_ldx_${op2(code)}`;
    const t = mode === 0x60 ? LDST[size] : str(LDSX[size]);
    return `${head} r${x.dst} = *(${t} *)(r${x.src} ${plus(x.off)})`;
  }
  if (cls === 0) {
    if (mode === 0x20) return `${head} r0 = *(${LDST[size]} *)skb[${x.imm}]`;
    if (mode === 0x40) return `${head} r0 = *(${LDST[size]} *)skb[r${x.src} + ${x.imm}]`;
    if (mode === 0x00 && size === 3) {
      const next = insns[i + 1];
      if (next === undefined) return `BUG_ld_${op2(code)}`;
      let imm64 = (BigInt(next.imm >>> 0) << 32n) | BigInt(x.imm >>> 0);
      const isPtr = x.src === 1 || x.src === 2 || x.src === 5 || x.src === 6 || x.src === 3;
      if (isPtr && opts.allowPtrLeaks === false) imm64 = 0n;
      const text = opts.ldImm64 ? opts.ldImm64(x, imm64, i, next) : `0x${imm64.toString(16)}`;
      return `${head} r${x.dst} = ${text}`;
    }
    return `BUG_ld_${op2(code)}`;
  }
  // BPF_JMP, BPF_JMP32
  if (op === 0x8) {
    if (x.src === 1) return `${head} call pc${funcName(x, i, opts) ?? ''}`;
    return `${head} call ${funcName(x, i, opts) ?? 'unknown'}#${x.imm}`;
  }
  if (code === 0x05) return `${head} goto pc${plus(x.off)}`;
  if (code === 0xe5 && x.src === 0) return `${head} may_goto pc${plus(x.off)}`;
  if (code === 0x06) return `${head} gotol pc${plus(x.imm)}`;
  if (code === 0x95) return `${head} exit`;
  const r = cls === 6 ? 'w' : 'r';
  if (isX) return `${head} if ${r}${x.dst} ${str(JMP[op])} ${r}${x.src} goto pc${plus(x.off)}`;
  return `${head} if ${r}${x.dst} ${str(JMP[op])} 0x${(x.imm >>> 0).toString(16)} goto pc${plus(x.off)}`;
}

export interface XlatedOptions extends KernelDisasmOptions {
  /** Index printed for slot 0. Default 0. */
  baseIndex?: number;
  /** printf width of the index: 0 gives the verifier log's `%d: `, 4 bpftool's `% 4d: `. Default 4. */
  indexWidth?: number;
}

/**
 * Lines like `bpftool prog dump xlated` (`   0: (b7) r1 = 1`), one per
 * instruction: an lddw is printed once and its second slot skipped but counted.
 * lddw constants are formatted by bpftoolImm unless `ldImm64` is given.
 */
export function dumpXlated(insns: readonly Insn[], opts: XlatedOptions = {}): string {
  const base = opts.baseIndex ?? 0;
  const width = opts.indexWidth ?? 4;
  const o: KernelDisasmOptions = { ...opts, ldImm64: opts.ldImm64 ?? bpftoolImm };
  const out: string[] = [];
  for (let i = 0; i < insns.length; i++) {
    if (isLdImm64Hi(insns, i)) continue;
    out.push(`${String(base + i).padStart(width, ' ')}: ${disasmKernel(insns, i, o)}`);
  }
  return out.length ? out.join('\n') + '\n' : '';
}
