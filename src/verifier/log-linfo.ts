// Source-line annotations of the verifier log from BTF line_info: mirrors
// find_linfo() and verbose_linfo() (kernel/bpf/log.c, Linux 6.18):
//   ; <source line, leading whitespace trimmed> @ <file name without directories>:<line>
// printed before an instruction when its record differs from the last one
// printed (env->prev_linfo) and does not name the same file and line.
// prev_linfo is never reset: not after a branch ("from X to Y:"), not when
// level 1 drops a finished path from the log, not for a global function.
import { KfError } from '../util/errors.js';
import type { Env } from './env.js';

/** One line_info record of a program (BpfProgram.lineInfo: slot, file, source text, line number). */
export interface LineInfoEntry {
  readonly insn: number;
  readonly fileName: string;
  readonly line: string;
  readonly lineNum: number;
}

interface LinfoState {
  readonly recs: readonly LineInfoEntry[];
  /** index of env->prev_linfo in recs, -1 for NULL */
  prev: number;
}

const byEnv = new WeakMap<Env, LinfoState>();

/** Gives env the program's line_info (sorted by slot, each slot in the program). */
export function attachLineInfo(env: Env, recs: readonly LineInfoEntry[]): void {
  const n = env.insns.length;
  for (let i = 0; i < recs.length; i++) {
    const r = recs[i];
    if (!Number.isInteger(r.insn) || r.insn < 0 || r.insn >= n)
      throw new KfError(`line_info[${i}]: instruction ${r.insn} is outside the program (${n} slots)`);
    if (i && r.insn < recs[i - 1].insn)
      throw new KfError(`line_info[${i}]: instruction ${r.insn} comes before the previous record's ${recs[i - 1].insn} (records must be sorted)`);
    if (typeof r.line !== 'string' || typeof r.fileName !== 'string') throw new KfError(`line_info[${i}]: source line or file name missing`);
  }
  if (recs.length) byEnv.set(env, { recs, prev: -1 });
}

/** mirrors find_linfo(): the last record at or before `insnOff` (the first when none is). */
function findLinfo(st: LinfoState, insnOff: number, progLen: number): number {
  const recs = st.recs;
  if (!recs.length || insnOff >= progLen) return -1;
  let i = 1;
  for (; i < recs.length; i++) if (insnOff < recs[i].insn) break;
  return i - 1;
}

/** mirrors ltrim(): leading isspace() characters dropped. */
const ltrim = (s: string): string => s.replace(/^[ \t\n\v\f\r]+/, '');

/** mirrors verbose_linfo(env, insn_off, prefix) */
export function verboseLinfo(env: Env, insnOff: number, prefix: string): void {
  if (!env.log.level) return;
  const st = byEnv.get(env);
  if (!st) return;
  const i = findLinfo(st, insnOff, env.insns.length);
  if (i < 0 || i === st.prev) return;
  const l = st.recs[i];
  // two records of the same file and line (different columns) print once
  if (st.prev >= 0) {
    const p = st.recs[st.prev];
    if (p.fileName === l.fileName && p.lineNum === l.lineNum) return;
  }
  const slash = l.fileName.lastIndexOf('/');
  // the source text goes through one vscnprintf() of BPF_VERIFIER_TMP_LOG_SIZE (1024) bytes
  env.verbose(`${prefix}${ltrim(l.line).slice(0, 1023)} @ ${slash >= 0 ? l.fileName.slice(slash + 1) : l.fileName}:${l.lineNum >>> 0}\n`);
  st.prev = i;
}
