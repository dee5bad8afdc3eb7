// The WebAssembly JIT engine: compiles a program once (cached per insns
// array), instantiates it per load against an Env and an AddressSpace, runs
// it many times. Wasm traps become VmFaults.

import { KfError, hex } from '../../util/errors.js';
import { AddressSpace, CALL_SCRATCH, VmFault, type Region } from '../memory.js';
import {
  MAX_CALL_FRAMES,
  STACK_FRAME_SIZE,
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
} from '../env.js';
import { wasmApi, type WasmModule } from '../wasm-api.js';
import { toU64 } from '../i64.js';
import { appendBodies, whereIs, type BpfKfuncMap, type WithBodies } from '../bodies.js';
import { FaultCode, SCR_FP, SCR_R0, SCR_R1, SCR_R6, SCR_SRC, compileToWasm, type CompiledWasm, type NativeSite } from './compile.js';

interface Compiled {
  info: CompiledWasm;
  module: WasmModule;
  linked: WithBodies;
}

const cache = new WeakMap<readonly unknown[], Compiled>();
const cacheWithBodies = new WeakMap<readonly unknown[], WeakMap<BpfKfuncMap, Compiled>>();

/**
 * Compiles (or returns the cached compilation of) a program, with the kfunc
 * bodies it may call (cached per insns array and bodies map: change neither
 * after loading).
 */
export function compileProgram(prog: LoadedProgram, bpfKfuncs?: BpfKfuncMap): Compiled {
  const withBodies = bpfKfuncs !== undefined && bpfKfuncs.size > 0;
  let perBodies: WeakMap<BpfKfuncMap, Compiled> | undefined;
  if (withBodies) {
    perBodies = cacheWithBodies.get(prog.insns);
    if (!perBodies) cacheWithBodies.set(prog.insns, (perBodies = new WeakMap()));
  }
  let c = withBodies ? perBodies!.get(bpfKfuncs) : cache.get(prog.insns);
  if (!c) {
    const linked = appendBodies(prog.insns, bpfKfuncs);
    const info = compileToWasm(linked.insns, { bodies: linked.startOf });
    let module: WasmModule;
    try {
      module = new (wasmApi().Module)(info.bytes);
    } catch (e) {
      throw new KfError(`jit: generated wasm does not compile: ${(e as Error).message}`);
    }
    c = { info, module, linked };
    if (withBodies) perBodies!.set(bpfKfuncs, c);
    else cache.set(prog.insns, c);
  }
  return c;
}


const FAULTS: Record<number, string> = {
  [FaultCode.FELL_OFF]: 'fell off the end of the program',
  [FaultCode.CALL_DEPTH]: `call stack exceeds ${MAX_CALL_FRAMES} frames`,
  [FaultCode.BAD_INSN]: 'invalid instruction',
};

/** One native call site: what it calls, resolved on first use. */
interface Site {
  readonly site: NativeSite;
  fn: NativeFn | undefined;
  fast: FastNativeFn | undefined;
  /** Register arguments the function (its fast form, if any) declares, at most 5. */
  argc: number;
}


class JitExecutable implements Executable {
  readonly stack: Region;
  private readonly stackEnd: number;
  /** Lowest r10 a bpf-to-bpf callee frame may have (the stack's base, plus one frame kept for kfunc bodies). */
  private readonly stackLo: number;
  private readonly entry: () => void;
  private readonly fns = new Map<number, (...a: bigint[]) => bigint>();
  /** Native call sites by slot. */
  private readonly sites: (Site | undefined)[];
  private readonly linked: WithBodies;
  /** r10 of the frame that made the current native call (for callbacks). */
  private curFp = 0;
  private readonly ctx: CallContext & { pc: number };

