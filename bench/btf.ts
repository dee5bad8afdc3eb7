// BTF benchmark: parse + name index + one btf_find_by_name_kind() on the
// running kernel's /sys/kernel/btf/vmlinux, against `bpftool btf dump`.
//   npm run build && node dist/bench/btf.js

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { dumpRaw, parseBtf } from '../src/btf/index.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const WARMUP = 2;
const RUNS = 10;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function bpftoolDumpMs(): number | undefined {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = spawnSync('sh', ['-c', `bpftool btf dump file ${VMLINUX} > /dev/null`], { stdio: 'ignore' });
    const t1 = performance.now();
    if (r.status !== 0) return undefined;
    times.push(t1 - t0);
  }
  return median(times);
}

export async function runBtfBench(): Promise<string[]> {
  if (!existsSync(VMLINUX)) return [`btf vmlinux: skipped (${VMLINUX} missing)`];
  const bytes = readFileSync(VMLINUX);
  let id = -1;
  let types = 0;
  const times: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    const btf = parseBtf(bytes);
    id = btf.findByNameKind('bpf_dynptr_slice', 'FUNC');
    const t1 = performance.now();
    types = btf.count;
    if (i >= WARMUP) times.push(t1 - t0);
  }
  // our own raw dump of every type (decode + format), for comparison with bpftool's
  const d0 = performance.now();
  let lines = 0;
  for (const _ of dumpRaw(parseBtf(bytes))) lines++;
  const dumpMs = performance.now() - d0;
  const bt = bpftoolDumpMs();
  const f = (x: number): string => x.toFixed(1);
  return [
    `btf vmlinux: parse+index+lookup ${f(median(times))} ms (median of ${RUNS}, best ${f(Math.min(...times))}), ` +
      `bpftool btf dump ${bt === undefined ? 'n/a (bpftool missing)' : `${f(bt)} ms`}, types ${types}, id bpf_dynptr_slice=${id}`,
    `btf vmlinux: our raw dump ${f(dumpMs)} ms (${lines} lines, parse included); load average ${f(loadavg()[0])} on ${cpus().length} cpus`,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await runBtfBench()) console.log(line);
}
