// Stack slot liveness (src/verifier/state/liveness.ts, mirrors kernel/bpf/liveness.c):
// dead stack slots are ignored when states are compared, so pruning follows
// the kernel's. Oracle: the running 6.18 kernel's log recorded in the legacy suite.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { insnsFromHex } from '../../src/isa/codec.js';
import { verify } from '../../src/verifier/index.js';

const SUITE = '/work/shared/testsuites/kernel-verifier/legacy-6.12.jsonl';
interface Case { descr: string; insns: string; prog_type?: number; flags?: number; oracle?: { accepted: boolean; log_tail: string } }
const cases: Case[] = existsSync(SUITE) ? readFileSync(SUITE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Case) : [];
const byName = (d: string): Case => {
  const c = cases.find((x) => x.descr === d);
  if (!c?.oracle) throw new Error(`legacy case "${d}" missing`);
  return c;
};
const run = (c: Case, logLevel = 1) =>
  verify({ insns: insnsFromHex(c.insns), progType: c.prog_type || 1, flags: ((c.flags ?? 0) & 2 ? 1 : 0) | ((c.flags ?? 0) & 8), btfFuncInfo: false }, { logLevel });
const kernelProcessed = (c: Case): number => Number(/processed (\d+) insns/.exec(c.oracle!.log_tail)![1]);

describe.skipIf(cases.length === 0)('stack liveness vs the kernel (legacy suite oracle)', () => {
  if (cases.length === 0) console.warn(`stack liveness tests skipped: ${SUITE} missing`);
  it('"jump test 1": dead spills no longer block pruning (processed equals the kernel\'s)', () => {
    const c = byName('jump test 1');
    const r = run(c);
    expect(r.accepted).toBe(c.oracle!.accepted);
    expect(r.processed).toBe(kernelProcessed(c));
  });
  it('"jump test 2" and the other stack-heavy cases prune like the kernel', () => {
    for (const d of ['jump test 2', 'jump test 3', 'jump test 4', 'jump test 5']) {
      const c = cases.find((x) => x.descr === d);
      if (!c?.oracle) continue;
      expect(run(c).processed, d).toBe(kernelProcessed(c));
    }
  });
  it('"calls: conditional call 6": the log ends with the states, as the kernel\'s does', () => {
    const c = byName('calls: conditional call 6');
    const r = run(c);
    expect(r.accepted).toBe(c.oracle!.accepted);
    expect(r.error).toBe('infinite loop detected at insn 1');
    const tail = (s: string): string[] => s.trim().split('\n').slice(-3);
    expect(tail(r.log)).toEqual(tail(c.oracle!.log_tail));
  });
});
