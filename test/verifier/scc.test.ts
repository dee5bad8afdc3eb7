// Loops as Linux 6.18 verifies them (src/verifier/scc.ts): checkpoints inside a
// strongly connected component enter its visit (`SCC enter (N)`), states pruned
// against a checkpoint of a visit still under way are kept as back edges
// (`SCC backedge (N)`) and make the visit's checkpoints compare RANGE_WITHIN,
// and when the entry state is done (`SCC exit (N)`) precision flows over the
// back edges. Each probe is verified here and, when bpf() works, by the running
// kernel at log level 2: verdict, processed count and the whole level-2 log must
// be the kernel's (kfunc BTF ids aside).
import { describe, expect, it } from 'vitest';
import { verify } from '../../src/verifier/index.js';
import { kernelLoad, probeKernel } from './kernel-log.js';
import { asmWithKfuncs, modelId } from './kfunc-util.js';

const SCHED_CLS = 3;
const BPF_F_TEST_STATE_FREQ = 8;

const ITER_NEW = (n: number): string => `r1 = r10; r1 += -8; r2 = 0; r3 = ${n}; call bpf_iter_num_new`;
const ITER_NEXT = 'r1 = r10; r1 += -8; call bpf_iter_num_next';
const ITER_DESTROY = 'r1 = r10; r1 += -8; call bpf_iter_num_destroy';

interface Probe {
  name: string;
  src: string;
  /** loaded by the kernel (and by the model) */
  ok: boolean;
  flags?: number;
  /** The model's log (or verdict: modelOk) differs from the kernel's yet, and why: only the kernel's verdict is checked. */
  differs?: string;
  modelOk?: boolean;
}

const PROBES: Probe[] = [
  { name: 'counted loop', src: 'r1 = 0; l: r1 += 1; if r1 < 10 goto l; r0 = 0; exit', ok: true },
  { name: 'loop with a branch on an unknown value', src: 'call 7; r6 = r0; r1 = 0; l: if r6 > 5 goto s; r6 += 1; s: r1 += 1; if r1 < 8 goto l; r0 = 0; exit', ok: true, differs: 'processes 94 insns, the kernel 79' },
  { name: 'loop over a stack slot', src: 'r1 = 0; *(u64 *)(r10 -8) = r1; l: r2 = *(u64 *)(r10 -8); r2 += 1; *(u64 *)(r10 -8) = r2; r1 += 1; if r1 < 6 goto l; r0 = 0; exit', ok: true },
  { name: 'nested loops', src: 'r1 = 0; o: r2 = 0; i: r2 += 1; if r2 < 3 goto i; r1 += 1; if r1 < 3 goto o; r0 = 0; exit', ok: true },
  { name: 'two loops in a row', src: 'r1 = 0; a: r1 += 1; if r1 < 4 goto a; r2 = 0; b: r2 += 2; if r2 < 8 goto b; r0 = 0; exit', ok: true },
  { name: 'infinite loop', src: 'r0 = 0; l: if r0 == 0 goto l; exit', ok: false },
  { name: 'loop bounded by a masked unknown value', src: 'call 7; r1 = r0; r1 &= 7; l: r1 += -1; if r1 s> 0 goto l; r0 = 0; exit', ok: true },
  { name: 'may_goto loop', src: 'r1 = 0; l: may_goto e; goto l; e: r0 = 0; exit', ok: true },
  { name: 'may_goto loop over an unknown value', src: 'call 7; r6 = r0; l: may_goto e; r6 &= 0xff; goto l; e: r0 = 0; exit', ok: true },
  // the queued continuation is widened against the previous iteration (widen_imprecise_scalars()): the kernel takes 17 insns
  { name: 'may_goto loop counting in an imprecise register', src: 'r1 = 0; l: may_goto e; r1 += 1; goto l; e: r0 = 0; exit', ok: true },
  { name: 'open-coded iterator', src: `${ITER_NEW(5)}; l: ${ITER_NEXT}; if r0 == 0 goto d; goto l; d: ${ITER_DESTROY}; r0 = 0; exit`, ok: true, differs: "iter_next's pointer has no ref_obj_id" },
  { name: 'open-coded iterator summing into a register', src: `r6 = 0; ${ITER_NEW(5)}; l: ${ITER_NEXT}; if r0 == 0 goto d; r1 = *(u32 *)(r0 +0); r6 += r1; goto l; d: ${ITER_DESTROY}; r0 = 0; exit`, ok: true, differs: "iter_next's pointer has no ref_obj_id" },
  {
    // after the kernel's example for incomplete marks (is_state_visited()): r7 becomes -32 on a later
    // iteration; fp-32 is readable here (the iterator's slots), so the kernel loads it
    name: 'iterator: an offset that changes over a back edge',
    src: `r7 = -16; call 7; r6 = r0; ${ITER_NEW(10)}; l: ${ITER_NEXT}; if r0 == 0 goto d; if r6 != 42 goto c; r0 = r10; r0 += r7; r8 = *(u64 *)(r0 +0); call 7; r6 = r0; goto l; c: r7 = -32; call 7; r6 = r0; goto l; d: ${ITER_DESTROY}; r0 = 0; exit`,
    ok: true,
    differs: "iter_next's pointer has no ref_obj_id",
  },
  { name: 'counted loop, a checkpoint at every prune point', src: 'r1 = 0; l: r1 += 1; if r1 < 5 goto l; r0 = 0; exit', ok: true, flags: BPF_F_TEST_STATE_FREQ, differs: 'log differs with a checkpoint at every prune point' },
  { name: 'loop in a subprogram called twice', src: 'call f; call f; r0 = 0; exit; f: r1 = 0; l: r1 += 1; if r1 < 3 goto l; r0 = 0; exit', ok: true },
];

