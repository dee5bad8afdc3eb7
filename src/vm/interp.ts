// The strict reference interpreter.
//
// Mirrors the kernel's ___bpf_prog_run() (kernel/bpf/core.c) for the whole
// ISA, with one difference: every memory access is checked against the
// region of the AddressSpace it falls in (fully inside one region; writes only
// to writable regions), and anything wrong is a VmFault naming the
// instruction and the address.
//
// Speed: the program is pre-decoded into an Int32Array (8 words a slot) and
// registers live in an Int32Array of 32-bit halves (src/vm/i64.ts). The
// immediate of every K-form ALU/JMP instruction is stored as a pseudo-register
// after the 11 real ones, so K and X forms share one code path.

import { KfError, hex, withContext } from '../util/errors.js';
import type { Insn } from '../isa/insn.js';
import { AddressSpace, VmFault, type Region, accessFault } from './memory.js';
import { appendBodies, whereIs, type WithBodies } from './bodies.js';
import {
  MAX_CALL_FRAMES,
  MAY_GOTO_BUDGET,
  STACK_FRAME_SIZE,
  funcAddr,
  funcIndex,
  type CallContext,
  type Engine,
  type Env,
  type Executable,
  type LoadOptions,
  type LoadedProgram,
  type NativeFn,
  type FastNativeFn,
  declaredArgs,
  endRun,
  EndRun,
} from './env.js';
import {
  add64,
  arsh64,
  bswap16,
  bswap32,
  div32,
  div64,
  gtS,
  gtU,
  lsh64,
  mod32,
  mod64,
  mul64,
  neg64,
  rsh64,
  setBig,
  sub64,
  toU64,
} from './i64.js';

const TWO32 = 4294967296;
const W = 8; // words per pre-decoded slot: code | dst*2 << 8, src index, off, imm, aux (exec() indexes with << 3)
// Slots that must fault when executed get code 0 (never a valid opcode) and a reason in word 5.
const R_UNKNOWN = 0;
const R_END = 1;
const R_BADREG = 2;
/** Default limit on taken backward jumps per run (the reference must never hang). */
export const DEFAULT_MAX_BACK_EDGES = 1 << 30;


export interface InterpOptions extends LoadOptions {
  maxBackEdges?: number;
}

/** ALU/JMP instructions whose K form reads imm as the second operand. */
const hasKOperand = (code: number): boolean => {
  const cls = code & 7;
  if (cls === 4 || cls === 7) return true;
  if (cls !== 5 && cls !== 6) return false;
  const op = code & 0xf0;
  return op !== 0x00 && op !== 0x80 && op !== 0x90 && op !== 0xe0;
};

/**
 * Pre-decodes insns; resolves pseudo ld_imm64 through env. A kfunc call to a
 * BPF body (w.startOf) becomes a bpf-to-bpf call to it whose aux word allows
 * one more frame.
 */
function predecode(w: WithBodies, env: Env): { M: Int32Array; codeBase: number } {
  const insns = w.insns;
  const n = insns.length;
  // One array for registers, immediates and code: exec() then checks one typed
  // array per instruction instead of two (about 20% faster in V8).
  const codeBase = 22 + 2 * n + 2;
  const M = new Int32Array(codeBase + (n + 1) * W);
  const K = M.subarray(0, codeBase);
  const P = M.subarray(codeBase);
  for (let i = 0; i < n; i++) {
    const x = insns[i];
    const b = i * W;
    P[b] = x.code & 0xff;
    P[b] |= ((x.dst & 0xf) * 2) << 8;
    P[b + 2] = x.off;
    P[b + 3] = x.imm;
    // Registers 11..15 are not BPF registers: such an instruction faults if executed.
    if (x.dst > 10 || x.src > 10) {
      P[b] = 0;
      P[b + 4] = R_BADREG;
    }
    if (x.code === 0x85 && x.src === 2 && x.off === 0 && w.startOf.has(x.imm)) {
      P[b + 1] = 2; // src 1: a bpf-to-bpf call
      P[b + 3] = w.startOf.get(x.imm)! - (i + 1);
      P[b + 4] = 1;
      continue;
    }
    if (hasKOperand(x.code) && (x.code & 8) === 0) {
      const k = 22 + 2 * i;
      K[k] = x.imm;
      K[k + 1] = x.imm >> 31;
      P[b + 1] = k;
    } else {
      P[b + 1] = (x.src & 0xf) * 2;
    }
    if (x.code === 0x18) {
      // ld_imm64: pre-compute the 64-bit value into K (aux word = its index).
      const k = 22 + 2 * i;
      let v: bigint;
      if (i + 1 >= n) throw new KfError('ld_imm64 is missing its second slot', [`instruction ${i}`]);
      const nextImm = insns[i + 1].imm;
      if (x.src === 0) v = (BigInt(nextImm >>> 0) << 32n) | BigInt(x.imm >>> 0);
      else if (x.src === 4) v = funcAddr(i + 1 + x.imm);
      else v = withContext(`instruction ${i}`, () => env.ldImm64(x.src, x.imm, nextImm, i));
      K[k] = Number(BigInt.asIntN(32, v));
      K[k + 1] = Number(BigInt.asIntN(32, v >> 32n));
      P[b + 1] = k;
    }
  }
  P[n * W] = 0;
  P[n * W + 4] = R_END;
  if (w.progLen < n) {
    P[w.progLen * W] = 0; // the gap slot before the bodies
    P[w.progLen * W + 4] = R_END;
  }
  return { M, codeBase };
}

