// The stack buffer of a bpf_dynptr_slice (buffer__opt), as the running kernel
// (6.18.44-fc, not mainline 6.18) tracks it: the slice prints
// `buf=fp[frame]off+len` (len covering a variable offset's range), a stack write
// overlapping that range turns every copy of the slice into an unknown scalar,
// and state pruning compares the buffers. Each program is checked against the
// verdict recorded from that kernel (`want`: true, or the error line), and,
// when bpf() works, loaded at log level 2: our verdict, error line and level-2
// log must be the kernel's. See state/reg.ts (bufLen), check/stack.ts
// (invalidateSliceBufs), prune.ts (sameBuf), kfunc/call.ts.
import { describe, expect, it } from 'vitest';
import { errorLine } from '../../src/oracle/log.js';
import { verify } from '../../src/verifier/index.js';
import { kernelLoad, probeKernel } from './kernel-log.js';
import { asmWithKfuncs, modelId } from './kfunc-util.js';

const SCHED_CLS = 3;
const BPF_F_TEST_STATE_FREQ = 8;

const FROM_SKB = 'r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb';
/** bpf_dynptr_slice(fp-16, 0, fp+buf, size) */
const SL = (buf: number, size: number): string => `r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += ${buf}; w4 = ${size}; call bpf_dynptr_slice`;
/** bpf_dynptr_slice(fp-16, 0, r3 = fp-48 + r9, size) */
const SL_VAR = (size: number): string => `r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -48; r3 += r9; w4 = ${size}; call bpf_dynptr_slice`;
const SL_NULL = 'r1 = r10; r1 += -16; w2 = 0; r3 = 0; w4 = 8; call bpf_dynptr_slice';
/** A non-NULL slice in r7 with the buffer fp-32..-25, r1 = 0; `then` runs, then r7 is read. */
const T = (then: string): string => `${FROM_SKB}; ${SL(-32, 8)}; if r0 == 0 goto e; r7 = r0; r1 = 0; ${then}; r0 = *(u8 *)(r7 +0); e: r0 = 0; exit`;
/** Two paths meet at j with a slice in r0 (`a` explored second), then r7 = r0 is read after `then`. */
const JOIN = (first: string, second: string, then: string, pre = ''): string =>
  `${FROM_SKB}; ${pre}call 7; if r0 == 0 goto a; ${first}; goto j; a: ${second}; j: if r0 == 0 goto e; r7 = r0; ${then}; r0 = *(u8 *)(r7 +0); e: r0 = 0; exit`;

const INVALID = "R7 invalid mem access 'scalar'";

interface Case {
  name: string;
  src: string;
  /** The running kernel's verdict: true (loaded) or its error line. */
  want: true | string;
  flags?: number;
  /** The model's stack-liveness write marks differ here (check/stack.ts, kfunc slots): the level-2 liveness trace is left out. */
  liveTraceDiffers?: true;
  /** Only the verdict and error line are compared: the log differs elsewhere (see the case). */
  verdictOnly?: true;
}

