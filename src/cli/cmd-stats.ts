// kfinline stats FILE.o... [-o table|csv] [-C A.csv B.csv] [--json]
// veristat's columns, CSV names and comparison mode, for kfinline's verifier.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { verify } from '../verifier/verify.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { toJson } from './files.js';
import type { Io } from './io.js';
import { loadPrograms, verifyInput } from './programs.js';
import { compareRows, formatCsv, formatTable, parseCsv, STAT_COLS, type StatRow } from './stats-table.js';

export async function statsCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['output', 'prog'], flags: ['compare'], aliases: { o: 'output', C: 'compare' } });
  const fmt = args.get('output') ?? 'table';
  if (fmt !== 'table' && fmt !== 'csv') throw new KfError(`-o must be table or csv, not "${fmt}"`);
  const emit = (cols: typeof STAT_COLS, rows: StatRow[]): void => {
    if (args.has('json')) io.out(toJson(rows));
    else io.out((fmt === 'csv' ? formatCsv(cols, rows) : formatTable(cols, rows)).join('\n'));
  };
  if (args.has('compare')) {
    if (args.positional.length !== 2) throw new KfError('-C needs exactly two CSV files');
    const [a, b] = args.positional.map((p) => parseCsv(readFileSync(p, 'utf8')));
    const c = compareRows(STAT_COLS, a, b);
    emit(c.cols, c.rows);
    return 0;
  }
  if (args.positional.length === 0) throw new KfError('stats: missing FILE.o');
  const rows: StatRow[] = [];
  for (const path of args.positional) {
    const { obj, programs } = loadPrograms(path, args.get('prog'));
    for (const { prog, linked } of programs) {
      const r = verify(verifyInput(obj, prog, linked), { logLevel: 0 });
      rows.push({
        file_name: basename(path),
        prog_name: prog.name,
        verdict: r.accepted ? 'success' : 'failure',
        duration: r.timeUs,
        total_insns: r.processed,
        total_states: r.totalStates,
        peak_states: r.peakStates,
        max_states_per_insn: r.maxStatesPerInsn,
        stack_depth: r.stackDepth.reduce((x, y) => x + y, 0),
      });
    }
  }
  emit(STAT_COLS, rows);
  return 0;
}
