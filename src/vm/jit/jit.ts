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
} from '../env.js';
import { wasmApi, type WasmModule } from '../wasm-api.js';
import { FaultCode, SCR_FP, SCR_R0, SCR_R1, SCR_R6, SCR_SRC, compileToWasm, type CompiledWasm } from './compile.js';

interface Compiled {
  info: CompiledWasm;
  module: WasmModule;
}

const cache = new WeakMap<readonly unknown[], Compiled>();

/** Compiles (or returns the cached compilation of) a program. */
export function compileProgram(prog: LoadedProgram): Compiled {
  let c = cache.get(prog.insns);
  if (!c) {
    const info = compileToWasm(prog.insns);
    let module: WasmModule;
    try {
      module = new (wasmApi().Module)(info.bytes);
    } catch (e) {
      throw new KfError(`jit: generated wasm does not compile: ${(e as Error).message}`);
    }
    c = { info, module };
    cache.set(prog.insns, c);
  }
  return c;
}

class AbortRun {}

const FAULTS: Record<number, string> = {
  [FaultCode.FELL_OFF]: 'fell off the end of the program',
  [FaultCode.CALL_DEPTH]: `call stack exceeds ${MAX_CALL_FRAMES} frames`,
  [FaultCode.BAD_INSN]: 'invalid instruction',
};

class JitExecutable implements Executable {
  readonly stack: Region;
  private readonly stackEnd: number;
  private readonly entry: () => void;
  private readonly fns = new Map<number, (...a: bigint[]) => bigint>();
  private readonly sites: Map<number, { fn?: NativeFn; site: CompiledWasm['natives'] extends Map<number, infer S> ? S : never }>;
  private curFp = 0n;
  private readonly ctx: CallContext & { pc: number };

  constructor(
    prog: LoadedProgram,
    private readonly env: Env,
    readonly mem: AddressSpace,
    opts: LoadOptions,
  ) {
    const { info, module } = compileProgram(prog);
    const W = wasmApi();
    this.stack = mem.map(opts.stackSize ?? MAX_CALL_FRAMES * STACK_FRAME_SIZE, 'stack', `stack of ${prog.name ?? 'program'}`, {
      align: 16,
    });
    this.stackEnd = this.stack.base + this.stack.size;
    const envImports: Record<string, unknown> = {
      mem: mem.memory,
      native: (pc: number) => this.native(pc),
      fault: (pc: number, code: number) => {
        throw new VmFault(pc, 0n, FAULTS[code] ?? `fault ${code}`);
      },
      stack_lo: new W.Global({ value: 'i64', mutable: false }, BigInt(this.stack.base)),
    };
    for (const p of info.pseudo) {
      const v = (() => {
        try {
          return env.ldImm64(p.src, p.imm, p.nextImm, p.pc);
        } catch (e) {
          if (e instanceof KfError && !e.context.length) throw e.wrap(`instruction ${p.pc}`);
          throw e;
        }
      })();
      envImports[`k${p.pc}`] = new W.Global({ value: 'i64', mutable: false }, BigInt.asIntN(64, v));
    }
    const inst = new W.Instance(module, { env: envImports });
    this.entry = inst.exports.entry as () => void;
    for (const s of info.subprogs) this.fns.set(s, inst.exports[`f${s}`] as (...a: bigint[]) => bigint);
    this.sites = new Map([...info.natives].map(([pc, site]) => [pc, { site }]));
    this.ctx = { mem, pc: 0, callSubprog: (f, a) => this.callSubprog(f, a) };
  }

  dispose(): void {
    this.mem.unmap(this.stack);
  }

  private native(pc: number): void {
    const s = this.sites.get(pc);
    if (!s) throw new VmFault(pc, 0n, 'jit: unknown native call site');
    const dv = this.mem.dv;
    const B = CALL_SCRATCH;
    const site = s.site;
    this.ctx.pc = pc;
    const prevFp = this.curFp;
    this.curFp = dv.getBigUint64(B + SCR_FP, true);
    let v: bigint | null;
    if (site.kind === 'packet') {
      if (!this.env.packetLoad) throw new VmFault(pc, 0n, 'LD_ABS/LD_IND is unsupported: the environment has no packetLoad hook');
      const src = site.ind ? Number(BigInt.asIntN(32, dv.getBigUint64(B + SCR_SRC, true))) : 0;
      v = this.env.packetLoad(this.ctx, dv.getBigUint64(B + SCR_R6, true), (src + site.imm) | 0, site.size);
      if (v === null) throw new AbortRun();
    } else {
      let fn = s.fn;
      if (!fn) {
        fn = site.kind === 'helper' ? this.env.helper(site.imm) : this.env.kfunc(site.imm, site.off);
        if (!fn) {
          throw new VmFault(
            pc,
            0n,
            site.kind === 'helper'
              ? `call to unknown helper ${site.imm}`
              : `call to unknown kfunc btf_id ${site.imm}${site.off ? ` (module ${site.off})` : ''}`,
          );
        }
        s.fn = fn;
      }
      const a = B + SCR_R1;
      v = fn(this.ctx, dv.getBigUint64(a, true), dv.getBigUint64(a + 8, true), dv.getBigUint64(a + 16, true), dv.getBigUint64(a + 24, true), dv.getBigUint64(a + 32, true));
      if (typeof v !== 'bigint') throw new VmFault(pc, 0n, `native function returned ${typeof v}, not a bigint`);
    }
    this.curFp = prevFp;
    this.mem.dv.setBigUint64(B + SCR_R0, BigInt.asUintN(64, v), true);
  }

  private callSubprog(fnAddr: bigint, args: readonly bigint[]): bigint {
    const pc = this.ctx.pc;
    const idx = funcIndex(fnAddr);
    const f = this.fns.get(idx);
    if (!f) throw new VmFault(pc, 0n, `callback ${hex(BigInt.asUintN(64, fnAddr))} is not a subprogram address`);
    const fp = this.curFp - BigInt(STACK_FRAME_SIZE);
    if (fp - BigInt(STACK_FRAME_SIZE) < BigInt(this.stack.base)) throw new VmFault(pc, 0n, `callback exceeds ${MAX_CALL_FRAMES} call frames`);
    const a = [0, 1, 2, 3, 4].map((i) => BigInt.asIntN(64, args[i] ?? 0n));
    const saved = this.curFp;
    const r = f(a[0], a[1], a[2], a[3], a[4], fp);
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
    try {
      this.entry();
    } catch (e) {
      if (e instanceof AbortRun) return 0n;
      if (e instanceof KfError) throw e;
      if (e instanceof wasmApi().RuntimeError) throw new VmFault(-1, 0n, `wasm trap: ${(e as Error).message}`);
      if (e instanceof RangeError) throw new VmFault(-1, 0n, `wasm: ${e.message}`);
      throw e;
    }
    return this.mem.dv.getBigUint64(CALL_SCRATCH + SCR_R0, true);
  }
}

export const jit: Engine = {
  name: 'jit',
  load(prog: LoadedProgram, env: Env, mem: AddressSpace, opts: LoadOptions = {}): Executable {
    return new JitExecutable(prog, env, mem, opts);
  },
};
