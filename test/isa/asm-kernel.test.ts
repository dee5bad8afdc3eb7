import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { assembleKernel } from '../../src/isa/asm-kernel.js';
import { encodeInsns } from '../../src/isa/codec.js';
import { helperId, helperName } from '../../src/isa/asm-helpers.js';
import { KfError } from '../../src/util/errors.js';
import { HAVE_LLVM, LLVM_MISSING, clangCText, hexOf, llvmText } from './asm-fixtures/tools.js';

const COVERAGE = readFileSync(new URL('./asm-fixtures/coverage.s', import.meta.url), 'utf8');
const bytes = (src: string, opts?: Parameters<typeof assembleKernel>[1]): string =>
  hexOf(encodeInsns(assembleKernel(src, opts).insns));

function slots(hex: string): string[] {
  return hex.match(/.{16}/g) ?? [];
}

describe('assembleKernel vs llvm-mc', () => {
  it.skipIf(!HAVE_LLVM)(`coverage.s is byte-identical to llvm-mc (${HAVE_LLVM ? 'clang-19' : LLVM_MISSING})`, () => {
    const ours = slots(bytes(COVERAGE));
    const theirs = slots(hexOf(llvmText(COVERAGE)));
    expect(ours.length).toBeGreaterThan(200);
    const diffs = ours.flatMap((s, i) => (s === theirs[i] ? [] : [`slot ${i}: ours ${s} llvm ${theirs[i]}`]));
    expect(diffs).toEqual([]);
    expect(ours.length).toBe(theirs.length);
  });

  it.skipIf(!HAVE_LLVM)('each coverage line alone matches llvm-mc (catches compensating errors)', () => {
    const lines = COVERAGE.split('\n').filter((l) => /^\s+[a-z*]/.test(l) && !/goto|call|\.globl|\.text/.test(l));
    expect(lines.length).toBeGreaterThan(150);
    // One llvm-mc run: each line followed by a marker instruction we can split on.
    const marker = 'r10 = 0x5a5a5a5a ll';
    const src = lines.map((l) => `${l}\n${marker}`).join('\n') + '\n';
    const theirs = slots(hexOf(llvmText(src)));
    const markerSlots = slots(bytes(marker));
    let k = 0;
    for (const line of lines) {
      const ours = slots(bytes(line));
      expect(theirs.slice(k, k + ours.length), line).toEqual(ours);
      k += ours.length;
      expect(theirs.slice(k, k + 2), `marker after ${line}`).toEqual(markerSlots);
      k += 2;
    }
    expect(k).toBe(theirs.length);
  });

  it.skipIf(!HAVE_LLVM)('selftest-style inline asm strings assemble as clang compiles them', () => {
    const c = readFileSync(new URL('./asm-fixtures/selftest.c', import.meta.url), 'utf8');
    const lines = c.split('\n');
    const from = lines.findIndex((l) => /^\s*asm volatile \(/.test(l));
    const to = lines.findIndex((l, k) => k > from && /^\s*:/.test(l));
    const strings = lines.slice(from + 1, to).join('\n');
    const ours = bytes(strings, { symbols: { c: 42 } });
    expect(slots(ours).length).toBe(18);
    expect(ours).toBe(hexOf(clangCText(c)));
  });

  it.skipIf(!HAVE_LLVM)('labels, forward and backward jumps resolve as llvm-mc resolves them', () => {
    const src = [
      'f:',
      '  r0 = 0',
      'loop:',
      '  if r0 > 10 goto out',
      '  r0 += 1',
      '  r1 = 0x1122334455667788 ll',
      '  goto loop',
      'out: exit',
    ].join('\n');
    expect(bytes(src)).toBe(hexOf(llvmText(src)));
  });
});

describe('assembleKernel programs', () => {
  it('splits functions at .globl labels and call targets and records relocations', () => {
    const p = assembleKernel(
      [
        '.extern bpf_dynptr_slice',
        '.globl prog',
        'prog:',
        '  r1 = my_map ll',
        '  call bpf_map_lookup_elem',
        '  call helper_sub',
        '  r2 = cb ll',
        '  call bpf_dynptr_slice',
        '  exit',
        'helper_sub:',
        '  r0 = 1; exit',
        'cb: r0 = 0',
        '  exit',
      ].join('\n'),
    );
    expect(p.functions).toEqual([
      { name: 'prog', start: 0, end: 8 },
      { name: 'helper_sub', start: 8, end: 10 },
      { name: 'cb', start: 10, end: 12 },
    ]);
    expect(p.labels.get('helper_sub')).toBe(8);
    expect(p.relocations).toEqual([
      { index: 0, kind: 'map', symbol: 'my_map' },
      { index: 3, kind: 'call', symbol: 'helper_sub' },
      { index: 4, kind: 'ld_func', symbol: 'cb' },
      { index: 6, kind: 'kfunc', symbol: 'bpf_dynptr_slice' },
    ]);
    const [ld, , helper, call, ldf, , kf] = p.insns;
    expect([ld.code, ld.src]).toEqual([0x18, 1]); // BPF_PSEUDO_MAP_FD
    expect([helper.code, helper.src, helper.imm]).toEqual([0x85, 0, helperId('bpf_map_lookup_elem')]);
    expect([call.src, call.imm]).toEqual([1, 8 - 3 - 1]);
    expect([ldf.src, ldf.imm]).toEqual([4, 10 - 4 - 1]);
    expect([kf.code, kf.src]).toEqual([0x85, 2]);
  });

  it('a label right after exit that no jump names starts a function', () => {
    const p = assembleKernel('f:\n r0 = 0\n if r0 > 1 goto out\n exit\nout: r0 = 1\n exit\ng:\n r0 = 2\n exit\n.Lx: exit');
    expect(p.functions).toEqual([
      { name: 'f', start: 0, end: 5 },
      { name: 'g', start: 5, end: 8 },
    ]);
  });

  it('kfuncs can be named by option; helpers by option override the built-in table', () => {
    const p = assembleKernel('call bpf_dynptr_slice\ncall my_helper\ncall bpf_ktime_get_ns\nexit', {
      kfuncs: ['bpf_dynptr_slice'],
      helpers: { my_helper: 1234, bpf_ktime_get_ns: 99 },
    });
    expect(p.insns.map((x) => [x.src, x.imm])).toEqual([
      [2, -1],
      [0, 1234],
      [0, 99],
      [0, 0],
    ]);
  });

  it.skipIf(spawnSync('bpftool', ['version']).status !== 0)('built-in helper ids match the running kernel BTF (bpftool)', () => {
    const r = spawnSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    const ids = [...r.stdout.matchAll(/\bBPF_FUNC_([a-z0-9_]+) = (\d+),/g)];
    expect(ids.length).toBeGreaterThan(200);
    for (const [, name, id] of ids) {
      if (name === 'unspec') continue;
      expect(helperId(`bpf_${name}`), name).toBe(Number(id));
      expect(helperName(Number(id))).toBe(`bpf_${name}`);
    }
  });

  it('accepts the kernel selftest string style with l0_%= labels and %[name] operands', () => {
    const selftest = [
      '\t"r1 = 0;"\t\t\t\t\\',
      '\t"l0_%=: if r1 > 3 goto l1_%=;"\t\\',
      '\t"r1 += 1; goto l0_%=;"\t\t\\',
      '"l1_%=:"',
      '\t"call %[bpf_get_prandom_u32];\\n"',
      '\t"r0 = %[size];"',
      '\t"exit;"',
    ].join('\n');
    const plain = ['r1 = 0', 'a: if r1 > 3 goto b', 'r1 += 1', 'goto a', 'b: call 7', 'r0 = 16', 'exit'].join('\n');
    expect(bytes(selftest, { symbols: { size: 16 } })).toBe(bytes(plain));
  });

  it('accepts the spellings of the kernel verifier log', () => {
    const pairs: [string, string][] = [
      ['goto pc+3', 'goto +3'],
      ['if r1 > 0x5 goto pc-2', 'if r1 > 5 goto -2'],
      ['*(u64 *)(r10 -8) = r1', '*(u64 *)(r10 - 8) = r1'],
      ['r2 = *(u32 *)(r6 +0)', 'r2 = *(u32 *)(r6 + 0)'],
      ['r0 = atomic64_fetch_add((u64 *)(r1 +0), r0)', 'r0 = atomic_fetch_add((u64 *)(r1 + 0), r0)'],
      ['r0 = atomic64_xchg((u64 *)(r1 +8), r0)', 'r0 = xchg_64(r1 + 8, r0)'],
      ['w0 = atomic_cmpxchg((u32 *)(r1 +0), w0, w2)', 'w0 = cmpxchg32_32(r1 + 0, w0, w2)'],
      ['call bpf_map_lookup_elem#1', 'call 1'],
      ['3: (b7) r0 = 0', 'r0 = 0'],
      ['(18) r1 = 0x1234', 'r1 = 0x1234 ll'],
      ['goto +0x1 <f+0x30>', 'goto +1'],
    ];
    for (const [k, l] of pairs) expect(bytes(k), k).toBe(bytes(l));
    const call = assembleKernel('call pc+3').insns[0];
    expect([call.src, call.imm]).toEqual([1, 3]);
  });

  it('encodes load_acquire and store_release as the kernel defines them (BPF_LOAD_ACQ 0x100, BPF_STORE_REL 0x110)', () => {
    const [la, sr, lb] = assembleKernel(
      'r0 = load_acquire((u64 *)(r1 + 8))\nstore_release((u32 *)(r2 - 4), w3)\nw5 = load_acquire((u8 *)(r6 + 0))',
    ).insns;
    expect(la).toEqual({ code: 0xdb, dst: 0, src: 1, off: 8, imm: 0x100 });
    expect(sr).toEqual({ code: 0xc3, dst: 2, src: 3, off: -4, imm: 0x110 });
    expect(lb).toEqual({ code: 0xd3, dst: 5, src: 6, off: 0, imm: 0x100 });
  });

  it('checks the opcode column of verifier-log lines', () => {
    expect(() => assembleKernel('(07) r0 = 0')).toThrow(/opcode column \(07\) does not match.*\(b7\)/);
  });
});

describe('assembleKernel errors', () => {
  const err = (src: string, opts?: Parameters<typeof assembleKernel>[1]): string => {
    try {
      assembleKernel(src, opts);
    } catch (e) {
      expect(e).toBeInstanceOf(KfError);
      return (e as KfError).message;
    }
    throw new Error(`no error for ${JSON.stringify(src)}`);
  };
  it('names line, column and what was expected', () => {
    expect(err('r0 = 0\nr1 = 1\nexit\nr0 = 1; r1 = r11')).toBe('line 4: col 14: expected register, found "r11"');
    expect(err('   r12 = 0')).toBe('line 1: col 4: expected instruction, found "r12"');
    expect(err('if r1 = 2 goto +1')).toMatch(/^line 1: col 7: expected comparison/);
    expect(err('*(u64 *)(w1 + 0) = r2')).toMatch(/^line 1: col 10: expected 64-bit register r1/);
    expect(err('r0 = *(u128 *)(r1 + 0)')).toMatch(/expected type u8, u16/);
    expect(err('r0 = 0 ll ll')).toMatch(/expected end of statement, found "ll"/);
  });
  it('rejects out-of-range numbers', () => {
    expect(err('r0 = 0x100000000')).toMatch(/does not fit in 32 bits/);
    expect(err('r0 += -2147483649')).toMatch(/does not fit in 32 bits/);
    expect(err('goto +32768')).toMatch(/does not fit in 16 signed bits/);
    expect(err('*(u8 *)(r1 - 32769) = 0')).toMatch(/16 signed bits/);
    expect(err('r1 = 0x10000000000000000 ll')).toMatch(/64 bits/);
  });
  it('rejects undefined and duplicate labels and unknown calls', () => {
    expect(err('goto nowhere')).toBe('line 1: col 6: undefined label "nowhere"');
    expect(err('a: exit\na: exit')).toMatch(/^line 2: col 1: label "a" already defined at line 1/);
    expect(err('call no_such_function')).toMatch(/unknown call target "no_such_function"/);
    expect(err('.bogus 1')).toMatch(/unknown directive "\.bogus"/);
    const far = `goto far\n${'r0 = 0\n'.repeat(40000)}far: exit`;
    expect(err(far)).toMatch(/does not fit in 16 bits \(use gotol\)/);
    expect(assembleKernel(far.replace('goto far', 'gotol far')).insns[0].imm).toBe(40000);
  });
  it('rejects bad option values', () => {
    expect(err('r0 = %[x]', { symbols: { x: 1.5 } })).toMatch(/symbol "x" has value 1.5, not an integer/);
    expect(err('r0 = x', { symbols: { x: 2 ** 40 } })).toMatch(/does not fit in 32 bits/);
  });
  it('rejects mixed register widths', () => {
    expect(err('w1 += r2')).toMatch(/expected 32-bit \(w\) register/);
    expect(err('if r1 == w2 goto +0')).toMatch(/expected 64-bit \(r\) register/);
    expect(err('r1 = be16 r2')).toMatch(/same register/);
  });
});

describe('assembleKernel fuzz', () => {
  // A tiny deterministic PRNG so failures reproduce.
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const onlyKfError = (src: string): void => {
    try {
      assembleKernel(src, { kfuncs: ['bpf_dynptr_slice'] });
    } catch (e) {
      if (!(e instanceof KfError)) throw new Error(`non-KfError for ${JSON.stringify(src)}: ${String(e)}`);
    }
  };
  it('random strings raise only KfError', () => {
    const alphabet = 'rw0123456789x=+-*/%&|^<>s()[];:#,.\n lgotifcaxeu_"\\%[]';
    for (let k = 0; k < 3000; k++) {
      let s = '';
      const n = rnd(40);
      for (let i = 0; i < n; i++) s += alphabet[rnd(alphabet.length)];
      onlyKfError(s);
    }
  });
  it('mutations of the coverage file raise only KfError', () => {
    const lines = COVERAGE.split('\n');
    for (let k = 0; k < 1500; k++) {
      const i = rnd(lines.length);
      const l = lines[i];
      const p = rnd(l.length + 1);
      const mutated = [
        l.slice(0, p) + l.slice(p + 1),
        l.slice(0, p) + String.fromCharCode(32 + rnd(95)) + l.slice(p),
        l.slice(0, p),
        l + l,
      ][rnd(4)];
      onlyKfError(mutated);
      if (k % 100 === 0) onlyKfError([...lines.slice(0, i), mutated, ...lines.slice(i + 1)].join('\n'));
    }
  });
});
