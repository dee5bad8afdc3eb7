import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assembleUbpf, conformanceInsns, parseConformanceCase } from '../../src/isa/asm-ubpf.js';
import { encodeInsns } from '../../src/isa/codec.js';
import { KfError } from '../../src/util/errors.js';

const SUITES = '/work/shared/testsuites';
const HAVE_SUITES = existsSync(join(SUITES, 'bpf_conformance/tests'));
const NO_SUITES = HAVE_SUITES ? 'suites present' : `${SUITES} not present`;

function dataFiles(dir: string): string[] {
  const full = join(SUITES, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full)
    .filter((f) => f.endsWith('.data') && statSync(join(full, f)).isFile())
    .sort()
    .map((f) => join(full, f));
}

const POSITIVE = [
  ...dataFiles('bpf_conformance/tests'),
  ...dataFiles('ubpf/tests'),
  ...dataFiles('ubpf/tests/errors'),
  ...dataFiles('ubpf/tests/extensions'),
  ...dataFiles('ubpf/tests/helpers'),
];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('assembleUbpf on the test suites', () => {
  it.skipIf(!HAVE_SUITES)(`every program of bpf_conformance/tests and ubpf/tests assembles (${NO_SUITES})`, () => {
    expect(POSITIVE.length).toBeGreaterThan(350);
    const failures: string[] = [];
    let withAsm = 0;
    for (const f of POSITIVE) {
      try {
        const c = parseConformanceCase(readFileSync(f, 'utf8'));
        const insns = conformanceInsns(c);
        expect(insns.length).toBeGreaterThan(0);
        if (c.asm.trim() !== '') {
          assembleUbpf(c.asm);
          withAsm++;
        }
      } catch (e) {
        failures.push(`${f}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(withAsm).toBeGreaterThan(330);
  });

  it.skipIf(!HAVE_SUITES)('where a case has both -- asm and -- raw, the assembled bytes equal the raw bytes', () => {
    let compared = 0;
    for (const f of POSITIVE) {
      const c = parseConformanceCase(readFileSync(f, 'utf8'));
      if (!c.raw || c.asm.trim() === '') continue;
      expect(hex(encodeInsns(assembleUbpf(c.asm))), f).toBe(hex(encodeInsns(c.raw)));
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(7);
  });

  // Negative cases that are well-formed programs: they fail at load or run time, not in the assembler.
  const RUNTIME_NEGATIVE: Record<string, string> = {
    'error.data': 'assembles; the case expects a load/run-time error',
    'incorrect_return_value_high_bits.data': 'assembles; its -- result is deliberately wrong',
  };

  it.skipIf(!HAVE_SUITES)('every bpf_conformance/negative case fails to assemble or is kept for the validator', () => {
    const files = dataFiles('bpf_conformance/negative');
    expect(files.length).toBeGreaterThan(50);
    const unexpected: string[] = [];
    let rejected = 0;
    let raw = 0;
    for (const f of files) {
      const name = f.split('/').pop()!;
      let result: 'rejected' | 'raw' | 'assembled';
      try {
        const c = parseConformanceCase(readFileSync(f, 'utf8'));
        conformanceInsns(c);
        result = c.raw ? 'raw' : 'assembled';
      } catch (e) {
        if (!(e instanceof KfError)) throw e;
        result = 'rejected';
      }
      if (result === 'rejected') rejected++;
      if (result === 'raw') raw++;
      const expected = name.startsWith('unused-') ? 'raw' : name in RUNTIME_NEGATIVE ? 'assembled' : 'rejected';
      if (result !== expected) unexpected.push(`${name}: ${result}, expected ${expected}`);
    }
    expect(unexpected).toEqual([]);
    expect(rejected).toBeGreaterThanOrEqual(12);
    expect(raw).toBeGreaterThanOrEqual(40);
  });
});

describe('assembleUbpf forms', () => {
  it('encodes each form', () => {
    const p = assembleUbpf(
      [
        'mov %r0, 1',
        'mov32 %r1, %r2',
        'ldxh %r0, [%r1+2]',
        'stxdw [%r10-8], %r1',
        'stb [%r1], -1',
        'jeq %r1, 0, +2',
        'jsgt32 %r1, %r2, end',
        'sdiv32 %r3, -7',
        'smod %r3, %r4',
        'movsx1664 %r5, %r6',
        'ldxsb %r1, [%r2-1]',
        'be16 %r0',
        'swap64 %r0',
        'neg32 %r0',
        'lock fetch add32 [%r10-4], %r1',
        'lock cmpxchg [%r10-8], %r2',
        'lock xchg32 [%r10-8], %r2',
        'ja32 end',
        'call 1',
        'call %r3',
        'call local end',
        'end: lddw %r0, 0x123456789',
        'exit',
      ].join('\n'),
    );
    expect(p.map((x) => [x.code, x.dst, x.src, x.off, x.imm])).toEqual([
      [0xb7, 0, 0, 0, 1],
      [0xbc, 1, 2, 0, 0],
      [0x69, 0, 1, 2, 0],
      [0x7b, 10, 1, -8, 0],
      [0x72, 1, 0, 0, -1],
      [0x15, 1, 0, 2, 0],
      [0x6e, 1, 2, 14, 0],
      [0x34, 3, 0, 1, -7],
      [0x9f, 3, 4, 1, 0],
      [0xbf, 5, 6, 16, 0],
      [0x91, 1, 2, -1, 0],
      [0xdc, 0, 0, 0, 16],
      [0xd7, 0, 0, 0, 64],
      [0x84, 0, 0, 0, 0],
      [0xc3, 10, 1, -4, 0x01],
      [0xdb, 10, 2, -8, 0xf1],
      [0xc3, 10, 2, -8, 0xe1],
      [0x06, 0, 0, 0, 3],
      [0x85, 0, 0, 0, 1],
      [0x8d, 3, 0, 0, 0],
      [0x85, 0, 1, 0, 0],
      [0x18, 0, 0, 0, 0x23456789],
      [0x00, 0, 0, 0, 1],
      [0x95, 0, 0, 0, 0],
    ]);
  });

  it('names the line in errors', () => {
    const msg = (src: string): string => {
      try {
        assembleUbpf(src);
      } catch (e) {
        expect(e).toBeInstanceOf(KfError);
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(msg('mov %r0, 1\nor %r0, %r50')).toBe('line 2: invalid register "%r50"');
    expect(msg('ldxq %r0, %r1')).toBe('line 1: unknown mnemonic "ldxq"');
    expect(msg('exit\nlddw %r0')).toBe('line 2: "lddw" takes 2 operands, found 1');
    expect(msg('\n\nja NOT_A_LABEL\nexit')).toBe('line 3: undefined label "NOT_A_LABEL"');
    expect(msg('mov32 %r0, 2147483648')).toMatch(/^line 1: immediate 2147483648 out of 32-bit range/);
    expect(msg('ldxb %r0, [%r1+0x10000]')).toMatch(/^line 1: offset \+0x10000 out of 16-bit range/);
    expect(msg('lock or [%r10-8]')).toMatch(/^line 1: Invalid number of operands for lock/);
  });

  it('parses the case sections', () => {
    const c = parseConformanceCase(
      '# c\n-- asm\nmov %r0, 1\nexit\n-- mem\naa bb\n 0c\n-- result\n0x10\n-- raw\n0x00000001000000b7\n95 00 00 00 00 00 00 00\n-- error\noops\n',
    );
    expect(c.asm.trim()).toBe('mov %r0, 1\nexit');
    expect([...c.mem!]).toEqual([0xaa, 0xbb, 0x0c]);
    expect(c.result).toBe(16n);
    expect(c.error).toBe('oops');
    expect(hex(encodeInsns(c.raw!))).toBe(hex(encodeInsns(assembleUbpf(c.asm))));
    expect(() => parseConformanceCase('-- bogus\n')).toThrow(/unknown section/);
    expect(() => parseConformanceCase('-- mem\nzz\n')).toThrow(/invalid hex byte "zz"/);
  });
});

describe('assembleUbpf fuzz', () => {
  let seed = 777;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const only = (f: () => unknown, what: string): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof KfError)) throw new Error(`non-KfError for ${JSON.stringify(what)}: ${String(e)}`);
    }
  };
  it('random strings and mutated suite files raise only KfError', () => {
    const alphabet = '%r0123456789x[]+-,: \nmovldxstjeqa#lockfetch-';
    for (let k = 0; k < 3000; k++) {
      let s = '';
      for (let i = rnd(40); i > 0; i--) s += alphabet[rnd(alphabet.length)];
      only(() => assembleUbpf(s), s);
      only(() => conformanceInsns(parseConformanceCase(`-- asm\n${s}`)), s);
      only(() => parseConformanceCase(`-- raw\n${s}\n-- mem\n${s}\n-- result\n${s}`), s);
    }
    for (const f of POSITIVE.slice(0, 200)) {
      const text = readFileSync(f, 'utf8');
      for (let k = 0; k < 5; k++) {
        const p = rnd(text.length);
        const m = text.slice(0, p) + String.fromCharCode(32 + rnd(95)) + text.slice(p + 1 + rnd(3));
        only(() => conformanceInsns(parseConformanceCase(m)), m);
      }
    }
  });
});
