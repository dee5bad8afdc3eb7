// kfinline inline FILE.o [--prog NAME] [--kfuncs LIB.o] [--mode isolated] [--no-dce]
//                        [--dump xlated|llvm] [--btf model|none|FILE] [-o OUT.o] [--json]
//
// -o OUT.o writes the whole object: every selected program (all of them, or
// --prog's) inlined, the others unchanged (rewriteObject's multi-program form).
// A program in which some inlined body would call a kernel function the
// object does not declare (e.g. skb_copy_bits in bpf_dynptr_slice's copy
// path) keeps all its calls; the report gives each site's reason.

import { writeFileSync } from 'node:fs';
import { dumpXlated } from '../isa/disasm-kernel.js';
import { rewriteObject, unchangedProgram, type RewrittenProgram } from '../object/rewrite-object.js';
import { objdumpLines } from '../isa/disasm-llvm.js';
import type { Insn } from '../isa/insn.js';
import { Class, JmpOp, PseudoCall } from '../isa/opcode.js';
import type { BpfObject } from '../object/types.js';
import { defaultKfuncLibrary, loadKfuncLibrary, type KfuncLibrary } from '../inline/library.js';
import { callIdOf, inlineProgram, type InlineResult } from '../inline/pipeline.js';
import { modelBtfFromObject } from '../kernel/layout.js';
import { modelObject } from '../kernel/model-blob.js';
import { KfError, withContext } from '../util/errors.js';
import { decide, type SiteCandidate } from '../inline/profit.js';
import { policyOf } from './cmd-explain.js';
import { parseArgs } from './args.js';
import { readInput, toJson } from './files.js';
import type { Io } from './io.js';
import { loadPrograms, modelKfuncIds, verifyInput } from './programs.js';

export function loadLibrary(path: string | undefined): KfuncLibrary {
  if (!path) return defaultKfuncLibrary();
  return loadKfuncLibrary(readInput(path), modelBtfFromObject(modelObject()));
}

/** Names of kfuncs by model BTF id (and by the call id of `lib`'s own kfuncs), for disassembly and -o. */
export function kfuncNamer(lib?: KfuncLibrary): (btfId: number) => string | undefined {
  const byId = new Map<number, string>();
  for (const [n, id] of modelKfuncIds()) byId.set(id, n);
  if (lib) for (const [n, b] of lib.bodies) if (!byId.has(callIdOf(b))) byId.set(callIdOf(b), n);
  return (id) => byId.get(id);
}

export function xlatedText(insns: readonly Insn[]): string {
  const name = kfuncNamer();
  return dumpXlated(insns, { kfuncName: (id) => name(id) }).trimEnd();
}

/**
 * Inlined sites of `r` whose body calls a kernel function that is not a
 * kfunc extern of `obj` (a kernel internal, or a kfunc the object does not
 * declare): rewriteObject() cannot write such a call, since libbpf resolves
 * only the object's own externs. Site → the reason it is not inlined.
 */
function unwritableSites(obj: BpfObject, r: InlineResult, kfuncName: (id: number) => string | undefined): Map<number, string> {
  const externs = new Set(obj.externs.filter((e) => e.kind === 'kfunc').map((e) => e.name));
  const out = new Map<number, string>();
  for (const s of r.sites) {
    if (!s.inlined) continue;
    const start = r.map[s.site];
    for (let j = start; j < start + s.replacedBy; j++) {
      const x = r.insns[j];
      if (x.code !== (Class.JMP | JmpOp.CALL) || x.src !== PseudoCall.KFUNC_CALL) continue;
      const name = kfuncName(x.imm) ?? modelBtfName(x.imm);
      if (name && externs.has(name)) continue;
      out.set(s.site, `-o: the body calls kernel function ${name ? `"${name}"` : `with BTF id ${x.imm}`}, which is no kfunc extern of the object`);
      break;
    }
  }
  return out;
}

/** Name of a model BTF type (a kernel internal that bodies call), for messages. */
function modelBtfName(id: number): string | undefined {
  try {
    return modelBtfFromObject(modelObject()).nameOf(id) || undefined;
  } catch {
    return undefined;
  }
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
  const written = new Map<string, RewrittenProgram>();
  let inlinedSites = 0;
  const kfuncName = output ? kfuncNamer(lib) : undefined;
  let ok = true;
  const policyWant =
    policy === 'always'
      ? undefined
      : (c: SiteCandidate) => {
          const d = decide(c, policy);
          return d.inline ? true : d.reason;
        };
  for (const { prog, linked } of programs) {
    const inlineWith = (want: ((c: SiteCandidate) => true | string) | undefined) =>
      inlineProgram(verifyInput(obj, prog, linked), lib, {
        mode,
        dce: !args.has('no-dce'),
        logLevel: args.int('log-level', 0),
        spill,
        ...(want && { want }),
      });
    let r = inlineWith(policyWant);
    if (output) {
      // An object can only name the kernel functions it declares: a site
      // whose body calls another one stays a call. Then every site of the
      // program does: the running kernel checks a remaining call against the
      // typed state (a dynptr, an iterator) that only the calls it replaced
      // create, and refuses plain stores and loads of that state ("Expected
      // an initialized dynptr as arg #0", tried on Linux 6.18).
      const bad = unwritableSites(obj, r, kfuncName!);
      if (bad.size) {
        const [site, why] = [...bad][0];
        const first = r.sites.find((s) => s.site === site)!;
        r = inlineWith((c) => bad.get(c.site) ?? `-o: call site insn ${site} (${first.kfunc}) stays a call (${why.replace(/^-o: /, '')}), so every call site of the program does`);
      }
    }
    if (!r.reverified.accepted) ok = false;
    if (output) written.set(prog.name, { name: prog.name, insns: r.insns, map: r.map, kfuncName });
    if (output) inlinedSites += r.sites.filter((x) => x.inlined).length;
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
  if (output) {
    // The whole object: programs not selected with --prog are written as they are.
    const all = obj.programs.map((p) => written.get(p.name) ?? unchangedProgram(p));
    writeFileSync(output, withContext(`writing ${output}`, () => rewriteObject(obj, all)));
    if (inlinedSites)
      // the in-kernel RFC inlines after verification and ctx conversion; an object cannot say which loads are the body's
      io.err(
        `inline: note: ${output} holds ${inlinedSites} inlined kfunc bod${inlinedSites === 1 ? 'y' : 'ies'}, which read kernel structs ` +
          '(struct sk_buff, xdp_buff) through the ctx pointer. Whoever loads the object (the kernel, kfinline run/verify) takes those loads ' +
          'for __sk_buff/xdp_md field accesses and rewrites them, so it loads but does not compute what the inlined program computes: ' +
          `read and diff it; to run the inlined program: kfinline run ${path} --inline.`,
      );
  }
  return ok ? 0 : 1;
}
