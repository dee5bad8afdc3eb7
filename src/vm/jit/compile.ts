// BPF → WebAssembly. Each BPF subprogram becomes one wasm function
// (r1..r5, r10) -> r0 with r0, r6..r9 as i64 locals. Control flow is
// structured with the dominator-tree algorithm of Ramsey, "Beyond Relooper"
// (ICFP 2022), for reducible CFGs, and falls back to a loop + br_table
// dispatcher over basic blocks otherwise. Semantics mirror the kernel's
// x86 JIT (arch/x86/net/bpf_jit_comp.c do_jit()): div/mod by zero, shift
// masking and sign extension exactly as BPF.
//
// Calls to helpers/kfuncs (and LD_ABS/LD_IND) go through one i32-only import
// `native(pc)`: r1..r5, r10 (and r6 and the LD_IND source) are stored to a
// scratch area at CALL_SCRATCH, r0 is read back from it.

import { KfError } from '../../util/errors.js';
import type { Insn } from '../../isa/insn.js';
import { CALL_SCRATCH } from '../memory.js';
import { MAY_GOTO_BUDGET, STACK_FRAME_SIZE, funcAddr } from '../env.js';
import { Bytes, EMPTY_BLOCK, I32, I64, ModuleBuilder, Op } from './wasm-encoder.js';
import { buildSubprog, dominates, subprogStarts, type Subprog } from './cfg.js';

/** Scratch layout (byte offsets from CALL_SCRATCH). */
export const SCR_R0 = 0;
export const SCR_R1 = 8; // r1..r5 at 8..40
export const SCR_FP = 48;
export const SCR_R6 = 56;
export const SCR_SRC = 64;

export const enum FaultCode {
  FELL_OFF = 0,
  CALL_DEPTH = 1,
  BAD_INSN = 2,
}

export type NativeSite =
  | { kind: 'helper'; imm: number }
  | { kind: 'kfunc'; imm: number; off: number }
  | { kind: 'packet'; size: 1 | 2 | 4; imm: number; ind: boolean };

export interface CompiledWasm {
  readonly bytes: Uint8Array;
  /** Subprogram start slots; function f<start> is exported for each. */
  readonly subprogs: number[];
  /** Pseudo ld_imm64 sites resolved by Env.ldImm64 at load time, imported as globals k<pc>. */
  readonly pseudo: { pc: number; src: number; imm: number; nextImm: number }[];
  readonly natives: Map<number, NativeSite>;
  /** Number of functions that needed the br_table dispatcher. */
  dispatched: number;
}

// local indices
const TMP = 11;
const TMP2 = 12;
const ADDR = 13;
const TA = 14;
const TB = 15;
const LABEL = 16;
const LOCALS = [I64, I64, I64, I64, I64, I64, I64, I32, I32, I32, I32]; // r0 r6..r9 tmp tmp2 | addr ta tb label
const regLocal = (r: number): number => (r === 0 ? 6 : r <= 5 ? r - 1 : r === 10 ? 5 : r + 1);

/** Dominator-tree depth above which a function is dispatched rather than structured. */
const MAX_STRUCTURED_DEPTH = 1000;

type CtxEntry = { k: 'loop' | 'block'; b: number } | { k: 'if' };

interface ModuleFns {
  native: number;
  /** Kfunc BTF id → function index of its BPF body (LoadOptions.bpfKfuncs). */
  bodyOf: Map<number, number>;
  /** r10 below which a body's frame does not fit (imported only with bodies). */
  gBodyLo: number;
  fault: number;
  bswap32: number;
  bswap64: number;
  funcOf: Map<number, number>;
  gStackLo: number;
  gBudget: number;
  gPseudo: Map<number, number>;
}

class FnGen {
  readonly b = new Bytes();
  private ctx: CtxEntry[] = [];
  private isMerge: boolean[] = [];
  private isLoop: boolean[] = [];
  private mergeKids: number[][] = [];
  private dispatchPos: number[] = [];
  private dispatchDepth = 0;

  constructor(
    private readonly insns: readonly Insn[],
    private readonly sp: Subprog,
    private readonly m: ModuleFns,
    private readonly natives: Map<number, NativeSite>,
  ) {}

