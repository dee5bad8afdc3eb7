import { describe, expect, it } from 'vitest';
import { CALL_COST, decide, type SiteCandidate } from '../../src/inline/profit.js';

const base: SiteCandidate = { site: 3, kfunc: 'k', insnsBefore: 20, insnsAfterDce: 10, branchesFolded: 0, spilled: [], stackAdded: 0, reached: 10 };

describe('the inlining cost model', () => {
  it('inlines a small body with no spills', () => {
    expect(decide(base).inline).toBe(true);
  });
  it('keeps the call for a huge body that folds nothing', () => {
    const d = decide({ ...base, insnsAfterDce: 48 + 16 * (CALL_COST + 1), reached: 500 });
    expect(d.inline).toBe(false);
    expect(d.reason).toMatch(/not profitable/);
  });
  it('folded branches pay for spills', () => {
    const spilly = { ...base, spilled: [6, 7, 8, 9], insnsAfterDce: 48 + 16 };
    expect(decide(spilly).inline).toBe(false);
    expect(decide({ ...spilly, branchesFolded: 2 }).inline).toBe(true);
  });
  it('always and never override the model and still say why', () => {
    const big = { ...base, insnsAfterDce: 5000 };
    expect(decide(big, 'always').inline).toBe(true);
    expect(decide(base, 'never').inline).toBe(false);
    expect(decide(base, 'never').reason).toMatch(/by request/);
  });
});
