// Memory forms of the kernel/clang syntax: loads (`r0 = *(s8 *)(r1 + 0)`, the
// legacy `skb[...]` packet loads), stores, and the atomics in llvm-mc's spelling
// (`lock *(u64 *)(r1 + 0) += r2`, `r0 = cmpxchg_64(r1 + 0, r0, r2)`) and the
// kernel log's (`atomic64_fetch_add((u64 *)(r1 +0), r0)`), load_acquire and
// store_release. Mirrors the atomic cases of print_bpf_insn() and BPFInstrInfo.td.

import { insn, type Insn } from './insn.js';
import { AtomicOp, Class, Mode, Size } from './opcode.js';
import type { Tok } from './asm-lex.js';
import type { Cursor, MemType, Reg } from './asm-cursor.js';
import type { Item } from './asm-kernel-stmt.js';

const one = (x: Insn): Item => ({ insns: [x] });

/** `(u64 *)(r1 + 8)` as the atomic and acquire/release forms write it. */
function castMem(c: Cursor): { ty: MemType; base: Reg; off: number } {
  const ty = c.memType();
  const { base, off } = c.memRef();
  return { ty, base, off };
}

function atomicSize(c: Cursor, ty: MemType): Size {
  if (ty.signed || (ty.size !== Size.W && ty.size !== Size.DW)) throw c.expected('type u32 or u64', ty.tok);
  return ty.size;
}

const LOCK_OPS: Record<string, AtomicOp> = { '+=': AtomicOp.ADD, '&=': AtomicOp.AND, '|=': AtomicOp.OR, '^=': AtomicOp.XOR };

export function parseLock(c: Cursor): Item {
  c.expectOp('*');
  const { ty, base, off } = castMem(c);
  const size = atomicSize(c, ty);
  const opTok = c.peek();
  const op = opTok.kind === 'op' && Object.hasOwn(LOCK_OPS, opTok.text) ? LOCK_OPS[opTok.text] : undefined;
  if (op === undefined) throw c.expected('atomic operation (+=, &=, |=, ^=)');
  c.next();
  const s = c.reg();
  return one(insn(Class.STX | Mode.ATOMIC | size, base.n, s.n, off, op));
}

export function parseStore(c: Cursor): Item {
  c.expectOp('*');
  const ty = c.memType();
  if (ty.signed) throw c.expected('unsigned type for a store', ty.tok);
  const { base, off } = c.memRef();
  c.expectOp('=');
  if (c.isReg()) {
    const s = c.reg();
    return one(insn(Class.STX | Mode.MEM | ty.size, base.n, s.n, off, 0));
  }
  return one(insn(Class.ST | Mode.MEM | ty.size, base.n, 0, off, c.imm32()));
}


export function sameReg(c: Cursor, d: Reg): void {
  const t = c.peek();
  const s = c.reg();
  if (s.n !== d.n || s.w !== d.w) throw c.expected(`${d.w ? 'w' : 'r'}${d.n} (same register as the destination)`, t);
}


export function parseLoad(c: Cursor, d: Reg): Item {
  c.expectOp('*');
  const ty = c.memType();
  if (c.eatIdent('skb')) {
    // Legacy packet access: `r0 = *(u8 *)skb[4]` (LD_ABS), `r0 = *(u16 *)skb[r1]` (LD_IND).
    if (ty.signed || ty.size === Size.DW) throw c.expected('type u8, u16 or u32', ty.tok);
    c.expectOp('[');
    let x: Insn;
    if (c.isReg()) {
      const s = c.reg64();
      let imm = 0;
      if (c.isOp('+') || c.isOp('-')) {
        const neg = c.next().text === '-';
        const v = c.imm32();
        imm = neg ? -v | 0 : v;
      }
      x = insn(Class.LD | Mode.IND | ty.size, 0, s.n, 0, imm);
    } else {
      x = insn(Class.LD | Mode.ABS | ty.size, 0, 0, 0, c.imm32());
    }
    c.expectOp(']');
    if (d.n !== 0 || d.w) throw c.expected('r0 as the destination of a packet load', d.tok);
    return one(x);
  }
  const { base, off } = c.memRef();
  const mode = ty.signed ? Mode.MEMSX : Mode.MEM;
  return one(insn(Class.LDX | mode | ty.size, d.n, base.n, off, 0));
}