  // ---- small emit helpers ----
  private op(o: number): this {
    this.b.u8(o);
    return this;
  }
  private get(r: number): this {
    return this.op(Op.local_get).uleb(regLocal(r));
  }
  private set(r: number): this {
    return this.op(Op.local_set).uleb(regLocal(r));
  }
  private lget(l: number): this {
    return this.op(Op.local_get).uleb(l);
  }
  private lset(l: number): this {
    return this.op(Op.local_set).uleb(l);
  }
  private uleb(v: number): this {
    this.b.uleb(v);
    return this;
  }
  private i64(v: bigint | number): this {
    this.b.u8(Op.i64_const).sleb64(BigInt(v));
    return this;
  }
  private i32(v: number): this {
    this.b.u8(Op.i32_const).sleb32(v);
    return this;
  }
  private mem(o: number, align: number, offset: number): this {
    return this.op(o).uleb(align).uleb(offset);
  }
  private faultCall(pc: number, code: FaultCode): this {
    return this.i32(pc).i32(code).op(Op.call).uleb(this.m.fault);
  }

  // ---- functions ----

  /** Structured if reducible; otherwise (or when too deep) a br_table dispatcher. Returns false if dispatched. */
  body(): boolean {
    const sp = this.sp;
    const n = sp.blocks.length;
    const fwdIn = new Array<number>(n).fill(0);
    this.isLoop = new Array<boolean>(n).fill(false);
    let reducible = true;
    for (const x of sp.rpo) {
      for (const y of sp.blocks[x].succs) {
        if (sp.rpoIndex[y] > sp.rpoIndex[x]) fwdIn[y]++;
        else {
          this.isLoop[y] = true;
          if (!dominates(sp, y, x)) reducible = false;
        }
      }
    }
    // Deep dominator trees would recurse too deeply: dispatch those.
    const depth = new Int32Array(n);
    let maxDepth = 0;
    for (const x of sp.rpo) {
      if (x !== 0) depth[x] = depth[sp.idom[x]] + 1;
      if (depth[x] > maxDepth) maxDepth = depth[x];
    }
    if (reducible && maxDepth <= MAX_STRUCTURED_DEPTH) {
      this.isMerge = fwdIn.map((c) => c >= 2);
      this.mergeKids = sp.blocks.map(() => []);
      for (const y of sp.rpo) if (y !== 0 && this.isMerge[y]) this.mergeKids[sp.idom[y]].push(y);
      for (const k of this.mergeKids) k.sort((a, b) => sp.rpoIndex[b] - sp.rpoIndex[a]);
      try {
        this.doTree(0);
        this.op(Op.unreachable);
        return true;
      } catch (e) {
        if (!(e instanceof RangeError)) throw e; // too deep for recursion: dispatch instead
      }
    }
    (this as { b: Bytes }).b = new Bytes();
    this.ctx = [];
    this.dispatch();
    return false;
  }

  private depthOf(k: 'loop' | 'block', b: number): number {
    for (let i = this.ctx.length - 1; i >= 0; i--) {
      const c = this.ctx[i];
      if (c.k === k && c.b === b) return this.ctx.length - 1 - i;
    }
    throw new KfError(`jit: no enclosing ${k} for block ${b}`);
  }

  private doTree(x: number): void {
    if (this.isLoop[x]) {
      this.op(Op.loop).op(EMPTY_BLOCK);
      this.ctx.push({ k: 'loop', b: x });
      this.nodeWithin(x, this.mergeKids[x], 0);
      this.ctx.pop();
      this.op(Op.end);
    } else this.nodeWithin(x, this.mergeKids[x], 0);
  }

  private nodeWithin(x: number, ys: number[], i: number): void {
    if (i < ys.length) {
      this.op(Op.block).op(EMPTY_BLOCK);
      this.ctx.push({ k: 'block', b: ys[i] });
      this.nodeWithin(x, ys, i + 1);
      this.ctx.pop();
      this.op(Op.end);
      this.doTree(ys[i]);
    } else this.blockCode(x);
  }

  private branch(x: number, y: number): void {
    if (this.dispatchPos.length) {
      const p = this.dispatchPos[y];
      if (p === this.dispatchPos[x] + 1) return; // falls through to the next block
      this.i32(p).lset(LABEL).op(Op.br).uleb(this.ctx.length - 1 + this.dispatchDepth);
      return;
    }
    const sp = this.sp;
    if (sp.rpoIndex[y] <= sp.rpoIndex[x]) this.op(Op.br).uleb(this.depthOf('loop', y));
    else if (this.isMerge[y]) this.op(Op.br).uleb(this.depthOf('block', y));
    else this.doTree(y);
  }

