import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadVerifierCase, parseVerifierCases } from '../../src/oracle/index.js';
it('smoke', async () => {
  for (const c of parseVerifierCases(readFileSync('/work/shared/testsuites/kernel-verifier/legacy-6.12.jsonl','utf8'))) {
    if (c.oracleAccepted === undefined) continue;
    const r = await loadVerifierCase(c);
    const lt = (c.raw.oracle as any).log_tail as string;
    const m = /processed (\d+)/.exec(lt);
    if (r.accepted !== c.oracleAccepted || (m && Number(m[1]) !== r.processed)) console.log(JSON.stringify([c.descr, c.progType, c.flags, c.oracleAccepted, lt.slice(0,100), r.errno, r.error, r.processed]));
  }
});
