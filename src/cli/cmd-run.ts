// kfinline run FILE.o [--prog NAME] [--data FILE | --data-hex HEX | --data-size N]
//              [--linear N] [--repeat N] [--engine interp|jit] [--btf model|none|FILE] [--json]
// kfinline run --cases FILE.jsonl [--engine interp|jit]
// Like BPF_PROG_TEST_RUN: data in, repeat N, return value, data out, mean time.

import { insnsFromHex } from '../isa/codec.js';
import { testRun } from '../vm/testrun.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { readInput, readJsonlCases, toJson } from './files.js';
import type { Io } from './io.js';
import { kernelFor, loadPrograms } from './programs.js';

function hexBytes(s: string, what: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 || /[^0-9a-fA-F]/.test(clean)) throw new KfError(`${what}: not an even-length hex string`);
  const b = new Uint8Array(clean.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(clean.substr(i * 2, 2), 16);
  return b;
}

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['prog', 'data', 'data-hex', 'data-size', 'repeat', 'engine', 'cases', 'linear', 'btf'] });
  const engine = args.get('engine') ?? 'interp';
  if (engine !== 'interp' && engine !== 'jit') throw new KfError('--engine must be interp or jit');
  const repeat = args.int('repeat', 1);
  const cases = args.get('cases');
  if (cases) {
    for (const c of readJsonlCases(cases)) {
      const descr = c.descr;
      try {
        const insns = insnsFromHex(c.insns ?? '');
        const data = c.data ? hexBytes(c.data, 'data') : new Uint8Array(64);
        const pt = c.prog_type === 0 || c.prog_type === undefined ? 1 : c.prog_type;
        const r = testRun(insns, { progType: pt, data, engine, repeat });
        io.out(toJson({ descr, retval: r.retval }));
      } catch (e) {
        if (!(e instanceof KfError)) throw e;
        io.out(toJson({ descr, error: e.message }));
      }
    }
    return 0;
  }
  const path = args.positional[0];
  if (!path) throw new KfError('run: missing FILE.o (or --cases FILE.jsonl)');
  let data: Uint8Array;
  if (args.get('data')) data = readInput(args.get('data')!);
  else if (args.get('data-hex')) data = hexBytes(args.get('data-hex')!, '--data-hex');
  else data = new Uint8Array(args.int('data-size', 64));
  const { programs } = loadPrograms(path, args.get('prog'), undefined, args.get('btf'));
  if (programs.length > 1 && !args.get('prog')) throw new KfError(`run: the object has ${programs.length} programs; choose one with --prog`);
  const { prog, linked } = programs[0];
  const kernel = kernelFor(linked);
  const linear = args.get('linear') ? args.int('linear', data.length) : undefined;
  const r = testRun(linked.insns, {
    progType: linked.progType,
    data,
    kernel,
    engine,
    repeat,
    ...(linear !== undefined && linear < data.length && { nonLinear: { linearLen: linear } }),
  });
  const out = { prog: prog.name, retval: r.retval, duration_ns: Math.round(r.durationNs * 10) / 10, repeat, engine, data_out: Buffer.from(r.dataOut).toString('hex') };
  if (args.has('json')) io.out(toJson(out));
  else io.out(`${prog.name}: retval ${r.retval} (0x${r.retval.toString(16)}), ${out.duration_ns} ns/run over ${repeat} runs (${engine})`);
  return 0;
}
