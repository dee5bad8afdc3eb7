import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadRawProgram, parseVerifierCases } from '../../src/oracle/index.js';
it('smoke', async () => {
  for (const c of parseVerifierCases(readFileSync('/work/shared/testsuites/kernel-verifier/legacy-6.12.jsonl','utf8'))) {
    if (c.oracleAccepted === undefined || !c.descr.startsWith('precise')) continue;
    for (const f of [0, 8, 4|128|8, 4|128, 2, 1]) {
      const r = await loadRawProgram(c.insns!, c.progType||1, {progFlags: f});
      console.log(c.descr, f, r.accepted, r.processed, ((c.raw.oracle as any).log_tail as string).split('\n').at(-1));
    }
  }
});
