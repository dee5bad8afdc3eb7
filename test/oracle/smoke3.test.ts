import { it } from 'vitest';
import { captureIo } from '../../src/cli/io.js';
import { oracleCommand } from '../../src/cli/cmd-oracle.js';
it('smoke', async () => {
  const io = captureIo();
  console.log(await oracleCommand(['examples/build/subprogs.bpf.o'], io));
  console.log(io.stdout.join('\n'), io.stderr.join('\n'));
  const io2 = captureIo();
  await oracleCommand(['--cases', '/work/shared/testsuites/kernel-verifier/legacy-6.12.jsonl'], io2);
  console.log(io2.stdout.slice(0,30).join('\n')); console.log(io2.stdout.at(-1));
});
