// Random straight-line programs over r6..r9 with conditional exits, run
// through the numeric model and compared with the running kernel's log.
import {
  type Scalar, type AluOp, type JmpOp,
  scalarUnknown, scalarConst, scalarAlu, scalarMovsx, scalarEndian, scalarBswap, isBranchTaken, refineBranch, refineBranchKernel, formatScalar,
} from '../../../../src/verifier/num/index.js';
import { enc, concat, parseLog, stripIds, type LoadResult } from './kernel.js';

const ALU_CODE: Record<string, number> = {
  add: 0x00, sub: 0x10, mul: 0x20, div: 0x30, or: 0x40, and: 0x50, lsh: 0x60, rsh: 0x70,
  neg: 0x80, mod: 0x90, xor: 0xa0, mov: 0xb0, arsh: 0xc0, sdiv: 0x30, smod: 0x90,
};
const JMP_CODE: Record<JmpOp, number> = {
  jeq: 0x10, jgt: 0x20, jge: 0x30, jset: 0x40, jne: 0x50, jsgt: 0x60, jsge: 0x70, jlt: 0xa0, jle: 0xb0, jslt: 0xc0, jsle: 0xd0,
};
const ALU_OPS: AluOp[] = ['add', 'sub', 'mul', 'div', 'sdiv', 'mod', 'smod', 'or', 'and', 'xor', 'lsh', 'rsh', 'arsh', 'mov', 'neg'];
const JMP_OPS = Object.keys(JMP_CODE) as JmpOp[];

