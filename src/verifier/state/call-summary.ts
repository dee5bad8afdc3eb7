// Registers a helper or kfunc call reads: mirrors get_call_summary() as used
// by compute_insn_live_regs() (kernel/bpf/verifier.c, 6.18). A helper reads
// r1..rN for its N prototype arguments, a kfunc r1..rN for the N parameters of
// its BTF prototype; anything else (a static subprogram, an unknown id) r1..r5.
import type { Insn } from '../../isa/insn.js';
import type { Env } from '../env.js';
import { ArgType, helperProto } from '../helpers-proto.js';
import { kfuncEnv } from '../kfunc/index.js';

const ALL_ARGS = 0x3e;
const argMask = (n: number): number => ((1 << Math.min(n, 5)) - 1) << 1;

/** The use mask (bit per register) of the call `x`, for the register liveness of cfg.ts. */
export function callUseMask(env: Env, x: Insn): number {
  if (x.src === 0) {
    const p = helperProto(x.imm, env.progType);
    if (!p) return ALL_ARGS;
    let n = 0;
    while (n < p.args.length && p.args[n] !== ArgType.DONTCARE) n++;
    return argMask(n);
  }
  if (x.src === 2) {
    let m;
    try {
      m = kfuncEnv(env).meta(x.imm);
    } catch {
      return ALL_ARGS;
    }
    return m ? argMask(m.args.length) : ALL_ARGS;
  }
  return ALL_ARGS;
}
