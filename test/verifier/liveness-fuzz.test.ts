// Stack liveness against the running kernel: random programs that spill
// pointers and scalars to the stack on different branches, overwrite them
// (fully or partly), fill them back and dereference them, pass stack memory
// to helpers, and cross pruning points. Pruning on a wrongly dead slot would
// make us accept a program the kernel rejects; the verdicts must agree on
// every program, and the processed counts (how much pruning) on nearly all.
// Half the programs pass a stack slot to a subprogram (the call-chain part of
// the analysis: a callee's reads and writes count at the call site).
import { describe, expect, it } from 'vitest';
import { insn, type Insn } from '../../src/isa/insn.js';
import { verify } from '../../src/verifier/index.js';
import { kernelLoad, kernelUnavailable } from './kernel-log.js';

const N = Number(process.env.KF_LIVE_FUZZ ?? 300);

class Rng {
  constructor(private s: number) {}
  next(): number {
    this.s = (Math.imul(this.s, 1103515245) + 12345) >>> 0;
    return this.s >>> 8;
  }
  int(n: number): number {
    return this.next() % n;
  }
}

const PROLOGUE = (): Insn[] => [
  insn(0x85, 0, 0, 0, 7), // call bpf_get_prandom_u32
  insn(0xbf, 7, 0, 0, 0), // r7 = r0
  insn(0x85, 0, 0, 0, 7),
  insn(0xbf, 8, 0, 0, 0), // r8 = r0
  insn(0xb7, 9, 0, 0, 0), // r9 = 0
];

/**
 * Random straight-line units and forward branches over whole units. r6 holds
 * a pointer (ctx in the main program, the caller's stack in a subprogram);
 * `callerStack` adds spills and fills through it.
 */
function genBody(r: Rng, callerStack: boolean): Insn[] {
  const body = 8 + r.int(12);
  const slot = (): number => -8 * (1 + r.int(4));
  const units: (Insn[] | { jmp: number; dst: number; imm: number; over: number })[] = [];
  for (let i = 0; i < body; i++) {
    const left = body - i - 1;
    switch (r.int(callerStack ? 12 : 10)) {
      case 0: case 1: // spill a pointer or a scalar
        units.push([insn(0x7b, 10, [6, 7, 8, 9, 10][r.int(5)], slot(), 0)]);
        break;
      case 2: // store an immediate (full slot or half)
        units.push([r.int(2) ? insn(0x7a, 10, 0, slot(), r.int(3)) : insn(0x62, 10, 0, slot() + 4 * r.int(2), r.int(3))]);
        break;
      case 3: case 4: // fill, then sometimes dereference what came back
        units.push(r.int(4) === 0 ? [insn(0x79, 2, 10, slot(), 0), insn(0x71, 3, 2, 0, 0)] : [insn(0x79, 2, 10, slot(), 0)]);
        break;
      case 5: case 6: // a forward branch on an unknown value over 1..4 units
        if (left > 0) units.push({ jmp: r.int(2) ? 0x25 : 0x55, dst: r.int(2) ? 7 : 8, imm: r.int(4), over: 1 + r.int(Math.min(4, left)) });
        break;
      case 7: // a helper reading 8 bytes of stack: bpf_trace_printk(fp-16, 8)
        units.push([insn(0xbf, 1, 10, 0, 0), insn(0x07, 1, 0, 0, -16), insn(0xb7, 2, 0, 0, 8), insn(0x85, 0, 0, 0, 6)]);
        break;
      case 8: // change a scalar
        units.push([insn(0x07, r.int(2) ? 7 : 9, 0, 0, 1)]);
        break;
      case 9: // a read of a slot half
        units.push([insn(0x61, 4, 10, slot() + 4 * r.int(2), 0)]);
        break;
      case 10: // write the caller's slot (a scalar: pointers to a callee's stack may not go there)
        units.push([insn(0x7b, 6, [7, 8, 9][r.int(3)], 0, 0)]);
        break;
      default: // fill from the caller's slot, sometimes dereference it
        units.push(r.int(6) === 0 ? [insn(0x79, 2, 6, 0, 0), insn(0x71, 3, 2, 0, 0)] : [insn(0x79, 2, 6, 0, 0)]);
        break;
    }
  }
  const len = (u: (typeof units)[number]): number => (Array.isArray(u) ? u.length : 1);
  const p: Insn[] = [];
  units.forEach((u, k) => {
    if (Array.isArray(u)) p.push(...u);
    else {
      let off = 0;
      for (let m = k + 1; m <= k + u.over && m < units.length; m++) off += len(units[m]);
      p.push(insn(u.jmp, u.dst, 0, off, u.imm));
    }
  });
  return p;
}