  /** loop { block*n { br_table } code0 } code1 ... }: ctx[0] is the loop. */
  private dispatch(): void {
    const order = this.sp.rpo;
    const n = order.length;
    this.dispatchPos = new Array<number>(this.sp.blocks.length).fill(-1);
    order.forEach((b, i) => (this.dispatchPos[b] = i));
    this.op(Op.loop).op(EMPTY_BLOCK);
    this.ctx.push({ k: 'loop', b: -1 });
    for (let i = 0; i < n; i++) this.op(Op.block).op(EMPTY_BLOCK);
    this.lget(LABEL).op(Op.br_table).uleb(n);
    for (let i = 0; i < n; i++) this.uleb(i);
    this.uleb(0);
    for (let i = 0; i < n; i++) {
      this.op(Op.end);
      // inside: the loop (ctx[0]) and blocks i+1..n-1 (counted, not tracked: branches only target the loop)
      this.dispatchDepth = n - 1 - i;
      this.blockCode(order[i]);
    }
    this.op(Op.end).op(Op.unreachable);
    this.ctx.pop();
  }

  private blockCode(x: number): void {
    const blk = this.sp.blocks[x];
    const t = blk.term;
    const last = t.kind === 'cond' || t.kind === 'exit' ? t.pc : -1;
    for (let pc = blk.start; pc < blk.end; ) {
      const w = this.insns[pc].code === 0x18 ? 2 : 1;
      const isTermJump = pc === last || (t.kind === 'goto' && pc + w === blk.end && isJumpInsn(this.insns[pc]));
      if (!isTermJump) this.insn(pc);
      pc += w;
    }
    switch (t.kind) {
      case 'exit':
        this.get(0).op(Op.return_);
        break;
      case 'fault':
        this.faultCall(t.pc, FaultCode.FELL_OFF).op(Op.unreachable);
        break;
      case 'goto':
        this.branch(x, t.to);
        break;
      case 'cond': {
        const jx = this.insns[t.pc];
        if (jx.code === 0xe5) {
          // may_goto: mirrors the kernel's "if (cnt == 0) goto off; cnt--"
          this.op(Op.global_get).uleb(this.m.gBudget).op(Op.i32_eqz);
          this.op(Op.if_).op(EMPTY_BLOCK);
          this.ctx.push({ k: 'if' });
          this.branch(x, t.t);
          this.op(Op.else_);
          this.op(Op.global_get).uleb(this.m.gBudget).i32(1).op(Op.i32_sub).op(Op.global_set).uleb(this.m.gBudget);
          this.branch(x, t.f);
        } else {
          this.cond(jx);
          this.op(Op.if_).op(EMPTY_BLOCK);
          this.ctx.push({ k: 'if' });
          this.branch(x, t.t);
          this.op(Op.else_);
          this.branch(x, t.f);
        }
        this.ctx.pop();
        this.op(Op.end);
        break;
      }
    }
  }

  /** Pushes the i32 condition of a conditional jump. */
  private cond(x: Insn): void {
    const is32 = (x.code & 7) === 6;
    const op = x.code & 0xf0;
    const K = (x.code & 8) === 0;
    if (is32) {
      this.get(x.dst).op(Op.i32_wrap_i64);
      if (K) this.i32(x.imm);
      else this.get(x.src).op(Op.i32_wrap_i64);
    } else {
      this.get(x.dst);
      if (K) this.i64(x.imm);
      else this.get(x.src);
    }
    const t32: Record<number, number> = {
      0x10: Op.i32_eq, 0x50: Op.i32_ne, 0x20: Op.i32_gt_u, 0x30: Op.i32_ge_u, 0xa0: Op.i32_lt_u, 0xb0: Op.i32_le_u,
      0x60: Op.i32_gt_s, 0x70: Op.i32_ge_s, 0xc0: Op.i32_lt_s, 0xd0: Op.i32_le_s,
    };
    const t64: Record<number, number> = {
      0x10: Op.i64_eq, 0x50: Op.i64_ne, 0x20: Op.i64_gt_u, 0x30: Op.i64_ge_u, 0xa0: Op.i64_lt_u, 0xb0: Op.i64_le_u,
      0x60: Op.i64_gt_s, 0x70: Op.i64_ge_s, 0xc0: Op.i64_lt_s, 0xd0: Op.i64_le_s,
    };
    if (op === 0x40) {
      // jset
      if (is32) this.op(Op.i32_and).i32(0).op(Op.i32_ne);
      else this.op(Op.i64_and).i64(0).op(Op.i64_ne);
      return;
    }
    const o = (is32 ? t32 : t64)[op];
    if (o === undefined) throw new KfError(`jit: invalid jump opcode 0x${x.code.toString(16)}`);
    this.op(o);
  }