const CASES: Case[] = [
  // what is recorded and printed
  { name: 'fixed buffer', src: `${FROM_SKB}; ${SL(-32, 8)}; r0 = 0; exit`, want: true },
  { name: 'variable-offset buffer covers the range', src: `${FROM_SKB}; call 7; r0 &= 8; r3 = r10; r3 += -40; r3 += r0; r1 = r10; r1 += -16; w2 = 0; w4 = 4; call bpf_dynptr_slice; r0 = 0; exit`, want: true },
  { name: 'size 0 at a fixed offset: no buffer', src: `${FROM_SKB}; ${SL(-32, 0)}; r7 = r0; *(u8 *)(r10 -32) = 0; r0 = r7; r0 = 0; exit`, want: true },
  { name: 'size 0 at a variable offset: a buffer', src: `${FROM_SKB}; call 7; r0 &= 8; r3 = r10; r3 += -40; r3 += r0; r1 = r10; r1 += -16; w2 = 0; w4 = 0; call bpf_dynptr_slice; r7 = r0; *(u8 *)(r10 -40) = 0; r0 = r7; r0 = 0; exit`, want: true },
  { name: 'kept by copies and constant arithmetic', src: T('r7 += 2; r8 = r7; r8 += -2; r0 = *(u8 *)(r8 +0)'), want: true },
  { name: 'printed before variable-offset bounds', src: T('call 7; r0 &= 3; r7 += r0'), want: true },
  { name: 'NULL branch', src: `${FROM_SKB}; ${SL(-32, 8)}; if r0 != 0 goto e; r1 = r0; e: r0 = 0; exit`, want: true },
  { name: 'spilled copies print it', src: `${FROM_SKB}; ${SL(-32, 8)}; *(u64 *)(r10 -40) = r0; r7 = r0; r1 = 0; *(u8 *)(r10 -30) = r1; r0 = 0; exit`, want: true },
  // instruction stores, spills and atomics
  { name: 'BPF_ST of one byte inside', src: T('*(u8 *)(r10 -25) = 0'), want: INVALID },
  { name: 'BPF_ST of one byte below', src: T('*(u8 *)(r10 -33) = 0'), want: true },
  { name: 'u16 store next to it', src: T('*(u16 *)(r10 -34) = r1'), want: true },
  { name: 'u32 store inside', src: T('*(u32 *)(r10 -28) = r1'), want: INVALID },
  { name: 'spill of a constant', src: T('*(u64 *)(r10 -32) = r1'), want: INVALID },
  { name: 'spill of an unknown scalar', src: T('call 7; r1 = r0; *(u64 *)(r10 -32) = r1'), want: INVALID },
  { name: 'spill of ctx', src: T('*(u64 *)(r10 -32) = r6'), want: INVALID },
  { name: 'spill of the slice into its buffer', src: T('*(u64 *)(r10 -32) = r7'), want: INVALID },
  { name: 'BPF_ST of 8 bytes', src: T('*(u64 *)(r10 -32) = 7'), want: INVALID },
  { name: 'atomic add', src: T('lock *(u64 *)(r10 -32) += r1'), want: INVALID },
  { name: 'atomic fetch add', src: T('r1 = atomic_fetch_add((u64 *)(r10 -32), r1)'), want: INVALID },
  { name: 'a read does not', src: T('r1 = *(u64 *)(r10 -32)'), want: true },
  { name: 'variable-offset store reaching it', src: T('call 7; r0 &= 8; r1 = r10; r1 += -40; r1 += r0; r2 = 0; *(u8 *)(r1 +0) = r2'), want: INVALID },
  { name: 'variable-offset store next to it', src: T('call 7; r0 &= 8; r1 = r10; r1 += -48; r1 += r0; r2 = 0; *(u8 *)(r1 +0) = r2'), want: true },
  { name: 'store before the NULL check', src: `${FROM_SKB}; ${SL(-32, 8)}; r1 = 0; *(u8 *)(r10 -32) = r1; if r0 == 0 goto +1; r0 = *(u8 *)(r0 +0); r0 = 0; exit`, want: "R0 invalid mem access 'scalar'" },
  { name: 'spilled copy becomes a spilled scalar', src: `${FROM_SKB}; ${SL(-32, 8)}; if r0 == 0 goto e; r7 = r0; *(u64 *)(r10 -40) = r7; *(u8 *)(r10 -32) = 0; r2 = *(u64 *)(r10 -40); e: r0 = 0; exit`, want: true },
  { name: 'maybe-NULL copies lose their id', src: `${FROM_SKB}; ${SL(-32, 8)}; r7 = r0; *(u64 *)(r10 -40) = r0; *(u8 *)(r10 -32) = 0; r9 = *(u64 *)(r10 -40); if r7 == 0 goto e; r0 = 0; e: r0 = 0; exit`, want: true },
  { name: 'overwriting the dynptr does not', src: T('*(u64 *)(r10 -16) = r1'), want: true, liveTraceDiffers: true },
  // helper and kfunc writes
  { name: 'skb_load_bytes into it', src: T('r1 = r6; r2 = 0; r3 = r10; r3 += -28; r4 = 4; call 26'), want: INVALID },
  { name: 'skb_load_bytes next to it', src: T('r1 = r6; r2 = 0; r3 = r10; r3 += -40; r4 = 8; call 26'), want: true },
  { name: 'skb_load_bytes of variable size does not', src: T('call 7; r4 = r0; r4 &= 7; r4 += 1; r1 = r6; r2 = 0; r3 = r10; r3 += -32; call 26'), want: true },
  { name: 'skb_load_bytes at a variable offset does not', src: T('call 7; r0 &= 8; r3 = r10; r3 += -40; r3 += r0; r1 = r6; r2 = 0; r4 = 4; call 26'), want: true },
  { name: 'dynptr_read into it', src: T('r1 = r10; r1 += -32; r2 = 4; r3 = r10; r3 += -16; r4 = 0; r5 = 0; call 201'), want: INVALID },
  { name: 'another slice buffer over it does not', src: T(`${SL(-28, 4)}`), want: true },
  // the kernel prints dynptr_id=1 for the second dynptr, the model its own id
  { name: 'dynptr constructed over it', src: T('r1 = r6; r2 = 0; r3 = r10; r3 += -32; call bpf_dynptr_from_skb'), want: INVALID, verdictOnly: true },
  { name: 'iterator constructed over it', src: T('r1 = r10; r1 += -32; w2 = 0; w3 = 10; call bpf_iter_num_new; r1 = r10; r1 += -32; call bpf_iter_num_destroy'), want: INVALID },
  // frames
  { name: 'callee writes the caller buffer of its slice', src: 'r2 = r10; r2 += -32; call f; r0 = 0; exit; f: r6 = r1; r8 = r2; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r1 = r10; r1 += -16; w2 = 0; r3 = r8; w4 = 8; call bpf_dynptr_slice; if r0 == 0 goto x; r7 = r0; *(u8 *)(r8 +3) = 0; r0 = *(u8 *)(r7 +0); x: r0 = 0; exit', want: INVALID },
  { name: 'callee writes its own stack at that offset', src: 'r2 = r10; r2 += -32; call f; r0 = 0; exit; f: r6 = r1; r8 = r2; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r1 = r10; r1 += -16; w2 = 0; r3 = r8; w4 = 8; call bpf_dynptr_slice; if r0 == 0 goto x; r7 = r0; *(u8 *)(r10 -32) = 0; r0 = *(u8 *)(r7 +0); x: r0 = 0; exit', want: true },
  { name: 'callee writes through a pointer: the caller copies too', src: `${FROM_SKB}; ${SL(-32, 8)}; if r0 == 0 goto e; r7 = r0; r1 = r7; r2 = r10; r2 += -32; r9 = r7; call f; r0 = *(u8 *)(r9 +0); e: r0 = 0; exit; f: *(u8 *)(r2 +0) = 0; r0 = 0; exit`, want: "R9 invalid mem access 'scalar'" },
  { name: 'callee writes its own stack', src: `${FROM_SKB}; ${SL(-32, 8)}; if r0 == 0 goto e; r7 = r0; r1 = r7; r9 = r7; call f; r0 = *(u8 *)(r9 +0); e: r0 = 0; exit; f: *(u8 *)(r10 -32) = 0; r0 = *(u8 *)(r1 +0); r0 = 0; exit`, want: true },
  { name: 'callee returns a slice of a caller buffer', src: `r2 = r10; r2 += -32; call f; if r0 == 0 goto e; r7 = r0; r0 = *(u8 *)(r7 +0); e: r0 = 0; exit; f: r8 = r2; ${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = r8; w4 = 8; call bpf_dynptr_slice; exit`, want: true },
  { name: 'callee returns a slice of its own buffer', src: `call f; if r0 == 0 goto e; r7 = r0; *(u64 *)(r10 -32) = r7; r0 = *(u8 *)(r7 +0); e: r0 = 0; exit; f: ${FROM_SKB}; ${SL(-32, 8)}; exit`, want: INVALID },
  { name: 'callee returns a slice of its own buffer, caller writes', src: `call f; if r0 == 0 goto e; r7 = r0; r1 = 0; *(u64 *)(r10 -32) = r1; r0 = *(u8 *)(r7 +0); e: r0 = 0; exit; f: ${FROM_SKB}; ${SL(-32, 8)}; exit`, want: INVALID },
  { name: 'callee spills a slice of its own buffer into the caller', src: `r2 = r10; r2 += -8; call f; r0 = *(u64 *)(r10 -8); r0 = 0; exit; f: r8 = r2; ${FROM_SKB}; ${SL(-32, 8)}; *(u64 *)(r8 +0) = r0; r0 = 0; exit`, want: true, liveTraceDiffers: true },
  // state equivalence: pruning needs the same buffer (frame, offset, length)
  { name: 'prune: other buffer, then written', src: JOIN(SL(-32, 8), SL(-48, 8), '*(u8 *)(r10 -48) = 0'), want: INVALID, flags: BPF_F_TEST_STATE_FREQ },
  { name: 'prune: other buffer', src: JOIN(SL(-32, 8), SL(-48, 8), '*(u8 *)(r10 -56) = 0'), want: true, flags: BPF_F_TEST_STATE_FREQ },
  { name: 'prune: other buffer, default state frequency', src: JOIN(SL(-32, 8), SL(-48, 8), '*(u8 *)(r10 -48) = 0'), want: INVALID },
  { name: 'prune: no buffer, then one', src: JOIN(SL_NULL, SL(-48, 8), '*(u8 *)(r10 -56) = 0'), want: true, flags: BPF_F_TEST_STATE_FREQ },
  { name: 'prune: a buffer, then none', src: JOIN(SL(-48, 8), SL_NULL, '*(u8 *)(r10 -56) = 0'), want: true, flags: BPF_F_TEST_STATE_FREQ },
  { name: 'prune: the same buffer', src: JOIN(SL(-48, 8), SL(-48, 8), '*(u8 *)(r10 -56) = 0'), want: true, flags: BPF_F_TEST_STATE_FREQ },
  { name: 'prune: a wider buffer, then a narrower one', src: JOIN(SL_VAR(4), SL(-48, 4), '*(u8 *)(r10 -56) = 0', 'call 7; r9 = r0; r9 &= 8; '), want: true, flags: BPF_F_TEST_STATE_FREQ },
  { name: 'prune: a narrower buffer, then a wider one', src: JOIN(SL(-48, 4), SL_VAR(4), '*(u8 *)(r10 -56) = 0', 'call 7; r9 = r0; r9 &= 8; '), want: true, flags: BPF_F_TEST_STATE_FREQ },
  { name: 'prune: the same range from other offsets', src: JOIN(SL_VAR(4), SL_VAR(4).replace('r3 += r9', 'r3 += r8'), '*(u8 *)(r10 -56) = 0', 'call 7; r9 = r0; r9 &= 4; r8 = r0; r8 &= 7; if r8 > 4 goto e; '), want: true, flags: BPF_F_TEST_STATE_FREQ },
];

