import { readFileSync } from 'node:fs';
import { it } from 'vitest';
import { insnsFromHex } from '../../src/isa/codec.js';
import { verify } from '../../src/verifier/index.js';
it('debug', () => {
  const cs = readFileSync('/work/shared/testsuites/kernel-verifier/legacy-6.12.jsonl', 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((c: any) => c.needs_fixup === 0 && !c.fill_helper && c.oracle);
  let lineOnly = 0;
  for (const c of cs) {
    const r = verify({ insns: insnsFromHex(c.insns), progType: c.prog_type || 1, flags: ((c.flags & 2) ? 1 : 0) | (c.flags & 8) }, { logLevel: 1 });
    const m = /processed (\d+) insns/.exec(c.oracle.log_tail);
    if (m && Number(m[1]) !== r.processed) console.log('PROC', c.descr, m[1], r.processed, r.totalStates, c.oracle.log_tail.split('\n').pop());
    if (!c.oracle.accepted) {
      const lines = c.oracle.log_tail.split('\n').filter(Boolean);
      const line = lines[lines.length - 2];
      if (r.log.includes(line)) lineOnly++; else console.log('LINE', c.descr, JSON.stringify(line), '| ours:', JSON.stringify(r.error));
    }
    if (process.env.D && c.descr === process.env.D) console.log(r.log, '\n----\n', c.oracle.log_tail);
  }
  console.log('line matches', lineOnly);
});
