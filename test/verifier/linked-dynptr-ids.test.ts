// Linked scalars and dynptr ids as the running kernel (6.18.44) has them.
//
// Linked scalars (check/alu.ts linkConstDelta(), check/jmp.ts collectLinked()/syncLinked()):
// - a conditional jump refines only the registers *live* before it (collect_linked_regs()
//   reads live_regs_before) and the spilled scalars sharing the id: after
//   `r8 = r7; if r7 == 0 goto l` a dead r8 keeps `scalar(id=1)` on both edges;
// - 6.18.44 carries the stable backport of "Support negative offsets, BPF_SUB, and alu32
//   for linked register tracking" and its fixes: `r8 += 5`, `r8 -= 5`, `w8 += 5` keep
//   the link with a constant delta, printed `id=1+5` / `id=1-5` ("%+d"); a second
//   `+= const`, a delta outside s32, or an alu32 add on a register wider than 32 bits
//   drops it; `r9 = r8` (or a spill) of a delta-linked register gives r8 a fresh id;
//   links of mixed widths (BPF_ADD_CONST32 vs BPF_ADD_CONST64) are not synced, and an
//   alu32 link zero-extends the synced value;
// - state pruning needs the same delta (regsafe(), prune.ts).
// Dynptr ids (kfunc/slots.ts): each dynptr gets the next id, a slice its own; the stack
// slot prints `dynptr_id=1` for every dynptr, because the kernel prints reg->dynptr_id,
// which shares a union with dynptr.first_slot (true in the printed slot).
//
// Each program runs in the model (level-2 log, model-only assertions in `has`), and,
// when bpf() works, in the running kernel: verdict and level-2 log must be equal.
import { describe, expect, it } from 'vitest';
import { verify } from '../../src/verifier/index.js';
import { kernelLoad, probeKernel } from './kernel-log.js';
import { asmWithKfuncs, modelId } from './kfunc-util.js';

const SCHED_CLS = 3;
const BPF_F_TEST_STATE_FREQ = 8;
const EXTRA = ['bpf_dynptr_adjust'];

interface Case {
  name: string;
  src: string;
  /** Loaded (true) or rejected. */
  ok: boolean;
  /** Text the model's log must contain. */
  has: string[];
  flags?: number;
}

/** r7 = unknown scalar (id 1 after the first copy), then `body`. */
const R = (body: string): string => `call 7; r7 = r0; ${body}`;
/** Both edges of a jump end reading `use` (keeps those registers live). */
const BOTH = (jmp: string, use: string): string => `${jmp} goto l; ${use}; exit; l: ${use}; exit`;
const FROM_SKB = (off: number): string => `r1 = r6; r2 = 0; r3 = r10; r3 += ${off}; call bpf_dynptr_from_skb`;
const SLICE = (off: number, size: number): string => `r1 = r10; r1 += ${off}; w2 = 0; r3 = 0; w4 = ${size}; call bpf_dynptr_slice`;

