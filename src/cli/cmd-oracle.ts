// kfinline oracle FILE.o [--prog NAME] [--log-level 1|2] [--log] [--json]
// kfinline oracle --cases FILE.jsonl [--limit N] [--log-level 1|2] [--json]
//
// Loads programs into the running kernel (bpf(BPF_PROG_LOAD), src/oracle) and
// prints, per program, the kernel's verdict, its `processed N insns` and its
// error line; beside them kfinline's own verifier's verdict and count, and the
// first log line where the two logs differ.
//
// FILE.o programs are loaded the way libbpf loads them (maps created, map
// fds and kfunc BTF ids patched in). JSONL cases are the kernel's legacy
// verifier tests (descr, insns hex, prog_type, flags, attach), as in
// testsuites/kernel-verifier/legacy-6.12.jsonl), loaded as test_verifier.c
// loads them (src/oracle/cases.ts); cases that need map fd fixups, BTF or
// kfuncs are reported as skipped.
//
// Exit status: 0 when the kernel accepted every program of FILE.o (always 0
// for --cases), 1 when it rejected one or on error.

import { basename } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Insn } from '../isa/insn.js';
import { loadObject, type BpfObject, type BpfProgram } from '../object/index.js';
import { caseProgType, errnoName, loadObjectProgram, loadVerifierCase, parseVerifierCases, testVerifierProgFlags, type KernelLoadResult } from '../oracle/index.js';
import { KfError, withContext } from '../util/errors.js';
import { parseArgs } from './args.js';
import { selectPrograms } from './cmd-disasm.js';
import { readInput, toJson } from './files.js';
import type { Io } from './io.js';

/** What kfinline's own verifier said about a program. */
export interface OwnVerdict {
  readonly accepted: boolean;
  readonly error?: string;
  readonly processed?: number;
  readonly log: string;
}

/** The first log line where kernel and kfinline differ (1-based; statistics timing lines ignored). */
export interface LogDiff {
  readonly line: number;
  readonly kernel?: string;
  readonly kfinline?: string;
}

export interface OracleRow {
  readonly name: string;
  readonly section?: string;
  readonly progType: number;
  readonly skipped?: string;
  readonly kernel?: {
    readonly accepted: boolean;
    readonly errno: number;
    readonly errnoName?: string;
    readonly processed?: number;
    readonly error?: string;
    readonly verificationTimeUs?: number;
    readonly stackDepth?: number[];
    readonly insnsLoaded: number;
    readonly log?: string;
  };
  readonly kfinline?: OwnVerdict | { readonly unavailable: string };
  readonly firstDifference?: LogDiff;
  /** --cases: the verdict stored in the case's `oracle` field, when present. */
  readonly expectedAccepted?: boolean;
}

// ------------------------------------------------------------------------
// THE plug-in point for kfinline's own verifier (src/verifier). Everything
// that compares against it goes through ownVerify(); it is loaded lazily so
// that a verifier in progress cannot break the kernel side of this command.
// ------------------------------------------------------------------------
/** A program as kfinline's verifier takes it. */
type OwnInput =
  | { readonly kind: 'raw'; readonly insns: readonly Insn[]; readonly progType: number; readonly flags: number }
  | { readonly kind: 'object'; readonly obj: BpfObject; readonly prog: BpfProgram };

const why = (e: unknown): string => (e instanceof Error ? e.message.split('\n')[0] : String(e));

