// Kernel-syntax instruction text for the verifier log: mirrors print_bpf_insn()
// in kernel/bpf/disasm.c. (src/isa may grow its own; this one is what the log uses.)
import type { Insn } from '../isa/insn.js';
import { helperName } from './helpers-proto.js';

const ALU = ['+=', '-=', '*=', '/=', '|=', '&=', '<<=', '>>=', 'neg', '%=', '^=', '=', 's>>=', 'endian'];
const JMP = ['jmp', '==', '>', '>=', '&', '!=', 's>', 's>=', 'call', 'exit', '<', '<=', 's<', 's<='];
const LDST = ['u32', 'u16', 'u8', 'u64'];
const LDSX = ['s32', 's16', 's8', 'BUG'];
const ATOMIC_ALU: Record<number, string> = { 0x00: 'add', 0x50: 'and', 0x40: 'or', 0xa0: 'xor' };
const hx = (n: number): string => n.toString(16).padStart(2, '0');
const sgn = (n: number): string => (n >= 0 ? `+${n}` : `${n}`);

/** "(bf) r2 = r10" — without the "N: " prefix and the newline. */
export function insnText(insns: readonly Insn[], i: number): string {
  const x = insns[i];
  const c = `(${hx(x.code)})`;
  const cls = x.code & 7;
  const op = x.code & 0xf0;
  const sz = (x.code & 0x18) >> 3;
  const mode = x.code & 0xe0;
  if (cls === 4 || cls === 7) {
    const r = cls === 4 ? 'w' : 'r';
    if (op === 0xd0) {
      if (cls === 7) return `${c} r${x.dst} = bswap${x.imm} r${x.dst}`;
      return `${c} r${x.dst} = ${x.code & 8 ? 'be' : 'le'}${x.imm} r${x.dst}`;
    }
    if (op === 0x80) return `${c} ${r}${x.dst} = -${r}${x.dst}`;
    const sdiv = (op === 0x30 || op === 0x90) && x.off === 1;
    const name = sdiv ? (op === 0x30 ? 's/=' : 's%=') : ALU[op >> 4];
    if (x.code & 8) {
      const movsx = op === 0xb0 && x.off !== 0 ? (['(s8)', '(s16)', '(s32)'][(x.off >> 3) - 1] ?? '') : '';
      return `${c} ${r}${x.dst} ${name} ${movsx}${r}${x.src}`;
    }
    return `${c} ${r}${x.dst} ${name} ${x.imm}`;
  }
  if (cls === 3) {
    const t = LDST[sz];
    if (mode === 0x60) return `${c} *(${t} *)(r${x.dst} ${sgn(x.off)}) = r${x.src}`;
    if (mode === 0xc0) {
      const imm = x.imm;
      if (ATOMIC_ALU[imm] !== undefined) return `${c} lock *(${t} *)(r${x.dst} ${sgn(x.off)}) ${ALU[imm >> 4]} r${x.src}`;
      if ((imm & 1) && ATOMIC_ALU[imm & ~1] !== undefined)
        return `${c} r${x.src} = atomic${sz === 3 ? '64' : ''}_fetch_${ATOMIC_ALU[imm & ~1]}((${t} *)(r${x.dst} ${sgn(x.off)}), r${x.src})`;
      if (imm === 0xf1) return `${c} r0 = atomic${sz === 3 ? '64' : ''}_cmpxchg((${t} *)(r${x.dst} ${sgn(x.off)}), r0, r${x.src})`;
      if (imm === 0xe1) return `${c} r${x.src} = atomic${sz === 3 ? '64' : ''}_xchg((${t} *)(r${x.dst} ${sgn(x.off)}), r${x.src})`;
      if (imm === 0x100) return `${c} r${x.dst} = load_acquire((${t} *)(r${x.src} ${sgn(x.off)}))`;
      if (imm === 0x110) return `${c} store_release((${t} *)(r${x.dst} ${sgn(x.off)}), r${x.src})`;
    }
    return `BUG_${hx(x.code)}`;
  }
  if (cls === 2) {
    if (mode === 0x60) return `${c} *(${LDST[sz]} *)(r${x.dst} ${sgn(x.off)}) = ${x.imm}`;
    return `BUG_st_${hx(x.code)}`;
  }
  if (cls === 1) {
    if (mode === 0x60 || mode === 0x80) {
      const t = mode === 0x80 ? LDSX[sz] : LDST[sz];
      return `${c} r${x.dst} = *(${t} *)(r${x.src} ${sgn(x.off)})`;
    }
    return `BUG_ldx_${hx(x.code)}`;
  }
  if (cls === 0) {
    if (mode === 0x20) return `${c} r0 = *(${LDST[sz]} *)skb[${x.imm}]`;
    if (mode === 0x40) return `${c} r0 = *(${LDST[sz]} *)skb[r${x.src} + ${x.imm}]`;
    if (mode === 0x00 && sz === 3) {
      const hi = i + 1 < insns.length ? BigInt.asUintN(32, BigInt(insns[i + 1].imm)) : 0n;
      const v = (hi << 32n) | BigInt.asUintN(32, BigInt(x.imm));
      return `${c} r${x.dst} = 0x${v.toString(16)}`;
    }
    return `BUG_ld_${hx(x.code)}`;
  }
  // JMP / JMP32
  if (op === 0x80) {
    if (x.src === 1) return `${c} call pc${sgn(x.imm)}`;
    const name = x.src === 0 ? (helperName(x.imm) ?? 'unknown') : 'unknown';
    return `${c} call ${name}#${x.imm}`;
  }
  if (x.code === 0x05) return `${c} goto pc${sgn(x.off)}`;
  if (x.code === 0xe5 && x.src === 0) return `${c} may_goto pc${sgn(x.off)}`;
  if (x.code === 0x06) return `${c} gotol pc${sgn(x.imm)}`;
  if (x.code === 0x95) return `${c} exit`;
  const r = cls === 6 ? 'w' : 'r';
  if (x.code & 8) return `${c} if ${r}${x.dst} ${JMP[op >> 4]} ${r}${x.src} goto pc${sgn(x.off)}`;
  return `${c} if ${r}${x.dst} ${JMP[op >> 4]} 0x${(x.imm >>> 0).toString(16)} goto pc${sgn(x.off)}`;
}
