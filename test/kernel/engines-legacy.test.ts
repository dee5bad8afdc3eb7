// Issue 4 (a): the kernel's legacy verifier cases that the running 6.18 kernel
// accepted and test-ran (oracle.test_run.retval present, needs_fixup 0) return
// the kernel's retval in both engines, through testRun() and the model kernel
// (ctx accesses converted, helpers native, LD_ABS/LD_IND through packetLoad).
// A case the model cannot run (a program type, ctx field or helper it does not
// model) is counted as not covered, with its cause, and never passes silently
// as a wrong answer; a retval that is a kernel pointer cannot be compared.
// Where the kernel's test run failed (rc -1, errno ENOTSUPP: sk_skb, tracepoint,
// perf_event have no .test_run) the stored retval 0 is no program result: the
// model must refuse those runs the same way.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { insnsFromHex } from '../../src/isa/codec.js';
import type { Insn } from '../../src/isa/insn.js';
import { testRun } from '../../src/vm/testrun.js';
import { KfError } from '../../src/util/errors.js';

const FILE = '/work/shared/testsuites/kernel-verifier/legacy-6.12.jsonl';
/** test_verifier's POINTER_VALUE marker (as the JSONL holds it): the retval is an address. */
const POINTER_RETVALS = new Set([0xcafe4a, 0xcafe4a11]);
/** What the model kernel does not model: such a case is not covered (the message names what). */
const UNMODELLED = /is not modelled|call to unknown helper|call to unknown kfunc/;

interface KCase {
  descr: string;
  prog_type: number;
  needs_fixup: number;
  retval: number;
  data: string;
  insns: string;
  oracle?: { accepted?: boolean; test_run?: { rc?: number; errno?: number; retval?: number } };
}
/** ENOTSUPP: bpf_prog_test_run() on a program type without .test_run (sk_skb, tracepoint, perf_event): the program never ran. */
const ENOTSUPP = 524;

const cases: { c: KCase; insns: Insn[]; data: Uint8Array; want: number; refused: boolean }[] = [];
if (existsSync(FILE)) {
  for (const line of readFileSync(FILE, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const c = JSON.parse(line) as KCase;
    const want = c.oracle?.test_run?.retval;
    if (!c.oracle?.accepted || want === undefined || c.needs_fixup) continue;
    cases.push({ c, insns: insnsFromHex(c.insns), data: Uint8Array.from(Buffer.from(c.data ?? '', 'hex')), want: want >>> 0, refused: (c.oracle.test_run?.rc ?? 0) < 0 });
  }
}

/** Cases the kernel ran whose retval both engines reproduce (raise as coverage grows). */
const FLOOR_RUN = 195;

type Outcome = { kind: 'ok' } | { kind: 'refused' } | { kind: 'uncovered'; why: string } | { kind: 'wrong'; why: string };

function runCase(k: (typeof cases)[number], engine: 'interp' | 'jit'): Outcome {
  let retval: number;
  try {
    // test_verifier runs prog_type 0 as a socket filter
    const res = testRun(k.insns, { progType: k.c.prog_type || 1, data: k.data.length ? k.data : new Uint8Array(64), engine });
    retval = res.retval;
    if (POINTER_RETVALS.has(k.c.retval)) {
      // test_verifier does not compare a POINTER_VALUE retval at all; ask more of the model:
      // r0 is an address inside a mapped region (ctx, packet, ...) and retval its low 32 bits
      if (!res.r0Region) return { kind: 'wrong', why: `POINTER_VALUE case returned r0 ${res.r0.toString(16)}, which is not a mapped address` };
      return retval === Number(res.r0 & 0xffffffffn) ? { kind: 'ok' } : { kind: 'wrong', why: `retval ${retval} is not the low half of r0 ${res.r0.toString(16)}` };
    }
  } catch (e) {
    if (k.refused) {
      // the kernel refused the test run: the model must refuse it for the same reason
      const errno = k.c.oracle?.test_run?.errno;
      if (errno === ENOTSUPP && e instanceof KfError && /-ENOTSUPP/.test(e.message)) return { kind: 'refused' };
      return { kind: 'wrong', why: `the kernel refused the run (errno ${errno}); the model threw ${e instanceof Error ? e.message : String(e)}` };
    }
    if (e instanceof KfError && UNMODELLED.test(e.message)) return { kind: 'uncovered', why: e.message.replace(/instruction \d+: /, '') };
    return { kind: 'wrong', why: `threw ${e instanceof Error ? e.message : String(e)}` };
  }
  if (k.refused) return { kind: 'wrong', why: `the kernel refused the run (errno ${k.c.oracle?.test_run?.errno}); the model ran it (retval ${retval})` };
  return retval === k.want ? { kind: 'ok' } : { kind: 'wrong', why: `retval ${retval}, the kernel said ${k.want}` };
}

describe.skipIf(!existsSync(FILE))('legacy verifier cases test-run by the kernel: both engines return its retval', () => {
  const tally = new Map<string, number>();
  let covered = 0;
  let refused = 0;
  it('covers most of them; every case not covered has a named cause', () => {
    for (const k of cases) {
      const a = runCase(k, 'interp');
      const b = runCase(k, 'jit');
      if (a.kind === 'ok' && b.kind === 'ok') covered++;
      else if (a.kind === 'refused' && b.kind === 'refused') refused++;
      else if (a.kind === 'uncovered') tally.set(a.why, (tally.get(a.why) ?? 0) + 1);
    }
    const lines = [...tally].sort((x, y) => y[1] - x[1]).map(([w, n]) => `  ${n} x ${w}`);
    const ran = cases.filter((k) => !k.refused).length;
    console.log(
      `legacy cases with a kernel test_run retval: ${covered}/${ran} run by the kernel return its retval in both engines; ` +
        `${refused}/${cases.length - ran} the kernel refused (-ENOTSUPP) are refused alike; not covered: ${lines.length ? `\n${lines.join("\n")}` : "none"}`,
    );
    expect(cases.length).toBeGreaterThan(200);
    expect(covered).toBeGreaterThanOrEqual(FLOOR_RUN);
    expect(refused).toBe(cases.length - ran);
  });
  for (const engine of ['interp', 'jit'] as const) {
    describe(engine, () => {
      for (const k of cases) {
        it(`${k.c.descr} (prog_type ${k.c.prog_type})`, () => {
          const o = runCase(k, engine);
          if (o.kind === 'wrong') expect.fail(o.why);
        });
      }
    });
  }
});
