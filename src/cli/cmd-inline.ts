// kfinline inline FILE.o [--prog NAME] [--kfuncs LIB.o] [--mode isolated] [--no-dce]
//                        [--dump xlated|llvm] [--btf model|none|FILE] [--json]

import { writeFileSync } from 'node:fs';
import { dumpXlated } from '../isa/disasm-kernel.js';
import { rewriteObject } from '../object/rewrite-object.js';
import { objdumpLines } from '../isa/disasm-llvm.js';
import type { Insn } from '../isa/insn.js';
import { defaultKfuncLibrary, loadKfuncLibrary, type KfuncLibrary } from '../inline/library.js';
import { callIdOf, inlineProgram, type InlineResult } from '../inline/pipeline.js';
import { modelBtfFromObject } from '../kernel/layout.js';
import { modelObject } from '../kernel/model-blob.js';
import { KfError } from '../util/errors.js';
import { decide, type SiteCandidate } from '../inline/profit.js';
import { policyOf } from './cmd-explain.js';
import { parseArgs } from './args.js';
import { readInput, toJson } from './files.js';
import type { Io } from './io.js';
import { loadPrograms, modelKfuncIds } from './programs.js';

export function loadLibrary(path: string | undefined): KfuncLibrary {
  if (!path) return defaultKfuncLibrary();
  return loadKfuncLibrary(readInput(path), modelBtfFromObject(modelObject()));
}

/** Names of kfuncs by model BTF id, for disassembly. */
export function kfuncNamer(): (btfId: number) => string | undefined {
  const byId = new Map<number, string>();
  for (const [n, id] of modelKfuncIds()) byId.set(id, n);
  return (id) => byId.get(id);
}

export function xlatedText(insns: readonly Insn[]): string {
  const name = kfuncNamer();
  return dumpXlated(insns, { kfuncName: (id) => name(id) }).trimEnd();
}

export function siteJson(r: InlineResult) {
  return r.sites.map((s) => ({
    site: s.site,
    kfunc: s.kfunc,
    inlined: s.inlined,
    reason: s.reason ?? null,
    insns_before: s.insnsBefore,
    insns_after_dce: s.insnsAfterDce,
    branches_folded: s.branchesFolded,
    spilled: s.spilled.map((r) => `r${r}`),
    stack_added: s.stackAdded,
  }));
}

export async function inlineCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['prog', 'kfuncs', 'mode', 'dump', 'output', 'log-level', 'policy', 'spill', 'btf'], flags: ['no-dce'], aliases: { o: 'output' } });
  const policy = policyOf(args.get('policy'), 'always');
  const spill = args.get('spill') ?? 'live';
  if (spill !== 'live' && spill !== 'used') throw new KfError('--spill must be live or used (the RFC rule)');
  const path = args.positional[0];
  if (!path) throw new KfError('inline: missing FILE.o');
  const mode = args.get('mode') ?? 'isolated';
  if (mode !== 'isolated' && mode !== 'non-isolated') throw new KfError(`inline: --mode must be isolated or non-isolated, not "${mode}"`);
  const dump = args.get('dump');
  if (dump !== undefined && dump !== 'xlated' && dump !== 'llvm') throw new KfError('--dump must be xlated or llvm');
  const output = args.get('output');
  const lib = loadLibrary(args.get('kfuncs'));
  const { obj, programs } = loadPrograms(path, args.get('prog'), (n) => {
    const b = lib.bodies.get(n);
    return b ? callIdOf(b) : undefined;
  }, args.get('btf'));
  if (output && programs.length !== 1) throw new KfError(`inline: -o writes one program; the object has ${programs.length} (choose one with --prog)`);
  let ok = true;
  for (const { prog, linked } of programs) {
    const r = inlineProgram({ insns: linked.insns, progType: linked.progType, maps: linked.maps }, lib, {
      mode,
      dce: !args.has('no-dce'),
      logLevel: args.int('log-level', 0),
      spill,
      ...(policy !== 'always' && {
        want: (c: SiteCandidate) => {
          const d = decide(c, policy);
          return d.inline ? true : d.reason;
        },
      }),
    });
    if (!r.reverified.accepted) ok = false;
    if (output) writeFileSync(output, rewriteObject(obj, prog.name, r.insns, r.map, { kfuncName: kfuncNamer() }));
    if (args.has('json')) {
      io.out(
        toJson({
          prog: prog.name,
          mode,
          dce: !args.has('no-dce'),
          insns_before: linked.insns.length,
          insns_after: r.insns.length,
          processed: r.verified.processed,
          states: r.verified.totalStates,
          reverified: { accepted: r.reverified.accepted, error: r.reverified.error ?? null, processed: r.reverified.processed },
          sites: siteJson(r),
          ...(dump && { insns: dump === 'xlated' ? xlatedText(r.insns).split('\n') : objdumpLines(r.insns, { showRaw: false }) }),
        }),
      );
      continue;
    }
    const inl = r.sites.filter((s) => s.inlined).length;
    io.out(`${prog.name}: ${inl} of ${r.sites.length} call sites inlined, ${linked.insns.length} -> ${r.insns.length} insns`);
    for (const s of r.sites) {
      io.out(
        `  insn ${s.site}: ${s.kfunc}: ${s.inlined ? `inlined, body ${s.insnsBefore} -> ${s.insnsAfterDce} insns, ${s.branchesFolded} branches folded${s.spilled.length ? `, spilled ${s.spilled.map((x) => `r${x}`).join(',')}` : ''}${s.stackAdded ? `, +${s.stackAdded} bytes stack` : ''}` : `not inlined: ${s.reason}`}`,
      );
    }
    if (!r.reverified.accepted) io.out(`  the rewritten program does not verify: ${r.reverified.error}`);
    if (dump === 'xlated') io.out(xlatedText(r.insns));
    else if (dump === 'llvm') io.out(objdumpLines(r.insns, { showRaw: false }).join('\n'));
  }
  return ok ? 0 : 1;
}
