import { it } from 'vitest';
import { assembleKernel } from '../../src/isa/asm-kernel.js';
import { kernelLoad } from '../../test/verifier/kernel-log.js';
const ids: Record<string, number> = { bpf_dynptr_from_skb: 63884, bpf_dynptr_slice: 63913, bpf_dynptr_slice_rdwr: 63915, bpf_iter_num_new: 64260, bpf_iter_num_next: 64263, bpf_iter_num_destroy: 64257, bpf_dynptr_size: 63910 };
function asm(src: string) {
  const p = assembleKernel(src, { kfuncs: Object.keys(ids) });
  const insns = p.insns.slice();
  for (const r of p.relocations) if (r.kind === "kfunc") insns[r.index] = { ...insns[r.index], imm: ids[r.symbol] };
  return insns;
}
const cases: [string, number, string][] = [
 ['uninit slice', 3, 'r1 = r10; r1 += -16; w2 = 0; r3 = 0; w4 = 4; call bpf_dynptr_slice; r0 = 0; exit'],
 ['nonconst szk', 3, 'r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; call 7; r4 = r0; r4 &= 7; r1 = r10; r1 += -16; w2 = 0; r3 = 0; call bpf_dynptr_slice; r0 = 0; exit'],
 ['misaligned', 3, 'r6 = r1; r3 = r10; r3 += -12; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r0 = 0; exit'],
 ['scalar as dynptr', 3, 'r1 = 0; w2 = 0; r3 = 0; w4 = 4; call bpf_dynptr_slice; r0 = 0; exit'],
 ['ptr as scalar', 3, 'r6 = r1; r3 = r10; r3 += -16; r2 = r10; r1 = r6; call bpf_dynptr_from_skb; r0 = 0; exit'],
 ['ctx wrong', 3, 'r3 = r10; r3 += -16; r2 = 0; r1 = r10; call bpf_dynptr_from_skb; r0 = 0; exit'],
 ['rdwr write', 3, 'r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r1 = r10; r1 += -16; w2 = 0; r3 = 0; w4 = 4; call bpf_dynptr_slice; if r0 == 0 goto +1; *(u8 *)(r0 +0) = 1; r0 = 0; exit'],
 ['slice oob', 3, 'r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r1 = r10; r1 += -16; w2 = 0; r3 = 0; w4 = 4; call bpf_dynptr_slice; if r0 == 0 goto +1; r0 = *(u32 *)(r0 +4); r0 = 0; exit'],
 ['buf small', 3, 'r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -20; w4 = 8; call bpf_dynptr_slice; r0 = 0; exit'],
 ['iter next uninit', 3, 'r1 = r10; r1 += -8; call bpf_iter_num_next; r0 = 0; exit'],
 ['iter leak', 3, 'r1 = r10; r1 += -8; w2 = 0; w3 = 10; call bpf_iter_num_new; r0 = 0; exit'],
 ['iter loop', 3, 'r1 = r10; r1 += -8; w2 = 0; w3 = 10; call bpf_iter_num_new; r6 = 0; l: r1 = r10; r1 += -8; call bpf_iter_num_next; if r0 == 0 goto e; r6 += 1; goto l; e: r1 = r10; r1 += -8; call bpf_iter_num_destroy; r0 = 0; exit'],
 ['iter loop2', 3, 'r1 = r10; r1 += -8; w2 = 0; w3 = 10; call bpf_iter_num_new; l: r1 = r10; r1 += -8; call bpf_iter_num_next; if r0 == 0 goto e; r1 = *(u32 *)(r0 +0); goto l; e: r1 = r10; r1 += -8; call bpf_iter_num_destroy; r0 = 0; exit'],
 ['uninit twice', 3, 'r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r1 = r10; r1 += -16; call bpf_dynptr_size; r0 = 0; exit'],
 ['overwrite', 3, 'r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r1 = 0; *(u64 *)(r10 -8) = r1; r1 = r10; r1 += -16; call bpf_dynptr_size; r0 = 0; exit'],
 ['read dynptr', 3, 'r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb; r0 = *(u64 *)(r10 -16); r0 = 0; exit'],
];
it('probe', async () => {
  for (const [n, t, s] of cases) {
    const r = await kernelLoad(asm(s.replace(/; /g, '\n')), t, { logLevel: 1 });
    const lines = r.log.trim().split('\n');
    console.log(`== ${n}: ok=${r.ok}\n` + lines.slice(-6).join('\n'));
  }
});
