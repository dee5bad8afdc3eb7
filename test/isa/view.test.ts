import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInsns, encodeInsns } from '../../src/isa/codec.js';
import { insn, type Insn } from '../../src/isa/insn.js';
import {
  JMP_OPCODES,
  callTarget,
  describeInsn,
  describeProgram,
  isCondJump,
  isJump,
  isLdImm64,
  jumpTarget,
  readsRegs,
  slotCount,
  tryDescribeInsn,
  writesRegs,
  type InsnView,
} from '../../src/isa/view.js';
import { KfError } from '../../src/util/errors.js';
import { programArb } from './gen.js';

const ALU_CODE: Record<string, number> = { add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, sdiv: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70, neg: 0x80, mod: 0x90, smod: 0x90, xor: 0xa0, mov: 0xb0, movsx: 0xb0, arsh: 0xc0 };
const SIZE: Record<number, number> = { 4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18 };
const ATOMIC: Record<string, number> = { add: 0x00, or: 0x40, and: 0x50, xor: 0xa0, xchg: 0xe1, cmpxchg: 0xf1, load_acq: 0x100, store_rel: 0x110 };

/** Re-encodes a slot from its view alone (test oracle: the view loses nothing). */
function encodeView(v: InsnView): Insn {
  switch (v.kind) {
    case 'alu': {
      const code = (v.is64 ? 0x07 : 0x04) | ALU_CODE[v.op] | (v.source === 'reg' ? 8 : 0);
      const off = v.op === 'sdiv' || v.op === 'smod' ? 1 : (v.movsxBits ?? 0);
      return insn(code, v.dst, v.source === 'reg' ? v.srcReg : 0, off, v.source === 'imm' ? v.imm : 0);
    }
    case 'endian':
      return insn(v.to === 'swap' ? 0xd7 : v.to === 'be' ? 0xdc : 0xd4, v.dst, 0, 0, v.bits);
    case 'ld_imm64':
      return insn(0x18, v.dst, v.pseudo, 0, v.lo);
    case 'ld_imm64_hi':
      return insn(0, 0, 0, 0, v.insn.imm);
    case 'ld_abs':
      return insn(0x20 | SIZE[v.size], 0, 0, 0, v.imm);
    case 'ld_ind':
      return insn(0x40 | SIZE[v.size], 0, v.srcReg, 0, v.imm);
    case 'ldx':
      return insn((v.signExtend ? 0x81 : 0x61) | SIZE[v.size], v.dst, v.srcReg, v.off, 0);
    case 'st':
      return insn(0x62 | SIZE[v.size], v.dst, 0, v.off, v.imm);
    case 'stx':
      return insn(0x63 | SIZE[v.size], v.dst, v.srcReg, v.off, 0);
    case 'atomic':
      return insn(0xc3 | SIZE[v.size], v.dst, v.srcReg, v.off, ATOMIC[v.op] | (v.fetch && v.op !== 'xchg' && v.op !== 'cmpxchg' ? 1 : 0));
    case 'ja':
      return v.long ? insn(0x06, 0, 0, 0, v.offset) : insn(0x05, 0, 0, v.offset, 0);
    case 'may_goto':
      return insn(0xe5, 0, 0, v.offset, 0);
    case 'jcond':
      return insn((v.is32 ? 0x06 : 0x05) | JMP_OPCODES[v.op] | (v.source === 'reg' ? 8 : 0), v.dst, v.source === 'reg' ? v.srcReg : 0, v.offset, v.source === 'imm' ? v.imm : 0);
    case 'call':
      return insn(0x85, 0, { helper: 0, local: 1, kfunc: 2 }[v.callKind], v.off, v.imm);
    case 'exit':
      return insn(0x95, 0, 0, 0, 0);
  }
}

