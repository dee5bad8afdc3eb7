// npm run bench: every benchmark, measured side by side in one run.
// Each part returns its lines; a part whose prerequisites are missing (no
// bpftool, no bpf()) says so in its own lines instead of failing the run.

type Part = { name: string; load: () => Promise<() => Promise<string[]>> };

const parts: Part[] = [
  { name: 'btf', load: async () => (await import('./btf.js')).runBtfBench },
  { name: 'vm', load: async () => (await import('./vm.js')).runVmBench },
  { name: 'verifier', load: async () => (await import('./verifier.js')).runVerifierBench },
  { name: 'kernel', load: async () => (await import('./kernel.js')).runKernelBench },
  { name: 'dynptr-slice', load: async () => (await import('./dynptr-slice.js')).runDynptrSliceBenchLines },
];

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  for (const p of parts) {
    if (only.length && !only.includes(p.name)) continue;
    process.stdout.write(`== ${p.name}\n`);
    try {
      const fn = await p.load();
      for (const line of await fn()) process.stdout.write(line + '\n');
    } catch (e) {
      process.stdout.write(`${p.name}: failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  }
}

void main();