  // ---- straight-line instructions ----

  private insn(pc: number): void {
    const x = this.insns[pc];
    if (x.dst > 10 || x.src > 10) {
      this.faultCall(pc, FaultCode.BAD_INSN).op(Op.unreachable);
      return;
    }
    const cls = x.code & 7;
    if (cls === 7) this.alu64(pc, x);
    else if (cls === 4) this.alu32(pc, x);
    else if (cls === 1) this.ldx(pc, x);
    else if (cls === 2 || cls === 3) this.store(pc, x);
    else if (cls === 0) this.ld(pc, x);
    else if (x.code === 0x85) this.call(pc, x);
    else this.bad(pc);
  }

  private bad(pc: number): void {
    this.faultCall(pc, FaultCode.BAD_INSN).op(Op.unreachable);
  }

  private operand64(x: Insn): this {
    return (x.code & 8) === 0 ? this.i64(x.imm) : this.get(x.src);
  }
  private operand32(x: Insn): this {
    return (x.code & 8) === 0 ? this.i32(x.imm) : this.get(x.src).op(Op.i32_wrap_i64);
  }

  private alu64(pc: number, x: Insn): void {
    const op = x.code & 0xf0;
    const K = (x.code & 8) === 0;
    const d = x.dst;
    const simple: Record<number, number> = {
      0x00: Op.i64_add, 0x10: Op.i64_sub, 0x20: Op.i64_mul, 0x40: Op.i64_or, 0x50: Op.i64_and,
      0x60: Op.i64_shl, 0x70: Op.i64_shr_u, 0xa0: Op.i64_xor, 0xc0: Op.i64_shr_s,
    };
    if (simple[op] !== undefined) {
      this.get(d).operand64(x).op(simple[op]).set(d);
      return;
    }
    switch (op) {
      case 0x80:
        if (!K) return this.bad(pc);
        this.i64(0).get(d).op(Op.i64_sub).set(d);
        return;
      case 0xb0:
        if (K) this.i64(x.imm).set(d);
        else if (x.off === 0) this.get(x.src).set(d);
        else if (x.off === 8) this.get(x.src).op(Op.i64_extend8_s).set(d);
        else if (x.off === 16) this.get(x.src).op(Op.i64_extend16_s).set(d);
        else if (x.off === 32) this.get(x.src).op(Op.i64_extend32_s).set(d);
        else this.bad(pc);
        return;
      case 0x30:
      case 0x90: {
        if (x.off !== 0 && x.off !== 1) return this.bad(pc);
        const signed = x.off === 1;
        const div = op === 0x30;
        if (K && x.imm === 0) {
          if (div) this.i64(0).set(d);
          return;
        }
        if (K && x.imm === -1 && signed) {
          if (div) this.i64(0).get(d).op(Op.i64_sub).set(d);
          else this.i64(0).set(d);
          return;
        }
        if (K) {
          this.get(d).i64(x.imm).op(div ? (signed ? Op.i64_div_s : Op.i64_div_u) : signed ? Op.i64_rem_s : Op.i64_rem_u).set(d);
          return;
        }
        // X: guard zero (and INT_MIN / -1 for sdiv)
        this.get(x.src).lset(TMP);
        this.lget(TMP).op(Op.i64_eqz).op(Op.if_).op(I64);
        if (div) this.i64(0);
        else this.get(d);
        this.op(Op.else_);
        if (div && signed) {
          this.lget(TMP).i64(-1).op(Op.i64_eq).op(Op.if_).op(I64);
          this.i64(0).get(d).op(Op.i64_sub);
          this.op(Op.else_).get(d).lget(TMP).op(Op.i64_div_s).op(Op.end);
        } else {
          this.get(d).lget(TMP).op(div ? (signed ? Op.i64_div_s : Op.i64_div_u) : signed ? Op.i64_rem_s : Op.i64_rem_u);
        }
        this.op(Op.end).set(d);
        return;
      }
      case 0xd0:
        // bswap16/32/64 (ALU64 | END | TO_LE)
        if (!K) return this.bad(pc);
        if (x.imm === 16) this.get(d).op(Op.i32_wrap_i64).bswap16().op(Op.i64_extend_i32_u).set(d);
        else if (x.imm === 32) this.get(d).op(Op.i32_wrap_i64).op(Op.call).uleb(this.m.bswap32).op(Op.i64_extend_i32_u).set(d);
        else if (x.imm === 64) this.get(d).op(Op.call).uleb(this.m.bswap64).set(d);
        else this.bad(pc);
        return;
      default:
        this.bad(pc);
    }
  }

