// kfinline demo [FILE.o] [--prog NAME]: the README's main job (`npm start`).
// On the bundled RFC benchmark (100 bpf_dynptr_slice calls over a
// 1000-byte skb) it tells the whole story: verify, inline per call site with
// dead code removed, a veristat-style before/after table, the rewritten code
// around one call site, a run, and the speed-up.

import { join } from 'node:path';
import pc from 'picocolors';
import { inlineProgram, type InlineResult } from '../inline/pipeline.js';
import { formatDynptrSliceBench, runDynptrSliceBench } from '../../bench/dynptr-slice.js';
import { verify } from '../verifier/verify.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { loadLibrary, xlatedText } from './cmd-inline.js';
import type { Io } from './io.js';
import { packagePath } from './files.js';
import { kernelFor, loadPrograms, verifyInput } from './programs.js';
import { formatTable } from './stats-table.js';

export const DEFAULT_DEMO = packagePath(import.meta.url, 'examples', 'build', 'dynptr_slice.bpf.o');

export async function demoCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['prog', 'repeat', 'rounds'] });
  const path = args.positional[0] ?? DEFAULT_DEMO;
  const { obj, programs } = loadPrograms(path, args.get('prog'));
  const { prog, linked } = programs[0];
  const h = (s: string): void => io.out('\n' + pc.bold(pc.cyan(s)));
  io.out(pc.bold(`kfinline: inlinable kfuncs for ${prog.name} (${path})`));
  h('1. verify the program as written');
  const v0 = verify(verifyInput(obj, prog, linked), { logLevel: 4 });
  io.out(`   ${v0.accepted ? pc.green('accepted') : pc.red('rejected: ' + v0.error)}; ${linked.kfuncCalls.length} kfunc calls`);
  if (!v0.accepted) throw new KfError(`the program is rejected: ${v0.error}`);
  h('2. inline each kfunc call site (isolated mode, as the kernel RFC)');
  const lib = loadLibrary(undefined);
  let noDce: InlineResult;
  let dce: InlineResult;
  try {
    noDce = inlineProgram(verifyInput(obj, prog, linked), lib, { dce: false });
    dce = inlineProgram(verifyInput(obj, prog, linked), lib, { dce: true });
  } catch (e) {
    if (e instanceof KfError) {
      io.out(pc.red(`   inlining failed: ${e.message}`));
      return 1;
    }
    throw e;
  }
  const inl = dce.sites.filter((s) => s.inlined);
  io.out(`   ${inl.length} of ${dce.sites.length} call sites inlined; each body verified at its own call site`);
  if (inl.length) {
    const s = inl[0];
    io.out(`   e.g. insn ${s.site}: ${s.kfunc}: body ${s.insnsBefore} insns, ${s.insnsAfterDce} after dead code removal (${s.branchesFolded} branches folded)`);
  }
  h('3. before and after (veristat columns)');
  const row = (mode: string, insns: number, r: { processed: number; totalStates: number; peakStates: number; stackDepth: number[]; accepted: boolean }) => ({
    prog_name: prog.name,
    mode,
    prog_insns: insns,
    verdict: r.accepted ? 'success' : 'failure',
    total_insns: r.processed,
    total_states: r.totalStates,
    peak_states: r.peakStates,
    stack_depth: r.stackDepth.reduce((a, b) => a + b, 0),
  });
  const cols = [
    { key: 'prog_name', header: 'Program', numeric: false },
    { key: 'mode', header: 'Mode', numeric: false },
    { key: 'prog_insns', header: 'Program size', numeric: true },
    { key: 'verdict', header: 'Verdict', numeric: false },
    { key: 'total_insns', header: 'Insns', numeric: true },
    { key: 'total_states', header: 'States', numeric: true },
    { key: 'peak_states', header: 'Peak states', numeric: true },
    { key: 'stack_depth', header: 'Stack depth', numeric: true },
  ];
  const rows = [
    row('calls', linked.insns.length, v0),
    row('verify with instances', dce.withInstances.insns.length, dce.verified),
    row('inlined', noDce.insns.length, noDce.reverified),
    row('inlined + dce', dce.insns.length, dce.reverified),
  ];
  for (const l of formatTable(cols, rows)) io.out('   ' + l);
  if (inl.length) {
    h(`4. the rewritten code around call site ${inl[0].site} (bpftool prog dump xlated)`);
    const start = dce.map[inl[0].site];
    const lines = xlatedText(dce.insns).split('\n');
    const from = Math.max(0, start - 3);
    const to = Math.min(lines.length, start + inl[0].replacedBy + 2);
    for (let i = from; i < to; i++) {
      const inside = i >= start && i < start + inl[0].replacedBy;
      io.out('   ' + (inside ? pc.yellow(lines[i]) : pc.dim(lines[i])));
    }
  }
  h('5. run it: the three variants interleaved in the JIT, and the running kernel where bpf() works');
  const b = await runDynptrSliceBench({ object: path, prog: prog.name, repeat: args.int('rounds', 7), runs: args.int('repeat', 2000), native: false });
  for (const l of formatDynptrSliceBench(b)) io.out('   ' + l);
  const same = b.consistent;
  return same ? 0 : 1;
}
