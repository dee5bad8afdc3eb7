import fc from 'fast-check';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeInsns, insnsFromHex } from '../../src/isa/codec.js';
import { disasmLlvm, objdumpLines } from '../../src/isa/disasm-llvm.js';
import { insn } from '../../src/isa/insn.js';
import { programArb } from './gen.js';
import { HAVE_LLVM, MISSING_LLVM, assemble, objdumpOfInsns, objdumpText, textBytes, withTmp } from './llvm-tools.js';

const FIX = join(import.meta.dirname, 'fixtures');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const MODES = [
  { name: 'default', flags: [] as string[], alu32: false, golden: 'forms.objdump.txt' },
  { name: 'alu32', flags: ['--mattr=+alu32'], alu32: true, golden: 'forms.objdump-alu32.txt' },
];

function readGolden(name: string): string[] {
  return readFileSync(join(FIX, name), 'utf8').split('\n').filter((l) => l.length > 0);
}

describe('llvm syntax on the forms.s fixture', () => {
  it.skipIf(!HAVE_LLVM)(`golden files match llvm-objdump-19 (${MISSING_LLVM || 'tools present'})`, () => {
    withTmp((dir) => {
      const o = join(dir, 'forms.o');
      assemble(join(FIX, 'forms.s'), o);
      const hex = Buffer.from(textBytes(o, dir)).toString('hex');
      if (UPDATE) writeFileSync(join(FIX, 'forms.text.hex'), hex.replace(/(.{16})/g, '$1\n'));
      expect(readFileSync(join(FIX, 'forms.text.hex'), 'utf8').replace(/\s+/g, '')).toBe(hex);
      for (const m of MODES) {
        const lines = objdumpText(o, m.flags);
        if (UPDATE) writeFileSync(join(FIX, m.golden), lines.join('\n') + '\n');
        expect(lines).toEqual(readGolden(m.golden));
      }
    });
  });

  for (const m of MODES) {
    it(`objdumpLines equals llvm-objdump-19 -d ${m.flags.join(' ')} (golden, ${m.name})`, () => {
      const insns = insnsFromHex(readFileSync(join(FIX, 'forms.text.hex'), 'utf8'));
      const want = readGolden(m.golden);
      expect(want.length).toBeGreaterThan(100);
      expect(objdumpLines(insns, { alu32: m.alu32, symbol: 'forms' })).toEqual(want);
    });
  }

  it('without raw bytes and with a base index', () => {
    const insns = [insn(0x61, 2, 6, 0, 0), insn(0x18, 1, 0, 0, 1), insn(0, 0, 0, 0, 2), insn(0x05, 0, 0, -2, 0)];
    expect(objdumpLines(insns, { showRaw: false, baseIndex: 12, symbol: 'f' })).toEqual([
      '      12:\tr2 = *(u32 *)(r6 + 0x0)',
      '      13:\tr1 = 0x200000001 ll',
      '      15:\tgoto -0x2 <f+0x70>',
    ]);
    expect(objdumpLines(insns)[0]).toBe('       0:\t61 62 00 00 00 00 00 00\tr2 = *(u32 *)(r6 + 0x0)');
    expect(disasmLlvm(insns, 2)).toBe('<unknown>');
    expect(disasmLlvm([insn(0xff, 0, 0, 0, 0)], 0)).toBe('<unknown>');
  });
});

describe('llvm syntax on random valid programs', () => {
  for (const m of MODES) {
    it.skipIf(!HAVE_LLVM)(`matches llvm-objdump-19 ${m.flags.join(' ')} line for line (${m.name}) ${MISSING_LLVM}`, () => {
      const progs = fc.sample(programArb(50, { acqRel: false }), { numRuns: 400 });
      const all = progs.flat();
      const want = objdumpOfInsns(all, m.flags);
      const got = objdumpLines(all, { alu32: m.alu32, symbol: '.text' });
      expect(got.length).toBe(want.length);
      for (let k = 0; k < got.length; k++) if (got[k] !== want[k]) expect(got[k]).toBe(want[k]);
    });
  }
});

describe('disasmLlvm never throws', () => {
  it('on random slots', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }).map((b) => b.slice(0, b.length - (b.length % 8))), (b) => {
        const insns = decodeInsns(b);
        for (let i = 0; i < insns.length; i++) expect(typeof disasmLlvm(insns, i)).toBe('string');
        objdumpLines(insns, { symbol: 's' });
      }),
    );
  });
  it('fixture exists', () => expect(existsSync(join(FIX, 'forms.s'))).toBe(true));
});
