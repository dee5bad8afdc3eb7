// Reading the kernel verifier's log: the statistics print_verification_stats()
// writes at the end, and the error line of a rejected program.

export interface LogStats {
  /** `processed N insns`: instructions the verifier walked (env->insn_processed). */
  readonly processed?: number;
  readonly maxStatesPerInsn?: number;
  readonly totalStates?: number;
  readonly peakStates?: number;
  /** `verification time N usec` (needs BPF_LOG_STATS). */
  readonly verificationTimeUs?: number;
  /** `stack depth A+B+...`, one number per subprogram (needs BPF_LOG_STATS). */
  readonly stackDepth?: number[];
}

const PROCESSED = /^processed (\d+) insns \(limit \d+\) max_states_per_insn (\d+) total_states (\d+) peak_states (\d+) mark_read \d+/;
const VTIME = /^verification time (\d+) usec$/;
const STACK = /^stack depth ([\d+]+)$/;

export function parseLogStats(log: string): LogStats {
  let processed: number | undefined;
  let maxStatesPerInsn: number | undefined;
  let totalStates: number | undefined;
  let peakStates: number | undefined;
  let verificationTimeUs: number | undefined;
  let stackDepth: number[] | undefined;
  for (const line of log.split('\n')) {
    let m = PROCESSED.exec(line);
    if (m) {
      processed = Number(m[1]);
      maxStatesPerInsn = Number(m[2]);
      totalStates = Number(m[3]);
      peakStates = Number(m[4]);
      continue;
    }
    m = VTIME.exec(line);
    if (m) {
      verificationTimeUs = Number(m[1]);
      continue;
    }
    m = STACK.exec(line);
    if (m) stackDepth = m[1].split('+').map(Number);
  }
  return { processed, maxStatesPerInsn, totalStates, peakStates, verificationTimeUs, stackDepth };
}

const isStatsLine = (l: string): boolean => PROCESSED.test(l) || VTIME.test(l) || STACK.test(l);

/**
 * The error line of a rejected program: the last non-empty line before the
 * statistics (`verification time`, `stack depth`, `processed ...`), or the
 * last line of the log when there are none. undefined for an empty log.
 */
export function errorLine(log: string): string | undefined {
  const lines = log.split('\n');
  let end = lines.length;
  const p = lines.findIndex((l) => PROCESSED.test(l));
  if (p >= 0) end = p;
  for (let i = end - 1; i >= 0; i--) {
    const l = lines[i].trimEnd();
    if (l !== '' && !isStatsLine(l)) return l;
  }
  return undefined;
}
