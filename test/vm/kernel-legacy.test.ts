// The kernel's legacy verifier tests that the running 6.18 kernel accepted and
// ran (oracle.test_run.retval): socket filters without helpers, kfuncs, packet
// loads or ctx access. Both engines must return the kernel's retval.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { insnsFromHex } from '../../src/isa/codec.js';
import type { Insn } from '../../src/isa/insn.js';
import { ENGINES, runWith } from './engines.js';

const FILE = '/work/shared/testsuites/kernel-verifier/legacy-6.12.jsonl';

interface KCase {
  descr: string;
  prog_type: number;
  needs_fixup: number;
  insns: string;
  oracle?: { accepted?: boolean; test_run?: { retval?: number } };
}

/** Does any path read r1 (the ctx) before writing it? Forward must-analysis over all edges. */
export function readsCtx(p: readonly Insn[]): boolean {
  const n = p.length;
  const written = new Array<boolean | undefined>(n).fill(undefined); // r1 definitely written on entry
  written[0] = false;
  const work = [0];
  const merge = (i: number, w: boolean): void => {
    if (i < 0 || i >= n) return;
    const old = written[i];
    const nw = old === undefined ? w : old && w;
    if (nw !== old) {
      written[i] = nw;
      work.push(i);
    }
  };
  while (work.length) {
    const i = work.pop()!;
    const x = p[i];
    let w = written[i]!;
    const cls = x.code & 7;
    const op = x.code & 0xf0;
    const X = (x.code & 8) !== 0;
    const reads: number[] = [];
    let writes = -1;
    if (cls === 4 || cls === 7) {
      if (X) reads.push(x.src);
      if (op !== 0xb0) reads.push(x.dst);
      writes = x.dst;
    } else if (cls === 5 || cls === 6) {
      if (op === 0x80) {
        reads.push(1, 2, 3, 4, 5);
        writes = 0;
      } else if (op !== 0x00 && op !== 0x90 && op !== 0xe0) {
        reads.push(x.dst);
        if (X) reads.push(x.src);
      }
    } else if (cls === 1) {
      reads.push(x.src);
      writes = x.dst;
    } else if (cls === 2) reads.push(x.dst);
    else if (cls === 3) reads.push(x.dst, x.src);
    else if (x.code === 0x18) writes = x.dst;
    if (!w && reads.includes(1)) return true;
    if (writes === 1) w = true;
    if (op === 0x80 && (cls === 5 || cls === 6)) w = w; // r1 clobbered by calls, but then it is not the ctx any more
    if (x.code === 0x95) continue;
    if ((cls === 5 || cls === 6) && op !== 0x80 && op !== 0x90) {
      const t = i + 1 + (x.code === 0x06 ? x.imm : x.off);
      merge(t, w);
      if (op === 0x00) continue;
    }
    merge(i + (x.code === 0x18 ? 2 : 1), w);
  }
  return false;
}

const cases: { c: KCase; insns: Insn[] }[] = [];
const excluded = new Map<string, number>();
if (existsSync(FILE)) {
  for (const line of readFileSync(FILE, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const c = JSON.parse(line) as KCase;
    if (!c.oracle?.accepted || c.oracle.test_run?.retval === undefined || c.needs_fixup || c.prog_type !== 0) continue;
    const insns = insnsFromHex(c.insns);
    let why = '';
    if (insns.some((x) => x.code === 0x85 && x.src !== 1)) why = 'calls helpers/kfuncs';
    else if (insns.some((x) => (x.code & 7) === 0 && x.code !== 0x18 && x.code !== 0)) why = 'uses LD_ABS/LD_IND';
    else if (insns.some((x) => x.code === 0x18 && x.src !== 0 && x.src !== 4)) why = 'uses maps';
    else if (readsCtx(insns)) why = 'reads ctx';
    if (why) excluded.set(why, (excluded.get(why) ?? 0) + 1);
    else cases.push({ c, insns });
  }
}

describe.skipIf(!existsSync(FILE))('kernel legacy verifier cases with a test_run retval', () => {
  it('covers a meaningful number of cases', () => {
    console.log(`kernel legacy: ${cases.length} covered; excluded: ${[...excluded].map(([k, v]) => `${v} ${k}`).join(', ')}`);
    expect(cases.length).toBeGreaterThan(20);
  });
  for (const engine of ENGINES) {
    describe(engine.name, () => {
      for (const { c, insns } of cases) {
        it(c.descr, () => {
          const r = runWith(engine, insns);
          expect(Number(BigInt.asUintN(32, r.r0))).toBe(c.oracle!.test_run!.retval! >>> 0);
        });
      }
    });
  }
});
