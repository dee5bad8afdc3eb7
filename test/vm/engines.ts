// The engines under test and a tiny runner shared by the VM tests.
import { AddressSpace } from '../../src/vm/memory.js';
import { emptyEnv, type Engine, type Env } from '../../src/vm/env.js';
import { interpreter } from '../../src/vm/interp.js';
import { jit } from '../../src/vm/jit/jit.js';
import type { Insn } from '../../src/isa/insn.js';

export const ENGINES: Engine[] = [interpreter, jit];

export interface RunResult {
  r0: bigint;
  mem: Uint8Array; // the data region after the run
  stack: Uint8Array;
}

/** Maps `data` (if any) as a writable region, r1 = its address, r2 = its length; runs; returns r0 and the bytes. */
export function runWith(engine: Engine, insns: readonly Insn[], data?: Uint8Array, env: Env = emptyEnv): RunResult {
  const mem = new AddressSpace();
  let r1 = 0n;
  let region;
  if (data && data.length) {
    region = mem.map(data.length, 'packet', 'mem');
    mem.write(region.base, data);
    r1 = BigInt(region.base);
  }
  const ex = engine.load({ insns, name: 'test' }, env, mem);
  const r0 = ex.run(r1, BigInt(data?.length ?? 0));
  return {
    r0,
    mem: region ? mem.read(region.base, region.size) : new Uint8Array(0),
    stack: mem.read(ex.stack.base, ex.stack.size),
  };
}
