// Scoreboard: the kernel's legacy verifier tests, judged against what the
// running 6.18 kernel said (oracle) when the suite was recorded.
import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { insnsFromHex } from '../../src/isa/codec.js';
import { verify } from '../../src/verifier/index.js';

const SUITE = '/work/shared/testsuites/kernel-verifier/legacy-6.12.jsonl';

interface Case {
  descr: string;
  prog_type: number;
  flags: number;
  errstr: string;
  insns: string;
  needs_fixup: number;
  fill_helper?: string;
  oracle?: { accepted: boolean; log_tail: string };
}

function load(): Case[] {
  if (!existsSync(SUITE)) return [];
  return readFileSync(SUITE, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Case)
    .filter((c) => c.needs_fixup === 0 && !c.fill_helper && c.oracle && c.insns !== undefined);
}

/** The kernel's error line: the last log line before "processed ...". */
function kernelErrorLine(tail: string): string {
  const lines = tail.split('\n').filter((l) => l.length);
  const i = lines.findIndex((l) => l.startsWith('processed '));
  return (i > 0 ? lines[i - 1] : lines[lines.length - 1] ?? '').trim();
}

/** test_verifier.c's flags: F_LOAD_WITH_STRICT_ALIGNMENT (2) -> BPF_F_STRICT_ALIGNMENT; prog_flags 8 kept. */
const progFlags = (f: number): number => ((f & 2) ? 1 : 0) | (f & 8);

const cases = load();

describe.skipIf(cases.length === 0)('legacy verifier suite vs the 6.18 kernel', () => {
  it('agrees with the kernel on verdicts and error lines', () => {
    let agree = 0;
    let rejected = 0;
    let errMatch = 0;
    let procKnown = 0;
    let procEqual = 0;
    const causes = new Map<string, string[]>();
    const note = (cause: string, d: string): void => {
      const l = causes.get(cause) ?? [];
      l.push(d);
      causes.set(cause, l);
    };
    for (const c of cases) {
      const o = c.oracle!;
      const r = verify({ insns: insnsFromHex(c.insns), progType: c.prog_type || 1, flags: progFlags(c.flags), btfFuncInfo: false }, { logLevel: 1 });
      if (r.accepted === o.accepted) agree++;
      else note(o.accepted ? `we reject: ${r.error}` : `we accept (kernel: ${kernelErrorLine(o.log_tail)})`, c.descr);
      const m = /processed (\d+) insns/.exec(o.log_tail);
      if (m) {
        procKnown++;
        if (Number(m[1]) === r.processed) procEqual++;
      }
      if (!o.accepted) {
        rejected++;
        const line = kernelErrorLine(o.log_tail);
        if ((line && r.log.includes(line)) || (c.errstr && r.log.includes(c.errstr))) errMatch++;
        else if (!r.accepted) note(`error differs: kernel "${line}" / ours "${r.error}"`, c.descr);
      }
    }
    const n = cases.length;
    console.log(`legacy suite: ${n} cases, verdict agreement ${agree}/${n} (${((100 * agree) / n).toFixed(1)}%)`);
    console.log(`rejected by kernel: ${rejected}, error line found in our log: ${errMatch} (${((100 * errMatch) / rejected).toFixed(1)}%)`);
    console.log(`processed-insn count equal to the kernel's: ${procEqual}/${procKnown}`);
    for (const [cause, ds] of [...causes].sort((a, b) => b[1].length - a[1].length))
      console.log(`  ${ds.length}x ${cause}: ${ds.slice(0, 3).join(' | ')}`);
    expect(agree).toBeGreaterThanOrEqual(Math.floor(0.99 * n));
    expect(errMatch).toBeGreaterThanOrEqual(Math.floor(0.99 * rejected));
  });
});