export class Rng {
  constructor(private s: number) {}
  next(): number {
    // mulberry32
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
}

const IMMS = [0, 1, 2, 3, 7, 8, 10, 15, 16, 31, 32, 63, 64, 100, 127, 128, 255, 256, 0xfff, 0xffff, 0x10000,
  0x7fffffff, -0x80000000, -1, -2, -8, -128, -256, -0x10000, 0x12345678, 0x40000000];

function randImm(r: Rng): number {
  const k = r.int(10);
  if (k < 6) return r.pick(IMMS);
  if (k < 8) return r.int(1000) - 500;
  return r.int(0x100000000) | 0;
}

type Step =
  | { kind: 'alu'; text: string; bytes: Uint8Array; apply: (s: Scalar[]) => void }
  | { kind: 'jmp'; text: string; op: JmpOp; is32: boolean; dst: number; src: number | null; imm: number; slot: number };

export interface FuzzProgram {
  bytes: Uint8Array;
  text: string[];
  check: (res: LoadResult) => string | null;
}

const REGS = [6, 7, 8, 9];

export function genProgram(r: Rng, nSteps: number): FuzzProgram {
  const pro: Uint8Array[] = [];
  const text: string[] = [];
  for (const reg of [6, 7, 8]) {
    pro.push(enc(0x85, 0, 0, 0, 5)); // call bpf_ktime_get_ns
    pro.push(enc(0xbf, reg, 0, 0, 0)); // rX = r0
  }
  const c9 = randImm(r);
  pro.push(enc(0xb7, 9, 0, 0, c9));
  text.push(`r6..r8 = unknown; r9 = ${c9}`);
  const steps: Step[] = [];
  let nJumps = 0;
  for (let i = 0; i < nSteps; i++) {
    const dst = r.pick(REGS);
    const k = r.int(20);
    if (k < 5) {
      const op = r.pick(JMP_OPS);
      const is32 = r.int(2) === 0;
      let src: number | null = r.int(3) === 0 ? r.pick(REGS.filter((x) => x !== dst)) : null;
      const imm = src === null ? randImm(r) : 0;
      steps.push({ kind: 'jmp', text: `if ${is32 ? 'w' : 'r'}${dst} ${op} ${src === null ? imm : (is32 ? 'w' : 'r') + src}`, op, is32, dst, src, imm, slot: nJumps++ });
      continue;
    }
    if (k === 5) {
      // movsx on itself
      const is64 = r.int(2) === 0;
      const bits = r.pick(is64 ? ([8, 16, 32] as const) : ([8, 16] as const));
      steps.push({
        kind: 'alu', text: `${is64 ? 'r' : 'w'}${dst} = (s${bits})${is64 ? 'r' : 'w'}${dst}`,
        bytes: enc(is64 ? 0xbf : 0xbc, dst, dst, bits, 0),
        apply: (s) => { s[dst] = scalarMovsx(s[dst]!, bits, is64); },
      });
      continue;
    }
    if (k === 6) {
      const bits = r.pick([16, 32, 64] as const);
      const form = r.int(3); // 0 le, 1 be, 2 bswap
      const code = form === 2 ? 0xd7 : 0xd4 | (form === 1 ? 0x08 : 0);
      steps.push({
        kind: 'alu', text: `r${dst} = ${['le', 'be', 'bswap'][form]}${bits} r${dst}`,
        bytes: enc(code, dst, 0, 0, bits),
        apply: (s) => { s[dst] = form === 2 ? scalarBswap(s[dst]!, bits) : scalarEndian(s[dst]!, bits, form === 1); },
      });
      continue;
    }
    const op = r.pick(ALU_OPS);
    const is64 = r.int(3) !== 0;
    const bitsN = is64 ? 64 : 32;
    let useReg = op !== 'neg' && op !== 'mov' && r.int(3) === 0;
    let imm = randImm(r);
    const srcReg = r.pick(REGS);
    if (op === 'lsh' || op === 'rsh' || op === 'arsh') imm = r.int(bitsN);
    if ((op === 'div' || op === 'mod' || op === 'sdiv' || op === 'smod') && imm === 0) imm = 3;
    if (op === 'neg') imm = 0;
    const off = op === 'sdiv' || op === 'smod' ? 1 : 0;
    const code = (is64 ? 0x07 : 0x04) | ALU_CODE[op]! | (useReg ? 0x08 : 0);
    const w = is64 ? 'r' : 'w';
    steps.push({
      kind: 'alu',
      text: op === 'neg' ? `${w}${dst} = -${w}${dst}` : `${w}${dst} ${op}= ${useReg ? w + srcReg : imm}`,
      bytes: enc(code, dst, useReg ? srcReg : 0, off, useReg ? 0 : imm),
      apply: (s) => {
        const src = useReg ? s[srcReg]! : scalarConst(BigInt(imm));
        s[dst] = scalarAlu(op, is64, s[dst]!, src);
      },
    });
  }
  // layout: prologue, steps, r0 = 0, exit, then 2 insns per jump tail
  const bodyStart = pro.length;
  const mainEnd = bodyStart + steps.length;
  const tailAt = (slot: number): number => mainEnd + 2 + 2 * slot;
  const insns = [...pro];
  steps.forEach((st, i) => {
    const idx = bodyStart + i;
    if (st.kind === 'alu') insns.push(st.bytes);
    else {
      const code = (st.is32 ? 0x06 : 0x05) | JMP_CODE[st.op] | (st.src === null ? 0 : 0x08);
      insns.push(enc(code, st.dst, st.src ?? 0, tailAt(st.slot) - idx - 1, st.imm));
    }
  });
  insns.push(enc(0xb7, 0, 0, 0, 0), enc(0x95, 0, 0, 0, 0));
  for (let j = 0; j < nJumps; j++) insns.push(enc(0xb7, 0, 0, 0, 0), enc(0x95, 0, 0, 0, 0));
  steps.forEach((st, i) => text.push(`${bodyStart + i}: ${st.text}`));

  const check = (res: LoadResult): string | null => {
    if (res.errno !== 0) return `kernel rejected (errno ${res.errno}):\n${res.log.slice(-600)}`;
    const log = parseLog(res.log);
    const seen = new Map<number, Map<number, string>>();
    for (const l of log.lines) {
      // 6.18 forks the state when an and/or/... operand is in [-1, 0]
      // (maybe_fork_scalars, an exploration feature, not a numeric one):
      // a body insn visited twice means such a fork; skip the program
      if (seen.has(l.idx) && l.idx >= bodyStart && l.idx < mainEnd) return null;
      seen.set(l.idx, l.regs);
    }
    const s: Scalar[] = [];
    for (const reg of [6, 7, 8]) s[reg] = scalarUnknown();
    s[9] = scalarConst(BigInt(c9));
    const cmp = (where: string, regs: Map<number, string>, st: Scalar[]): string | null => {
      for (const [reg, txt] of regs) {
        if (reg < 6 || reg > 9) continue;
        const want = stripIds(txt);
        const got = formatScalar(st[reg]!);
        if (want !== got) return `${where}: R${reg} kernel ${want} model ${got}`;
      }
      return null;
    };
    let live = true;
    let violationsSeen = 0;
    for (let i = 0; i < steps.length; i++) {
      const idx = bodyStart + i;
      const st = steps[i]!;
      const kernelSaw = seen.has(idx);
      if (kernelSaw !== live) return `insn ${idx}: kernel ${kernelSaw ? 'reached' : 'did not reach'} it, model ${live ? 'did' : 'did not'}`;
      if (!live) break;
      if (st.kind === 'alu') {
        st.apply(s);
        const e = cmp(`after insn ${idx} (${st.text})`, seen.get(idx)!, s);
        if (e) return e;
        continue;
      }
      const a = s[st.dst]!;
      const b = st.src === null ? scalarConst(BigInt(st.imm)) : s[st.src]!;
      const pred = isBranchTaken(st.op, st.is32, a, b);
      const tail = tailAt(st.slot);
      const fromKey = `${idx}->${tail}`;
      const same = st.src === st.dst;
      const tk = refineBranchKernel(st.op, st.is32, a, b, true, same);
      const fk = refineBranchKernel(st.op, st.is32, a, b, false, same);
      const taken = tk && ([tk.a, tk.b] as const);
      const fall = fk && ([fk.a, fk.b] as const);
      if ((pred === 0) !== (taken === null)) return `insn ${idx}: refineBranch(taken) ${taken ? 'possible' : 'null'} but isBranchTaken ${pred}`;
      const kv = [...(tk?.violations ?? []), ...(fk?.violations ?? [])];
      violationsSeen += kv.length;
      for (const v of kv) if (!res.log.includes(v)) return `insn ${idx}: model predicts '${v}' which the kernel did not log`;
      if (pred === -1) {
        const f = log.from.get(fromKey);
        if (!f) return `insn ${idx} (${st.text}): kernel never explored the taken edge, model pred -1`;
        if (f === 'safe') return `insn ${idx}: taken edge pruned`;
        const ts = s.slice();
        ts[st.dst] = taken![0];
        if (st.src !== null) ts[st.src] = taken![1];
        const e = cmp(`taken edge of ${idx} (${st.text})`, f, ts);
        if (e) return e;
      } else if (log.from.has(fromKey)) {
        return `insn ${idx} (${st.text}): kernel explored taken edge, model pred ${pred}`;
      }
      if (pred === 1) {
        if (!seen.has(tail)) return `insn ${idx}: model says always taken but kernel did not reach ${tail}`;
        live = false;
        continue;
      }
      if (fall === null) return `insn ${idx}: fall-through null but pred ${pred}`;
      s[st.dst] = fall[0];
      if (st.src !== null) s[st.src] = fall[1];
      const e = cmp(`fall-through of ${idx} (${st.text})`, seen.get(idx)!, s);
      if (e) return e;
    }
    const kernelViolations = res.log.match(/REG INVARIANTS VIOLATION/g)?.length ?? 0;
    if (kernelViolations !== violationsSeen) return `kernel logged ${kernelViolations} invariant violations, model ${violationsSeen}`;
    return null;
  };
  return { bytes: concat(insns), text, check };
}