async function ownVerify(input: OwnInput, logLevel: number): Promise<OwnVerdict | { unavailable: string }> {
  let verify: typeof import('../verifier/index.js').verify;
  try {
    verify = (await import('../verifier/index.js')).verify;
  } catch (e) {
    return { unavailable: `kfinline verifier not loadable: ${why(e)}` };
  }
  if (typeof verify !== 'function') return { unavailable: 'kfinline verifier has no verify()' };
  try {
    let r;
    if (input.kind === 'raw') r = verify({ insns: input.insns, progType: input.progType, flags: input.flags }, { logLevel });
    else {
      // Object programs: linked against the model kernel (maps, model kfunc ids), as `kfinline verify` does.
      const { linkProgram } = await import('../kernel/link.js');
      const { modelKfuncIds } = await import('./programs.js');
      const ids = modelKfuncIds();
      const linked = linkProgram(input.obj, input.prog, (n) => ids.get(n));
      // with the BTF func_info the kernel load gets: global functions verified on their own
      const btf = input.obj.btf;
      r = verify({ insns: linked.insns, progType: linked.progType, maps: linked.maps, ...(btf && { btf, funcInfo: input.prog.funcInfo, lineInfo: input.prog.lineInfo }) }, { logLevel });
    }
    return { accepted: r.accepted, error: r.error, processed: r.processed, log: r.log };
  } catch (e) {
    return { unavailable: `kfinline verifier failed: ${why(e)}` };
  }
}

const TIMING = /^verification time \d+ usec$/;

/** First differing log line, ignoring `verification time` (it always differs). */
export function firstLogDifference(kernel: string, own: string): LogDiff | undefined {
  const a = kernel.split('\n').filter((l) => !TIMING.test(l));
  const b = own.split('\n').filter((l) => !TIMING.test(l));
  while (a.length && a[a.length - 1] === '') a.pop();
  while (b.length && b[b.length - 1] === '') b.pop();
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return { line: i + 1, kernel: a[i], kfinline: b[i] };
  }
  return undefined;
}

function kernelPart(r: KernelLoadResult, withLog: boolean): NonNullable<OracleRow['kernel']> {
  return {
    accepted: r.accepted,
    errno: r.errno,
    ...(r.errno ? { errnoName: errnoName(r.errno) } : {}),
    processed: r.processed,
    error: r.error,
    verificationTimeUs: r.verificationTimeUs,
    stackDepth: r.stackDepth,
    insnsLoaded: r.insnsLoaded,
    ...(withLog ? { log: r.log } : {}),
  };
}

async function compare(row: Omit<OracleRow, 'kfinline' | 'firstDifference'>, r: KernelLoadResult, input: OwnInput, level: number): Promise<OracleRow> {
  const own = await ownVerify(input, level);
  const diff = 'unavailable' in own ? undefined : firstLogDifference(r.log, own.log);
  return { ...row, kfinline: own, ...(diff && { firstDifference: diff }) };
}

async function objectRows(obj: BpfObject, progs: BpfProgram[], level: number, withLog: boolean): Promise<OracleRow[]> {
  const rows: OracleRow[] = [];
  for (const p of progs) {
    const r = await loadObjectProgram(obj, p, { logLevel: level });
    const row = { name: p.name, section: p.section, progType: p.progType, kernel: kernelPart(r, withLog) };
    rows.push(await compare(row, r, { kind: 'object', obj, prog: p }, level | 4));
  }
  return rows;
}

async function caseRows(path: string, limit: number, level: number, withLog: boolean): Promise<OracleRow[]> {
  const cases = parseVerifierCases(readFileSync(path, 'utf8'), basename(path));
  const rows: OracleRow[] = [];
  for (const c of cases.slice(0, limit)) {
    const progType = caseProgType(c);
    const base = { name: c.descr, progType, ...(c.oracleAccepted !== undefined && { expectedAccepted: c.oracleAccepted }) };
    if (c.unloadable || !c.insns) {
      rows.push({ ...base, skipped: c.unloadable ?? 'no insns' });
      continue;
    }
    const r = await loadVerifierCase(c, { logLevel: level });
    const row = { ...base, kernel: kernelPart(r, withLog) };
    rows.push(await compare(row, r, { kind: 'raw', insns: c.insns, progType, flags: testVerifierProgFlags(c.flags) }, level | 4));
  }
  return rows;
}

function verdict(accepted: boolean, processed: number | undefined): string {
  return `${accepted ? 'accepted' : 'rejected'}${processed !== undefined ? `, processed ${processed} insns` : ''}`;
}