const CASES: Case[] = [
  // which registers a jump refines: only the live ones
  { name: 'JEQ: a dead copy keeps its id, unrefined, on both edges', src: R('r8 = r7; if r7 == 0 goto l; r0 = 0; exit; l: r0 = 1; exit'), ok: true, has: ['from 3 to 6: R0=scalar(id=1) R7=0 R8=scalar(id=1) R10=fp0'] },
  { name: 'JNE: a dead copy keeps its id', src: R('r8 = r7; if r7 != 0 goto l; r0 = 0; exit; l: r0 = 1; exit'), ok: true, has: ['from 3 to 6: R0=scalar(id=1) R7=scalar(id=1,umin=1) R8=scalar(id=1) R10=fp0'] },
  { name: 'JEQ: a live copy is refined', src: R(BOTH('r8 = r7; if r7 == 0', 'r0 = r8')), ok: true, has: ['from 3 to 6: R0=scalar(id=1) R7=0 R8=0 R10=fp0'] },
  { name: 'JMP32: a live copy gets the whole state', src: R(BOTH('r8 = r7; if w7 == 0', 'r0 = r8')), ok: true, has: ['R8=scalar(id=1,smax=0x7fffffff00000000,umax=0xffffffff00000000,smin32=0,smax32=umax32=0,var_off=(0x0; 0xffffffff00000000))'] },
  { name: 'reg-reg jump between two ids', src: 'call 7; r6 = r0; call 7; r7 = r0; r8 = r7; r9 = r6; if r7 > r6 goto l; r0 = r8; r0 += r9; exit; l: r0 = r8; r0 += r9; exit', ok: true, has: ['R8=scalar(id=2,umin=1) R9=scalar(id=1,umax=0xfffffffffffffffe)'] },
  { name: 'reg-reg jump between copies of one value', src: 'call 7; r7 = r0; r8 = r0; if r7 == r8 goto l; r0 = r8; exit; l: r0 = r8; exit', ok: true, has: ['3: (1d) if r7 == r8 goto pc+2         ; R7=scalar(id=1) R8=scalar(id=1)'] },
  { name: 'a spilled copy is refined', src: R('*(u64 *)(r10 -8) = r7; if r7 > 20 goto l; r0 = *(u64 *)(r10 -8); exit; l: r0 = *(u64 *)(r10 -8); exit'), ok: true, has: ['from 3 to 6: R0=scalar(id=1) R7=scalar(id=1,umin=21) R10=fp0 fp-8=scalar(id=1,umin=21)'] },
  { name: 'more than six linked registers: the rest lose the id', src: 'call 7; r1 = r0; r2 = r0; r3 = r0; r4 = r0; r5 = r0; r6 = r0; r7 = r0; r8 = r0; if r0 > 7 goto +0; r1 = r1; r2 = r2; r3 = r3; r4 = r4; r5 = r5; r6 = r6; r7 = r7; r8 = r8; r0 = 0; exit', ok: true, has: ['15: (bf) r6 = r6                      ; R6=scalar(id=2)', '16: (bf) r7 = r7                      ; R7=scalar(id=3)'] },
  { name: 'a linked register in the caller frame', src: 'call 7; r6 = r0; r1 = r0; r1 += 3; call f; r0 = r6; exit; f: if r1 > 7 goto +0; r0 = r1; exit', ok: true, has: ['R1=scalar(id=1+3)'] },
  // constant deltas
  { name: 'r8 += 5 keeps the link: id=1+5', src: R(BOTH('r8 = r7; r8 += 5; if r7 > 10', 'r0 = r8')), ok: true, has: ['3: (07) r8 += 5                       ; R8=scalar(id=1+5)', '5: (bf) r0 = r8                       ; R0=scalar(id=2,smin=umin=smin32=umin32=5,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf))'] },
  { name: 'r8 -= 5: id=1-5', src: R(BOTH('r8 = r7; r8 -= 5; if r7 < 10', 'r0 = r8')), ok: true, has: ['R8=scalar(id=1-5,smin=smin32=-5,smax=smax32=4)'] },
  { name: 'r8 += -5: id=1-5', src: R(BOTH('r8 = r7; r8 += -5; if r7 < 10', 'r0 = r8')), ok: true, has: ['3: (07) r8 += -5                      ; R8=scalar(id=1-5)'] },
  { name: 'r8 += r1 with r1 known', src: R(BOTH('r8 = r7; r1 = 5; r8 += r1; if r7 < 10', 'r0 = r8')), ok: true, has: ['4: (0f) r8 += r1                      ; R1=5 R8=scalar(id=1+5)'] },
  { name: 'r8 += 0 still links: id=1+0', src: R(BOTH('r8 = r7; r8 += 0; if r7 > 10', 'r0 = r8')), ok: true, has: ['R8=scalar(id=1+0)'] },
  { name: 'a second += drops the link', src: R(BOTH('r8 = r7; r8 += 5; r8 += 1; if r7 < 10', 'r0 = r8')), ok: true, has: ['4: (07) r8 += 1                       ; R8=scalar()'] },
  { name: 'S32_MAX and S32_MIN deltas', src: R('r8 = r7; r8 += 2147483647; r9 = r7; r9 += -2147483648; if r7 < 10 goto l; r0 = r8; r0 += r9; exit; l: r0 = r8; r0 += r9; exit'), ok: true, has: ['R8=scalar(id=1+2147483647)', 'R9=scalar(id=1-2147483648)'] },
  { name: 'r8 -= r8 is no delta', src: R(BOTH('r8 = r7; r8 -= r8; if r7 > 10', 'r0 = r8')), ok: true, has: ['3: (1f) r8 -= r8                      ; R8=scalar()'] },
  { name: 'other operations drop the link', src: R(BOTH('r8 = r7; r8 += 5; r8 *= 1; r8 = r7; if r7 > 10', 'r0 = r8')), ok: true, has: ['4: (27) r8 *= 1                       ; R8=scalar()'] },
  { name: 'copying a delta-linked register gives it a fresh id', src: R('r8 = r7; r8 += 5; r9 = r8; if r7 < 10 goto l; r0 = r8; r0 += r9; exit; l: r0 = r8; r0 += r9; exit'), ok: true, has: ['4: (bf) r9 = r8                       ; R8=scalar(id=2) R9=scalar(id=2)'] },
  { name: 'spilling a delta-linked register gives it a fresh id', src: R('r8 = r7; r8 += 5; *(u64 *)(r10 -8) = r8; if r7 > 20 goto l; r0 = *(u64 *)(r10 -8); exit; l: r0 = *(u64 *)(r10 -8); exit'), ok: true, has: ['R8=scalar(id=2) R10=fp0 fp-8=scalar(id=2)'] },
  { name: 'the known register has a delta too', src: R(BOTH('r8 = r7; r8 += 5; r7 += 3; if r7 < 10', 'r0 = r8')), ok: true, has: ['R7=scalar(id=1+3,smin=smin32=0,smax=umax=smax32=umax32=9,var_off=(0x0; 0xf)) R8=scalar(id=1+5,smin=umin=smin32=umin32=2,smax=umax=smax32=umax32=11,var_off=(0x0; 0xf))'] },
  { name: 'jump on the delta-linked register refines the base', src: R(BOTH('r8 = r7; r8 += 5; if r8 < 10', 'r0 = r7')), ok: true, has: ['R7=scalar(id=1,smin=smin32=-5,smax=smax32=4)'] },
  { name: 'two deltas from one base', src: R('r8 = r7; r8 += 5; r9 = r7; r9 += 7; if r8 > 20 goto l; r0 = r9; r0 += r7; exit; l: r0 = r9; r0 += r7; exit'), ok: true, has: ['from 6 to 10: R0=scalar(id=1) R7=scalar(id=1,umin=16,umax=0xfffffffffffffffa) R8=scalar(id=1+5,umin=21) R9=scalar(id=1+7) R10=fp0'] },
  { name: 'signed jump with a delta', src: R(BOTH('r8 = r7; r8 += 5; if r7 s< 10', 'r0 = r8')), ok: true, has: ['R8=scalar(id=1+5,smin=0x8000000000000005,smax=14)'] },
  { name: 'JMP32 with a delta', src: R(BOTH('r8 = r7; r8 += 5; if w7 < 10', 'r0 = r8')), ok: true, has: ['R8=scalar(id=1+5,smin=0x8000000000000005,smax=0x7fffffff0000000e,umin=smin32=umin32=5,umax=0xffffffff0000000e,smax32=umax32=14,var_off=(0x0; 0xffffffff0000000f))'] },
  { name: 'JSET with a delta', src: R(BOTH('r8 = r7; r8 += 5; if r7 & 3', 'r0 = r8')), ok: true, has: ['R8=scalar(id=1+5)'] },
  // alu32 links
  { name: 'w8 += 5 on a 32-bit value links', src: R(BOTH('r7 &= 255; w8 = w7; w8 += 5; if r7 < 10', 'r0 = r8')), ok: true, has: ['4: (04) w8 += 5                       ; R8=scalar(id=2+5,smin=umin=smin32=umin32=5,smax=umax=smax32=umax32=260,var_off=(0x0; 0x1ff))'] },
  { name: 'w8 += 5 on a 64-bit value does not', src: R(BOTH('r8 = r7; w8 += 5; if r7 > 10', 'r0 = r8')), ok: true, has: ['3: (04) w8 += 5                       ; R8=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))'] },
  { name: 'w8 -= 5 with a JMP32', src: R(BOTH('r7 &= 255; r8 = r7; w8 -= 5; if w7 > 10', 'r0 = r8')), ok: true, has: ['R8=scalar(id=2-5'] },
  { name: 'mixed 32/64-bit links are not synced', src: R(BOTH('r7 &= 255; r8 = r7; w8 += 5; r9 = r7; r9 += 3; if r8 < 10', 'r0 = r9')), ok: true, has: ['R9=scalar(id=2+3,smin=umin=smin32=umin32=3,smax=umax=smax32=umax32=258,var_off=(0x0; 0x1ff)) R10=fp0'] },
  { name: 'an alu32 link zero-extends the synced value', src: 'call 7; w6 = w0; r7 = r6; w7 += 1; r8 = 0xffffffff ll; if r6 < r8 goto l; r0 = r7; exit; l: r0 = r7; exit', ok: true, has: ['7: (bf) r0 = r7                       ; R0=0 R7=0'] },
  // precision and pruning
  { name: 'precision through a delta link', src: R('r8 = r7; r8 += 5; if r7 > 10 goto l; r1 = r10; r1 += -32; r1 += r8; r0 = 0; exit; l: r0 = 0; exit'), ok: true, has: ['mark_precise: frame0: regs=r7,r8 stack= before 3: (07) r8 += 5'] },
  { name: 'prune: other delta, no', src: R('call 7; if r0 == 0 goto a; r8 = r7; r8 += 5; goto j; a: r8 = r7; r8 += 3; j: if r7 > 10 goto e; r1 = r10; r1 += -32; r1 += r8; e: r0 = 0; exit'), ok: true, has: ['13: safe'], flags: BPF_F_TEST_STATE_FREQ },
  { name: 'prune: same delta, yes', src: R('call 7; if r0 == 0 goto a; r8 = r7; r8 += 5; goto j; a: r8 = r7; r8 += 5; j: if r7 > 10 goto e; r1 = r10; r1 += -32; r1 += r8; e: r0 = 0; exit'), ok: true, has: ['9: safe'], flags: BPF_F_TEST_STATE_FREQ },
  { name: 'prune: other width, no', src: R('r7 &= 65535; call 7; if r0 == 0 goto a; r8 = r7; r8 += 5; goto j; a: r8 = r7; w8 += 5; j: if r7 > 10 goto e; r1 = r10; r1 += -32; r1 += r8; e: r0 = 0; exit'), ok: true, has: ['mark_precise: frame0: regs=r7,r8 stack= before 9: (04) w8 += 5', 'processed 23 insns'], flags: BPF_F_TEST_STATE_FREQ },
  // dynptr ids
  { name: 'two skb dynptrs: ids 1 and 2, dynptr_id=1 both', src: `r6 = r1; ${FROM_SKB(-16)}; ${FROM_SKB(-32)}; r0 = 0; exit`, ok: true, has: ['fp-16=dynptr_skb(id=1,dynptr_id=1)', 'fp-32=dynptr_skb(id=2,dynptr_id=1)'] },
  { name: 'slices take ids between the dynptrs', src: `r6 = r1; ${FROM_SKB(-16)}; ${SLICE(-16, 8)}; r7 = r0; ${FROM_SKB(-32)}; ${SLICE(-32, 8)}; r0 = 0; exit`, ok: true, has: ['R0=rdonly_mem_or_null(id=2,sz=8) fp-16=dynptr_skb(id=1,dynptr_id=1)', 'R0=rdonly_mem_or_null(id=4,sz=8) fp-32=dynptr_skb(id=3,dynptr_id=1)'] },
  { name: 'a dynptr over a slice buffer', src: `r6 = r1; ${FROM_SKB(-16)}; r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -32; w4 = 8; call bpf_dynptr_slice; if r0 == 0 goto e; r7 = r0; ${FROM_SKB(-32)}; r0 = *(u8 *)(r7 +0); e: r0 = 0; exit`, ok: false, has: ['fp-32=dynptr_skb(id=3,dynptr_id=1)'] },
  { name: 'a dynptr over a dynptr', src: `r6 = r1; ${FROM_SKB(-16)}; ${FROM_SKB(-16)}; r1 = r10; r1 += -16; call bpf_dynptr_size; r0 = 0; exit`, ok: true, has: ['fp-16=dynptr_skb(id=2,dynptr_id=1)'] },
  { name: 'adjust keeps the id', src: `r6 = r1; ${FROM_SKB(-16)}; r1 = r10; r1 += -16; r2 = 0; r3 = 4; call bpf_dynptr_adjust; ${SLICE(-16, 4)}; if r0 == 0 goto e; r1 = *(u32 *)(r0 +0); e: r0 = 0; exit`, ok: true, has: ['R0=rdonly_mem_or_null(id=2,sz=4) fp-16=dynptr_skb(id=1,dynptr_id=1)'] },
  { name: 'a dynptr passed to a subprogram', src: `r6 = r1; ${FROM_SKB(-24)}; r1 = r10; r1 += -24; call f; r0 = 0; exit; f: r6 = r1; r1 = r6; w2 = 0; r3 = 0; w4 = 4; call bpf_dynptr_slice; r0 = 0; exit`, ok: true, has: ['fp-24=dynptr_skb(id=1,dynptr_id=1)'] },
];

