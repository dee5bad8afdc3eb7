// Reading verifier logs: statistics and the error line. The kernel-produced
// logs are checked in bpf.test.ts; these pin the parser on the kernel's
// print_verification_stats() format and on edge cases.
import { describe, expect, it } from 'vitest';
import { errorLine, errnoName, parseLogStats } from '../../src/oracle/index.js';
import { bpfError } from '../../src/oracle/sys.js';
import { loadRawProgram } from '../../src/oracle/index.js';
import { insn } from '../../src/isa/insn.js';
import { NO_BPF, bpfNote } from './env.js';

const LOG = [
  '0: R1=ctx() R10=fp0',
  '0: (bf) r0 = r3',
  'R3 !read_ok',
  'verification time 12 usec',
  'stack depth 16+0+32',
  'processed 1 insns (limit 1000000) max_states_per_insn 2 total_states 3 peak_states 4 mark_read 0',
  '',
].join('\n');

describe('log parsing', () => {
  it('statistics', () => {
    expect(parseLogStats(LOG)).toEqual({ processed: 1, maxStatesPerInsn: 2, totalStates: 3, peakStates: 4, verificationTimeUs: 12, stackDepth: [16, 0, 32] });
    expect(parseLogStats('')).toEqual({});
  });

  it('error line: last line before the statistics, or the last line', () => {
    expect(errorLine(LOG)).toBe('R3 !read_ok');
    expect(errorLine('unreachable insn 3\n')).toBe('unreachable insn 3');
    expect(errorLine('')).toBeUndefined();
  });

  it('errno names and unavailability messages', () => {
    expect(errnoName(13)).toBe('EACCES');
    expect(errnoName(4242)).toBe('errno 4242');
    expect(bpfError('BPF_PROG_LOAD', 1).message).toMatch(/^bpf\(\) unavailable: bpf\(BPF_PROG_LOAD\) not permitted \(EPERM \(1\)\)/);
    expect(bpfError('BPF_MAP_UPDATE_ELEM', 1, 'map fd 3', false).message).toBe('bpf(BPF_MAP_UPDATE_ELEM) failed: EPERM (1): map fd 3');
  });
});

describe.skipIf(NO_BPF)(`log parsing on kernel logs${bpfNote}`, () => {
  it('stats of a program with a BPF-to-BPF call: one stack depth per subprogram', async () => {
    // main: *(u64 *)(r10 - 8) = 0; call +1; exit.  sub: *(u64 *)(r10 - 24) = 0; r0 = 0; exit
    const r = await loadRawProgram(
      [
        insn(0x7a, 10, 0, -8, 0),
        insn(0x85, 0, 1, 0, 1),
        insn(0x95, 0, 0, 0, 0),
        insn(0x7a, 10, 0, -24, 0),
        insn(0xb7, 0, 0, 0, 0),
        insn(0x95, 0, 0, 0, 0),
      ],
      1,
    );
    expect(r.accepted, r.error).toBe(true);
    expect(r.stackDepth).toEqual([8, 24]);
    expect(r.processed).toBe(6);
  });
});