function printRow(io: Io, row: OracleRow, withLog: boolean): void {
  const head = row.section !== undefined ? `${row.name} (section "${row.section}", prog_type ${row.progType})` : `${row.name} (prog_type ${row.progType})`;
  if (row.skipped) {
    io.out(`${head}: skipped: ${row.skipped}`);
    return;
  }
  const k = row.kernel!;
  const lines = [`${head}`, `  kernel:   ${verdict(k.accepted, k.processed)}${k.accepted ? '' : ` (${errnoName(k.errno)})`}`];
  if (!k.accepted) lines.push(`    error: ${k.error ?? '(no log)'}`);
  const own = row.kfinline;
  if (own && 'unavailable' in own) lines.push(`  kfinline: unavailable (${own.unavailable})`);
  else if (own) {
    lines.push(`  kfinline: ${verdict(own.accepted, own.processed)}`);
    if (!own.accepted) lines.push(`    error: ${own.error ?? '(none)'}`);
    const same = own.accepted === k.accepted && own.processed === k.processed;
    lines.push(`  ${same ? 'verdicts and counts agree' : 'verdicts or counts DIFFER'}`);
  }
  if (row.firstDifference) {
    const d = row.firstDifference;
    lines.push(`  first log difference at line ${d.line}:`, `    kernel:   ${d.kernel ?? '(end of log)'}`, `    kfinline: ${d.kfinline ?? '(end of log)'}`);
  }
  if (row.expectedAccepted !== undefined && row.expectedAccepted !== k.accepted) {
    lines.push(`  NOTE: the case's stored oracle says ${row.expectedAccepted ? 'accepted' : 'rejected'}`);
  }
  if (withLog && k.log !== undefined) lines.push('  kernel log:', ...k.log.trimEnd().split('\n').map((l) => `    ${l}`));
  io.out(lines.join('\n'));
}

export async function oracleCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['prog', 'log-level', 'cases', 'limit'], flags: ['log'] });
  const level = args.int('log-level', 1);
  if (level !== 1 && level !== 2) throw new KfError(`oracle: --log-level ${level}: must be 1 or 2`);
  const withLog = args.has('log');
  const casesPath = args.get('cases');
  let rows: OracleRow[];
  if (casesPath) {
    if (args.positional.length) throw new KfError(`oracle: unexpected argument "${args.positional[0]}" with --cases`);
    if (args.has('prog')) throw new KfError('oracle: --prog does not apply to --cases');
    const limit = args.int('limit', Number.MAX_SAFE_INTEGER);
    if (limit < 1) throw new KfError(`oracle: --limit ${limit}: must be at least 1`);
    readInput(casesPath); // existence check with the CLI's wording
    rows = await caseRows(casesPath, limit, level, withLog);
  } else {
    const path = args.positional[0];
    if (!path) throw new KfError('oracle: missing FILE.o (or --cases FILE.jsonl)');
    if (args.positional.length > 1) throw new KfError(`oracle: unexpected argument "${args.positional[1]}"`);
    const bytes = readInput(path);
    const obj = withContext(path, () => loadObject(bytes, { objectName: basename(path).replace(/\.(bpf\.)?o$/, '') }));
    rows = await objectRows(obj, selectPrograms(obj, args.get('prog')), level, withLog);
  }
  if (args.has('json')) io.out(toJson(rows, 1));
  else {
    for (const r of rows) printRow(io, r, withLog);
    if (casesPath) {
      const run = rows.filter((r) => r.kernel);
      const acc = run.filter((r) => r.kernel!.accepted).length;
      const withExp = run.filter((r) => r.expectedAccepted !== undefined);
      const agreeExp = withExp.filter((r) => r.expectedAccepted === r.kernel!.accepted).length;
      const own = run.filter((r) => r.kfinline && !('unavailable' in r.kfinline));
      const agreeOwn = own.filter((r) => (r.kfinline as OwnVerdict).accepted === r.kernel!.accepted).length;
      io.out(
        `${rows.length} cases: ${run.length} loaded (${acc} accepted, ${run.length - acc} rejected), ${rows.length - run.length} skipped; ` +
          `kernel agrees with stored oracle on ${agreeExp}/${withExp.length}; kfinline agrees with kernel on ${agreeOwn}/${own.length}`,
      );
    }
  }
  if (casesPath) return 0;
  return rows.every((r) => r.kernel?.accepted) ? 0 : 1;
}
