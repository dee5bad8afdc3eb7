// kfinline bench dynptr-slice [--json] [--repeat N] [--runs N] [--no-kernel]
// The RFC benchmark: 100 bpf_dynptr_slice() calls over a 1000-byte skb, in M
// calls/s, not inlined (kfunc bodies as wasm functions), inlined, inlined with
// dead code removed (JIT), and the running kernel through BPF_PROG_TEST_RUN.

import { formatDynptrSliceBench, runDynptrSliceBench } from '../../bench/dynptr-slice.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { toJson } from './files.js';
import type { Io } from './io.js';

const BENCHES = ['dynptr-slice'];

export async function benchCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['repeat', 'runs', 'prog'], flags: ['no-kernel', 'no-native'] });
  const which = args.positional[0];
  if (!which) throw new KfError(`bench: name a benchmark (${BENCHES.join(', ')})`);
  if (!BENCHES.includes(which)) throw new KfError(`bench: unknown benchmark "${which}" (known: ${BENCHES.join(', ')})`);
  if (args.positional.length > 2) throw new KfError(`bench: unexpected argument "${args.positional[2]}"`);
  const repeat = args.int('repeat', 15);
  const runs = args.int('runs', 5000);
  if (repeat < 1 || repeat > 10000) throw new KfError(`bench: --repeat must be between 1 and 10000, not ${repeat}`);
  if (runs < 1 || runs > 100_000_000) throw new KfError(`bench: --runs must be between 1 and 100000000, not ${runs}`);
  const object = args.positional[1];
  const r = await runDynptrSliceBench({
    repeat,
    runs,
    kernel: !args.has('no-kernel'),
    native: !args.has('no-native'),
    ...(object && { object }),
    ...(args.get('prog') && { prog: args.get('prog') }),
  });
  if (args.has('json')) io.out(toJson(r));
  else for (const l of formatDynptrSliceBench(r)) io.out(l);
  return r.consistent ? 0 : 1;
}