const FETCH_RE = /^atomic(64)?_fetch_(add|and|or|xor)$/;
const FETCH_OPS: Record<string, AtomicOp> = { add: AtomicOp.ADD, and: AtomicOp.AND, or: AtomicOp.OR, xor: AtomicOp.XOR };

/** `store_release((u64 *)(r1 + 0), r2)`, after the name. */
export function parseStoreRelease(c: Cursor): Item {
  c.expectOp('(');
  const { ty, base, off } = castMem(c);
  c.expectOp(',');
  const s = c.reg();
  c.expectOp(')');
  return one(insn(Class.STX | Mode.ATOMIC | ty.size, base.n, s.n, off, AtomicOp.STORE_REL));
}

/** Right-hand sides `atomic_fetch_*(...)`, `xchg_64(...)`, `cmpxchg_64(...)`, `load_acquire(...)`. */
export function parseAtomicRhs(c: Cursor, d: Reg, f: Tok): Item | undefined {
  const name = f.text;
  const fetch = FETCH_RE.exec(name);
  if (fetch) {
    // `r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)`; kernel log: `atomic64_fetch_add`.
    c.next();
    c.expectOp('(');
    const { ty, base, off } = castMem(c);
    const size = atomicSize(c, ty);
    c.expectOp(',');
    sameReg(c, d);
    c.expectOp(')');
    return one(insn(Class.STX | Mode.ATOMIC | size, base.n, d.n, off, FETCH_OPS[fetch[2]] | AtomicOp.FETCH));
  }
  if (name === 'xchg_64' || name === 'xchg32_32' || name === 'cmpxchg_64' || name === 'cmpxchg32_32') {
    // llvm: `r2 = xchg_64(r1 + 0, r2)`, `r0 = cmpxchg_64(r1 + 0, r0, r2)`.
    c.next();
    const size = name.endsWith('_64') ? Size.DW : Size.W;
    c.expectOp('(');
    const { base, off } = c.addr();
    return finishXchg(c, d, name.startsWith('cmp'), size, base, off);
  }
  if (/^atomic(64)?_(cmp)?xchg$/.test(name)) {
    // kernel log: `r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)`, `w2 = atomic_xchg((u32 *)(r1 +0), w2)`.
    c.next();
    c.expectOp('(');
    const { ty, base, off } = castMem(c);
    return finishXchg(c, d, name.includes('cmpxchg'), atomicSize(c, ty), base, off);
  }
  if (name === 'load_acquire') {
    c.next();
    c.expectOp('(');
    const { ty, base, off } = castMem(c);
    if (ty.signed) throw c.expected('unsigned type', ty.tok);
    c.expectOp(')');
    return one(insn(Class.STX | Mode.ATOMIC | ty.size, d.n, base.n, off, AtomicOp.LOAD_ACQ));
  }
  return undefined;
}

function finishXchg(c: Cursor, d: Reg, cmp: boolean, size: Size, base: Reg, off: number): Item {
  // llvm writes w registers for the 32-bit forms; the kernel log writes r registers.
  if (d.w && size !== Size.W) throw c.expected('64-bit (r) register', d.tok);
  c.expectOp(',');
  if (cmp) {
    if (d.n !== 0) throw c.expected('r0 as the destination of cmpxchg', d.tok);
    sameReg(c, d);
    c.expectOp(',');
  }
  const s = cmp ? c.reg() : (sameReg(c, d), d);
  c.expectOp(')');
  return one(insn(Class.STX | Mode.ATOMIC | size, base.n, s.n, off, cmp ? AtomicOp.CMPXCHG : AtomicOp.XCHG));
}
