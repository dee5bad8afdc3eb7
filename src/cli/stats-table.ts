// veristat's output formats: the aligned table (header, dashes, rows; text
// left-aligned, numbers right-aligned), CSV with veristat's column names, and
// the comparison of two CSV runs (-C A.csv B.csv) with (A), (B) and (DIFF)
// columns.

export interface StatCol {
  readonly key: string; // CSV name, as veristat spells it
  readonly header: string; // table header
  readonly numeric: boolean;
}

export const STAT_COLS: readonly StatCol[] = [
  { key: 'file_name', header: 'File', numeric: false },
  { key: 'prog_name', header: 'Program', numeric: false },
  { key: 'verdict', header: 'Verdict', numeric: false },
  { key: 'duration', header: 'Duration (us)', numeric: true },
  { key: 'total_insns', header: 'Insns', numeric: true },
  { key: 'total_states', header: 'States', numeric: true },
  { key: 'peak_states', header: 'Peak states', numeric: true },
  { key: 'max_states_per_insn', header: 'Max states per insn', numeric: true },
  { key: 'stack_depth', header: 'Stack depth', numeric: true },
];

export type StatRow = Record<string, string | number>;

export function formatTable(cols: readonly StatCol[], rows: readonly StatRow[]): string[] {
  const cells = rows.map((r) => cols.map((c) => String(r[c.key] ?? '')));
  const widths = cols.map((c, k) => Math.max(c.header.length, ...cells.map((row) => row[k].length)));
  const line = (vals: string[], numeric: (k: number) => boolean): string =>
    vals.map((v, k) => (numeric(k) ? v.padStart(widths[k]) : v.padEnd(widths[k]))).join('  ').trimEnd();
  return [
    line(cols.map((c) => c.header), () => false),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map((row) => line(row, (k) => cols[k].numeric)),
  ];
}

function csvCell(v: string): string {
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function formatCsv(cols: readonly StatCol[], rows: readonly StatRow[]): string[] {
  return [cols.map((c) => c.key).join(','), ...rows.map((r) => cols.map((c) => csvCell(String(r[c.key] ?? ''))).join(','))];
}

export function parseCsv(text: string): StatRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const split = (l: string): string[] => {
    const out: string[] = [];
    let cur = '';
    let q = false;
    for (let i = 0; i < l.length; i++) {
      const ch = l[i];
      if (q) {
        if (ch === '"' && l[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') q = false;
        else cur += ch;
      } else if (ch === '"') q = true;
      else if (ch === ',') {
        out.push(cur);
        cur = '';
      } else cur += ch;
    }
    out.push(cur);
    return out;
  };
  const head = split(lines[0]);
  return lines.slice(1).map((l) => {
    const v = split(l);
    const r: StatRow = {};
    head.forEach((h, k) => {
      const col = STAT_COLS.find((c) => c.key === h);
      r[h] = col?.numeric && v[k] !== '' && !Number.isNaN(Number(v[k])) ? Number(v[k]) : (v[k] ?? '');
    });
    return r;
  });
}

function diffCell(a: string | number | undefined, b: string | number | undefined, numeric: boolean): string {
  if (a === undefined || b === undefined) return 'N/A';
  if (!numeric) return a === b ? 'MATCH' : 'MISMATCH';
  const d = Number(b) - Number(a);
  const pct = Number(a) === 0 ? (d === 0 ? 0 : 100) : (d * 100) / Number(a);
  return `${d >= 0 ? '+' : ''}${d} (${pct >= 0 ? '+' : ''}${pct.toFixed(2)}%)`;
}

/** veristat -C: join rows by file and program; for each stat, (A), (B) and (DIFF). */
export function compareRows(cols: readonly StatCol[], a: readonly StatRow[], b: readonly StatRow[]): { cols: StatCol[]; rows: StatRow[] } {
  const key = (r: StatRow): string => `${r.file_name}\0${r.prog_name}`;
  const bm = new Map(b.map((r) => [key(r), r]));
  const am = new Map(a.map((r) => [key(r), r]));
  const keys = [...new Set([...a.map(key), ...b.map(key)])];
  const outCols: StatCol[] = [cols[0], cols[1]];
  for (const c of cols.slice(2)) {
    outCols.push({ key: `${c.key}_base`, header: `${c.header} (A)`, numeric: c.numeric });
    outCols.push({ key: `${c.key}_comp`, header: `${c.header} (B)`, numeric: c.numeric });
    outCols.push({ key: `${c.key}_diff`, header: `${c.header} (DIFF)`, numeric: c.numeric });
  }
  const rows = keys.map((k) => {
    const ra = am.get(k);
    const rb = bm.get(k);
    const r: StatRow = { file_name: (ra ?? rb)!.file_name, prog_name: (ra ?? rb)!.prog_name };
    for (const c of cols.slice(2)) {
      r[`${c.key}_base`] = ra ? ra[c.key] : 'N/A';
      r[`${c.key}_comp`] = rb ? rb[c.key] : 'N/A';
      r[`${c.key}_diff`] = diffCell(ra?.[c.key], rb?.[c.key], c.numeric);
    }
    return r;
  });
  return { cols: outCols, rows };
}
