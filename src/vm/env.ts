// How the execution engines call the kernel, and how programs are handed to them.
//
// The engines know nothing of program types, maps or BTF: the model kernel
// (src/kernel) supplies an Env that resolves helpers, kfuncs and the pseudo
// ld_imm64 forms to native functions and addresses in the shared AddressSpace.

import type { Insn } from '../isa/insn.js';
import { KfError } from '../util/errors.js';
import type { AddressSpace, Region } from './memory.js';
import type { BpfKfuncMap } from './bodies.js';

/** What a native helper/kfunc sees of the running program. */
export interface CallContext {
  readonly mem: AddressSpace;
  /** Index of the call instruction. */
  readonly pc: number;
  /**
   * Runs a BPF subprogram (e.g. a bpf_loop callback) on a new stack frame and
   * returns its r0. `fnAddr` is the value an `ld_imm64 src=BPF_PSEUDO_FUNC`
   * produced (see funcAddr()); args become r1..r5.
   */
  callSubprog(fnAddr: bigint, args: readonly bigint[]): bigint;
  /**
   * Ends the whole run at once with r0 = `r0` (default 0), from any call depth:
   * what an out-of-bounds LD_ABS/LD_IND does in the kernel, and uBPF's
   * "unwind" helper returning 0. Never returns (throws EndRun, which the
   * engine's run() catches).
   */
  endRun(r0?: bigint): never;
}

/** Thrown by CallContext.endRun(); caught by the engines' run(), which then return `r0`. */
export class EndRun {
  constructor(readonly r0: bigint) {}
}

/** CallContext.endRun() for engines and test contexts. */
export function endRun(r0 = 0n): never {
  throw new EndRun(BigInt.asUintN(64, r0));
}

/**
 * A helper or kfunc implemented natively. Arguments arrive as unsigned 64-bit
 * bigints; returns r0 (any bigint; truncated to 64 bits). Engines may pass 0n
 * for the arguments beyond those the function declares (see declaredArgs()).
 * `fast`, when present, is the same function on numbers (FastNativeFn).
 */