const EXIT = (): Insn[] => [insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)];

/** One random program (socket filter, run privileged); with `call`, main passes a stack slot to a subprogram. */
function genProgram(r: Rng, call: boolean): Insn[] {
  const main = [insn(0xbf, 6, 1, 0, 0), ...PROLOGUE(), ...genBody(r, false)];
  if (!call) return [...main, ...EXIT()];
  main.push(insn(0xbf, 1, 10, 0, 0), insn(0x07, 1, 0, 0, -8 * (1 + r.int(4))));
  const after = [...genBody(r, false), ...EXIT()];
  main.push(insn(0x85, 0, 1, 0, after.length)); // call the subprogram right after main's exit
  const sub = [insn(0xbf, 6, 1, 0, 0), ...PROLOGUE(), ...genBody(r, true), ...EXIT()];
  return [...main, ...after, ...sub];
}

describe('stack liveness vs the running kernel (random stack programs)', () => {
  it(`agrees on verdicts and pruning for ${N} programs`, async (ctx) => {
    const why = await kernelUnavailable();
    if (why) {
      console.warn(`liveness fuzz skipped: ${why}`);
      ctx.skip();
    }
    const r = new Rng(Number(process.env.KF_LIVE_SEED ?? 2024));
    let verdicts = 0, processed = 0, accepted = 0;
    const bad: string[] = [];
    const why2 = new Map<string, number>();
    const procDiff: string[] = [];
    for (let i = 0; i < N; i++) {
      const prog = genProgram(r, i % 2 === 1);
      if (process.env.KF_LIVE_DUMP === String(i)) {
        const k2 = await kernelLoad(prog, 1, { logLevel: 2 });
        const o2 = verify({ insns: prog, progType: 1, btfFuncInfo: false }, { logLevel: 2 });
        console.log(`KERNEL:\n${k2.log}\nOURS:\n${o2.log}`);
      }
      const k = await kernelLoad(prog, 1, { logLevel: 1 });
      const o = verify({ insns: prog, progType: 1, btfFuncInfo: false }, { logLevel: 1 });
      if (k.ok === o.accepted) verdicts++;
      else bad.push(`program ${i}: kernel ${k.ok ? 'accepts' : 'rejects'}, ours ${o.accepted ? 'accepts' : `rejects (${o.error})`}`);
      if (k.ok) accepted++;
      else why2.set(o.error ?? '?', (why2.get(o.error ?? '?') ?? 0) + 1);
      const m = /processed (\d+) insns/.exec(k.log);
      if (m && Number(m[1]) === o.processed) processed++;
      else if (m && procDiff.length < 5) procDiff.push(`program ${i}: processed ours ${o.processed} kernel ${m[1]}`);
    }
    console.log(`liveness fuzz: ${N} programs, ${accepted} accepted by the kernel, verdicts equal ${verdicts}, processed equal ${processed}`);
    for (const b of [...bad.slice(0, 5), ...procDiff]) console.log('  ' + b);
    if (process.env.KF_LIVE_WHY) console.log([...why2.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8));
    expect(verdicts).toBe(N);
    expect(processed).toBeGreaterThanOrEqual(Math.floor(0.95 * N));
  }, 300_000);
});
