// kfinline verify FILE.o [--prog NAME] [--log-level 0|1|2] [--btf model|none|FILE] [--json]
//   --btf: target BTF of the object's CO-RE relocations (default: the model kernel's)
// kfinline verify --cases FILE.jsonl [--json]
//
// Exit 0 when every selected program is accepted, 1 otherwise.

import { insnsFromHex } from '../isa/codec.js';
import { testVerifierProgFlags } from '../oracle/cases.js';
import { verify, type VerifyResult } from '../verifier/verify.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { readJsonlCases, toJson } from './files.js';
import type { Io } from './io.js';
import { loadPrograms, verifyInput } from './programs.js';

export function summary(prog: string, r: VerifyResult) {
  return {
    prog,
    accepted: r.accepted,
    error: r.error ?? null,
    processed: r.processed,
    states: r.totalStates,
    peak_states: r.peakStates,
    max_states_per_insn: r.maxStatesPerInsn,
    stack_depth: r.stackDepth.reduce((a, b) => a + b, 0),
    time_us: r.timeUs,
  };
}

export async function verifyCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['prog', 'log-level', 'cases', 'btf'] });
  const level = args.int('log-level', 0);
  if (level < 0 || level > 2) throw new KfError('--log-level must be 0, 1 or 2');
  const json = args.has('json');
  const cases = args.get('cases');
  if (cases) {
    let allOk = true;
    for (const c of readJsonlCases(cases)) {
      const descr = c.descr;
      try {
        const insns = insnsFromHex(c.insns ?? '');
        const r = verify({ insns, progType: c.prog_type ?? 0, flags: testVerifierProgFlags(c.flags ?? 0) }, { logLevel: level ? level : 1 });
        if (!r.accepted) allOk = false;
        io.out(toJson({ descr, accepted: r.accepted, error: r.error ?? null, processed: r.processed }));
      } catch (e) {
        if (!(e instanceof KfError)) throw e;
        allOk = false;
        io.out(toJson({ descr, accepted: false, error: e.message, processed: 0 }));
      }
    }
    return allOk ? 0 : 1;
  }
  const path = args.positional[0];
  if (!path) throw new KfError('verify: missing FILE.o (or --cases FILE.jsonl)');
  const { obj, programs } = loadPrograms(path, args.get('prog'), undefined, args.get('btf'));
  let allOk = true;
  for (const { prog, linked } of programs) {
    // with the object's BTF, func_info and line_info, as the kernel gets them: global functions verified on
    // their own, source lines in the log
    const r = verify(
      verifyInput(obj, prog, linked),
      { logLevel: level ? level | 4 : 4 },
    );
    if (!r.accepted) allOk = false;
    if (json) {
      io.out(toJson(summary(prog.name, r)));
      continue;
    }
    if (level > 0) io.out(r.log.trimEnd());
    else if (!r.accepted) io.out(r.log.trimEnd().split('\n').slice(-4).join('\n'));
    io.out(
      `${prog.name}: ${r.accepted ? 'accepted' : `REJECTED: ${r.error}`} (processed ${r.processed} insns, ${r.totalStates} states, peak ${r.peakStates}, stack depth ${r.stackDepth.join('+')})`,
    );
  }
  return allOk ? 0 : 1;
}