describe('round trips', () => {
  it('valid programs: view -> encode -> decode -> view', () => {
    fc.assert(
      fc.property(programArb(30), (p) => {
        const views = describeProgram(p);
        const again = decodeInsns(encodeInsns(views.map(encodeView)));
        expect(again).toEqual(p);
        expect(describeProgram(again).map((v) => v.kind)).toEqual(views.map((v) => v.kind));
      }),
      { numRuns: 1000 },
    );
  });

  it('raw random 8-byte slots', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }).map((b) => b.slice(0, b.length - (b.length % 8))), (b) => {
        expect(encodeInsns(decodeInsns(b))).toEqual(b);
        const insns = decodeInsns(b);
        for (let i = 0; i < insns.length; i++) {
          const v = tryDescribeInsn(insns, i);
          if (typeof v === 'string') expect(() => describeInsn(insns, i)).toThrow(KfError);
          else expect(describeInsn(insns, i)).toEqual(v);
          readsRegs(insns, i);
          writesRegs(insns, i);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('describeInsn', () => {
  const I = insn;
  it('decodes v4 forms', () => {
    expect(describeInsn([I(0x3f, 1, 2, 1, 0)], 0)).toMatchObject({ kind: 'alu', op: 'sdiv', is64: true, source: 'reg', srcReg: 2 });
    expect(describeInsn([I(0xbc, 1, 2, 16, 0)], 0)).toMatchObject({ kind: 'alu', op: 'movsx', is64: false, movsxBits: 16 });
    expect(describeInsn([I(0xd7, 3, 0, 0, 32)], 0)).toMatchObject({ kind: 'endian', to: 'swap', bits: 32, dst: 3 });
    expect(describeInsn([I(0x91, 1, 2, -4, 0)], 0)).toMatchObject({ kind: 'ldx', size: 1, signExtend: true, off: -4 });
    expect(describeInsn([I(0x06, 0, 0, 0, 5)], 0)).toMatchObject({ kind: 'ja', long: true, offset: 5, target: 6 });
    expect(describeInsn([I(0xe5, 0, 0, -1, 0)], 0)).toMatchObject({ kind: 'may_goto', target: 0 });
    expect(describeInsn([I(0xcb, 1, 2, 0, 0x100)], 0)).toMatchObject({ kind: 'atomic', op: 'load_acq', size: 2, fetch: false });
    expect(describeInsn([I(0xdb, 1, 2, 0, 0xf1)], 0)).toMatchObject({ kind: 'atomic', op: 'cmpxchg', fetch: true });
    expect(() => describeInsn([I(0xbf, 1, 2, 8, 0)], 0, { allowV4: false })).toThrow('instruction 0: movsx needs cpu v4');
  });

  it('lddw and its second slot', () => {
    const p = [I(0x18, 1, 2, 0, -1), I(0, 0, 0, 0, 0x11223344)];
    expect(describeInsn(p, 0)).toMatchObject({ kind: 'ld_imm64', pseudo: 2, imm64: 0x11223344ffffffffn, lo: -1, hi: 0x11223344 });
    expect(describeInsn(p, 1)).toMatchObject({ kind: 'ld_imm64_hi', first: 0 });
    // a run of 0x18 opcodes alternates first/second slots
    const run = [I(0x18, 1, 0, 0, 0), I(0x18, 0, 0, 0, 0), I(0x18, 1, 0, 0, 0), I(0, 0, 0, 0, 0)];
    expect(describeProgram(run).map((v) => v.kind)).toEqual(['ld_imm64', 'ld_imm64_hi', 'ld_imm64', 'ld_imm64_hi']);
    expect(() => describeInsn([I(0x18, 1, 0, 0, 0)], 0)).toThrow('instruction 0: lddw is missing its second slot');
    expect(() => describeInsn(p, 2)).toThrow(KfError);
  });

  it('calls', () => {
    expect(describeInsn([I(0x85, 0, 0, 0, 1)], 0)).toMatchObject({ kind: 'call', callKind: 'helper', imm: 1 });
    expect(describeInsn([I(0x85, 0, 1, 0, 3)], 0)).toMatchObject({ kind: 'call', callKind: 'local', target: 4 });
    expect(describeInsn([I(0x85, 0, 2, 7, 1234)], 0)).toMatchObject({ kind: 'call', callKind: 'kfunc', imm: 1234, off: 7 });
  });
});

describe('helpers', () => {
  const I = insn;
  it('slots, jumps and targets', () => {
    const p = [I(0x18, 1, 0, 0, 0), I(0, 0, 0, 0, 0), I(0x15, 1, 0, -3, 0), I(0x06, 0, 0, 0, -4), I(0x85, 0, 1, 0, -5), I(0x95, 0, 0, 0, 0)];
    expect(slotCount(p[0])).toBe(2);
    expect(slotCount(p[2])).toBe(1);
    expect(isLdImm64(p[0])).toBe(true);
    expect(p.map(isJump)).toEqual([false, false, true, true, false, false]);
    expect(p.map(isCondJump)).toEqual([false, false, true, false, false, false]);
    expect(isCondJump(I(0xe5, 0, 0, 0, 0))).toBe(true);
    expect(p.map((_, i) => jumpTarget(p, i))).toEqual([undefined, undefined, 0, 0, undefined, undefined]);
    expect(callTarget(p, 4)).toBe(0);
    expect(callTarget([I(0x18, 1, 4, 0, 2), I(0, 0, 0, 0, 0)], 0)).toBe(3);
  });

  it('register reads and writes', () => {
    const one = (x: Insn): [number[], number[]] => [readsRegs([x], 0), writesRegs([x], 0)];
    expect(one(I(0x0f, 1, 2, 0, 0))).toEqual([[1, 2], [1]]); // r1 += r2
    expect(one(I(0xbf, 1, 2, 0, 0))).toEqual([[2], [1]]); // r1 = r2
    expect(one(I(0xb7, 1, 0, 0, 7))).toEqual([[], [1]]);
    expect(one(I(0x61, 3, 10, -4, 0))).toEqual([[10], [3]]);
    expect(one(I(0x7b, 10, 3, -8, 0))).toEqual([[3, 10], []]);
    expect(one(I(0xdb, 1, 2, 0, 0x01))).toEqual([[1, 2], [2]]); // fetch add
    expect(one(I(0xdb, 1, 2, 0, 0x00))).toEqual([[1, 2], []]);
    expect(one(I(0xdb, 1, 2, 0, 0xf1))).toEqual([[0, 1, 2], [0]]); // cmpxchg
    expect(one(I(0xdb, 1, 2, 0, 0x100))).toEqual([[2], [1]]); // load-acquire
    expect(one(I(0x85, 0, 0, 0, 1))).toEqual([[1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]]);
    expect(one(I(0x95, 0, 0, 0, 0))).toEqual([[0], []]);
    expect(one(I(0x50, 0, 7, 0, 0))).toEqual([[6, 7], [0, 1, 2, 3, 4, 5]]);
    expect(one(I(0x5d, 1, 2, 0, 0))).toEqual([[1, 2], []]);
    expect(one(I(0xff, 1, 2, 0, 0))).toEqual([[], []]);
  });
});
