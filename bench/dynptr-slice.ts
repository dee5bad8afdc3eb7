// The RFC benchmark (bpf: inlinable kfuncs for BPF, 2024-11-07): a tc program
// that makes a dynptr over a 1000-byte skb and calls bpf_dynptr_slice(&p, i,
// NULL, 1) 100 times, unrolled. Measured in millions of slice calls per
// second, all in the wasm JIT:
//   baseline   not inlined: every kfunc is its BPF body compiled as its own
//              wasm function and called (the honest baseline, like the
//              kernel calling native code);
//   inline     the bodies inlined at each call site (inlineProgram, dce off);
//   inline_dce inlined with per-call-site dead code removal;
// and, where bpf() works, the running kernel's figure for the non-inlined
// object through BPF_PROG_TEST_RUN. Samples of all variants are interleaved
// round by round (the machine may be noisy) and the median is reported.
// RFC: 76.2 / 101.2 (1.33x) / 116.9 (1.535x) M calls/s.
// Run standalone: `npx tsc -p . && node dist/bench/dynptr-slice.js`.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Insn } from '../src/isa/insn.js';
import { kernelFor, loadPrograms } from '../src/cli/programs.js';
import { defaultKfuncLibrary } from '../src/inline/library.js';
import { bodiesById, inlineProgram } from '../src/inline/pipeline.js';
import type { BpfKfuncMap } from '../src/vm/bodies.js';
import { testRun } from '../src/vm/testrun.js';
import { bpfAvailable } from '../src/oracle/index.js';
import { kernelTestRunDetailed, testPacket } from './kernel.js';
import { examplesDir } from './paths.js';

export interface DynptrSliceBenchOptions {
  /** Interleaved rounds; each variant is sampled once per round and the median is reported. Default 15. */
  readonly repeat?: number;
  /** Program runs per JIT sample. Default 5000. */
  readonly runs?: number;
  /** Program runs per kernel sample (BPF_PROG_TEST_RUN repeat). Default 100000. */
  readonly kernelRuns?: number;
  /** Measure the running kernel (when bpf() works). Default true. */
  readonly kernel?: boolean;
  /** Also measure the native (JavaScript) kfuncs of the model kernel. Default true. */
  readonly native?: boolean;
  /** The object (default examples/build/dynptr_slice.bpf.o) and program. */
  readonly object?: string;
  readonly prog?: string;
}

export interface VariantResult {
  /** Median ns per program run, or null when the variant could not run. */
  readonly ns_per_run: number | null;
  readonly mcalls: number | null;
  readonly samples_ns: number[];
  readonly retval: number | null;
  /** Program size in instruction slots. */
  readonly insns: number | null;
  readonly error?: string;
}

export interface DynptrSliceBenchResult {
  readonly baseline_mcalls: number | null;
  readonly inline_mcalls: number | null;
  readonly inline_dce_mcalls: number | null;
  /** The running kernel, non-inlined object, BPF_PROG_TEST_RUN; null where bpf() does not work. */
  readonly kernel_mcalls: number | null;
  /** The model kernel's native (JavaScript) kfuncs, for reference. */
  readonly native_mcalls: number | null;
  /**
   * inline / baseline and inline_dce / baseline: the median over rounds of the
   * ratio within each round (samples of one round ran back to back, so they
   * share the machine's state; fairer than a ratio of medians on a busy machine).
   */
  readonly inline_ratio: number | null;
  readonly inline_dce_ratio: number | null;
  /** inline_dce / kernel (both inlined-or-not figures in M calls/s). */
  readonly inline_dce_vs_kernel: number | null;
  readonly baseline_vs_kernel: number | null;
  readonly calls_per_run: number;
  readonly packet_bytes: number;
  readonly rounds: number;
  readonly runs_per_sample: number;
  readonly variants: Record<string, VariantResult>;
  readonly kernel_error?: string;
  /** All variants returned the same value and counted the same calls. */
  readonly consistent: boolean;
  readonly inline_error?: string;
}


export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Variant {
  name: string;
  insns?: Insn[];
  bodies?: BpfKfuncMap;
  error?: string;
  samples: number[];
  retval: number | null;
  hits: bigint | null;
}

