// Verifier benchmark: kfinline's verification time against the running
// kernel's own `verification time N usec` (BPF_LOG_STATS), on the example
// objects and a long bounded loop, plus the processed-instruction counts of
// both. Run standalone: `npx tsc -p . && node dist/bench/verifier.js`.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { insn, type Insn } from '../src/isa/insn.js';
import { ModelKernel } from '../src/kernel/model.js';
import { linkProgram } from '../src/kernel/link.js';
import { loadObject } from '../src/object/index.js';
import { verify, type VerifyProgram } from '../src/verifier/index.js';
import { AddressSpace } from '../src/vm/memory.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLES = join(ROOT, 'examples', 'build');

/**
 * A bounded loop of `n` iterations whose counter the verifier must track
 * exactly (every iteration is a new state): the kernel's classic
 * "long loop" verification load.
 */
export function longLoopProgram(n: number): Insn[] {
  return [
    insn(0xb7, 0, 0, 0, 0), // r0 = 0
    insn(0xb7, 1, 0, 0, 0), // r1 = 0
    // loop:
    insn(0xbf, 2, 1, 0, 0), // r2 = r1
    insn(0x57, 2, 0, 0, 7), // r2 &= 7
    insn(0x15, 2, 0, 2, 3), // if r2 == 3 goto +2
    insn(0x0f, 0, 2, 0, 0), // r0 += r2
    insn(0x05, 0, 0, 1, 0), // goto +1
    insn(0x1f, 0, 2, 0, 0), // r0 -= r2
    insn(0xaf, 0, 1, 0, 0), // r0 ^= r1
    insn(0x07, 1, 0, 0, 1), // r1 += 1
    insn(0xa5, 1, 0, -9, n), // if r1 < n goto loop
    insn(0x57, 0, 0, 0, 1), // r0 &= 1
    insn(0x95, 0, 0, 0, 0), // exit
  ];
}

interface Case {
  name: string;
  prog: VerifyProgram;
  /** Kernel load: verification time (usec) and processed count, or why not. */
  kernel: () => Promise<{ us: number; processed: number } | string>;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/**
 * Our time: the median of `runs` (at least) verifications in steady state.
 * The warm-up runs the program until V8 has optimised the verifier's hot
 * functions (about 300 ms or 500 runs): the kernel's verifier is native code,
 * so a cold JavaScript JIT would measure the JIT, not the verifier.
 */
function ours(p: VerifyProgram, runs: number): { us: number; processed: number; accepted: boolean; firstUs: number } {
  let t0 = performance.now();
  let r = verify(p);
  const firstUs = (performance.now() - t0) * 1000;
  const warm = performance.now();
  for (let i = 0; i < 500 && performance.now() - warm < 300; i++) r = verify(p);
  const ts: number[] = [];
  const start = performance.now();
  for (let i = 0; i < runs || (i < 200 && performance.now() - start < 200); i++) {
    t0 = performance.now();
    r = verify(p);
    ts.push((performance.now() - t0) * 1000);
  }
  return { us: median(ts), processed: r.processed, accepted: r.accepted, firstUs };
}

async function cases(): Promise<Case[]> {
  const oracle = await import('../src/oracle/index.js');
  const why = await oracle.bpfAvailable();
  const out: Case[] = [];
  const kfuncIds = new ModelKernel(new AddressSpace()).kfuncIds;
  const kernelRuns = 5;
  for (const f of readdirSync(EXAMPLES).filter((x) => x.endsWith('.o')).sort()) {
    const obj = loadObject(new Uint8Array(readFileSync(join(EXAMPLES, f))), { objectName: f.replace(/\.bpf\.o$/, '') });
    for (const p of obj.programs) {
      const l = linkProgram(obj, p, (n) => kfuncIds.get(n));
      out.push({
        name: `${f.replace(/\.bpf\.o$/, '')}/${p.name}`,
        // with the object's BTF, func_info and line_info, as the kernel loads it (global functions verified apart)
        prog: { insns: l.insns, progType: l.progType, maps: l.maps, ...(obj.btf && { btf: obj.btf, funcInfo: p.funcInfo, lineInfo: p.lineInfo }) },
        kernel: async () => {
          if (why) return why;
          const ts: number[] = [];
          let processed = 0;
          for (let i = 0; i < kernelRuns; i++) {
            // level 1 + stats: an accepted program's level-1 log holds only the statistics
            const k = await oracle.loadObjectProgram(obj, p, { logLevel: 1, stats: true });
            if (!k.accepted) return `kernel rejects: ${oracle.errorLine(k.log)}`;
            const s = oracle.parseLogStats(k.log);
            ts.push(s.verificationTimeUs ?? NaN);
            processed = s.processed ?? 0;
          }
          return { us: median(ts), processed };
        },
      });
    }
  }
  const loop = longLoopProgram(4000);
  out.push({
    name: 'long loop (4000 iterations)',
    prog: { insns: loop, progType: 1 },
    kernel: async () => {
      if (why) return why;
      const ts: number[] = [];
      let processed = 0;
      for (let i = 0; i < kernelRuns; i++) {
        // BPF_LOG_STATS alone: statistics without log text
        const k = await oracle.progLoad({ progType: 1, insns: loop, license: 'GPL', logLevel: oracle.BPF_LOG_STATS });
        if (k.fd < 0) return `kernel rejects: ${oracle.errorLine(k.log)}`;
        await oracle.closeFd(k.fd);
        const s = oracle.parseLogStats(k.log);
        ts.push(s.verificationTimeUs ?? NaN);
        processed = s.processed ?? 0;
      }
      return { us: median(ts), processed };
    },
  });
  return out;
}

export async function runVerifierBench(): Promise<string[]> {
  const lines: string[] = [];
  const pad = (s: string, n: number): string => s.padEnd(n);
  lines.push(`${pad('program', 36)} ${pad('ours us', 10)} ${pad('kernel us', 10)} ${pad('ratio', 7)} ${pad('1st run us', 11)} processed ours/kernel`);
  let sumOurs = 0, sumKernel = 0;
  for (const c of await cases()) {
    const o = ours(c.prog, c.prog.insns.length > 100 ? 5 : 21);
    const k = await c.kernel();
    if (typeof k === 'string') {
      lines.push(`${pad(c.name, 36)} ${pad(o.us.toFixed(0), 10)} ${pad('-', 10)} ${pad('-', 7)} ${pad(o.firstUs.toFixed(0), 11)} ${o.processed}/- (${k})`);
      continue;
    }
    sumOurs += o.us;
    sumKernel += k.us;
    const verdict = o.accepted ? '' : ' (ours REJECTS)';
    lines.push(`${pad(c.name, 36)} ${pad(o.us.toFixed(0), 10)} ${pad(String(k.us), 10)} ${pad((o.us / k.us).toFixed(2) + 'x', 7)} ${pad(o.firstUs.toFixed(0), 11)} ${o.processed}/${k.processed}${verdict}`);
  }
  lines.push('ours: median in steady state (V8 warmed up on the program); 1st run: its first verification in this process');
  if (sumKernel) lines.push(`total: ours ${sumOurs.toFixed(0)} us, kernel ${sumKernel} us: ${(sumOurs / sumKernel).toFixed(2)}x the kernel's verification time`);
  return lines;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  void runVerifierBench().then((ls) => {
    for (const l of ls) process.stdout.write(l + '\n');
  });
}
