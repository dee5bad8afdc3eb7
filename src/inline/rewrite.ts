// After verification: replace each verified instance's call site by its body,
// with per-instance dead code removed (unless disabled), and report per site
// what happened. Works only from the facts (src/inline/facts.ts); never calls
// the verifier.

import type { Insn } from '../isa/insn.js';
import { removeDeadCode } from './dce.js';
import { sliceFacts, type InsnFacts } from './facts.js';
import type { WithInstances } from './instances.js';
import { applyPatches } from './patch.js';
import { liveCalleeSavedAfter, liveIn } from './liveness.js';
import { spliceBody } from './splice.js';
import type { SiteCandidate } from './profit.js';

export interface SiteReport {
  readonly site: number;
  readonly kfunc: string;
  readonly inlined: boolean;
  /** Why not, when not inlined. */
  readonly reason?: string;
  /** Body size before and after dead-code removal. */
  readonly insnsBefore: number;
  readonly insnsAfterDce: number;
  readonly branchesFolded: number;
  readonly spilled: number[];
  readonly stackAdded: number;
  /** Slots that replace the call in the rewritten program (0 when not inlined). */
  readonly replacedBy: number;
}

export interface RewriteOptions {
  /** Remove per-instance dead code (default true). */
  readonly dce?: boolean;
  /** Stack depth in bytes of the subprogram containing slot `site`. */
  readonly callerDepth: (site: number) => number;
  /**
   * 'used' (the RFC): spill every r6..r9 the body uses; 'live' (default):
   * only those live after the call — fewer instructions, and no spill of a
   * register the caller never set (which the kernel's verifier rejects).
   */
  readonly spill?: 'used' | 'live';
  /**
   * Decide per site whether to inline, given what inlining it would do
   * (default: always). Return true, or the reason not to.
   */
  readonly want?: (c: SiteCandidate) => true | string;
}

export interface Rewritten {
  readonly insns: Insn[];
  /** Old slot of the original program → new slot (length progLen+1). */
  readonly map: Int32Array;
  readonly sites: SiteReport[];
  /** Extra stack per call site's subprogram: max over its inlined sites, keyed by site. */
  readonly stackAddedAt: Map<number, number>;
}

export function rewriteInstances(w: WithInstances, facts: InsnFacts, opts: RewriteOptions): Rewritten {
  const prog = w.insns.slice(0, w.progLen);
  const patches = new Map<number, Insn[]>();
  const sites: SiteReport[] = [];
  const stackAddedAt = new Map<number, number>();
  const dce = opts.dce ?? true;
  const live = (opts.spill ?? 'live') === 'live' ? liveIn(prog) : undefined;
  for (const inst of w.instances) {
    const body = w.insns.slice(inst.start, inst.start + inst.len);
    const base = { site: inst.site, kfunc: inst.kfunc, insnsBefore: inst.len };
    const no = (reason: string, after = inst.len, folded = 0): void => {
      sites.push({ ...base, inlined: false, reason, insnsAfterDce: after, branchesFolded: folded, spilled: [], stackAdded: 0, replacedBy: 0 });
    };
    if (!facts.reached[inst.site]) {
      no('call site never reached');
      continue;
    }
    if (!facts.reached[inst.start]) {
      no('instance was not verified');
      continue;
    }
    let afterBody = body;
    let folded = 0;
    if (dce) {
      const d = removeDeadCode(body, sliceFacts(facts, inst.start, inst.len));
      afterBody = d.insns;
      folded = d.branchesFolded;
    }
    const s = spliceBody(afterBody, opts.callerDepth(inst.site), live && liveCalleeSavedAfter(live, inst.site));
    if (!s.ok) {
      no(s.reason, afterBody.length, folded);
      continue;
    }
    if (opts.want) {
      let reached = 0;
      for (let k = inst.start; k < inst.start + inst.len; k++) if (facts.reached[k]) reached++;
      const want = opts.want({ site: inst.site, kfunc: inst.kfunc, insnsBefore: inst.len, insnsAfterDce: afterBody.length, branchesFolded: folded, spilled: s.spilled, stackAdded: s.stackAdded, reached });
      if (want !== true) {
        no(want, afterBody.length, folded);
        continue;
      }
    }
    patches.set(inst.site, s.insns);
    stackAddedAt.set(inst.site, s.stackAdded);
    sites.push({
      ...base,
      inlined: true,
      insnsAfterDce: afterBody.length,
      branchesFolded: folded,
      spilled: s.spilled,
      stackAdded: s.stackAdded,
      replacedBy: s.insns.length,
    });
  }
  const p = applyPatches(prog, patches);
  return { insns: p.insns, map: p.map, sites, stackAddedAt };
}
