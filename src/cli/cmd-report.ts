// kfinline report [--json | --md] [--repeat N]: the evaluation behind the
// talk's open questions. Every example program of the suite, in three modes
// (none: calls left as calls; isolated: the RFC's instances; non-isolated:
// instances verified in the caller's state), with: verified instructions,
// states, peak states, verification time, instructions after inlining,
// stack depth and run speed in the JIT.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bodiesById, inlineProgram, type InlineMode } from '../inline/pipeline.js';
import { verify } from '../verifier/verify.js';
import { testRun } from '../vm/testrun.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { loadLibrary } from './cmd-inline.js';
import { packagePath, toJson } from './files.js';
import type { Io } from './io.js';
import { kernelFor, loadPrograms, verifyInput } from './programs.js';
import { formatTable } from './stats-table.js';

const EXAMPLES = packagePath(import.meta.url, 'examples', 'build');

export interface SuiteEntry {
  readonly file: string;
  readonly prog: string;
  readonly what: string;
  /** Packet length, and for non-linear inputs the bytes kept linear. */
  readonly data: number;
  readonly linear?: number;
  readonly frags?: number[];
  /** Modes not run, with the reason (shown in the table). */
  readonly skip?: Partial<Record<ReportMode, string>>;
}

export const SUITE: readonly SuiteEntry[] = [
  { file: 'dynptr_slice.bpf.o', prog: 'dynptr_slice_bench', what: 'the RFC benchmark: 100 bpf_dynptr_slice', data: 1000 },
  { file: 'dynptr_skb.bpf.o', prog: 'tc_dynptr_parse', what: 'header parsing with slices', data: 128 },
  { file: 'parse_slices.bpf.o', prog: 'tc_parse_slices', what: 'header parsing with slices', data: 128 },
  { file: 'iter_num.bpf.o', prog: 'tc_iter_num', what: 'a bpf_iter_num loop', data: 64 },
  { file: 'htab_lookup.bpf.o', prog: 'tc_htab_lookup', what: 'hash-map lookups', data: 64 },
  { file: 'xdp_frags.bpf.o', prog: 'xdp_frags_slice', what: 'XDP with fragments', data: 3000, linear: 1000, frags: [2000] },
];

export type ReportMode = 'none' | 'isolated' | 'non-isolated';

export interface ReportRow {
  prog: string;
  mode: ReportMode;
  accepted: boolean;
  processed: number;
  states: number;
  peak_states: number;
  verify_ms: number;
  insns_before: number;
  insns_after: number;
  stack_depth: number;
  ns_per_run: number | null;
  retval: number | null;
  error?: string;
}

function packet(len: number): Uint8Array {
  const d = new Uint8Array(len);
  for (let i = 0; i < len; i++) d[i] = (i * 7 + 3) & 0xff;
  if (len >= 34) {
    d[12] = 0x08;
    d[13] = 0x00;
    d[14] = 0x45;
    d[23] = 17;
  }
  return d;
}

