// `kfinline bench dynptr-slice`: one short run of the RFC benchmark (no speed
// claims here; speed targets live in bench/): every variant runs, returns the
// same value and counts the same calls.
import { describe, expect, it } from 'vitest';
import { benchCommand } from '../../src/cli/cmd-bench.js';
import { captureIo } from '../../src/cli/io.js';
import { KfError } from '../../src/util/errors.js';

describe('bench dynptr-slice', () => {
  it('--json: baseline, inlined and inlined + dce all run and agree', async () => {
    const io = captureIo();
    const rc = await benchCommand(['dynptr-slice', '--json', '--repeat', '1', '--runs', '20', '--no-kernel'], io);
    const r = JSON.parse(io.stdout.join('\n'));
    expect(r.consistent).toBe(true);
    expect(rc).toBe(0);
    expect(r.calls_per_run).toBe(100);
    expect(r.baseline_mcalls).toBeGreaterThan(0);
    expect(r.native_mcalls).toBeGreaterThan(0);
    expect(r.kernel_mcalls).toBeNull();
    // inlining may be unavailable while the verifier's instance support is in progress: then it says why
    for (const k of ['inline', 'inline_dce']) {
      if (r[`${k}_mcalls`] === null) expect(r.variants[k].error).toMatch(/inlineProgram failed/);
      else expect(r.variants[k].retval).toBe(r.variants.baseline.retval);
    }
    if (r.inline_dce_mcalls !== null) expect(r.variants.inline_dce.insns).toBeLessThan(r.variants.inline.insns);
  });

  it('text output and bad arguments', async () => {
    const io = captureIo();
    await benchCommand(['dynptr-slice', '--repeat=1', '--runs=10', '--no-kernel', '--no-native'], io);
    expect(io.stdout.join('\n')).toMatch(/not inlined \(bodies as wasm functions\)\s+[\d.]+ ns\/run/);
    await expect(benchCommand([], captureIo())).rejects.toThrow(KfError);
    await expect(benchCommand(['nope'], captureIo())).rejects.toThrow(/unknown benchmark "nope"/);
    await expect(benchCommand(['dynptr-slice', '--repeat', '0'], captureIo())).rejects.toThrow(/--repeat must be/);
  });
});
