// Soundness: every program of the kernel's legacy selftests that kfinline's
// verifier accepts runs in the strict reference interpreter (every access
// checked against the region it falls in) without a memory fault.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { insnsFromHex } from '../../src/isa/codec.js';
import { testVerifierProgFlags } from '../../src/oracle/cases.js';
import { verify } from '../../src/verifier/verify.js';
import { VmFault } from '../../src/vm/memory.js';
import { testRun } from '../../src/vm/testrun.js';
import { KfError } from '../../src/util/errors.js';

const FILE = join(__dirname, '../../../shared/testsuites/kernel-verifier/legacy-6.12.jsonl');
const cases = readFileSync(FILE, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
// program types the model kernel can test-run
const RUNNABLE = new Set([0, 1, 3, 6, 8]);

describe('soundness against the strict interpreter', () => {
  it('no accepted legacy program faults when run', () => {
    let accepted = 0;
    let ran = 0;
    const faults: string[] = [];
    const notRun: Record<string, number> = {};
    for (const c of cases) {
      if (c.needs_fixup || c.fill_helper !== undefined) continue;
      const insns = insnsFromHex(c.insns);
      const pt = c.prog_type === 0 ? 1 : c.prog_type;
      const v = verify({ insns, progType: pt, flags: testVerifierProgFlags(c.flags ?? 0), btfFuncInfo: false } as Parameters<typeof verify>[0]);
      if (!v.accepted) continue;
      accepted++;
      if (!RUNNABLE.has(pt)) {
        notRun[`prog type ${pt}`] = (notRun[`prog type ${pt}`] ?? 0) + 1;
        continue;
      }
      const data = c.data ? Uint8Array.from(Buffer.from(c.data, 'hex')) : new Uint8Array(64);
      try {
        testRun(insns, { progType: pt, data: data.length >= 14 ? data : new Uint8Array(64) });
        ran++;
      } catch (e) {
        if (e instanceof VmFault && !/unknown helper|unknown kfunc/.test(e.message)) faults.push(`${c.descr}: ${e.message}`);
        else if (e instanceof KfError) {
          // not modelled by the model kernel (a helper it does not implement, a ctx field it does not convert)
          const why = e.message.replace(/\d+/g, 'N').slice(0, 80);
          notRun[why] = (notRun[why] ?? 0) + 1;
        } else throw e;
      }
    }
    console.log(`soundness: ${accepted} accepted, ${ran} ran without a fault, ${faults.length} faults; not run:`, notRun);
    expect(faults).toEqual([]);
    expect(ran).toBeGreaterThan(150);
  });
});