const KERNEL_KFUNC = /call (bpf_dynptr_\w+|bpf_iter_\w+)#\d+ */g;
const MODEL_KFUNC = /call (kernel-function|bpf_dynptr_\w+)#\d+ */g;
/** Liveness dumps (another part of the log, compared elsewhere) left out; kfuncs unnamed (BTF ids differ). */
const LIVENESS = /^func#\d+ @\d+$|^Live regs before insn:$|^ +\d+: [.0-9]{10} \(|^\(\d+(,\d+)?\) (frame|live stack)/;
const norm = (log: string, kfunc: RegExp): string => log.replace(kfunc, 'call kfunc ').split('\n').filter((l) => !LIVENESS.test(l)).join('\n');

const run = (c: Case) => verify({ insns: asmWithKfuncs(c.src, modelId, EXTRA), progType: SCHED_CLS, btfFuncInfo: false, flags: c.flags ?? 0 }, { logLevel: 2 });

const kernel = probeKernel('linked scalar / dynptr id comparison with the kernel');

describe('linked scalars and dynptr ids', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.ok ? 'accepted' : 'rejected'}`, async () => {
      const r = run(c);
      const log = norm(r.log, MODEL_KFUNC);
      const k = kernel.why ? null : await kernelLoad(asmWithKfuncs(c.src, kernel.vmlinuxId, EXTRA), SCHED_CLS, { logLevel: 2, flags: c.flags ?? 0 });
      if (process.env.LINKED_PROBE) console.log(`${c.name}\n--- kernel (${k?.ok})\n${k?.log}\n--- ours (${r.accepted})\n${r.log}`);
      expect(r.accepted).toBe(c.ok);
      for (const h of c.has) expect(log).toContain(h);
      if (!k) return;
      expect(k.ok).toBe(c.ok);
      expect(log).toBe(norm(k.log, KERNEL_KFUNC));
    });
  }
});
