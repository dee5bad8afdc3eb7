// The kernel's legacy verifier cases (testsuites/kernel-verifier): loaded the
// way test_verifier.c loads them, the running kernel gives the verdicts (and
// test-run return values) stored beside each case when it was recorded.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadVerifierCase, parseVerifierCases, testRun, testVerifierProgFlags, type VerifierCase } from '../../src/oracle/index.js';
import { KfError } from '../../src/util/errors.js';
import { NO_BPF, bpfNote } from './env.js';

const FILE = '/work/shared/testsuites/kernel-verifier/legacy-6.12.jsonl';
/** test_verifier's POINTER_VALUE (0xcafe4all) as stored: the low 32 bits. */
const POINTER_VALUE = 0xcafe4a;
const HAVE_FILE = existsSync(FILE);
const cases: VerifierCase[] = HAVE_FILE ? parseVerifierCases(readFileSync(FILE, 'utf8'), 'legacy-6.12.jsonl') : [];
const recorded = cases.filter((c) => c.oracleAccepted !== undefined && !c.unloadable);

/** 50 cases spread over the file (every k-th recorded case), rejected and accepted alike. */
function sample(n: number): VerifierCase[] {
  const step = recorded.length / n;
  return Array.from({ length: Math.min(n, recorded.length) }, (_, i) => recorded[Math.floor(i * step)]);
}

describe('parseVerifierCases', () => {
  it('maps test_verifier F_* flags to prog_flags as do_test_single() does', () => {
    const RND_HI32 = 4, REG_INVARIANTS = 128;
    expect(testVerifierProgFlags(0)).toBe(RND_HI32 | REG_INVARIANTS);
    expect(testVerifierProgFlags(1)).toBe(RND_HI32 | REG_INVARIANTS | 2); // F_NEEDS_EFFICIENT_UNALIGNED_ACCESS -> ANY_ALIGNMENT
    expect(testVerifierProgFlags(2)).toBe(RND_HI32 | REG_INVARIANTS | 1); // F_LOAD_WITH_STRICT_ALIGNMENT -> STRICT_ALIGNMENT
    expect(testVerifierProgFlags(8)).toBe(RND_HI32 | REG_INVARIANTS | 8); // BPF_F_TEST_STATE_FREQ passes through
  });

  it('names file and line of bad input', () => {
    expect(() => parseVerifierCases('{"descr":"a","insns":"b700000000000000"}\n{oops\n', 'x.jsonl')).toThrow(/x\.jsonl:2: not JSON/);
    expect(() => parseVerifierCases('[1]', 'x.jsonl')).toThrow(/x\.jsonl:1: not a JSON object/);
    expect(() => parseVerifierCases('{"insns":"b7000"}', 'x.jsonl')).toThrow(KfError);
    expect(() => parseVerifierCases('{"insns":"b7000"}', 'x.jsonl')).toThrow(/x\.jsonl:1: program hex/);
    const [c] = parseVerifierCases('{"descr":"d","insns":"b7000000000000009500000000000000","needs_fixup":1}');
    expect(c.insns!.length).toBe(2);
    expect(c.unloadable).toBe('needs map fd fixups');
  });

  it.skipIf(!HAVE_FILE)(`reads every case of the suite${HAVE_FILE ? '' : ' [skipped: ' + FILE + ' missing]'}`, () => {
    expect(cases.length).toBe(readFileSync(FILE, 'utf8').split('\n').filter((l) => l.trim()).length);
    expect(recorded.length).toBeGreaterThan(300);
  });
});

describe.skipIf(NO_BPF || !HAVE_FILE)(`legacy verifier cases against the running kernel${bpfNote}${HAVE_FILE ? '' : ' [skipped: ' + FILE + ' missing]'}`, () => {
  it('50 sampled cases: the verdict equals the stored oracle.accepted', async () => {
    const s = sample(50);
    expect(s.length).toBe(50);
    expect(s.some((c) => c.oracleAccepted) && s.some((c) => !c.oracleAccepted)).toBe(true);
    const wrong: string[] = [];
    for (const c of s) {
      const r = await loadVerifierCase(c);
      if (r.accepted !== c.oracleAccepted) wrong.push(`${c.descr}: kernel ${r.accepted ? 'accepted' : `rejected (${r.error})`}`);
      if (!r.accepted) expect(r.error, c.descr).toBeTruthy();
    }
    expect(wrong).toEqual([]);
  });

  it('every recorded case: same verdict; rejected ones name the expected errstr', async () => {
    const wrong: string[] = [];
    for (const c of recorded) {
      const r = await loadVerifierCase(c);
      if (r.accepted !== c.oracleAccepted) wrong.push(`${c.descr}: kernel ${r.accepted ? 'accepted' : `rejected (${r.error})`}`);
      const errstr = c.raw.errstr;
      if (!r.accepted && typeof errstr === 'string' && errstr && !r.log.includes(errstr)) wrong.push(`${c.descr}: log lacks "${errstr}"`);
    }
    expect(wrong).toEqual([]);
  });

  it('accepted cases test-run to the stored retval', async () => {
    let n = 0;
    const wrong: string[] = [];
    for (const c of recorded) {
      const tr = (c.raw.oracle as { test_run?: { rc?: number; retval?: number } }).test_run;
      if (!c.oracleAccepted || tr?.rc !== 0 || typeof c.raw.data !== 'string') continue;
      if (c.raw.retval === POINTER_VALUE) continue; // returns a kernel pointer: test_verifier does not compare it
      const r = await loadVerifierCase(c, { keep: true, logLevel: 0 });
      try {
        const data = Uint8Array.from(Buffer.from(c.raw.data, 'hex'));
        const t = await testRun(r.fd, { data, repeat: 1 });
        n++;
        if (t.retval !== tr.retval) wrong.push(`${c.descr}: retval ${t.retval}, stored ${tr.retval}`);
      } finally {
        await r.close();
      }
    }
    expect(n).toBeGreaterThan(100);
    expect(wrong).toEqual([]);
  });
});