export type NativeFn = ((c: CallContext, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => bigint) & { fast?: FastNativeFn };

/**
 * The fast form of a native: the engines call it instead of the bigint form
 * when every argument it declares holds a value below 2^53 (pointers, u32 and
 * small u64 scalars), which avoids allocating BigInts on every call. Arguments
 * are unsigned integers; the result must be an integer in (-2^53, 2^53), a
 * negative one standing for its 64-bit two's complement (e.g. -22 for -EINVAL).
 */
export type FastNativeFn = (c: CallContext, r1: number, r2: number, r3: number, r4: number, r5: number) => number;

/** Attaches a fast form to a native function. */
export function withFast(fn: (c: CallContext, r1: bigint, r2: bigint, r3: bigint, r4: bigint, r5: bigint) => bigint, fast: FastNativeFn): NativeFn {
  const f = fn as NativeFn;
  f.fast = fast;
  return f;
}

/**
 * How many of r1..r5 a native reads: the parameters it declares after the
 * CallContext, or all five when it may read more than it declares (rest
 * parameters, default values, `arguments`, bound or native functions).
 */
export function declaredArgs(fn: (...a: never[]) => unknown): number {
  const n = fn.length - 1;
  if (n >= 5) return 5;
  const src = Function.prototype.toString.call(fn);
  const close = src.indexOf(')');
  const params = close < 0 ? src.slice(0, Math.max(0, src.indexOf('=>'))) : src.slice(0, close);
  if (params.includes('...') || params.includes('=') || /\barguments\b|native code/.test(src)) return 5;
  return Math.max(0, n);
}

export interface Env {
  /** Helper by BPF_FUNC_* id (call src=0). */
  helper(id: number): NativeFn | undefined;
  /** Kfunc by BTF id and module BTF fd index (call src=2, off). */
  kfunc(btfId: number, off: number): NativeFn | undefined;
  /**
   * Value of `ld_imm64` with a pseudo source (MAP_FD, MAP_VALUE, BTF_ID,
   * MAP_IDX, MAP_IDX_VALUE): usually an address in the AddressSpace. The
   * engines handle src=0 (a constant) and src=BPF_PSEUDO_FUNC (funcAddr) themselves.
   */
  ldImm64(src: number, imm: number, nextImm: number, pc: number): bigint;
  /**
   * Legacy LD_ABS/LD_IND packet load from the skb `ctx` (the value of r6):
   * `size` bytes at packet offset `off`, converted from network byte order.
   * Returns null when out of bounds (the program then exits with r0 = 0, as
   * in the kernel). Without this hook LD_ABS/LD_IND fault as unsupported.
   */
  packetLoad?(c: CallContext, ctx: bigint, off: number, size: 1 | 2 | 4): bigint | null;
}

/** An Env with nothing in it: every helper, kfunc and pseudo ld_imm64 is unknown. */
export const emptyEnv: Env = {
  helper: () => undefined,
  kfunc: () => undefined,
  ldImm64: (src, _imm, _next, pc) => {
    throw new KfError(`ld_imm64 with pseudo source ${src}: no kernel environment to resolve it`, [`instruction ${pc}`]);
  },
};

/** A program ready to run: its instruction slots, as the kernel indexes them. */
export interface LoadedProgram {
  readonly insns: readonly Insn[];
  readonly name?: string;
}

/** Stack: a fresh 512-byte frame per BPF-to-BPF call, at most 8 frames (kernel MAX_CALL_FRAMES). */
export const STACK_FRAME_SIZE = 512;
export const MAX_CALL_FRAMES = 8;
/** may_goto budget per run (kernel BPF_MAX_LOOPS). */
export const MAY_GOTO_BUDGET = 8 * 1024 * 1024;

/**
 * The value `ld_imm64 src=BPF_PSEUDO_FUNC` yields for the subprogram starting
 * at instruction `insnIdx`: a tagged non-address (no region is ever mapped there).
 */
export const FUNC_ADDR_TAG = 0xffff_f000_0000_0000n;
export const funcAddr = (insnIdx: number): bigint => FUNC_ADDR_TAG | BigInt(insnIdx);
/** The instruction index a funcAddr() value names, or -1. */
export function funcIndex(v: bigint): number {
  const u = BigInt.asUintN(64, v);
  if ((u & 0xffff_ffff_0000_0000n) !== FUNC_ADDR_TAG) return -1;
  return Number(u & 0xffff_ffffn);
}

export interface LoadOptions {
  /**
   * Bytes of stack to map (default MAX_CALL_FRAMES * STACK_FRAME_SIZE, plus
   * one frame for kfunc bodies when bpfKfuncs is given).
   */
  stackSize?: number;
  /**
   * Kfuncs implemented by BPF bodies (src/vm/bodies.ts): a kfunc call
   * (src=2, off=0) to one of these BTF ids runs the body as its own function
   * on a fresh frame instead of Env.kfunc's native function; the body's own
   * kfunc calls go to Env.kfunc. A library's bodiesById() map fits.
   */
  bpfKfuncs?: BpfKfuncMap;
}

/** A program loaded into an engine, bound to an Env and an AddressSpace. Run it many times. */
export interface Executable {
  readonly mem: AddressSpace;
  /** The stack region; r10 of the main frame is its end. */
  readonly stack: Region;
  /** Runs from instruction 0 with r1..r5 = args (missing ones 0); returns r0 (as an unsigned 64-bit bigint). */
  run(r1?: bigint, r2?: bigint, r3?: bigint, r4?: bigint, r5?: bigint): bigint;
  /** Unmaps the stack. */
  dispose(): void;
}

export interface Engine {
  readonly name: 'interp' | 'jit';
  /** Prepares (pre-decodes / compiles) `prog`; throws KfError on programs it cannot run. */
  load(prog: LoadedProgram, env: Env, mem: AddressSpace, opts?: LoadOptions): Executable;
}