  private bswap16(): this {
    // (x & 0xff) << 8 | (x >> 8) & 0xff, on the i32 on the stack
    return this.lset(TA).lget(TA).i32(0xff).op(Op.i32_and).i32(8).op(Op.i32_shl)
      .lget(TA).i32(8).op(Op.i32_shr_u).i32(0xff).op(Op.i32_and).op(Op.i32_or);
  }

  private alu32(pc: number, x: Insn): void {
    const op = x.code & 0xf0;
    const K = (x.code & 8) === 0;
    const d = x.dst;
    const simple: Record<number, number> = {
      0x00: Op.i32_add, 0x10: Op.i32_sub, 0x20: Op.i32_mul, 0x40: Op.i32_or, 0x50: Op.i32_and,
      0x60: Op.i32_shl, 0x70: Op.i32_shr_u, 0xa0: Op.i32_xor, 0xc0: Op.i32_shr_s,
    };
    const A = (): this => this.get(d).op(Op.i32_wrap_i64);
    const done = (): void => void this.op(Op.i64_extend_i32_u).set(d);
    if (simple[op] !== undefined) {
      A().operand32(x).op(simple[op]);
      return done();
    }
    switch (op) {
      case 0x80:
        if (!K) return this.bad(pc);
        this.i32(0);
        A().op(Op.i32_sub);
        return done();
      case 0xb0:
        if (K) this.i32(x.imm);
        else if (x.off === 0) this.get(x.src).op(Op.i32_wrap_i64);
        else if (x.off === 8) this.get(x.src).op(Op.i32_wrap_i64).op(Op.i32_extend8_s);
        else if (x.off === 16) this.get(x.src).op(Op.i32_wrap_i64).op(Op.i32_extend16_s);
        else return this.bad(pc);
        return done();
      case 0x30:
      case 0x90: {
        if (x.off !== 0 && x.off !== 1) return this.bad(pc);
        const signed = x.off === 1;
        const div = op === 0x30;
        const wop = div ? (signed ? Op.i32_div_s : Op.i32_div_u) : signed ? Op.i32_rem_s : Op.i32_rem_u;
        this.operand32(x).lset(TB);
        A().lset(TA);
        this.lget(TB).op(Op.i32_eqz).op(Op.if_).op(I32);
        if (div) this.i32(0);
        else this.lget(TA);
        this.op(Op.else_);
        if (div && signed) {
          this.lget(TB).i32(-1).op(Op.i32_eq).op(Op.if_).op(I32);
          this.i32(0).lget(TA).op(Op.i32_sub);
          this.op(Op.else_).lget(TA).lget(TB).op(wop).op(Op.end);
        } else this.lget(TA).lget(TB).op(wop);
        this.op(Op.end);
        return done();
      }
      case 0xd0: {
        const be = (x.code & 8) !== 0;
        if (x.imm === 16) {
          A();
          if (be) this.bswap16();
          else this.i32(0xffff).op(Op.i32_and);
          return done();
        }
        if (x.imm === 32) {
          A();
          if (be) this.op(Op.call).uleb(this.m.bswap32);
          return done();
        }
        if (x.imm === 64) {
          if (be) this.get(d).op(Op.call).uleb(this.m.bswap64).set(d);
          return;
        }
        return this.bad(pc);
      }
      default:
        this.bad(pc);
    }
  }

  /** Pushes the i32 address reg+off; returns the memarg offset to use. */
  private addr(r: number, off: number): number {
    this.get(r).op(Op.i32_wrap_i64);
    if (off >= 0) return off;
    this.i32(off).op(Op.i32_add);
    return 0;
  }

