import { describe, expect, it } from 'vitest';
import { insn } from '../../src/isa/insn.js';
import { compileProgram } from '../../src/vm/jit/jit.js';
import { Bytes } from '../../src/vm/jit/wasm-encoder.js';
import { interpreter } from '../../src/vm/interp.js';
import { jit } from '../../src/vm/jit/jit.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { emptyEnv } from '../../src/vm/env.js';
import { KfError } from '../../src/util/errors.js';

describe('wasm encoder', () => {
  it('encodes LEB128 like the spec examples', () => {
    const hex = (b: Bytes): string => Buffer.from(b.result()).toString('hex');
    expect(hex(new Bytes().uleb(624485))).toBe('e58e26');
    expect(hex(new Bytes().sleb32(-123456))).toBe('c0bb78');
    expect(hex(new Bytes().sleb64(-1n))).toBe('7f');
    expect(hex(new Bytes().sleb64(63n))).toBe('3f');
    expect(hex(new Bytes().sleb64(64n))).toBe('c000');
    expect(hex(new Bytes().sleb64(-(1n << 63n)))).toBe('8080808080808080807f');
  });
});

describe('jit control flow', () => {
  it('runs an irreducible loop through the br_table dispatcher', () => {
    const p = [
      insn(0xb7, 0, 0, 0, 0),
      insn(0xb7, 2, 0, 0, 5),
      insn(0x55, 1, 0, 3, 0), // if r1 != 0 goto C (6)
      insn(0x07, 0, 0, 0, 1), // B
      insn(0x07, 2, 0, 0, -1),
      insn(0x15, 2, 0, 3, 0), // if r2 == 0 goto exit
      insn(0x07, 0, 0, 0, 10), // C
      insn(0x07, 2, 0, 0, -1),
      insn(0x55, 2, 0, -6, 0), // if r2 != 0 goto B
      insn(0x95, 0, 0, 0, 0),
    ];
    expect(compileProgram({ insns: p }).info.dispatched).toBe(1);
    for (const [r1, want] of [[0n, 23n], [1n, 32n]] as const) {
      for (const e of [interpreter, jit]) {
        const ex = e.load({ insns: p }, emptyEnv, new AddressSpace());
        expect(ex.run(r1)).toBe(want);
      }
    }
  });

  it('structures reducible programs without the dispatcher and caches compilation', () => {
    const p = [insn(0xb7, 0, 0, 0, 3), insn(0x07, 0, 0, 0, -1), insn(0x55, 0, 0, -2, 0), insn(0x95, 0, 0, 0, 0)];
    const c = compileProgram({ insns: p });
    expect(c.info.dispatched).toBe(0);
    expect(compileProgram({ insns: p })).toBe(c);
  });

  it('rejects malformed control flow with KfError', () => {
    expect(() => jit.load({ insns: [insn(0x05, 0, 0, 5, 0), insn(0x95, 0, 0, 0, 0)] }, emptyEnv, new AddressSpace())).toThrow(KfError);
    expect(() => jit.load({ insns: [insn(0x18, 0, 0, 0, 0)] }, emptyEnv, new AddressSpace())).toThrow(/missing its second slot/);
    expect(() =>
      jit.load({ insns: [insn(0x05, 0, 0, 1, 0), insn(0x18, 0, 0, 0, 0), insn(0, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)] }, emptyEnv, new AddressSpace()),
    ).toThrow(/middle of ld_imm64/);
    expect(() => jit.load({ insns: [] }, emptyEnv, new AddressSpace())).toThrow(KfError);
  });
});