const KERNEL_KFUNC = /call (bpf_dynptr_\w+|bpf_iter_\w+)#\d+ */g;

/** The kernel's level-2 log, kfuncs unnamed. */
function modelled(log: string): string {
  return log.replace(KERNEL_KFUNC, 'call kfunc ');
}

/** The model's log with kfuncs unnamed (its BTF ids are not vmlinux's). */
const ours = (log: string): string => log.replace(/call (kernel-function|bpf_dynptr_\w+)#\d+ */g, 'call kfunc ');

const run = (c: Case) => verify({ insns: asmWithKfuncs(c.src, modelId), progType: SCHED_CLS, btfFuncInfo: false, flags: c.flags ?? 0 }, { logLevel: 2 });

const kernel = probeKernel('slice buffer comparison with the kernel');

describe('dynptr slice stack buffers', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.want === true ? "accepted" : c.want}`, async () => {
      const r = run(c);
      if (c.want === true) expect(r.error).toBeUndefined();
      else expect(r.error).toBe(c.want);
      expect(r.accepted).toBe(c.want === true);
      if (kernel.why) return;
      const k = await kernelLoad(asmWithKfuncs(c.src, kernel.vmlinuxId), SCHED_CLS, { logLevel: 2, flags: c.flags ?? 0 });
      if (process.env.SLICE_BUF_PROBE) console.log(`${c.name}\n--- kernel (${k.ok})\n${modelled(k.log)}\n--- ours (${r.accepted})\n${ours(r.log)}`);
      expect(k.ok).toBe(c.want === true);
      if (!k.ok) expect(errorLine(k.log)).toBe(c.want);
      const trace = (l: string): string => (c.liveTraceDiffers ? l.split('\n').filter((x) => !/^\(\d+(,\d+)*\) (frame|live stack)/.test(x)).join('\n') : l);
      if (!c.verdictOnly) expect(trace(ours(r.log))).toBe(trace(modelled(k.log)));
    });
  }
});

describe('dynptr slice stack buffers in the model log', () => {
  const log = (name: string): string => ours(run(CASES.find((c) => c.name === name)!).log);
  it('prints the frame, the lowest offset and a length covering the variable offset', () => {
    expect(log('fixed buffer')).toContain('R0=rdonly_mem_or_null(id=2,sz=8,buf=fp[0]-32+8)');
    expect(log('variable-offset buffer covers the range')).toContain('R0=rdonly_mem_or_null(id=2,sz=4,buf=fp[0]-40+12)');
    expect(log('size 0 at a fixed offset: no buffer')).toContain('R0=rdonly_mem_or_null(id=2,sz=0) ');
    expect(log('size 0 at a variable offset: a buffer')).toContain('R0=rdonly_mem_or_null(id=2,sz=0,buf=fp[0]-40+8)');
    expect(log('printed before variable-offset bounds')).toContain('R7=rdonly_mem(sz=8,buf=fp[0]-32+8,smin=smin32=0,smax=umax=smax32=umax32=3,var_off=(0x0; 0x3))');
  });
  it('turns spilled copies into spilled unknown scalars', () => {
    expect(log('spill of the slice into its buffer')).toContain('; R7=scalar() R10=fp0 fp-32=scalar()');
    expect(log('spilled copy becomes a spilled scalar')).toContain('R2=scalar() R10=fp0 fp-40=scalar()');
  });
});