  private ldx(pc: number, x: Insn): void {
    const mode = x.code & 0xe0;
    const size = x.code & 0x18;
    const ops =
      mode === 0x60
        ? { 0x00: Op.i64_load32_u, 0x08: Op.i64_load16_u, 0x10: Op.i64_load8_u, 0x18: Op.i64_load }
        : mode === 0x80
          ? { 0x00: Op.i64_load32_s, 0x08: Op.i64_load16_s, 0x10: Op.i64_load8_s, 0x18: -1 }
          : undefined;
    const o = ops ? (ops as Record<number, number>)[size] : -1;
    if (o === undefined || o < 0) return this.bad(pc);
    const off = this.addr(x.src, x.off);
    this.mem(o, 0, off).set(x.dst);
  }

  private storeOp(size: number): number {
    return size === 0x00 ? Op.i64_store32 : size === 0x08 ? Op.i64_store16 : size === 0x10 ? Op.i64_store8 : Op.i64_store;
  }

  private store(pc: number, x: Insn): void {
    const mode = x.code & 0xe0;
    const size = x.code & 0x18;
    const cls = x.code & 7;
    if (mode === 0x60) {
      const off = this.addr(x.dst, x.off);
      if (cls === 2) this.i64(x.imm);
      else this.get(x.src);
      this.mem(this.storeOp(size), 0, off);
      return;
    }
    if (mode !== 0xc0 || cls !== 3) return this.bad(pc);
    this.atomic(pc, x, size);
  }

  /** STX | ATOMIC (non-shared memory: plain read-modify-write). */
  private atomic(pc: number, x: Insn, size: number): void {
    const op = x.imm;
    const loadOp = size === 0x18 ? Op.i64_load : size === 0x00 ? Op.i64_load32_u : size === 0x08 ? Op.i64_load16_u : Op.i64_load8_u;
    const stOp = this.storeOp(size);
    if (op === 0x100) {
      const off = this.addr(x.src, x.off);
      this.mem(loadOp, 0, off).set(x.dst);
      return;
    }
    if (op === 0x110) {
      const off = this.addr(x.dst, x.off);
      this.get(x.src).mem(stOp, 0, off);
      return;
    }
    if (size !== 0x18 && size !== 0x00) return this.bad(pc);
    const base = op & ~1;
    const fetch = (op & 1) !== 0;
    const alu: Record<number, number> = { 0x00: Op.i64_add, 0x40: Op.i64_or, 0x50: Op.i64_and, 0xa0: Op.i64_xor };
    const off = this.addr(x.dst, x.off);
    this.lset(ADDR);
    this.lget(ADDR).mem(loadOp, 0, off).lset(TMP);
    if (op === 0xe1) {
      this.lget(ADDR).get(x.src).mem(stOp, 0, off);
      this.lget(TMP).set(x.src);
    } else if (op === 0xf1) {
      this.lget(TMP).get(0);
      if (size === 0x00) this.i64(0xffffffff).op(Op.i64_and);
      this.op(Op.i64_eq).op(Op.if_).op(EMPTY_BLOCK);
      this.lget(ADDR).get(x.src).mem(stOp, 0, off);
      this.op(Op.end);
      this.lget(TMP).set(0);
    } else if (alu[base] !== undefined && (op === base || op === (base | 1))) {
      this.lget(ADDR).lget(TMP).get(x.src).op(alu[base]).mem(stOp, 0, off);
      if (fetch) this.lget(TMP).set(x.src);
    } else this.bad(pc);
  }

  private ld(pc: number, x: Insn): void {
    if (x.code === 0x18) {
      const nxt = this.insns[pc + 1].imm;
      if (x.src === 0) this.i64((BigInt(nxt >>> 0) << 32n) | BigInt(x.imm >>> 0));
      else if (x.src === 4) this.i64(funcAddr(pc + 1 + x.imm));
      else this.op(Op.global_get).uleb(this.m.gPseudo.get(pc)!);
      this.set(x.dst);
      return;
    }
    const mode = x.code & 0xe0;
    const size = x.code & 0x18;
    if ((mode !== 0x20 && mode !== 0x40) || size === 0x18) return this.bad(pc);
    this.natives.set(pc, { kind: 'packet', size: size === 0 ? 4 : size === 8 ? 2 : 1, imm: x.imm, ind: mode === 0x40 });
    this.i32(0).get(6).mem(Op.i64_store, 3, CALL_SCRATCH + SCR_R6);
    if (mode === 0x40) this.i32(0).get(x.src).mem(Op.i64_store, 3, CALL_SCRATCH + SCR_SRC);
    this.nativeCall(pc);
  }

