// The backtracking state's per-frame stack mask (precision.ts Backtrack):
// kept as two 32-bit halves, it must behave as the kernel's u64 mask.
import { describe, it, expect } from 'vitest';
import { Backtrack } from '../../src/verifier/precision.js';
import { KfError } from '../../src/util/errors.js';

describe('Backtrack stack mask', () => {
  it('sets, tests and clears slots in both halves like a u64', () => {
    const bt = new Backtrack();
    expect(bt.empty()).toBe(true);
    let want = 0n;
    for (const spi of [0, 5, 31, 32, 40, 63]) {
      bt.setSlot(1, spi);
      want |= 1n << BigInt(spi);
      expect(bt.stackMask(1)).toBe(want);
    }
    bt.frame = 1;
    expect(bt.empty()).toBe(false);
    expect(bt.stackAny(0)).toBe(false);
    expect(bt.stackEnd(1)).toBe(64);
    for (let spi = 0; spi < 64; spi++) expect(bt.isSlot(1, spi)).toBe(((want >> BigInt(spi)) & 1n) === 1n);
    bt.clearSlot(1, 63);
    bt.clearSlot(1, 40);
    expect(bt.stackEnd(1)).toBe(33);
    bt.clearSlot(1, 32);
    expect(bt.stackEnd(1)).toBe(32);
    expect(bt.stackMask(1)).toBe((1n << 31n) | (1n << 5n) | 1n);
    bt.reset();
    expect(bt.empty()).toBe(true);
    expect(bt.stackMask(1)).toBe(0n);
  });
  it('names a slot outside the 512-byte stack', () => {
    const bt = new Backtrack();
    expect(() => bt.setSlot(0, 64)).toThrow(KfError);
    expect(() => bt.setSlot(0, -1)).toThrow(/stack slot -1/);
    expect(bt.isSlot(0, 64)).toBe(false);
  });
});
