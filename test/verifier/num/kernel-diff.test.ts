// Differential test of the numeric domains against the running kernel's verifier log.
import { describe, it, expect } from 'vitest';
import { kernelMissing, loadPrograms } from './oracle/kernel.js';
import { genProgram, Rng } from './oracle/fuzz.js';

const missing = kernelMissing();
const N = Number(process.env.KF_NUM_FUZZ ?? 400);

describe('scalar model vs the running kernel', () => {
  if (missing) console.warn(`kernel differential tests skipped: ${missing}`);
  it.skipIf(missing !== null)(`agrees on ${N} random programs`, () => {
    const seed = Number(process.env.KF_NUM_SEED ?? 12345);
    const r = new Rng(seed);
    let progs = Array.from({ length: N }, () => genProgram(r, 14));
    if (process.env.KF_NUM_ONLY) progs = [progs[Number(process.env.KF_NUM_ONLY)]!];
    const res = loadPrograms(progs.map((p) => p.bytes));
    const failures: string[] = [];
    progs.forEach((p, i) => {
      const e = p.check(res[i]!);
      if (e && failures.length === 0 && process.env.KF_NUM_DUMP) console.log(res[i]!.log);
      if (e) failures.push(`program ${i}:\n  ${p.text.join('\n  ')}\n  => ${e}`);
    });
    if (failures.length) console.log(`${failures.length} mismatches; first:\n${failures.slice(0, Number(process.env.KF_NUM_SHOW ?? 3)).join("\n\n")}`);
    expect(failures.length).toBe(0);
  });
});