  private nativeCall(pc: number): void {
    for (let r = 1; r <= 5; r++) this.i32(0).get(r).mem(Op.i64_store, 3, CALL_SCRATCH + SCR_R1 + 8 * (r - 1));
    this.i32(0).get(10).mem(Op.i64_store, 3, CALL_SCRATCH + SCR_FP);
    this.i32(pc).op(Op.call).uleb(this.m.native);
    this.i32(0).mem(Op.i64_load, 3, CALL_SCRATCH + SCR_R0).set(0);
  }

  private call(pc: number, x: Insn): void {
    const body = x.src === 2 && x.off === 0 ? this.m.bodyOf.get(x.imm) : undefined;
    if (body !== undefined) {
      // a kfunc implemented by a BPF body: a direct call on a fresh frame (the
      // stack has one frame more than MAX_CALL_FRAMES for it)
      this.get(10).i64(2 * STACK_FRAME_SIZE).op(Op.i64_sub).op(Op.global_get).uleb(this.m.gBodyLo).op(Op.i64_lt_s);
      this.op(Op.if_).op(EMPTY_BLOCK).faultCall(pc, FaultCode.CALL_DEPTH).op(Op.end);
      for (let r = 1; r <= 5; r++) this.get(r);
      this.get(10).i64(STACK_FRAME_SIZE).op(Op.i64_sub);
      this.op(Op.call).uleb(body).set(0);
      return;
    }
    if (x.src === 1) {
      const f = this.m.funcOf.get(pc + 1 + x.imm);
      if (f === undefined) throw new KfError(`jit: call target ${pc + 1 + x.imm} is not a subprogram`, [`instruction ${pc}`]);
      // kernel MAX_CALL_FRAMES: the callee's frame must fit in the stack
      this.get(10).i64(2 * STACK_FRAME_SIZE).op(Op.i64_sub).op(Op.global_get).uleb(this.m.gStackLo).op(Op.i64_lt_s);
      this.op(Op.if_).op(EMPTY_BLOCK).faultCall(pc, FaultCode.CALL_DEPTH).op(Op.end);
      for (let r = 1; r <= 5; r++) this.get(r);
      this.get(10).i64(STACK_FRAME_SIZE).op(Op.i64_sub);
      this.op(Op.call).uleb(f).set(0);
      return;
    }
    if (x.src === 0) this.natives.set(pc, { kind: 'helper', imm: x.imm });
    else if (x.src === 2) this.natives.set(pc, { kind: 'kfunc', imm: x.imm, off: x.off });
    else return this.bad(pc);
    this.nativeCall(pc);
  }
}

const isJumpInsn = (x: Insn): boolean => {
  const c = x.code & 7;
  return (c === 5 || c === 6) && (x.code & 0xf0) !== 0x80 && (x.code & 0xf0) !== 0x90;
};

export interface CompileOptions {
  /** Kfunc BTF id → first slot of its BPF body (appended to insns, see src/vm/bodies.ts). */
  readonly bodies?: ReadonlyMap<number, number>;
}

/**
 * Compiles a whole program. Throws KfError on programs whose structure it
 * cannot handle. With `bodies`, those slots start subprograms too, a kfunc
 * call to their id calls them directly, and the module imports the global
 * `body_lo` (the stack's base) besides `stack_lo`.
 */
