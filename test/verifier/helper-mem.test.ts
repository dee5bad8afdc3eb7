// Helper memory arguments (check_helper_mem_access(), check_mem_size_reg(),
// check_stack_range_initialized()) against the running kernel: each program is
// loaded with bpf(BPF_PROG_LOAD) at log level 2 and our verdict, error line and
// level-2 log must be the kernel's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleKernel } from '../../src/isa/asm-kernel.js';
import { errorLine } from '../../src/oracle/log.js';
import { verify } from '../../src/verifier/index.js';
import { kernelLoad, probeKernel } from './kernel-log.js';
import { asmWithKfuncs, modelId } from './kfunc-util.js';

const SOCKET_FILTER = 1, SCHED_CLS = 3;

interface Case { name: string; progType: number; src: string }

const FROM_SKB = 'r6 = r1; r3 = r10; r3 += -16; r2 = 0; r1 = r6; call bpf_dynptr_from_skb';

const CASES: Case[] = [
  // bpf_skb_load_bytes(ctx, off, to: ARG_PTR_TO_UNINIT_MEM, len: ARG_CONST_SIZE)
  { name: 'load_bytes into uninit stack', progType: SOCKET_FILTER, src: 'r2 = 0; r3 = r10; r3 += -16; r4 = 16; call 26; r0 = *(u64 *)(r10 -16); r0 = 0; exit' },
  { name: 'load_bytes over a spilled pointer', progType: SOCKET_FILTER, src: '*(u64 *)(r10 -8) = r1; r2 = 0; r3 = r10; r3 += -8; r4 = 8; call 26; r0 = 0; exit' },
  { name: 'load_bytes over a spilled scalar', progType: SOCKET_FILTER, src: 'r6 = 5; *(u64 *)(r10 -8) = r6; r2 = 0; r3 = r10; r3 += -8; r4 = 4; call 26; r0 = *(u64 *)(r10 -8); exit' },
  { name: 'load_bytes with variable size', progType: SOCKET_FILTER, src: 'r6 = r1; call 7; r4 = r0; r4 &= 15; r4 += 1; r1 = r6; r2 = 0; r3 = r10; r3 += -16; call 26; r0 = 0; exit' },
  { name: 'load_bytes with variable size over a spill', progType: SOCKET_FILTER, src: 'r6 = r1; *(u64 *)(r10 -16) = r1; call 7; r4 = r0; r4 &= 15; r4 += 1; r1 = r6; r2 = 0; r3 = r10; r3 += -16; call 26; r0 = 0; exit' },
  { name: 'load_bytes below the stack', progType: SOCKET_FILTER, src: 'r2 = 0; r3 = r10; r3 += -520; r4 = 8; call 26; r0 = 0; exit' },
  { name: 'load_bytes past fp', progType: SOCKET_FILTER, src: 'r2 = 0; r3 = r10; r3 += -4; r4 = 8; call 26; r0 = 0; exit' },
  { name: 'load_bytes zero size', progType: SOCKET_FILTER, src: 'r2 = 0; r3 = r10; r3 += -8; r4 = 0; call 26; r0 = 0; exit' },
  { name: 'load_bytes negative size', progType: SOCKET_FILTER, src: 'r2 = 0; r3 = r10; r3 += -8; r4 = -1; call 26; r0 = 0; exit' },
  { name: 'load_bytes unbounded size', progType: SOCKET_FILTER, src: 'r6 = r1; call 7; r4 = r0; r4 |= 1; r1 = r6; r2 = 0; r3 = r10; r3 += -8; call 26; r0 = 0; exit' },
  { name: 'load_bytes into ctx', progType: SOCKET_FILTER, src: 'r2 = 0; r3 = r1; r4 = 8; call 26; r0 = 0; exit' },
  { name: 'load_bytes into a scalar', progType: SOCKET_FILTER, src: 'r2 = 0; r3 = 0; r4 = 8; call 26; r0 = 0; exit' },
  { name: 'load_bytes variable stack offset', progType: SOCKET_FILTER, src: 'r6 = r1; call 7; r0 &= 8; r3 = r10; r3 += -16; r3 += r0; r1 = r6; r2 = 0; r4 = 8; call 26; r0 = 0; exit' },
  { name: 'load_bytes variable stack offset, initialised', progType: SOCKET_FILTER, src: 'r6 = r1; r7 = 0; *(u64 *)(r10 -8) = r7; *(u64 *)(r10 -16) = r7; call 7; r0 &= 8; r3 = r10; r3 += -16; r3 += r0; r1 = r6; r2 = 0; r4 = 8; call 26; r0 = 0; exit' },
  // bpf_trace_printk(fmt: ARG_PTR_TO_MEM | MEM_RDONLY, size: ARG_CONST_SIZE)
  { name: 'trace_printk from uninit stack', progType: SOCKET_FILTER, src: 'r1 = r10; r1 += -8; r2 = 8; call 6; r0 = 0; exit' },
  { name: 'trace_printk from initialised stack', progType: SOCKET_FILTER, src: 'r1 = 0; *(u64 *)(r10 -8) = r1; r1 = r10; r1 += -8; r2 = 8; call 6; r0 = *(u64 *)(r10 -8); r0 = 0; exit' },
  { name: 'trace_printk from a spilled pointer', progType: SOCKET_FILTER, src: '*(u64 *)(r10 -8) = r1; r1 = r10; r1 += -8; r2 = 8; call 6; r0 = 0; exit' },
  { name: 'trace_printk zero size', progType: SOCKET_FILTER, src: 'r1 = r10; r1 += -8; r2 = 0; call 6; r0 = 0; exit' },
  { name: 'trace_printk from ctx', progType: SOCKET_FILTER, src: 'r2 = 8; call 6; r0 = 0; exit' },
  { name: 'trace_printk below the stack', progType: SOCKET_FILTER, src: 'r1 = r10; r1 += -516; r2 = 8; call 6; r0 = 0; exit' },
  { name: 'trace_printk variable offset below the stack', progType: SOCKET_FILTER, src: 'call 7; r0 &= 1023; r1 = r10; r1 += -512; r1 += r0; r2 = 8; call 6; r0 = 0; exit' },
  // bpf_csum_diff(from: ARG_PTR_TO_MEM_OR_NULL | MEM_RDONLY, from_size: ARG_CONST_SIZE_OR_ZERO, to, to_size, seed)
  { name: 'csum_diff null and zero', progType: SCHED_CLS, src: 'r1 = 0; r2 = 0; r3 = r10; r3 += -8; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  { name: 'csum_diff packet', progType: SCHED_CLS, src: 'r2 = *(u32 *)(r1 +76); r3 = *(u32 *)(r1 +80); r4 = r2; r4 += 8; if r4 > r3 goto +6; r1 = r2; r2 = 8; r3 = 0; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  { name: 'csum_diff packet out of range', progType: SCHED_CLS, src: 'r2 = *(u32 *)(r1 +76); r3 = *(u32 *)(r1 +80); r4 = r2; r4 += 8; if r4 > r3 goto +6; r1 = r2; r2 = 12; r3 = 0; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  { name: 'csum_diff stack zero size', progType: SCHED_CLS, src: 'r1 = r10; r1 += -8; r2 = 0; r3 = 0; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  { name: 'csum_diff fp zero size', progType: SCHED_CLS, src: 'r1 = r10; r2 = 0; r3 = 0; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  { name: 'csum_diff stack zero size deep', progType: SCHED_CLS, src: 'r1 = r10; r1 += -400; r2 = 0; r3 = 0; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  { name: 'csum_diff scalar non-null zero size', progType: SCHED_CLS, src: 'r1 = 1; r2 = 0; r3 = 0; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  // a NULL `from` is marked precise when its argument is checked, before the size's checks
  { name: 'csum_diff null with a size', progType: SCHED_CLS, src: 'r1 = 0; r2 = 8; r3 = r10; r3 += -8; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  { name: 'csum_diff null with a negative size', progType: SCHED_CLS, src: 'r1 = 0; r2 = -1; r3 = r10; r3 += -8; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  { name: 'csum_diff null with a variable size', progType: SCHED_CLS, src: 'call 7; r2 = r0; r2 &= 7; r1 = 0; r3 = r10; r3 += -8; r4 = 0; r5 = 0; call 28; r0 = 0; exit' },
  { name: 'csum_diff null to with a negative size', progType: SCHED_CLS, src: 'r1 = r10; r1 += -8; r2 = 0; r3 = 0; r4 = -1; r5 = 0; call 28; r0 = 0; exit' },
  // kfunc memory arguments: bpf_dynptr_slice(p, offset, buffer__opt, buffer__szk) (check_kfunc_mem_size_reg())
  { name: 'slice into uninit stack', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -32; w4 = 8; call bpf_dynptr_slice; r0 = 0; exit` },
  { name: 'slice over a spilled scalar', progType: SCHED_CLS, src: `r7 = 5; *(u64 *)(r10 -32) = r7; ${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -32; w4 = 8; call bpf_dynptr_slice; r0 = *(u64 *)(r10 -32); r0 = 0; exit` },
  { name: 'slice over a spilled pointer', progType: SCHED_CLS, src: `*(u64 *)(r10 -32) = r1; ${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -32; w4 = 4; call bpf_dynptr_slice; r0 = 0; exit` },
  { name: 'slice buffer overlapping the dynptr', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -20; w4 = 8; call bpf_dynptr_slice; r0 = 0; exit` },
  { name: 'slice buffer past fp', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -4; w4 = 8; call bpf_dynptr_slice; r0 = 0; exit` },
  { name: 'slice NULL buffer', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = 0; w4 = 8; call bpf_dynptr_slice; r0 = 0; exit` },
  { name: 'slice NULL buffer, zero size', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = 0; w4 = 0; call bpf_dynptr_slice; r0 = 0; exit` },
  // the NULL buffer is marked precise before __szk is found not constant
  { name: 'slice NULL buffer, variable size', progType: SCHED_CLS, src: `${FROM_SKB}; call 7; r4 = r0; r1 = r10; r1 += -16; w2 = 0; r3 = 0; call bpf_dynptr_slice; r0 = 0; exit` },
  // check_kfunc_mem_size_reg() marks the size twice (read, write), then __szk is not constant
  { name: 'slice stack buffer, variable size', progType: SCHED_CLS, src: `${FROM_SKB}; call 7; r4 = r0; r4 &= 7; r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -32; call bpf_dynptr_slice; r0 = 0; exit` },
  { name: 'slice stack buffer, zero size', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = r10; r3 += -32; w4 = 0; call bpf_dynptr_slice; r0 = 0; exit` },
  { name: 'slice ctx buffer', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -16; w2 = 0; r3 = r6; w4 = 8; call bpf_dynptr_slice; r0 = 0; exit` },
  // the dynptr helpers: bpf_dynptr_read(dst: ARG_PTR_TO_UNINIT_MEM, len, src, offset, flags), bpf_dynptr_write(dst, offset, src: ARG_PTR_TO_MEM | MEM_RDONLY, len, flags)
  { name: 'dynptr_read into uninit stack', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -32; r2 = 8; r3 = r10; r3 += -16; r4 = 0; r5 = 0; call 201; r0 = *(u64 *)(r10 -32); r0 = 0; exit` },
  { name: 'dynptr_read over the dynptr', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -24; r2 = 16; r3 = r10; r3 += -16; r4 = 0; r5 = 0; call 201; r0 = 0; exit` },
  { name: 'dynptr_read with a variable length', progType: SCHED_CLS, src: `${FROM_SKB}; call 7; r2 = r0; r2 &= 7; r1 = r10; r1 += -32; r3 = r10; r3 += -16; r4 = 0; r5 = 0; call 201; r0 = 0; exit` },
  { name: 'dynptr_write from uninit stack', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -16; r2 = 0; r3 = r10; r3 += -32; r4 = 8; r5 = 0; call 202; r0 = 0; exit` },
  { name: 'dynptr_write from the dynptr', progType: SCHED_CLS, src: `${FROM_SKB}; r1 = r10; r1 += -16; r2 = 0; r3 = r10; r3 += -16; r4 = 8; r5 = 0; call 202; r0 = 0; exit` },
];

const KERNEL_KFUNC = /call (bpf_dynptr_from_skb|bpf_dynptr_slice)#\d+ */g;

/** The kernel's level-2 log, whole, kfuncs unnamed (the model's BTF ids are not vmlinux's). */
function modelled(log: string): string {
  return log.replace(KERNEL_KFUNC, 'call kfunc ');
}

const kernel = probeKernel('helper memory-argument comparison');

describe('helper memory arguments vs the running kernel', () => {
  for (const c of CASES) {
    it(c.name, async (ctx) => {
      if (kernel.why) ctx.skip();
      const k = await kernelLoad(asmWithKfuncs(c.src, kernel.vmlinuxId), c.progType, { logLevel: 2 });
      const r = verify({ insns: asmWithKfuncs(c.src, modelId), progType: c.progType, btfFuncInfo: false }, { logLevel: 2 });
      if (process.env.H2_PROBE) console.log(`${c.name}\n--- kernel (${k.ok})\n${modelled(k.log)}\n--- ours (${r.accepted})\n${r.log}`);
      expect(r.accepted).toBe(k.ok);
      const want = modelled(k.log);
      // the model's log names no kfunc (`kernel-function`) and its BTF ids are not vmlinux's
      expect(r.log.replace(/call kernel-function#\d+ */g, 'call kfunc ')).toBe(want);
    });
  }
});

// Map keys and values handed to helpers: the kernel's log prints map addresses,
// so verdicts and error lines are compared. The maps exist in the kernel (their
// fds go into the ld_imm64 instructions) and in the model with the same fds.
const HASH = 'r1 = map_hash ll';
const MAP_CASES: Case[] = [
  { name: 'lookup key on uninit stack', progType: SOCKET_FILTER, src: `r2 = r10; r2 += -8; ${HASH}; call 1; r0 = 0; exit` },
  { name: 'lookup key past fp', progType: SOCKET_FILTER, src: `r2 = r10; r2 += -4; ${HASH}; call 1; r0 = 0; exit` },
  { name: 'lookup key below the stack', progType: SOCKET_FILTER, src: `r2 = r10; r2 += -516; ${HASH}; call 1; r0 = 0; exit` },
  { name: 'lookup key in a dynptr', progType: SCHED_CLS, src: `${FROM_SKB}; r2 = r10; r2 += -16; ${HASH}; call 1; r0 = 0; exit` },
  { name: 'update value partly past fp', progType: SOCKET_FILTER, src: `r2 = r10; r2 += -8; r3 = r10; r3 += -8; r4 = 0; ${HASH}; call 2; r0 = 0; exit` },
  { name: 'load_bytes into a map value', progType: SOCKET_FILTER, src: `r6 = r1; r1 = 0; *(u64 *)(r10 -8) = r1; r2 = r10; r2 += -8; ${HASH}; call 1; if r0 == 0 goto +5; r1 = r6; r2 = 0; r3 = r0; r4 = 16; call 26; r0 = 0; exit` },
  { name: 'load_bytes past a map value', progType: SOCKET_FILTER, src: `r6 = r1; r1 = 0; *(u64 *)(r10 -8) = r1; r2 = r10; r2 += -8; ${HASH}; call 1; if r0 == 0 goto +5; r1 = r6; r2 = 0; r3 = r0; r4 = 17; call 26; r0 = 0; exit` },
  { name: 'load_bytes into a read-only map value', progType: SOCKET_FILTER, src: `r6 = r1; r1 = 0; *(u64 *)(r10 -8) = r1; r2 = r10; r2 += -8; r1 = map_ro ll; call 1; if r0 == 0 goto +5; r1 = r6; r2 = 0; r3 = r0; r4 = 8; call 26; r0 = 0; exit` },
  { name: 'trace_printk from a read-only map value', progType: SOCKET_FILTER, src: `r1 = 0; *(u64 *)(r10 -8) = r1; r2 = r10; r2 += -8; r1 = map_ro ll; call 1; if r0 == 0 goto +3; r1 = r0; r2 = 8; call 6; r0 = 0; exit` },
];

describe('map keys and values as helper memory vs the running kernel', () => {
  const maps: { name: string; fd: number; type: number; keySize: number; valueSize: number; maxEntries: number; rdonly?: boolean }[] = [];
  beforeAll(async () => {
    if (kernel.why) return;
    const { mapCreate } = await import('../../src/oracle/index.js');
    maps.push({ name: 'map_hash', type: 1, keySize: 8, valueSize: 16, maxEntries: 4, fd: await mapCreate({ mapType: 1, keySize: 8, valueSize: 16, maxEntries: 4 }) });
    // BPF_F_RDONLY_PROG: the program may only read the values
    maps.push({ name: 'map_ro', type: 2, keySize: 4, valueSize: 16, maxEntries: 1, rdonly: true, fd: await mapCreate({ mapType: 2, keySize: 4, valueSize: 16, maxEntries: 1, mapFlags: 1 << 7 }) });
  });
  afterAll(async () => {
    if (!maps.length) return;
    const { closeFd } = await import('../../src/oracle/index.js');
    for (const m of maps) await closeFd(m.fd);
  });
  const assemble = (src: string, id: (n: string) => number) => {
    const p = assembleKernel(src.replace(/;\s*/g, '\n'), { kfuncs: ['bpf_dynptr_from_skb'] });
    const insns = p.insns.slice();
    for (const r of p.relocations) {
      if (r.kind === 'kfunc') insns[r.index] = { ...insns[r.index], imm: id(r.symbol) };
      if (r.kind === 'map') insns[r.index] = { ...insns[r.index], imm: maps.find((m) => m.name === r.symbol)!.fd };
    }
    return insns;
  };
  for (const c of MAP_CASES) {
    it(c.name, async (ctx) => {
      if (kernel.why) ctx.skip();
      const k = await kernelLoad(assemble(c.src, kernel.vmlinuxId), c.progType, { logLevel: 1 });
      const r = verify({ insns: assemble(c.src, modelId), progType: c.progType, maps, btfFuncInfo: false }, { logLevel: 1 });
      if (process.env.H2_PROBE) console.log(`${c.name}: kernel ${k.ok} ${errorLine(k.log)} | ours ${r.accepted} ${r.error}`);
      expect(r.accepted).toBe(k.ok);
      if (!k.ok) expect(r.error).toBe(errorLine(k.log));
    });
  }
});