class InterpExecutable implements Executable {
  readonly stack: Region;
  private readonly P: Int32Array;
  private readonly R: Int32Array;
  /** Where the code starts in P (P and R are one array: registers, immediates, then code). */
  private readonly codeBase: number;
  private readonly n: number;
  private readonly stackEnd: number;
  private readonly helpers = new Map<number, NativeFn | undefined>();
  /** Per call slot: the resolved native, its fast form and how many arguments it reads. */
  private readonly siteFn: (NativeFn | undefined)[];
  private readonly siteFast: (FastNativeFn | undefined)[];
  private readonly siteArgc: Int8Array;
  private readonly kfuncs = new Map<string, NativeFn | undefined>();
  private readonly maxBackEdges: number;
  private depth = 0;
  private budget = 0;
  private edgesLeft = 0;
  // one more frame than MAX_CALL_FRAMES: a kfunc body called from the deepest frame
  private readonly saved: Int32Array = new Int32Array((MAX_CALL_FRAMES + 1) * 11);
  private readonly retPc: Int32Array = new Int32Array(MAX_CALL_FRAMES + 1);
  private readonly linked: WithBodies;
  // region cache for the strict checks
  private cb = 1;
  private ce = 0;
  private cw = false;
  private readonly ctx: CallContext & { pc: number };

  constructor(
    prog: LoadedProgram,
    private readonly env: Env,
    readonly mem: AddressSpace,
    opts: InterpOptions,
  ) {
    this.linked = appendBodies(prog.insns, opts.bpfKfuncs, { gap: true });
    const d = predecode(this.linked, env);
    this.P = d.M;
    this.R = d.M;
    this.codeBase = d.codeBase;
    this.n = this.linked.insns.length;
    this.siteFn = new Array<NativeFn | undefined>(this.n).fill(undefined);
    this.siteFast = new Array<FastNativeFn | undefined>(this.n).fill(undefined);
    this.siteArgc = new Int8Array(this.n);
    this.maxBackEdges = opts.maxBackEdges ?? DEFAULT_MAX_BACK_EDGES;
    const frames = MAX_CALL_FRAMES + (this.linked.bodies.length ? 1 : 0);
    this.stack = mem.map(opts.stackSize ?? frames * STACK_FRAME_SIZE, 'stack', `stack of ${prog.name ?? 'program'}`, {
      align: 16,
    });
    this.stackEnd = this.stack.base + this.stack.size;
    this.ctx = { mem, pc: 0, callSubprog: (f, a) => this.callSubprog(f, a), endRun };
  }

  dispose(): void {
    this.mem.unmap(this.stack);
  }

  run(r1 = 0n, r2 = 0n, r3 = 0n, r4 = 0n, r5 = 0n): bigint {
    const R = this.R;
    R.fill(0, 0, 22);
    setBig(R, 2, r1);
    setBig(R, 4, r2);
    setBig(R, 6, r3);
    setBig(R, 8, r4);
    setBig(R, 10, r5);
    R[20] = this.stackEnd | 0;
    R[21] = 0;
    this.depth = 0;
    this.budget = MAY_GOTO_BUDGET;
    this.edgesLeft = this.maxBackEdges;
    this.cb = 1;
    this.ce = 0;
    try {
      this.exec(0, 0);
    } catch (e) {
      if (e instanceof EndRun) return e.r0;
      if (e instanceof VmFault && e.pc >= this.linked.progLen) throw new VmFault(e.pc, e.addr, e.reason, whereIs(this.linked, e.pc));
      throw e;
    }
    return toU64(R[0], R[1]);
  }