export function compileToWasm(insns: readonly Insn[], opts: CompileOptions = {}): CompiledWasm {
  if (insns.length === 0) throw new KfError('empty program');
  const mb = new ModuleBuilder();
  const m: ModuleFns = {
    native: mb.importFunc('env', 'native', [I32], []),
    bodyOf: new Map(),
    gBodyLo: -1,
    fault: mb.importFunc('env', 'fault', [I32, I32], []),
    bswap32: 0,
    bswap64: 0,
    funcOf: new Map(),
    gStackLo: 0,
    gBudget: 0,
    gPseudo: new Map(),
  };
  mb.importMemory('env', 'mem', 1);
  m.gStackLo = mb.importGlobal('env', 'stack_lo', I64);
  const bodies = opts.bodies ?? new Map<number, number>();
  if (bodies.size) m.gBodyLo = mb.importGlobal('env', 'body_lo', I64);
  const pseudo: CompiledWasm['pseudo'] = [];
  for (let i = 0; i < insns.length; i++) {
    const x = insns[i];
    if (x.code === 0x18) {
      if (i + 1 >= insns.length) throw new KfError('ld_imm64 is missing its second slot', [`instruction ${i}`]);
      if (x.src !== 0 && x.src !== 4) {
        pseudo.push({ pc: i, src: x.src, imm: x.imm, nextImm: insns[i + 1].imm });
        m.gPseudo.set(i, mb.importGlobal('env', `k${i}`, I64));
      }
      i++;
    }
  }
  m.gBudget = mb.defineGlobal(I32, MAY_GOTO_BUDGET);
  const starts = [...new Set([...subprogStarts(insns), ...bodies.values()])].sort((a, b) => a - b);
  const sig = [I64, I64, I64, I64, I64, I64];
  for (const s of starts) m.funcOf.set(s, mb.declareFunc(sig, [I64]));
  for (const [id, s] of bodies) m.bodyOf.set(id, m.funcOf.get(s)!);
  m.bswap32 = mb.declareFunc([I32], [I32]);
  m.bswap64 = mb.declareFunc([I64], [I64]);
  const entry = mb.declareFunc([], []);
  const natives = new Map<number, NativeSite>();
  let dispatched = 0;
  starts.forEach((s, k) => {
    const end = k + 1 < starts.length ? starts[k + 1] : insns.length;
    const sp = buildSubprog(insns, s, end);
    const g = new FnGen(insns, sp, m, natives);
    if (!g.body()) dispatched++;
    mb.setBody(m.funcOf.get(s)!, LOCALS, g.b.result());
    mb.exportFunc(`f${s}`, m.funcOf.get(s)!);
  });
  // bswap32(x) = (rotl(x, 8) & 0x00ff00ff) | (rotr(x, 8) & 0xff00ff00)
  const b32 = new Bytes();
  b32.u8(Op.local_get).uleb(0).u8(Op.i32_const).sleb32(8).u8(Op.i32_rotl).u8(Op.i32_const).sleb32(0x00ff00ff).u8(Op.i32_and);
  b32.u8(Op.local_get).uleb(0).u8(Op.i32_const).sleb32(8).u8(Op.i32_rotr).u8(Op.i32_const).sleb32(0xff00ff00 | 0).u8(Op.i32_and);
  b32.u8(Op.i32_or);
  mb.setBody(m.bswap32, [], b32.result());
  const b64 = new Bytes();
  b64.u8(Op.local_get).uleb(0).u8(Op.i32_wrap_i64).u8(Op.call).uleb(m.bswap32).u8(Op.i64_extend_i32_u);
  b64.u8(Op.i64_const).sleb64(32n).u8(Op.i64_shl);
  b64.u8(Op.local_get).uleb(0).u8(Op.i64_const).sleb64(32n).u8(Op.i64_shr_u).u8(Op.i32_wrap_i64);
  b64.u8(Op.call).uleb(m.bswap32).u8(Op.i64_extend_i32_u).u8(Op.i64_or);
  mb.setBody(m.bswap64, [], b64.result());
  // entry(): r1..r5, r10 from the scratch area; r0 back to it; may_goto budget reset
  const e = new Bytes();
  e.u8(Op.i32_const).sleb32(MAY_GOTO_BUDGET).u8(Op.global_set).uleb(m.gBudget);
  e.u8(Op.i32_const).sleb32(0);
  for (let r = 0; r < 5; r++) e.u8(Op.i32_const).sleb32(0).u8(Op.i64_load).uleb(3).uleb(CALL_SCRATCH + SCR_R1 + 8 * r);
  e.u8(Op.i32_const).sleb32(0).u8(Op.i64_load).uleb(3).uleb(CALL_SCRATCH + SCR_FP);
  e.u8(Op.call).uleb(m.funcOf.get(0)!);
  e.u8(Op.i64_store).uleb(3).uleb(CALL_SCRATCH + SCR_R0);
  mb.setBody(entry, [], e.result());
  mb.exportFunc('entry', entry);
  return { bytes: mb.finish(), subprogs: starts, pseudo, natives, dispatched };
}
