import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeInsns } from '../../src/isa/codec.js';
import { insn, type Insn } from '../../src/isa/insn.js';
import { checkInsns, validateInsns } from '../../src/isa/validate.js';
import { KfError } from '../../src/util/errors.js';
import { programArb } from './gen.js';

const SUITES = '/work/shared/testsuites';
const NEG = join(SUITES, 'bpf_conformance/negative');
const UBPF_ERR = join(SUITES, 'ubpf/tests/errors');

/** The `-- raw` section of a conformance/uBPF data file: "04 10 00 .." rows or "0x<u64>" rows. */
function rawSection(text: string): Insn[] | undefined {
  const m = /-- raw\n([\s\S]*?)(?:\n--|$)/.exec(text);
  if (!m) return undefined;
  const bytes: number[] = [];
  for (const line of m[1].split('\n').map((l) => l.trim()).filter(Boolean)) {
    if (line.startsWith('0x')) {
      let v = BigInt(line);
      for (let k = 0; k < 8; k++, v >>= 8n) bytes.push(Number(v & 0xffn));
    } else bytes.push(...line.split(/\s+/).map((h) => parseInt(h, 16)));
  }
  return decodeInsns(new Uint8Array(bytes));
}

const listDir = (d: string): string[] => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};
const unusedCases = listDir(NEG).filter((f) => f.startsWith('unused-'));

describe('bpf_conformance negative unused-* cases', () => {
  it.skipIf(unusedCases.length === 0)(`are all present (${NEG})`, () => expect(unusedCases.length).toBeGreaterThan(40));
  for (const f of unusedCases) {
    it(f, () => {
      const insns = rawSection(readFileSync(join(NEG, f), 'utf8'));
      expect(insns).toBeDefined();
      // unused-<op>-<field>.data: the field that must be zero
      const field = /-(src|dst|imm|offset)\.data$/.exec(f)![1];
      const name = { src: 'src_reg', dst: 'dst_reg', imm: 'imm', offset: 'off' }[field];
      expect(() => validateInsns(insns!)).toThrow(new RegExp(`^instruction 0: reserved field ${name} must be 0 in `));
    });
  }
});

describe('uBPF load-time error cases with raw bytes', () => {
  const expected: Record<string, RegExp> = {
    'err-endian-size.data': /^instruction 0: invalid byte swap width 48/,
    'err-incomplete-lddw.data': /^instruction 1: lddw second slot must have opcode 0, not 0x95/,
    'err-incomplete-lddw2.data': /^instruction 1: lddw second slot must have opcode 0/,
    'err-lddw-second-half-invalid-all.data': /^instruction 1: reserved field dst_reg must be 0 in lddw second slot/,
    'err-lddw-second-half-invalid-dst-offset.data': /^instruction 1: reserved field dst_reg must be 0 in lddw second slot/,
    'err-lddw-second-half-invalid-offset.data': /^instruction 1: reserved field off must be 0 in lddw second slot/,
    'err-lddw-second-half-invalid-src-offset.data': /^instruction 1: reserved field src_reg must be 0 in lddw second slot/,
    'err-lddw-second-half-invalid-src.data': /^instruction 1: reserved field src_reg must be 0 in lddw second slot/,
    'err-lddw-second-half-invalid.data': /^instruction 1: reserved field dst_reg must be 0 in lddw second slot/,
    // 0x06 is gotol since cpu v4; uBPF (v3) does not know it
    'err-unknown-opcode.data': /^instruction 0: gotol needs cpu v4/,
  };
  for (const [f, re] of Object.entries(expected)) {
    it.skipIf(listDir(UBPF_ERR).length === 0)(f, () => {
      const insns = rawSection(readFileSync(join(UBPF_ERR, f), 'utf8'))!;
      expect(checkInsns(insns, { allowV4: false })).toMatch(re);
    });
  }
});