  constructor(
    prog: LoadedProgram,
    private readonly env: Env,
    readonly mem: AddressSpace,
    opts: LoadOptions,
  ) {
    const { info, module, linked } = compileProgram(prog, opts.bpfKfuncs);
    this.linked = linked;
    const W = wasmApi();
    const reserve = linked.bodies.length ? STACK_FRAME_SIZE : 0;
    this.stack = mem.map(opts.stackSize ?? MAX_CALL_FRAMES * STACK_FRAME_SIZE + reserve, 'stack', `stack of ${prog.name ?? 'program'}`, {
      align: 16,
    });
    this.stackEnd = this.stack.base + this.stack.size;
    this.stackLo = this.stack.base + reserve;
    const envImports: Record<string, unknown> = {
      mem: mem.memory,
      native: (pc: number) => this.native(pc),
      fault: (pc: number, code: number) => {
        throw new VmFault(pc, 0n, FAULTS[code] ?? `fault ${code}`);
      },
      stack_lo: new W.Global({ value: 'i64', mutable: false }, BigInt(this.stackLo)),
    };
    if (linked.bodies.length) envImports.body_lo = new W.Global({ value: 'i64', mutable: false }, BigInt(this.stack.base));
    for (const p of info.pseudo) {
      const v = (() => {
        try {
          return env.ldImm64(p.src, p.imm, p.nextImm, p.pc);
        } catch (e) {
          if (e instanceof KfError && !e.context.length) throw new KfError(e.reason, whereIs(linked, p.pc));
          throw e;
        }
      })();
      envImports[`k${p.pc}`] = new W.Global({ value: 'i64', mutable: false }, BigInt.asIntN(64, v));
    }
    const inst = new W.Instance(module, { env: envImports });
    this.entry = inst.exports.entry as () => void;
    for (const s of info.subprogs) this.fns.set(s, inst.exports[`f${s}`] as (...a: bigint[]) => bigint);
    this.sites = new Array<Site | undefined>(linked.insns.length).fill(undefined);
    for (const [pc, site] of info.natives) this.sites[pc] = { site, fn: undefined, fast: undefined, argc: 5 };
    this.ctx = { mem, pc: 0, callSubprog: (f, a) => this.callSubprog(f, a), endRun };
  }

  dispose(): void {
    this.mem.unmap(this.stack);
  }

  private resolve(pc: number, s: Site): NativeFn {
    const site = s.site;
    if (site.kind === 'packet') throw new VmFault(pc, 0n, 'jit: not a call site');
    const fn = site.kind === 'helper' ? this.env.helper(site.imm) : this.env.kfunc(site.imm, site.off);
    if (!fn) {
      throw new VmFault(
        pc,
        0n,
        site.kind === 'helper' ? `call to unknown helper ${site.imm}` : `call to unknown kfunc btf_id ${site.imm}${site.off ? ` (module ${site.off})` : ''}`,
      );
    }
    s.fn = fn;
    s.fast = typeof fn.fast === 'function' ? fn.fast : undefined;
    s.argc = declaredArgs(s.fast ?? fn);
    return fn;
  }

  /**
   * The import every helper/kfunc call and LD_ABS/LD_IND goes through: r1..r5,
   * r10 in the scratch area, r0 back. The common case (a resolved native with a
   * fast form and arguments below 2^53) is kept small and allocation-free.
   */
  private native(pc: number): void {
    const s = this.sites[pc];
    const fast = s === undefined ? undefined : s.fast;
    if (fast === undefined) return this.nativeSlow(pc);
    const U = this.mem.u32;
    const n = s!.argc;
    const B = (CALL_SCRATCH + SCR_R1) >> 2;
    if ((n > 0 && U[B + 1] >= 0x20_0000) || (n > 1 && U[B + 3] >= 0x20_0000) || (n > 2 && U[B + 5] >= 0x20_0000) || (n > 3 && U[B + 7] >= 0x20_0000) || (n > 4 && U[B + 9] >= 0x20_0000)) {
      return this.nativeSlow(pc);
    }
    this.ctx.pc = pc;
    const prevFp = this.curFp;
    this.curFp = U[(CALL_SCRATCH + SCR_FP) >> 2];
    const r = fast(
      this.ctx,
      n > 0 ? U[B + 1] * TWO32 + U[B] : 0,
      n > 1 ? U[B + 3] * TWO32 + U[B + 2] : 0,
      n > 2 ? U[B + 5] * TWO32 + U[B + 4] : 0,
      n > 3 ? U[B + 7] * TWO32 + U[B + 6] : 0,
      n > 4 ? U[B + 9] * TWO32 + U[B + 8] : 0,
    );
    if (!Number.isSafeInteger(r)) throw new VmFault(pc, 0n, `native function returned ${String(r)}, not a safe integer`);
    this.curFp = prevFp;
    const I = this.mem.i32; // the native may have grown the memory: fresh view
    I[(CALL_SCRATCH + SCR_R0) >> 2] = r | 0;
    I[((CALL_SCRATCH + SCR_R0) >> 2) + 1] = Math.floor(r / TWO32) | 0;
  }