  private fault(pc: number, reason: string): VmFault {
    return new VmFault(pc, 0n, reason);
  }

  private native(pc: number, src: number, imm: number, off: number): NativeFn {
    let fn: NativeFn | undefined;
    if (src === 0) {
      if (!this.helpers.has(imm)) this.helpers.set(imm, this.env.helper(imm));
      fn = this.helpers.get(imm);
      if (!fn) throw this.fault(pc, `call to unknown helper ${imm}`);
    } else {
      const key = `${imm}:${off}`;
      if (!this.kfuncs.has(key)) this.kfuncs.set(key, this.env.kfunc(imm, off));
      fn = this.kfuncs.get(key);
      if (!fn) throw this.fault(pc, `call to unknown kfunc btf_id ${imm}${off ? ` (module ${off})` : ''}`);
    }
    return fn;
  }

  private callNative(pc: number, src: number, imm: number, off: number): void {
    let fn = this.siteFn[pc];
    if (fn === undefined) {
      fn = this.native(pc, src, imm, off);
      this.siteFn[pc] = fn;
      this.siteFast[pc] = typeof fn.fast === 'function' ? fn.fast : undefined;
      this.siteArgc[pc] = declaredArgs(fn.fast ?? fn);
    }
    const R = this.R;
    const n = this.siteArgc[pc];
    this.ctx.pc = pc;
    const fast = this.siteFast[pc];
    if (fast !== undefined && (n < 1 || R[3] >>> 0 < 0x20_0000) && (n < 2 || R[5] >>> 0 < 0x20_0000) && (n < 3 || R[7] >>> 0 < 0x20_0000) && (n < 4 || R[9] >>> 0 < 0x20_0000) && (n < 5 || R[11] >>> 0 < 0x20_0000)) {
      const v = fast(this.ctx, n > 0 ? R[3] * TWO32 + (R[2] >>> 0) : 0, n > 1 ? R[5] * TWO32 + (R[4] >>> 0) : 0, n > 2 ? R[7] * TWO32 + (R[6] >>> 0) : 0, n > 3 ? R[9] * TWO32 + (R[8] >>> 0) : 0, n > 4 ? R[11] * TWO32 + (R[10] >>> 0) : 0);
      if (!Number.isSafeInteger(v)) throw this.fault(pc, `native function returned ${String(v)}, not a safe integer`);
      R[0] = v | 0;
      R[1] = Math.floor(v / TWO32) | 0;
    } else {
      const v = fn(this.ctx, n > 0 ? toU64(R[2], R[3]) : 0n, n > 1 ? toU64(R[4], R[5]) : 0n, n > 2 ? toU64(R[6], R[7]) : 0n, n > 3 ? toU64(R[8], R[9]) : 0n, n > 4 ? toU64(R[10], R[11]) : 0n);
      if (typeof v !== 'bigint') throw this.fault(pc, `native function returned ${typeof v}, not a bigint`);
      setBig(R, 0, v);
    }
    this.cb = 1;
    this.ce = 0;
  }

  /** Mirrors the kernel running a callback (bpf_loop etc.): a new frame, r6..r10 preserved. */
  private callSubprog(fnAddr: bigint, args: readonly bigint[]): bigint {
    const pc = this.ctx.pc;
    const idx = funcIndex(fnAddr);
    if (idx < 0 || idx >= this.n) throw this.fault(pc, `callback ${hex(BigInt.asUintN(64, fnAddr))} is not a subprogram address`);
    if (this.depth + 1 >= MAX_CALL_FRAMES) throw this.fault(pc, `callback exceeds ${MAX_CALL_FRAMES} call frames`);
    const R = this.R;
    const save = R.slice(0, 22);
    const d0 = this.depth;
    this.depth = d0 + 1;
    for (let i = 1; i <= 5; i++) setBig(R, 2 * i, args[i - 1] ?? 0n);
    R[20] = (this.stackEnd - this.depth * STACK_FRAME_SIZE) | 0;
    R[21] = 0;
    this.exec(idx, this.depth);
    const r0 = toU64(R[0], R[1]);
    R.set(save, 0);
    this.depth = d0;
    this.ctx.pc = pc;
    this.cb = 1;
    this.ce = 0;
    return r0;
  }

