// Kernel benchmark: ns per run of a tc program in the running kernel
// (BPF_PROG_TEST_RUN, repeat N; the kernel times the loop and reports the
// mean). The RFC benchmark is examples/build/dynptr_slice.bpf.o: a dynptr
// over a 1000-byte skb and 100 bpf_dynptr_slice() calls per run.
// Run standalone: `npx tsc -p . && node dist/bench/kernel.js`.

import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { insn } from '../src/isa/insn.js';
import { loadObject } from '../src/object/index.js';
import { bpfAvailable, loadObjectProgram, loadRawProgram, mapLookupElem, testRun } from '../src/oracle/index.js';
import { examplesDir } from './paths.js';

export interface KernelRunOptions {
  /** Packet size in bytes (an Ethernet + IPv4 frame, zero payload). Default 1000. */
  readonly dataSize?: number;
  /** Runs per BPF_PROG_TEST_RUN. Default 100000. */
  readonly repeat?: number;
  /** BPF_PROG_TEST_RUN calls; the median is reported. Default 5. */
  readonly samples?: number;
}

export interface KernelRunResult {
  /** Median over samples of the kernel's mean ns per run. */
  readonly nsPerRun: number;
  readonly samples: number[];
  readonly retval: number;
  /** Values of the program's first global-data u64 (e.g. `hits`) before and after, when it has one. */
  readonly counter?: { before: bigint; after: bigint };
}

/** An Ethernet/IPv4/UDP frame of `size` bytes (at least 14, as the kernel wants for skb test runs). */
export function testPacket(size: number): Uint8Array {
  const p = new Uint8Array(Math.max(size, 14));
  p.fill(0x02, 0, 12); // MACs
  p[12] = 0x08; // ETH_P_IP
  if (p.length >= 34) {
    p[14] = 0x45;
    const ipLen = p.length - 14;
    p[16] = (ipLen >> 8) & 0xff;
    p[17] = ipLen & 0xff;
    p[22] = 64; // ttl
    p[23] = 17; // UDP
  }
  return p;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function readCounter(fd: number | undefined): Promise<bigint | undefined> {
  if (fd === undefined) return undefined;
  const v = await mapLookupElem(fd, new Uint8Array(4), 8);
  return v ? new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true) : undefined;
}

/** ns per run (median of samples) of `progName` of the object at `objPath`, by BPF_PROG_TEST_RUN. */
export async function kernelTestRun(objPath: string, progName: string, opts: KernelRunOptions = {}): Promise<number> {
  return (await kernelTestRunDetailed(objPath, progName, opts)).nsPerRun;
}

/** kernelTestRun() with the samples, the retval and the program's global counter. */
export async function kernelTestRunDetailed(objPath: string, progName: string, opts: KernelRunOptions = {}): Promise<KernelRunResult> {
  const data = testPacket(opts.dataSize ?? 1000);
  const repeat = opts.repeat ?? 100000;
  const n = opts.samples ?? 5;
  const obj = loadObject(new Uint8Array(readFileSync(objPath)), { objectName: 'bench' });
  const r = await loadObjectProgram(obj, progName, { keep: true, logLevel: 0 });
  try {
    if (!r.accepted) throw new Error(`${objPath}: ${progName} rejected by the kernel: ${r.error ?? `errno ${r.errno}`}`);
    const counterMap = r.maps.find((m) => m.map.kind === 'data' && m.map.valueSize >= 8 && !m.map.section.startsWith('.rodata'))?.fd;
    const before = await readCounter(counterMap);
    await testRun(r.fd, { data, repeat: Math.min(repeat, 1000) }); // warm up
    const samples: number[] = [];
    let retval = 0;
    for (let i = 0; i < n; i++) {
      const t = await testRun(r.fd, { data, repeat });
      samples.push(t.durationNs);
      retval = t.retval;
    }
    const after = await readCounter(counterMap);
    return { nsPerRun: median(samples), samples, retval, ...(before !== undefined && after !== undefined && { counter: { before, after } }) };
  } finally {
    await r.close();
  }
}

/** ns per run of `r0 = 0; exit` as a tc program: the test-run loop's own cost. */
export async function emptyTcRun(opts: KernelRunOptions = {}): Promise<number> {
  const data = testPacket(opts.dataSize ?? 1000);
  const r = await loadRawProgram([insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)], 3, { keep: true, logLevel: 0 });
  try {
    const samples: number[] = [];
    for (let i = 0; i < (opts.samples ?? 5); i++) samples.push((await testRun(r.fd, { data, repeat: opts.repeat ?? 100000 })).durationNs);
    return median(samples);
  } finally {
    await r.close();
  }
}


export async function runKernelBench(): Promise<string[]> {
  const why = await bpfAvailable();
  if (why) return [`kernel: skipped (bpf() unavailable: ${why})`];
  const obj = join(examplesDir(), 'dynptr_slice.bpf.o');
  if (!existsSync(obj)) return [`kernel: skipped (${obj} missing)`];
  const repeat = 100000;
  const calls = 100;
  const res = await kernelTestRunDetailed(obj, 'dynptr_slice_bench', { dataSize: 1000, repeat });
  const empty = await emptyTcRun({ dataSize: 1000, repeat });
  const f = (x: number, d = 1): string => x.toFixed(d);
  const lines = [
    `kernel dynptr_slice_bench: ${f(res.nsPerRun)} ns/run (median of ${res.samples.length} x ${repeat} runs: ${res.samples.join(' ')}), 1000-byte packet, retval ${res.retval}`,
    `kernel dynptr_slice_bench: ${f(res.nsPerRun / calls, 2)} ns per bpf_dynptr_slice call, ${f((calls * 1e3) / res.nsPerRun)} M calls/s ` +
      `(empty tc program ${f(empty)} ns/run; without it ${f(((res.nsPerRun - empty) / calls), 2)} ns/call, ${f((calls * 1e3) / Math.max(res.nsPerRun - empty, 1e-9))} M calls/s)`,
  ];
  if (res.counter) {
    const runs = res.counter.after - res.counter.before;
    lines.push(`kernel dynptr_slice_bench: hits counter +${runs} (${runs / BigInt(calls)} runs of ${calls} calls)`);
  }
  lines.push(`kernel: Linux ${release()}, load average ${f(loadavg()[0])} on ${cpus().length} cpus`);
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await runKernelBench()) console.log(line);
}