  private nativeSlow(pc: number): void {
    const s = this.sites[pc];
    if (s === undefined) throw new VmFault(pc, 0n, 'jit: unknown native call site');
    const dv = this.mem.dv;
    this.ctx.pc = pc;
    const prevFp = this.curFp;
    this.curFp = dv.getUint32(CALL_SCRATCH + SCR_FP, true);
    let v: bigint | null;
    const fn = s.fn;
    if (fn !== undefined) {
      const n = s.argc;
      v = fn(this.ctx, n > 0 ? arg(dv, 0) : 0n, n > 1 ? arg(dv, 8) : 0n, n > 2 ? arg(dv, 16) : 0n, n > 3 ? arg(dv, 24) : 0n, n > 4 ? arg(dv, 32) : 0n);
    } else if (s.site.kind === 'packet') {
      const site = s.site;
      if (!this.env.packetLoad) throw new VmFault(pc, 0n, 'LD_ABS/LD_IND is unsupported: the environment has no packetLoad hook');
      const src = site.ind ? dv.getInt32(CALL_SCRATCH + SCR_SRC, true) : 0;
      v = this.env.packetLoad(this.ctx, dv.getBigUint64(CALL_SCRATCH + SCR_R6, true), (src + site.imm) | 0, site.size);
      if (v === null) endRun(0n);
    } else {
      this.resolve(pc, s);
      this.curFp = prevFp;
      this.native(pc);
      return;
    }
    if (typeof v !== 'bigint') throw new VmFault(pc, 0n, `native function returned ${typeof v}, not a bigint`);
    this.curFp = prevFp;
    // DataView.setBigUint64 takes the value modulo 2^64: no BigInt.asUintN needed
    this.mem.dv.setBigUint64(CALL_SCRATCH + SCR_R0, v, true);
  }

  private callSubprog(fnAddr: bigint, args: readonly bigint[]): bigint {
    const pc = this.ctx.pc;
    const idx = funcIndex(fnAddr);
    const f = idx < this.linked.progLen ? this.fns.get(idx) : undefined;
    if (!f) throw new VmFault(pc, 0n, `callback ${hex(BigInt.asUintN(64, fnAddr))} is not a subprogram address`);
    const fp = this.curFp - STACK_FRAME_SIZE;
    if (fp - STACK_FRAME_SIZE < this.stackLo) throw new VmFault(pc, 0n, `callback exceeds ${MAX_CALL_FRAMES} call frames`);
    const a = [0, 1, 2, 3, 4].map((i) => BigInt.asIntN(64, args[i] ?? 0n));
    const saved = this.curFp;
    const r = f(a[0], a[1], a[2], a[3], a[4], BigInt(fp));
    this.curFp = saved;
    this.ctx.pc = pc;
    return BigInt.asUintN(64, r);
  }

  run(r1 = 0n, r2 = 0n, r3 = 0n, r4 = 0n, r5 = 0n): bigint {
    const dv = this.mem.dv;
    const B = CALL_SCRATCH + SCR_R1;
    dv.setBigUint64(B, BigInt.asUintN(64, r1), true);
    dv.setBigUint64(B + 8, BigInt.asUintN(64, r2), true);
    dv.setBigUint64(B + 16, BigInt.asUintN(64, r3), true);
    dv.setBigUint64(B + 24, BigInt.asUintN(64, r4), true);
    dv.setBigUint64(B + 32, BigInt.asUintN(64, r5), true);
    dv.setBigUint64(CALL_SCRATCH + SCR_FP, BigInt(this.stackEnd), true);
    this.curFp = this.stackEnd;
    try {
      this.entry();
    } catch (e) {
      if (e instanceof EndRun) return e.r0;
      if (e instanceof VmFault) {
        if (e.pc >= this.linked.progLen) throw new VmFault(e.pc, e.addr, e.reason, whereIs(this.linked, e.pc));
        throw e;
      }
      if (e instanceof KfError) throw e;
      if (e instanceof wasmApi().RuntimeError) throw new VmFault(-1, 0n, `wasm trap: ${(e as Error).message}`);
      if (e instanceof RangeError) throw new VmFault(-1, 0n, `wasm: ${e.message}`);
      throw e;
    }
    return this.mem.dv.getBigUint64(CALL_SCRATCH + SCR_R0, true);
  }
}

const TWO32 = 4294967296;

/** Register argument at scratch offset `o` (from SCR_R1) as an unsigned 64-bit bigint; small values come from a table. */
function arg(dv: DataView, o: number): bigint {
  const a = CALL_SCRATCH + SCR_R1 + o;
  return toU64(dv.getUint32(a, true), dv.getUint32(a + 4, true));
}

export const jit: Engine = {
  name: 'jit',
  load(prog: LoadedProgram, env: Env, mem: AddressSpace, opts: LoadOptions = {}): Executable {
    return new JitExecutable(prog, env, mem, opts);
  },
};