/** kfunc calls unnamed: the model's BTF ids are not vmlinux's. */
const norm = (log: string): string => log.replace(/call (kernel-function|bpf_iter_\w+)#\d+ */g, 'call kfunc ');
const processed = (log: string): string | undefined => /^processed (\d+) insns/m.exec(log)?.[1];

const kernel = probeKernel('SCC probes against the kernel');

const run = (p: Probe) => verify({ insns: asmWithKfuncs(p.src, modelId), progType: SCHED_CLS, btfFuncInfo: false, flags: p.flags ?? 0 }, { logLevel: 2 });

describe('loops (SCC visits) against the running kernel', () => {
  for (const p of PROBES) {
    it(`${p.name}: ${p.ok ? 'accepted' : 'rejected'}`, async (ctx) => {
      const r = run(p);
      expect(r.accepted, r.error).toBe(p.modelOk ?? p.ok);
      if (kernel.why) ctx.skip();
      const k = await kernelLoad(asmWithKfuncs(p.src, kernel.vmlinuxId), SCHED_CLS, { logLevel: 2, flags: p.flags ?? 0 });
      if (process.env.SCC_PROBE) console.log(`${p.name}\n--- kernel (${k.ok})\n${norm(k.log)}\n--- ours (${r.accepted})\n${norm(r.log)}`);
      expect(k.ok).toBe(p.ok);
      if (p.differs) return;
      expect(processed(r.log), 'processed insns').toBe(processed(k.log));
      expect(norm(r.log)).toBe(norm(k.log));
    });
  }
});

describe('loop visits in the model log', () => {
  const log = (name: string): string => run(PROBES.find((p) => p.name === name)!).log;
  it('prints the visits of a loop, its back edges and its exit', () => {
    const l = log('open-coded iterator');
    expect(l).toMatch(/^SCC enter \(\d+\)$/m);
    expect(l).toMatch(/^SCC backedge \(\d+\)$/m);
    expect(l).toMatch(/^SCC exit \(\d+\)$/m);
    expect(l.indexOf('SCC enter')).toBeLessThan(l.indexOf('SCC exit'));
  });
  it('names the call site of a loop in a subprogram', () => {
    expect(log('loop in a subprogram called twice')).toMatch(/^SCC enter \(\d+,\d+\)$/m);
  });
  it('prints nothing of it at level 1', () => {
    const p = PROBES.find((x) => x.name === 'open-coded iterator')!;
    const l1 = verify({ insns: asmWithKfuncs(p.src, modelId), progType: SCHED_CLS, btfFuncInfo: false }, { logLevel: 1 }).log;
    expect(l1).not.toMatch(/SCC/);
  });
});

describe('may_goto loops that never converge', () => {
  // a branch on the counter makes it precise: every iteration is a new state, until the complexity limit
  // (verdicts only: a million-instruction level-2 log is not worth comparing)
  const src = 'r1 = 0; l: may_goto e; r1 += 1; if r1 > 1000000 goto e; goto l; e: r0 = 0; exit';
  it('stop at the complexity limit like the kernel, in linear time', async (ctx) => {
    const r = verify({ insns: asmWithKfuncs(src, modelId), progType: SCHED_CLS, btfFuncInfo: false }, { logLevel: 0 });
    expect(r.accepted).toBe(false);
    expect(r.error).toBe('BPF program is too large. Processed 1000001 insn');
    if (kernel.why) ctx.skip();
    const k = await kernelLoad(asmWithKfuncs(src, kernel.vmlinuxId), SCHED_CLS, { logLevel: 0 });
    expect(k.ok).toBe(false);
  }, 60_000);
});
