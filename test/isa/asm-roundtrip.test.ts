// Round trips: instruction bytes → disassembler text (llvm-objdump syntax via
// disasmLlvm, verifier-log syntax via disasmKernel) → assembleKernel → the same bytes.
// Corpora: every conformance/uBPF program, and the kernel's legacy verifier tests.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { assembleUbpf, parseConformanceCase } from '../../src/isa/asm-ubpf.js';
import { assembleKernel } from '../../src/isa/asm-kernel.js';
import { encodeInsns, insnsFromHex } from '../../src/isa/codec.js';
import type { Insn } from '../../src/isa/insn.js';
import { disasmLlvm } from '../../src/isa/disasm-llvm.js';
import { disasmKernel } from '../../src/isa/disasm-kernel.js';
import { tryDescribeInsn } from '../../src/isa/view.js';
import { HAVE_LLVM, LLVM_MISSING, llvmText } from './asm-fixtures/tools.js';

const SUITES = '/work/shared/testsuites';
const HAVE = existsSync(join(SUITES, 'bpf_conformance/tests')) && existsSync(join(SUITES, 'kernel-verifier'));
const MISSING = HAVE ? 'suites present' : `${SUITES} not present`;

function programs(): { name: string; insns: Insn[] }[] {
  const out: { name: string; insns: Insn[] }[] = [];
  for (const dir of ['bpf_conformance/tests', 'ubpf/tests', 'ubpf/tests/errors', 'ubpf/tests/extensions', 'ubpf/tests/helpers']) {
    const full = join(SUITES, dir);
    for (const f of readdirSync(full).sort()) {
      if (!f.endsWith('.data') || !statSync(join(full, f)).isFile()) continue;
      const c = parseConformanceCase(readFileSync(join(full, f), 'utf8'));
      if (c.asm.trim() !== '') out.push({ name: `${dir}/${f}`, insns: assembleUbpf(c.asm) });
    }
  }
  const lines = readFileSync(join(SUITES, 'kernel-verifier/legacy-6.12.jsonl'), 'utf8').split('\n');
  lines.forEach((l, k) => {
    if (l.trim() === '') return;
    const j = JSON.parse(l) as { descr: string; insns?: string };
    if (typeof j.insns !== 'string') return;
    out.push({ name: `legacy[${k}] ${j.descr}`, insns: insnsFromHex(j.insns) });
  });
  return out;
}

const hex = (x: readonly Insn[]): string => Buffer.from(encodeInsns(x)).toString('hex');

/** Why slot `i` cannot round-trip through text of this syntax, or undefined if it must. */
function inexpressible(insns: readonly Insn[], i: number, text: string, syntax: 'llvm' | 'kernel'): string | undefined {
  const x = insns[i];
  const next = insns[i + 1];
  if (typeof tryDescribeInsn(insns, i) === 'string') return 'invalid encoding (the validator rejects it)';
  if (x.code === 0x18 && x.off !== 0) return 'lddw with non-zero off';
  if (syntax === 'llvm' && (x.code & 0xe7) === 0x40 && x.imm !== 0) return 'llvm syntax does not show the imm of LD_IND';
  if (x.dst > 10 || x.src > 10) {
    if (!(x.code === 0x18 && x.src <= 6)) return 'register above r10';
  }
  if (text === '<unknown>' || text.includes('BUG')) return 'disassembler cannot print it';
  if (x.code === 0x18 && x.src !== 0) return 'lddw with a pseudo src (map, BTF id, func) prints as a number';
  if (x.code === 0x18 && next && (next.code | next.dst | next.src | next.off) !== 0) return 'lddw second slot has non-zero fields';
  if ((x.code & 0xf7) === 0x85 && (x.src !== 0 || x.off !== 0 || x.dst !== 0)) {
    if (!(syntax === 'kernel' && x.src === 1 && x.off === 0 && x.dst === 0)) return 'call with pseudo src / fields the syntax does not show';
  }
  if (x.code === 0x8d) return 'callx';
  return undefined;
}

function roundTrip(syntax: 'llvm' | 'kernel'): { checked: number; exceptions: Map<string, number>; mismatches: string[] } {
  const exceptions = new Map<string, number>();
  const mismatches: string[] = [];
  let checked = 0;
  for (const p of programs()) {
    const insns = p.insns;
    for (let i = 0; i < insns.length; i++) {
      const x = insns[i];
      const width = x.code === 0x18 && i + 1 < insns.length ? 2 : 1;
      const text = syntax === 'llvm' ? disasmLlvm(insns, i, { alu32: true }) : disasmKernel(insns, i);
      const why = inexpressible(insns, i, text, syntax);
      if (why) exceptions.set(why, (exceptions.get(why) ?? 0) + 1);
      else {
        const orig = hex(insns.slice(i, i + width));
        let again: string;
        try {
          again = hex(assembleKernel(text).insns);
        } catch (e) {
          again = `error: ${(e as Error).message}`;
        }
        if (again !== orig) mismatches.push(`${p.name}[${i}] ${text}: ${orig} → ${again}`);
        checked++;
      }
      i += width - 1;
    }
  }
  return { checked, exceptions, mismatches };
}

describe('disassemble → assembleKernel round trip', () => {
  for (const syntax of ['llvm', 'kernel'] as const) {
    it.skipIf(!HAVE)(`${syntax} syntax: every expressible instruction reassembles to the same bytes (${MISSING})`, () => {
      const { checked, exceptions, mismatches } = roundTrip(syntax);
      console.log(`${syntax}: ${checked} instructions round-tripped; not expressible: ${JSON.stringify(Object.fromEntries(exceptions))}`);
      expect(mismatches.slice(0, 30)).toEqual([]);
      expect(checked).toBeGreaterThan(7000);
    });
  }
});

describe('uBPF programs vs llvm-mc', () => {
  it.skipIf(!HAVE || !HAVE_LLVM)(
    `assembleUbpf output equals llvm-mc's assembly of the same instructions (${HAVE_LLVM ? MISSING : LLVM_MISSING})`,
    () => {
      const texts: string[] = [];
      const ours: string[] = [];
      for (const p of programs()) {
        if (p.name.startsWith('legacy')) continue;
        const insns = p.insns;
        for (let i = 0; i < insns.length; i++) {
          const width = insns[i].code === 0x18 ? 2 : 1;
          const text = disasmLlvm(insns, i, { alu32: true });
          if (!inexpressible(insns, i, text, 'llvm')) {
            texts.push(`${text} # ${p.name}[${i}]`);
            ours.push(hex(insns.slice(i, i + width)));
          }
          i += width - 1;
        }
      }
      expect(texts.length).toBeGreaterThan(2500);
      const theirs = Buffer.from(llvmText(texts.join('\n') + '\n')).toString('hex');
      let k = 0;
      const diffs: string[] = [];
      ours.forEach((o, j) => {
        const t = theirs.slice(k, k + o.length);
        if (t !== o) diffs.push(`${texts[j]}: ours ${o} llvm-mc ${t}`);
        k += o.length;
      });
      expect(diffs.slice(0, 20)).toEqual([]);
      expect(k).toBe(theirs.length);
    },
  );
});
