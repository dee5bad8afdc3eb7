// kfinline run FILE.o [--prog NAME] [--data FILE | --data-hex HEX | --data-size N]
//              [--linear N] [--repeat N] [--engine interp|jit] [--btf model|none|FILE]
//              [--inline [--kfuncs LIB.o] [--mode isolated|non-isolated]] [--json]
// --inline runs the program with its kfunc calls inlined (what `kfinline inline`
// prints), ctx accesses of the program converted and the bodies' own loads left
// alone, as in the kernel RFC (an object written by `inline -o` cannot say which is which).
// kfinline run --cases FILE.jsonl [--engine interp|jit]
// Like BPF_PROG_TEST_RUN: data in, repeat N, return value, data out, mean time.

import { insnsFromHex } from '../isa/codec.js';
import { testRun } from '../vm/testrun.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { readInput, readJsonlCases, toJson } from './files.js';
import type { Io } from './io.js';
import { kernelFor, loadPrograms, verifyInput } from './programs.js';
import { callIdOf, inlineProgram } from '../inline/pipeline.js';
import { loadLibrary } from './cmd-inline.js';

function hexBytes(s: string, what: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 || /[^0-9a-fA-F]/.test(clean)) throw new KfError(`${what}: not an even-length hex string`);
  const b = new Uint8Array(clean.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(clean.substr(i * 2, 2), 16);
  return b;
}

export async function runCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['prog', 'data', 'data-hex', 'data-size', 'repeat', 'engine', 'cases', 'linear', 'btf', 'kfuncs', 'mode'], flags: ['inline'] });
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
  const inline = args.has('inline');
  if (!inline && (args.get('kfuncs') || args.get('mode'))) throw new KfError('run: --kfuncs and --mode go with --inline');
  const lib = inline ? loadLibrary(args.get('kfuncs')) : undefined;
  const extraKfunc = lib && ((n: string) => {
    const b = lib.bodies.get(n);
    return b ? callIdOf(b) : undefined;
  });
  const { obj, programs } = loadPrograms(path, args.get('prog'), extraKfunc, args.get('btf'));
  if (programs.length > 1 && !args.get('prog')) throw new KfError(`run: the object has ${programs.length} programs; choose one with --prog`);
  const { prog, linked } = programs[0];
  const kernel = kernelFor(linked);
  const linear = args.get('linear') ? args.int('linear', data.length) : undefined;
  let insns = linked.insns;
  let ctxPcs: ReadonlySet<number> | undefined;
  let sites = '';
  if (lib) {
    const mode = args.get('mode') ?? 'isolated';
    if (mode !== 'isolated' && mode !== 'non-isolated') throw new KfError(`run: --mode must be isolated or non-isolated, not "${mode}"`);
    const inl = inlineProgram(verifyInput(obj, prog, linked), lib, { mode });
    if (!inl.reverified.accepted) throw new KfError(`run --inline: program "${prog.name}": the inlined program does not verify: ${inl.reverified.error}`);
    insns = inl.insns;
    ctxPcs = inl.ctxPcs;
    sites = `, ${inl.sites.filter((s) => s.inlined).length}/${inl.sites.length} call sites inlined`;
  }
  const r = testRun(insns, {
    progType: linked.progType,
    ...(ctxPcs && { ctxPcs }),
    data,
    kernel,
    engine,
    repeat,
    ...(linear !== undefined && linear < data.length && { nonLinear: { linearLen: linear } }),
  });
  // the maps after the run, as `bpftool map dump` would list them (non-zero array slots, every hash element)
  const maps = Object.fromEntries(
    kernel.maps.all.map((m) => [m.name, Object.fromEntries(m.entries().filter(([, v]) => v.some((b) => b !== 0) || m.spec.type === 'hash').map(([k, v]) => [k, Buffer.from(v).toString('hex')]))]),
  );
  const out = { prog: prog.name, retval: r.retval, duration_ns: Math.round(r.durationNs * 10) / 10, repeat, engine, inlined: inline, data_out: Buffer.from(r.dataOut).toString('hex'), maps };
  if (args.has('json')) io.out(toJson(out));
  else io.out(`${prog.name}: retval ${r.retval} (0x${r.retval.toString(16)}), ${out.duration_ns} ns/run over ${repeat} runs (${engine}${sites})`);
  return 0;
}