  /** Effective address reg+off, checked against its region (mirrors check_mem_access(), at run time). */
  private ea(pc: number, r: number, off: number, size: number, write: boolean): number {
    const R = this.R;
    let a = (R[r] >>> 0) + off;
    let h = R[r + 1];
    if (a < 0) {
      a += TWO32;
      h = (h - 1) | 0;
    } else if (a >= TWO32) {
      a -= TWO32;
      h = (h + 1) | 0;
    }
    if (h === 0 && a >= this.cb && a + size <= this.ce && (this.cw || !write)) return a;
    const full = BigInt.asUintN(64, (BigInt(h) << 32n) + BigInt(a));
    if (h !== 0) throw accessFault(pc, full, size, write, 'outside any region');
    const reg = this.mem.check(a, size, write, pc);
    this.cb = reg.base;
    this.ce = reg.base + reg.size;
    this.cw = reg.writable;
    return a;
  }

  private exec(startPc: number, baseDepth: number): void {
    const P = this.P;
    const R = P;
    const codeBase = this.codeBase;
    const mem = this.mem;
    let dv = mem.dv;
    // the region cache of ea(), in locals: the fast path of every load and store
    let cb = this.cb;
    let ce = this.ce;
    let cw = this.cw;
    let pc = startPc;
    for (;;) {
      const cur = pc;
      const b = codeBase + (cur << 3);
      const w = P[b];
      const d = w >> 8;
      const s = P[b + 1];
      pc = cur + 1;
      switch (w & 0xff) {
        // ---- ALU64 ----
        case 0x07:
        case 0x0f:
          add64(R, d, R[s], R[s + 1]);
          break;
        case 0x17:
        case 0x1f:
          sub64(R, d, R[s], R[s + 1]);
          break;
        case 0x27:
        case 0x2f:
          mul64(R, d, R[s], R[s + 1]);
          break;
        case 0x47:
        case 0x4f:
          R[d] |= R[s];
          R[d + 1] |= R[s + 1];
          break;
        case 0x57:
        case 0x5f:
          R[d] &= R[s];
          R[d + 1] &= R[s + 1];
          break;
        case 0x67:
        case 0x6f:
          lsh64(R, d, R[s]);
          break;
        case 0x77:
        case 0x7f:
          rsh64(R, d, R[s]);
          break;
        case 0x87:
          neg64(R, d);
          break;
        case 0xa7:
        case 0xaf:
          R[d] ^= R[s];
          R[d + 1] ^= R[s + 1];
          break;
        case 0xb7:
          R[d] = R[s];
          R[d + 1] = R[s + 1];
          break;
        case 0xbf: {
          const off = P[b + 2];
          if (off === 0) {
            R[d] = R[s];
            R[d + 1] = R[s + 1];
          } else if (off === 8) {
            R[d] = (R[s] << 24) >> 24;
            R[d + 1] = R[d] >> 31;
          } else if (off === 16) {
            R[d] = (R[s] << 16) >> 16;
            R[d + 1] = R[d] >> 31;
          } else if (off === 32) {
            R[d] = R[s];
            R[d + 1] = R[s] >> 31;
          } else throw this.fault(cur, `unsupported mov offset ${off} (addr_space_cast and others)`);
          break;
        }
        case 0xc7:
        case 0xcf:
          arsh64(R, d, R[s]);
          break;
        // ---- ALU (32-bit; results zero-extended) ----
        case 0x04:
        case 0x0c:
          R[d] = R[d] + R[s];
          R[d + 1] = 0;
          break;
        case 0x14:
        case 0x1c:
          R[d] = R[d] - R[s];
          R[d + 1] = 0;
          break;
        case 0x24:
        case 0x2c:
          R[d] = Math.imul(R[d], R[s]);
          R[d + 1] = 0;
          break;
        case 0x44:
        case 0x4c:
          R[d] |= R[s];
          R[d + 1] = 0;
          break;
        case 0x54:
        case 0x5c:
          R[d] &= R[s];
          R[d + 1] = 0;
          break;
        case 0x64:
        case 0x6c:
          R[d] = R[d] << (R[s] & 31);
          R[d + 1] = 0;
          break;
        case 0x74:
        case 0x7c:
          R[d] = R[d] >>> (R[s] & 31);
          R[d + 1] = 0;
          break;
        case 0x84:
          R[d] = -R[d];
          R[d + 1] = 0;
          break;
        case 0xa4:
        case 0xac:
          R[d] ^= R[s];
          R[d + 1] = 0;
          break;
        case 0xb4:
          R[d] = R[s];
          R[d + 1] = 0;
          break;
        case 0xc4:
        case 0xcc:
          R[d] = R[d] >> (R[s] & 31);
          R[d + 1] = 0;
          break;
        // ---- JMP ----
        case 0x05:
          pc += P[b + 2];
          if (P[b + 2] < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur);
          break;
        case 0x06: // gotol
          pc += P[b + 3];
          if (P[b + 3] < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur);
          break;
        case 0x15:
        case 0x1d:
          if (R[d] === R[s] && R[d + 1] === R[s + 1]) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x55:
        case 0x5d:
          if (R[d] !== R[s] || R[d + 1] !== R[s + 1]) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x25:
        case 0x2d:
          if (gtU(R[d], R[d + 1], R[s], R[s + 1])) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x35:
        case 0x3d:
          if (!gtU(R[s], R[s + 1], R[d], R[d + 1])) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0xa5:
        case 0xad:
          if (gtU(R[s], R[s + 1], R[d], R[d + 1])) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0xb5:
        case 0xbd:
          if (!gtU(R[d], R[d + 1], R[s], R[s + 1])) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x65:
        case 0x6d:
          if (gtS(R[d], R[d + 1], R[s], R[s + 1])) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x75:
        case 0x7d:
          if (!gtS(R[s], R[s + 1], R[d], R[d + 1])) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0xc5:
        case 0xcd:
          if (gtS(R[s], R[s + 1], R[d], R[d + 1])) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0xd5:
        case 0xdd:
          if (!gtS(R[d], R[d + 1], R[s], R[s + 1])) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x45:
        case 0x4d:
          if ((R[d] & R[s]) !== 0 || (R[d + 1] & R[s + 1]) !== 0) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        // ---- JMP32 ----
        case 0x16:
        case 0x1e:
          if (R[d] === R[s]) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x56:
        case 0x5e:
          if (R[d] !== R[s]) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x26:
        case 0x2e:
          if (R[d] >>> 0 > R[s] >>> 0) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x36:
        case 0x3e:
          if (R[d] >>> 0 >= R[s] >>> 0) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0xa6:
        case 0xae:
          if (R[d] >>> 0 < R[s] >>> 0) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0xb6:
        case 0xbe:
          if (R[d] >>> 0 <= R[s] >>> 0) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x66:
        case 0x6e:
          if (R[d] > R[s]) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x76:
        case 0x7e:
          if (R[d] >= R[s]) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0xc6:
        case 0xce:
          if (R[d] < R[s]) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0xd6:
        case 0xde:
          if (R[d] <= R[s]) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0x46:
        case 0x4e:
          if ((R[d] & R[s]) !== 0) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          break;
        case 0xe5: // may_goto: mirrors the kernel's rewrite "if (cnt == 0) goto off; cnt--"
          if (s !== 0) throw this.fault(cur, `invalid jcond source ${s / 2}`);
          if (this.budget === 0) { const o = P[b + 2]; pc += o; if (o < 0 && --this.edgesLeft < 0) this.tooManyEdges(cur); }
          else this.budget--;
          break;
        case 0x85: {
          const src = s >> 1;
          const imm = P[b + 3];
          if (src === 1) {
            // bpf-to-bpf call: new frame, r6..r10 saved
            const target = pc + imm;
            if (this.depth + 1 >= MAX_CALL_FRAMES + P[b + 4]) throw this.fault(cur, `call stack exceeds ${MAX_CALL_FRAMES} frames`);
            if (target < 0 || target >= this.n) throw this.fault(cur, `call target ${target} out of range`);
            const sv = this.depth * 11;
            this.saved.set(R.subarray(12, 22), sv);
            this.retPc[this.depth] = pc;
            this.depth++;
            R[20] = (this.stackEnd - this.depth * STACK_FRAME_SIZE) | 0;
            R[21] = 0;
            pc = target;
          } else if (src === 0 || src === 2) {
            this.callNative(cur, src, imm, P[b + 2]);
            dv = mem.dv;
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          } else throw this.fault(cur, `invalid call source ${src}`);
          break;
        }
        case 0x95:
          if (this.depth === baseDepth) return;
          this.depth--;
          R.set(this.saved.subarray(this.depth * 11, this.depth * 11 + 10), 12);
          pc = this.retPc[this.depth];
          break;
        // ---- loads ----
        case 0x61: {
          let a = (R[s] >>> 0) + P[b + 2];
          if (R[s + 1] !== 0 || a < cb || a + 4 > ce) {
            a = this.ea(cur, s, P[b + 2], 4, false);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          R[d] = dv.getInt32(a, true);
          R[d + 1] = 0;
          break;
        }
        case 0x69: {
          let a = (R[s] >>> 0) + P[b + 2];
          if (R[s + 1] !== 0 || a < cb || a + 2 > ce) {
            a = this.ea(cur, s, P[b + 2], 2, false);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          R[d] = dv.getUint16(a, true);
          R[d + 1] = 0;
          break;
        }
        case 0x71: {
          let a = (R[s] >>> 0) + P[b + 2];
          if (R[s + 1] !== 0 || a < cb || a + 1 > ce) {
            a = this.ea(cur, s, P[b + 2], 1, false);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          R[d] = dv.getUint8(a);
          R[d + 1] = 0;
          break;
        }
        case 0x79: {
          let a = (R[s] >>> 0) + P[b + 2];
          if (R[s + 1] !== 0 || a < cb || a + 8 > ce) {
            a = this.ea(cur, s, P[b + 2], 8, false);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          R[d] = dv.getInt32(a, true);
          R[d + 1] = dv.getInt32(a + 4, true);
          break;
        }
        // ---- stores ----
        case 0x62: {
          let a = (R[d] >>> 0) + P[b + 2];
          if (R[d + 1] !== 0 || a < cb || a + 4 > ce || !cw) {
            a = this.ea(cur, d, P[b + 2], 4, true);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          dv.setInt32(a, P[b + 3], true);
          break;
        }
        case 0x6a: {
          let a = (R[d] >>> 0) + P[b + 2];
          if (R[d + 1] !== 0 || a < cb || a + 2 > ce || !cw) {
            a = this.ea(cur, d, P[b + 2], 2, true);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          dv.setInt16(a, P[b + 3], true);
          break;
        }
        case 0x72: {
          let a = (R[d] >>> 0) + P[b + 2];
          if (R[d + 1] !== 0 || a < cb || a + 1 > ce || !cw) {
            a = this.ea(cur, d, P[b + 2], 1, true);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          dv.setInt8(a, P[b + 3]);
          break;
        }
        case 0x7a: {
          let a = (R[d] >>> 0) + P[b + 2];
          if (R[d + 1] !== 0 || a < cb || a + 8 > ce || !cw) {
            a = this.ea(cur, d, P[b + 2], 8, true);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          dv.setInt32(a, P[b + 3], true);
          dv.setInt32(a + 4, P[b + 3] >> 31, true);
          break;
        }
        case 0x63: {
          let a = (R[d] >>> 0) + P[b + 2];
          if (R[d + 1] !== 0 || a < cb || a + 4 > ce || !cw) {
            a = this.ea(cur, d, P[b + 2], 4, true);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          dv.setInt32(a, R[s], true);
          break;
        }
        case 0x6b: {
          let a = (R[d] >>> 0) + P[b + 2];
          if (R[d + 1] !== 0 || a < cb || a + 2 > ce || !cw) {
            a = this.ea(cur, d, P[b + 2], 2, true);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          dv.setInt16(a, R[s], true);
          break;
        }
        case 0x73: {
          let a = (R[d] >>> 0) + P[b + 2];
          if (R[d + 1] !== 0 || a < cb || a + 1 > ce || !cw) {
            a = this.ea(cur, d, P[b + 2], 1, true);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          dv.setInt8(a, R[s]);
          break;
        }
        case 0x7b: {
          let a = (R[d] >>> 0) + P[b + 2];
          if (R[d + 1] !== 0 || a < cb || a + 8 > ce || !cw) {
            a = this.ea(cur, d, P[b + 2], 8, true);
            cb = this.cb;
            ce = this.ce;
            cw = this.cw;
          }
          dv.setInt32(a, R[s], true);
          dv.setInt32(a + 4, R[s + 1], true);
          break;
        }
        // ---- ld_imm64 and legacy packet loads ----
        case 0x18:
          R[d] = R[s];
          R[d + 1] = R[s + 1];
          pc = cur + 2;
          break;
        default:
          this.slow(cur, w & 0xff, d, s, b);
          dv = mem.dv;
          cb = this.cb;
          ce = this.ce;
          cw = this.cw;
          break;
      }
    }
  }

  /** The less frequent instructions (kept out of exec() so that its hot loop stays small). */
  private slow(cur: number, code: number, d: number, s: number, b: number): void {
    const P = this.P;
    const R = this.R;
    const dv = this.mem.dv;
    switch (code) {
      case 0x37:
      case 0x3f:
        if (P[b + 2] > 1) throw this.fault(cur, `invalid div offset ${P[b + 2]}`);
        div64(R, d, R[s], R[s + 1], P[b + 2] === 1);
        break;
      case 0x97:
      case 0x9f:
        if (P[b + 2] > 1) throw this.fault(cur, `invalid mod offset ${P[b + 2]}`);
        mod64(R, d, R[s], R[s + 1], P[b + 2] === 1);
        break;
      case 0xd7: {
        // bswap16/32/64 (ALU64 | END | TO_LE)
        const imm = P[b + 3];
        if (imm === 16) {
          R[d] = bswap16(R[d]);
          R[d + 1] = 0;
        } else if (imm === 32) {
          R[d] = bswap32(R[d]);
          R[d + 1] = 0;
        } else if (imm === 64) {
          const lo = R[d];
          R[d] = bswap32(R[d + 1]);
          R[d + 1] = bswap32(lo);
        } else throw this.fault(cur, `invalid bswap width ${imm}`);
        break;
    }
    case 0x34:
    case 0x3c:
      if (P[b + 2] > 1) throw this.fault(cur, `invalid div offset ${P[b + 2]}`);
      R[d] = div32(R[d], R[s], P[b + 2] === 1);
      R[d + 1] = 0;
      break;
    case 0x94:
    case 0x9c:
      if (P[b + 2] > 1) throw this.fault(cur, `invalid mod offset ${P[b + 2]}`);
      R[d] = mod32(R[d], R[s], P[b + 2] === 1);
      R[d + 1] = 0;
      break;
    case 0xbc: {
      const off = P[b + 2];
      if (off === 0) R[d] = R[s];
      else if (off === 8) R[d] = (R[s] << 24) >> 24;
      else if (off === 16) R[d] = (R[s] << 16) >> 16;
      else throw this.fault(cur, `invalid movsx offset ${off}`);
      R[d + 1] = 0;
      break;
    }
    case 0xd4:
    case 0xdc: {
      // le (0xd4): truncate; be (0xdc): byte swap (host is little-endian)
      const imm = P[b + 3];
      const be = code === 0xdc;
      if (imm === 16) {
        R[d] = be ? bswap16(R[d]) : R[d] & 0xffff;
        R[d + 1] = 0;
      } else if (imm === 32) {
        R[d] = be ? bswap32(R[d]) : R[d];
        R[d + 1] = 0;
      } else if (imm === 64) {
        if (be) {
          const lo = R[d];
          R[d] = bswap32(R[d + 1]);
          R[d + 1] = bswap32(lo);
        }
      } else throw this.fault(cur, `invalid endianness width ${imm}`);
      break;
    }
    case 0x81:
      R[d] = dv.getInt32(this.ea(cur, s, P[b + 2], 4, false), true);
      R[d + 1] = R[d] >> 31;
      break;
    case 0x89:
      R[d] = dv.getInt16(this.ea(cur, s, P[b + 2], 2, false), true);
      R[d + 1] = R[d] >> 31;
      break;
    case 0x91:
      R[d] = dv.getInt8(this.ea(cur, s, P[b + 2], 1, false));
      R[d + 1] = R[d] >> 31;
      break;
    case 0xc3:
    case 0xdb:
    case 0xcb:
    case 0xd3:
      this.atomic(cur, code, d, s, P[b + 2], P[b + 3], dv);
      break;
    case 0x20:
    case 0x28:
    case 0x30:
    case 0x40:
    case 0x48:
    case 0x50:
      this.ldPacket(cur, code, s, P[b + 3]);
      break;
    default: {
      const why = code === 0 ? P[b + 4] : R_UNKNOWN;
      if (why === R_END) throw this.fault(cur - 1, 'fell off the end of the program');
      if (why === R_BADREG) throw this.fault(cur, 'invalid register in instruction');
      throw this.fault(cur, `unknown opcode ${hex(code)}`);
    }
    }
  }

  private tooManyEdges(cur: number): never {
    throw this.fault(cur, `more than ${this.maxBackEdges} backward jumps in one run`);
  }

  /** STX | ATOMIC: mirrors the BPF_ATOMIC cases of ___bpf_prog_run(). */
  private atomic(cur: number, code: number, d: number, s: number, off: number, op: number, dv: DataView): void {
    const R = this.R;
    const size = code === 0xdb ? 8 : code === 0xc3 ? 4 : code === 0xcb ? 2 : 1;
    if (op === 0x100) {
      // load-acquire: dst = *(src + off)
      const a = this.ea(cur, s, off, size, false);
      if (size === 8) {
        R[d] = dv.getInt32(a, true);
        R[d + 1] = dv.getInt32(a + 4, true);
      } else {
        R[d] = size === 4 ? dv.getInt32(a, true) : size === 2 ? dv.getUint16(a, true) : dv.getUint8(a);
        R[d + 1] = 0;
      }
      return;
    }
    if (op === 0x110) {
      const a = this.ea(cur, d, off, size, true);
      if (size === 8) {
        dv.setInt32(a, R[s], true);
        dv.setInt32(a + 4, R[s + 1], true);
      } else if (size === 4) dv.setInt32(a, R[s], true);
      else if (size === 2) dv.setInt16(a, R[s], true);
      else dv.setInt8(a, R[s]);
      return;
    }
    if (size < 4) throw this.fault(cur, `invalid atomic operation ${hex(op)} of ${size} bytes`);
    const a = this.ea(cur, d, off, size, true);
    const oldLo = dv.getInt32(a, true);
    const oldHi = size === 8 ? dv.getInt32(a + 4, true) : 0;
    const base = op & ~1;
    const fetch = (op & 1) !== 0;
    let nl: number;
    let nh: number;
    if (op === 0xe1) {
      nl = R[s];
      nh = R[s + 1];
    } else if (op === 0xf1) {
      const eq = size === 8 ? R[0] === oldLo && R[1] === oldHi : R[0] === oldLo;
      if (eq) {
        if (size === 8) {
          dv.setInt32(a, R[s], true);
          dv.setInt32(a + 4, R[s + 1], true);
        } else dv.setInt32(a, R[s], true);
      }
      R[0] = oldLo;
      R[1] = oldHi;
      return;
    } else if (base === 0x00 || base === 0x40 || base === 0x50 || base === 0xa0) {
      const T = this.tmp;
      T[0] = oldLo;
      T[1] = oldHi;
      if (base === 0x00) add64(T, 0, R[s], R[s + 1]);
      else if (base === 0x40) {
        T[0] |= R[s];
        T[1] |= R[s + 1];
      } else if (base === 0x50) {
        T[0] &= R[s];
        T[1] &= R[s + 1];
      } else {
        T[0] ^= R[s];
        T[1] ^= R[s + 1];
      }
      nl = T[0];
      nh = T[1];
    } else throw this.fault(cur, `invalid atomic operation ${hex(op)}`);
    dv.setInt32(a, nl, true);
    if (size === 8) dv.setInt32(a + 4, nh, true);
    if (fetch || op === 0xe1) {
      R[s] = oldLo;
      R[s + 1] = oldHi;
    }
  }
  private readonly tmp = new Int32Array(2);

  /** LD_ABS / LD_IND: mirrors bpf_skb_load_helper_*() through env.packetLoad. */
  private ldPacket(cur: number, code: number, s: number, imm: number): void {
    const R = this.R;
    const size = (code & 0x18) === 0 ? 4 : (code & 0x18) === 8 ? 2 : 1;
    const off = (code & 0xe0) === 0x40 ? (R[s] + imm) | 0 : imm;
    if (!this.env.packetLoad) throw this.fault(cur, 'LD_ABS/LD_IND is unsupported: the environment has no packetLoad hook');
    this.ctx.pc = cur;
    const v = this.env.packetLoad(this.ctx, toU64(R[12], R[13]), off, size);
    if (v === null) endRun(0n);
    setBig(R, 0, v);
    this.cb = 1;
    this.ce = 0;
  }
}

export const interpreter: Engine = {
  name: 'interp',
  load(prog: LoadedProgram, env: Env, mem: AddressSpace, opts: InterpOptions = {}): Executable {
    return new InterpExecutable(prog, env, mem, opts);
  },
};
