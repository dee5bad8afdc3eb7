// kfinline explain FILE.o [--prog NAME] [--kfuncs LIB.o] [--policy auto|always|never] [--no-dce] [--json]
// Each kfunc call site's inlining decision and the reason for it.

import pc from 'picocolors';
import { findHelperSites } from '../inline/helper-sites.js';
import { inlineProgram } from '../inline/pipeline.js';
import { decide, type Decision, type InlinePolicy } from '../inline/profit.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { loadLibrary } from './cmd-inline.js';
import { toJson } from './files.js';
import type { Io } from './io.js';
import { loadPrograms, verifyInput } from './programs.js';

export function policyOf(s: string | undefined, dflt: InlinePolicy): InlinePolicy {
  const p = s ?? dflt;
  if (p !== 'auto' && p !== 'always' && p !== 'never') throw new KfError(`--policy must be auto, always or never, not "${p}"`);
  return p;
}

export async function explainCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['prog', 'kfuncs', 'policy'], flags: ['no-dce'] });
  const path = args.positional[0];
  if (!path) throw new KfError('explain: missing FILE.o');
  const policy = policyOf(args.get('policy'), 'auto');
  const lib = loadLibrary(args.get('kfuncs'));
  const { obj, programs } = loadPrograms(path, args.get('prog'));
  for (const { prog, linked } of programs) {
    // helper calls with inlinable bodies (hash-map lookups, bpf_dynptr_read/write) are sites too
    const helperSites = findHelperSites(linked.insns, linked.maps, lib);
    if (linked.kfuncCalls.length === 0 && helperSites.size === 0) {
      if (!args.has('json')) io.out(`${prog.name}: no kfunc calls`);
      else io.out(toJson({ prog: prog.name, sites: [] }));
      continue;
    }
    const decisions = new Map<number, Decision>();
    const r = inlineProgram(verifyInput(obj, prog, linked), lib, {
      dce: !args.has('no-dce'),
      want: (c) => {
        const d = decide(c, policy);
        decisions.set(c.site, d);
        return d.inline ? true : d.reason;
      },
    });
    const inlinable = new Set(r.sites.map((s) => s.site));
    const calls = [...linked.kfuncCalls.map((c) => ({ index: c.index, name: c.name })), ...[...helperSites].map(([index, h]) => ({ index, name: h.name }))].sort((a, b) => a.index - b.index);
    const rows = calls.map((call) => {
      const s = r.sites.find((x) => x.site === call.index);
      const d = decisions.get(call.index);
      if (!inlinable.has(call.index) || !s) return { site: call.index, kfunc: call.name, inline: false, reason: 'no inlinable body in the library' };
      const h = helperSites.get(s.site);
      return {
        site: s.site,
        kfunc: s.kfunc,
        ...(h && { helper: h.helper, ...(h.map && { map: h.map.name, value_off: h.map.valueOff }) }),
        inline: s.inlined,
        reason: s.inlined ? d?.reason ?? 'inlined' : s.reason ?? '',
        insns_after_dce: s.insnsAfterDce,
        branches_folded: s.branchesFolded,
        spilled: s.spilled.map((x) => `r${x}`),
        benefit: d?.benefit ?? null,
        cost: d?.cost ?? null,
      };
    });
    if (args.has('json')) {
      io.out(toJson({ prog: prog.name, policy, sites: rows }));
      continue;
    }
    io.out(`${prog.name}: policy ${policy}`);
    for (const x of rows) {
      const h = helperSites.get(x.site);
      const what = h ? `helper ${h.helper} as ${x.kfunc}${h.map ? ` (map ${h.map.name}, value at +${h.map.valueOff})` : ''}` : x.kfunc;
      io.out(`  insn ${x.site}: ${what}: ${x.inline ? pc.green('inline') : pc.yellow('keep the call')}: ${x.reason}`);
    }
  }
  return 0;
}