export function runReport(opts: { repeat: number; entries?: readonly SuiteEntry[]; modes?: readonly ReportMode[] }): ReportRow[] {
  const lib = loadLibrary(undefined);
  const bodies = bodiesById(lib);
  const rows: ReportRow[] = [];
  for (const e of opts.entries ?? SUITE) {
    const path = join(EXAMPLES, e.file);
    if (!existsSync(path)) continue;
    let loaded;
    try {
      loaded = loadPrograms(path, e.prog);
    } catch {
      continue; // the example exists under another program name
    }
    const { prog: bpfProg, linked } = loaded.programs[0];
    const prog = verifyInput(loaded.obj, bpfProg, linked);
    const data = packet(e.data);
    const runOpts = {
      ...(e.linear !== undefined && { nonLinear: { linearLen: e.linear } }),
      ...(e.frags && { frags: e.frags }),
    };
    // Calls left in place run the kfunc's BPF body as its own function (the
    // honest baseline: the kernel calls native code).
    const time = (insns: typeof linked.insns, ctxPcs?: ReadonlySet<number>): { ns: number; retval: number } => {
      const kernel = kernelFor(linked);
      const o = { progType: linked.progType, data, kernel, engine: 'jit' as const, bpfKfuncs: bodies, ...runOpts, ...(ctxPcs && { ctxPcs }) };
      testRun(insns, { ...o, repeat: Math.max(1, opts.repeat >> 2) });
      // the median of several samples: one sample is at the mercy of the machine
      const samples: number[] = [];
      let retval = 0;
      for (let k = 0; k < 7; k++) {
        const r = testRun(insns, { ...o, repeat: opts.repeat });
        samples.push(r.durationNs);
        retval = r.retval;
      }
      samples.sort((a, b) => a - b);
      return { ns: samples[3], retval };
    };
    for (const mode of opts.modes ?? (['none', 'isolated', 'non-isolated'] as const)) {
      const base: { prog: string; mode: ReportMode; insns_before: number } = { prog: e.prog, mode, insns_before: linked.insns.length };
      const skipped = e.skip?.[mode];
      if (skipped) {
        rows.push({ ...base, accepted: false, processed: 0, states: 0, peak_states: 0, verify_ms: 0, insns_after: 0, stack_depth: 0, ns_per_run: null, retval: null, error: `not run: ${skipped}` });
        continue;
      }
      try {
        if (mode === 'none') {
          const t0 = performance.now();
          const v = verify(prog, { logLevel: 0 });
          const ms = performance.now() - t0;
          const run = v.accepted ? time(linked.insns) : undefined;
          rows.push({
            ...base,
            accepted: v.accepted,
            processed: v.processed,
            states: v.totalStates,
            peak_states: v.peakStates,
            verify_ms: ms,
            insns_after: linked.insns.length,
            stack_depth: v.stackDepth.reduce((a, b) => a + b, 0),
            ns_per_run: run?.ns ?? null,
            retval: run?.retval ?? null,
            ...(v.error && { error: v.error }),
          });
          continue;
        }
        const t0 = performance.now();
        const r = inlineProgram(prog, lib, { mode: mode as InlineMode });
        const ms = performance.now() - t0;
        const run = time(r.insns, r.ctxPcs);
        rows.push({
          ...base,
          accepted: r.verified.accepted && r.reverified.accepted,
          processed: r.verified.processed,
          states: r.verified.totalStates,
          peak_states: r.verified.peakStates,
          verify_ms: ms,
          insns_after: r.insns.length,
          stack_depth: r.reverified.stackDepth.reduce((a, b) => a + b, 0),
          ns_per_run: run.ns,
          retval: run.retval,
          ...(!r.reverified.accepted && { error: `re-verification: ${r.reverified.error}` }),
        });
      } catch (err) {
        if (!(err instanceof KfError)) throw err;
        rows.push({ ...base, accepted: false, processed: 0, states: 0, peak_states: 0, verify_ms: 0, insns_after: 0, stack_depth: 0, ns_per_run: null, retval: null, error: err.message });
      }
    }
  }
  return rows;
}

const COLS = [
  { key: 'prog', header: 'Program', numeric: false },
  { key: 'mode', header: 'Mode', numeric: false },
  { key: 'processed', header: 'Verified insns', numeric: true },
  { key: 'states', header: 'States', numeric: true },
  { key: 'peak_states', header: 'Peak states', numeric: true },
  { key: 'verify_ms', header: 'Verify (ms)', numeric: true },
  { key: 'insns_after', header: 'Insns after', numeric: true },
  { key: 'stack_depth', header: 'Stack', numeric: true },
  { key: 'ns_per_run', header: 'ns/run', numeric: true },
  { key: 'speedup', header: 'Speed-up', numeric: true },
  { key: 'note', header: 'Note', numeric: false },
];

export function reportTableRows(rows: readonly ReportRow[]): Record<string, string | number>[] {
  return rows.map((r) => {
    const none = rows.find((x) => x.prog === r.prog && x.mode === 'none');
    const sp = none?.ns_per_run && r.ns_per_run ? `${(none.ns_per_run / r.ns_per_run).toFixed(2)}x` : '';
    return {
      prog: r.prog,
      mode: r.mode,
      processed: r.processed,
      states: r.states,
      peak_states: r.peak_states,
      verify_ms: r.verify_ms.toFixed(1),
      insns_after: r.insns_after,
      stack_depth: r.stack_depth,
      ns_per_run: r.ns_per_run === null ? '' : r.ns_per_run.toFixed(1),
      speedup: sp,
      note: r.error ? r.error.slice(0, 60) : '',
    };
  });
}

export async function reportCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['repeat'], flags: ['md'] });
  const rows = runReport({ repeat: args.int('repeat', 5000) });
  if (args.has('json')) {
    for (const r of rows) io.out(toJson(r));
    return 0;
  }
  const t = reportTableRows(rows);
  if (args.has('md')) {
    io.out(`| ${COLS.map((c) => c.header).join(' | ')} |`);
    io.out(`| ${COLS.map((c) => (c.numeric ? '---:' : '---')).join(' | ')} |`);
    for (const r of t) io.out(`| ${COLS.map((c) => String(r[c.key] ?? '')).join(' | ')} |`);
    return 0;
  }
  io.out(formatTable(COLS, t).join('\n'));
  return 0;
}