const errMsg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export async function runDynptrSliceBench(opts: DynptrSliceBenchOptions = {}): Promise<DynptrSliceBenchResult> {
  const rounds = opts.repeat ?? 15;
  const runs = opts.runs ?? 5000;
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`repeat must be a positive integer, not ${rounds}`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, not ${runs}`);
  const obj = opts.object ?? join(examplesDir(), 'dynptr_slice.bpf.o');
  const progName = opts.prog ?? 'dynptr_slice_bench';
  const { linked } = loadPrograms(obj, progName).programs[0];
  const calls = linked.kfuncCalls.filter((c) => c.name === 'bpf_dynptr_slice').length;
  const data = testPacket(1000);
  const lib = defaultKfuncLibrary();
  const bodies = bodiesById(lib);
  const prog = { insns: linked.insns, progType: linked.progType, maps: linked.maps };

  const mk = (name: string): Variant => ({ name, samples: [], retval: null, hits: null });
  const baseline = { ...mk('baseline'), insns: linked.insns, bodies };
  const inl = mk('inline');
  const dce = mk('inline_dce');
  let inlineError: string | undefined;
  for (const [v, d] of [[inl, false], [dce, true]] as [Variant, boolean][]) {
    try {
      v.insns = inlineProgram(prog, lib, { dce: d }).insns;
    } catch (e) {
      v.error = `inlineProgram failed: ${errMsg(e)}`;
      inlineError ??= v.error;
    }
  }
  const variants: Variant[] = [baseline, inl, dce];
  if (opts.native ?? true) variants.push({ ...mk('native'), insns: linked.insns });

  const kernelWanted = opts.kernel ?? true;
  let kernelError: string | undefined = kernelWanted ? await bpfAvailable() : 'not requested';
  const kernelSamples: number[] = [];
  let kernelRetval: number | null = null;

  // warm up every JIT variant (compile, tier up)
  for (const v of variants) {
    if (!v.insns) continue;
    try {
      testRun(v.insns, { progType: linked.progType, data, kernel: kernelFor(linked), engine: 'jit', repeat: v.name === 'native' ? 50 : Math.max(runs, 5000), ...(v.bodies && { bpfKfuncs: v.bodies }) });
    } catch (e) {
      v.error = `run failed: ${errMsg(e)}`;
    }
  }
  for (let r = 0; r < rounds; r++) {
    // rotate the order every round so that no variant always runs first
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + r) % variants.length];
      if (!v.insns || v.error) continue;
      const kernel = kernelFor(linked);
      try {
        // the native JS kfuncs are ~50x slower: fewer runs keep the round short
        const n = v.name === 'native' ? Math.max(1, Math.ceil(runs / 20)) : runs;
        const res = testRun(v.insns, { progType: linked.progType, data, kernel, engine: 'jit', repeat: n, ...(v.bodies && { bpfKfuncs: v.bodies }) });
        v.samples.push(res.durationNs);
        v.retval = res.retval;
        const hitsMap = kernel.maps.all.find((m) => m.spec.maxEntries === 1 && m.spec.valueSize >= 8);
        const val = hitsMap?.lookupBytes(new Uint8Array(4));
        const hits = val ? new DataView(val.buffer, val.byteOffset, 8).getBigUint64(0, true) : null;
        v.hits = hits === null ? null : hits === BigInt(calls) * BigInt(n) ? BigInt(calls) * BigInt(runs) : hits;
      } catch (e) {
        v.error = `run failed: ${errMsg(e)}`;
      }
    }
    if (!kernelError) {
      try {
        const k = await kernelTestRunDetailed(obj, progName, { dataSize: 1000, repeat: opts.kernelRuns ?? 100000, samples: 1 });
        kernelSamples.push(k.nsPerRun);
        kernelRetval = k.retval;
      } catch (e) {
        kernelError = errMsg(e);
      }
    }
  }

  const result = (v: Variant): VariantResult => {
    const ns = v.samples.length && !v.error ? median(v.samples) : null;
    return {
      ns_per_run: ns,
      mcalls: ns === null ? null : (calls * 1e3) / ns,
      samples_ns: v.samples,
      retval: v.retval,
      insns: v.insns?.length ?? null,
      ...(v.error && { error: v.error }),
    };
  };
  const out: Record<string, VariantResult> = {};
  for (const v of variants) out[v.name] = result(v);
  const kNs = kernelSamples.length && !kernelError ? median(kernelSamples) : null;
  out.kernel = {
    ns_per_run: kNs,
    mcalls: kNs === null ? null : (calls * 1e3) / kNs,
    samples_ns: kernelSamples,
    retval: kernelRetval,
    insns: linked.insns.length,
    ...(kernelError && { error: kernelError }),
  };
  const m = (n: string): number | null => out[n]?.mcalls ?? null;
  const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : a / b);
  /** Median over rounds of (calls/s of a) / (calls/s of b) = ns of b / ns of a. */
  const pairedRatio = (a: Variant, b: Variant): number | null => {
    if (a.error || b.error || a.samples.length !== b.samples.length || !a.samples.length) return ratio(m(a.name), m(b.name));
    return median(a.samples.map((ns, i) => b.samples[i] / ns));
  };
  const ran = variants.filter((v) => v.samples.length && !v.error);
  const expectHits = BigInt(calls) * BigInt(runs);
  const consistent =
    ran.every((v) => v.retval === ran[0].retval && (v.hits === null || v.hits === expectHits)) && (kernelRetval === null || ran.length === 0 || kernelRetval === ran[0].retval);
  return {
    baseline_mcalls: m('baseline'),
    inline_mcalls: m('inline'),
    inline_dce_mcalls: m('inline_dce'),
    kernel_mcalls: m('kernel'),
    native_mcalls: m('native'),
    inline_ratio: pairedRatio(inl, baseline),
    inline_dce_ratio: pairedRatio(dce, baseline),
    inline_dce_vs_kernel: ratio(m('inline_dce'), m('kernel')),
    baseline_vs_kernel: ratio(m('baseline'), m('kernel')),
    calls_per_run: calls,
    packet_bytes: data.length,
    rounds,
    runs_per_sample: runs,
    variants: out,
    ...(kernelError && { kernel_error: kernelError }),
    ...(inlineError && { inline_error: inlineError }),
    consistent,
  };
}

/** The result as text lines (bench output and `kfinline bench dynptr-slice`). */
export function formatDynptrSliceBench(r: DynptrSliceBenchResult): string[] {
  const f = (x: number | null, d = 1): string => (x === null ? '-' : x.toFixed(d));
  const lines = [
    `dynptr-slice: ${r.calls_per_run} x bpf_dynptr_slice(&p, i, NULL, 1) per run, ${r.packet_bytes}-byte skb; median of ${r.rounds} interleaved samples (${r.runs_per_sample} runs each, JIT)`,
  ];
  const label: Record<string, string> = {
    baseline: 'not inlined (bodies as wasm functions)',
    inline: 'inlined',
    inline_dce: 'inlined + dead code removed',
    native: 'native JS kfuncs (reference)',
    kernel: 'kernel, not inlined (BPF_PROG_TEST_RUN)',
  };
  const base = r.variants.baseline?.mcalls ?? null;
  for (const name of ['baseline', 'inline', 'inline_dce', 'native', 'kernel']) {
    const v = r.variants[name];
    if (!v) continue;
    if (v.mcalls === null) {
      lines.push(`  ${label[name].padEnd(42)} unavailable: ${v.error ?? 'no samples'}`);
      continue;
    }
    const paired = name === 'inline' ? r.inline_ratio : name === 'inline_dce' ? r.inline_dce_ratio : null;
    const vsBase = name !== 'kernel' && base !== null ? `  ${(paired ?? v.mcalls / base).toFixed(3)}x` : '';
    lines.push(`  ${label[name].padEnd(42)} ${f(v.ns_per_run).padStart(8)} ns/run ${f(v.mcalls).padStart(8)} M calls/s${vsBase}  (${v.insns} insns, r0 ${v.retval})`);
  }
  lines.push(
    `  speed-up: inlined ${f(r.inline_ratio, 3)}x (RFC 1.33x), inlined + dce ${f(r.inline_dce_ratio, 3)}x (RFC 1.535x, target >= 1.53)` +
      (r.kernel_mcalls !== null ? `; vs the kernel: not inlined ${f(r.baseline_vs_kernel, 2)}x, inlined + dce ${f(r.inline_dce_vs_kernel, 2)}x` : ''),
  );
  lines.push(`  consistent results (retval, hits counter): ${r.consistent ? 'yes' : 'NO'}`);
  return lines;
}

export async function runDynptrSliceBenchLines(opts: DynptrSliceBenchOptions = {}): Promise<string[]> {
  return formatDynptrSliceBench(await runDynptrSliceBench(opts));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const l of await runDynptrSliceBenchLines()) console.log(l);
}
