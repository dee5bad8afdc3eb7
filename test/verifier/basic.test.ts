import { describe, expect, it } from 'vitest';
import { insnsFromHex } from '../../src/isa/codec.js';
import { verify } from '../../src/verifier/index.js';


describe('verify', () => {
  it('records reached instructions and taken edges', () => {
    const insns = insnsFromHex('b700000000000000' + '1501010000000000' + 'b700000001000000' + '9500000000000000');
    const r = verify({ insns, progType: 1 }, { logLevel: 2 });
    expect(r.accepted).toBe(true);
    expect([...r.reached]).toEqual([1, 1, 1, 1]);
    expect(r.edges[1]).toBe(3);
    expect(r.log).toContain('0: R1=ctx() R10=fp0');
    expect(r.log).toMatch(/processed \d+ insns/);
  });
  it('rejects reading an uninitialised register with the kernel wording', () => {
    const r = verify({ insns: insnsFromHex('bf20000000000000' + '9500000000000000'), progType: 1 }, { logLevel: 1 });
    expect(r.accepted).toBe(false);
    expect(r.error).toBe('R2 !read_ok');
  });
  it('prunes a never-taken edge of a constant comparison', () => {
    // r0 = 0; if r0 == 1 goto +1; exit; r0 = 1; exit
    const insns = insnsFromHex('b700000000000000' + '1500010001000000' + '9500000000000000' + 'b700000001000000' + '9500000000000000');
    const r = verify({ insns, progType: 1 });
    expect(r.accepted).toBe(true);
    expect(r.reached[3]).toBe(0);
    expect(r.edges[1]).toBe(1);
  });
});
