// Profitability: should this call site be inlined? A small, explicit cost
// model in "instruction equivalents", computed from what the rewrite knows
// after dead code removal and a trial splice:
//
//   benefit = CALL_COST                  a call and return, argument moves
//           + FOLD_GAIN * folded         each conditional jump proven one-way
//   cost    = SPILL_COST * spills        a spill and a fill per saved register
//           + growth(body)               code growth beyond a small body
//           + verify(reached)            instructions the verifier walks in the instance
//
// inline when benefit >= cost. The constants are first estimates, to be
// calibrated against `kfinline bench dynptr-slice` (where a non-inlined kfunc
// call costs several simple instructions in the JIT); they are deliberately
// few and visible so that `kfinline explain` can show the arithmetic.

export const CALL_COST = 8;
export const FOLD_GAIN = 2;
export const SPILL_COST = 2;
/** Bodies up to this many instructions cost nothing in code growth. */
export const SMALL_BODY = 48;
/** Beyond SMALL_BODY, one instruction equivalent per this many instructions. */
export const GROWTH_DIVISOR = 16;
/** Verification: one instruction equivalent per this many instance instructions walked. */
export const VERIFY_DIVISOR = 200;

export interface SiteCandidate {
  readonly site: number;
  readonly kfunc: string;
  readonly insnsBefore: number;
  readonly insnsAfterDce: number;
  readonly branchesFolded: number;
  readonly spilled: readonly number[];
  readonly stackAdded: number;
  /** Instance instructions some path reached. */
  readonly reached: number;
}

export type InlinePolicy = 'always' | 'never' | 'auto';

export interface Decision {
  readonly inline: boolean;
  readonly benefit: number;
  readonly cost: number;
  readonly reason: string;
}

export function decide(c: SiteCandidate, policy: InlinePolicy = 'auto'): Decision {
  const benefit = CALL_COST + FOLD_GAIN * c.branchesFolded;
  const growth = Math.max(0, c.insnsAfterDce - SMALL_BODY) / GROWTH_DIVISOR;
  const verifyCost = c.reached / VERIFY_DIVISOR;
  const cost = SPILL_COST * c.spilled.length + growth + verifyCost;
  const fmt = (x: number): string => (Math.round(x * 10) / 10).toString();
  const why = `benefit ${fmt(benefit)} (call ${CALL_COST} + ${c.branchesFolded} folded x ${FOLD_GAIN}) vs cost ${fmt(cost)} (${c.spilled.length} spills x ${SPILL_COST} + growth ${fmt(growth)} for ${c.insnsAfterDce} insns + verification ${fmt(verifyCost)})`;
  if (policy === 'always') return { inline: true, benefit, cost, reason: `forced (${why})` };
  if (policy === 'never') return { inline: false, benefit, cost, reason: `not inlining by request (${why})` };
  return benefit >= cost ? { inline: true, benefit, cost, reason: why } : { inline: false, benefit, cost, reason: `not profitable: ${why}` };
}