describe('validateInsns', () => {
  const I = insn;
  const exit = I(0x95, 0, 0, 0, 0);
  const cases: [string, Insn[], string][] = [
    ['unknown opcode', [I(0x8f, 0, 0, 0, 0), exit], 'instruction 0: unknown opcode 0x8f'],
    ['unknown opcode in position', [exit, exit, exit, I(0x8f, 0, 0, 0, 0)], 'instruction 3: unknown opcode 0x8f'],
    ['second slot alone', [I(0x00, 0, 0, 0, 0), exit], 'instruction 0: unknown opcode 0x00'],
    ['invalid register', [I(0xb7, 12, 0, 0, 0), exit], 'instruction 0: invalid register r12'],
    ['invalid src register', [I(0x0f, 1, 11, 0, 0), exit], 'instruction 0: invalid register r11'],
    ['lddw at the end', [exit, I(0x18, 1, 0, 0, 0)], 'instruction 1: lddw is missing its second slot'],
    ['reserved src', [exit, exit, I(0x07, 1, 1, 0, 0), exit], 'instruction 2: reserved field src_reg must be 0 in add64 with immediate'],
    ['reserved imm', [I(0x0f, 1, 2, 0, 3), exit], 'instruction 0: reserved field imm must be 0 in add64 with register'],
    ['off of div', [I(0x37, 1, 0, 2, 3), exit], 'instruction 0: reserved field off must be 0 in div64 with immediate'],
    ['jump out of range', [I(0x05, 0, 0, 40, 0), exit], 'instruction 0: jump out of range to 41'],
    ['jump backwards out', [I(0x15, 1, 0, -2, 0), exit], 'instruction 0: jump out of range to -1'],
    ['jump into lddw', [I(0x05, 0, 0, 1, 0), I(0x18, 1, 0, 0, 0), I(0, 0, 0, 0, 0), exit], 'instruction 0: jump into the middle of lddw at 2'],
    ['call out of range', [I(0x85, 0, 1, 0, 5), exit], 'instruction 0: call out of range to 6'],
    ['gotol with off', [I(0x06, 0, 0, 1, 0), exit], 'instruction 0: reserved field off must be 0 in gotol'],
    ['may_goto with src', [I(0xe5, 0, 1, 0, 0), exit], 'instruction 0: invalid conditional pseudo-jump src_reg=1 (0 may_goto)'],
    ['call kind', [I(0x85, 0, 3, 0, 0), exit], 'instruction 0: invalid call kind src_reg=3 (0 helper, 1 bpf-to-bpf, 2 kfunc)'],
    ['helper call with off', [I(0x85, 0, 0, 1, 1), exit], 'instruction 0: reserved field off must be 0 in call'],
    ['lddw pseudo', [I(0x18, 1, 7, 0, 0), I(0, 0, 0, 0, 0), exit], 'instruction 0: invalid lddw pseudo src_reg=7 (0..6)'],
    ['lddw map fd hi', [I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 1), exit], 'instruction 0: lddw of a map fd must have imm 0 in its second slot'],
    ['lddw off', [I(0x18, 1, 0, 5, 3), I(0, 0, 0, 0, 1), exit], 'instruction 0: reserved field off must be 0 in lddw'],
    ['r10 written', [I(0xb7, 10, 0, 0, 0), exit], 'instruction 0: frame pointer r10 is read only (written by mov64)'],
    ['fetch into r10', [I(0xdb, 1, 10, 0, 0x01), exit], 'instruction 0: frame pointer r10 is read only (written by atomic_fetch_add64)'],
    ['atomic op', [I(0xdb, 1, 2, 0, 0x02), exit], 'instruction 0: invalid atomic operation imm=0x02'],
    ['atomic size', [I(0xd3, 1, 2, 0, 0x00), exit], 'instruction 0: invalid atomic operand size 1 for atomic add'],
    ['bswap of TO_BE', [I(0xdf, 1, 0, 0, 16), exit], 'instruction 0: unknown opcode 0xdf'],
    ['movsx 32 in alu32', [I(0xbc, 1, 2, 32, 0), exit], 'instruction 0: reserved field off must be 0 in mov with register'],
    ['ldx memsx dw', [I(0x99, 1, 2, 0, 0), exit], 'instruction 0: unknown opcode 0x99'],
    ['ld_abs dw', [I(0x38, 0, 0, 0, 0), exit], 'instruction 0: unknown opcode 0x38'],
    ['ld_abs dst', [I(0x30, 1, 0, 0, 0), exit], 'instruction 0: reserved field dst_reg must be 0 in ldabsb'],
    ['st src', [I(0x62, 10, 1, -4, 0), exit], 'instruction 0: reserved field src_reg must be 0 in stw'],
    ['exit imm', [I(0x95, 0, 0, 0, 1)], 'instruction 0: reserved field imm must be 0 in exit'],
    ['v4 off', [I(0xbf, 1, 2, 8, 0), exit], 'instruction 0: movsx needs cpu v4'],
  ];
  for (const [name, prog, msg] of cases) {
    it(name, () => {
      const opts = name === 'v4 off' ? { allowV4: false } : {};
      let err: unknown;
      try {
        validateInsns(prog, opts);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KfError);
      expect((err as KfError).message).toBe(msg);
    });
  }

  it('strict: kernel load-time value checks', () => {
    const exit = insn(0x95, 0, 0, 0, 0);
    expect(checkInsns([insn(0x37, 1, 0, 0, 0), exit])).toBeUndefined();
    expect(checkInsns([insn(0x37, 1, 0, 0, 0), exit], { strict: true })).toBe('instruction 0: div by zero');
    expect(checkInsns([insn(0x64, 1, 0, 0, 32), exit], { strict: true })).toBe('instruction 0: invalid shift 32');
    expect(checkInsns([insn(0x67, 1, 0, 0, 63), exit], { strict: true })).toBeUndefined();
  });

  it('wholeProgram: empty and falling off the end', () => {
    expect(checkInsns([], { wholeProgram: true })).toBe('program has no instructions');
    expect(checkInsns([insn(0xb7, 0, 0, 0, 0)], { wholeProgram: true })).toBe('instruction 0: last instruction is not an exit or jump');
    expect(checkInsns([insn(0xb7, 0, 0, 0, 0)])).toBeUndefined();
  });

  it('accepts every generated valid program', () => {
    fc.assert(fc.property(programArb(60), (p) => {
        expect(checkInsns(p)).toBeUndefined();
      }), { numRuns: 2000 });
  });

  it('never throws anything but KfError on random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 12 }), (vals) => {
        const b = new Uint8Array(vals.length * 8);
        const dv = new DataView(b.buffer);
        vals.forEach((v, k) => dv.setBigUint64(k * 8, v, true));
        try {
          validateInsns(decodeInsns(b), { strict: true, wholeProgram: true });
        } catch (e) {
          expect(e).toBeInstanceOf(KfError);
          expect((e as KfError).message).toMatch(/^(instruction \d+: |program has no)/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
