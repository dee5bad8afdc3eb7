// Program structure checks before exploration: mirrors add_subprog_and_kfunc(),
// check_subprogs(), resolve_pseudo_ldimm64(), bpf_opcode_in_insntable() and
// check_cfg() / visit_insn() / push_insn(), plus compute_live_registers().
import type { Insn } from '../isa/insn.js';
import type { Env } from './env.js';
import { isSyncCallbackHelper } from './helpers-proto.js';
import { callUseMask } from './state/call-summary.js';

const VALID = new Set<number>();
(() => {
  const aluOps = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0];
  for (const cls of [0x04, 0x07]) {
    for (const op of aluOps) {
      VALID.add(cls | op);
      VALID.add(cls | op | 8);
    }
    VALID.add(cls | 0x80);
  }
  VALID.add(0xd4).add(0xdc).add(0xd7);
  const jOps = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
  for (const cls of [0x05, 0x06]) for (const op of jOps) VALID.add(cls | op).add(cls | op | 8);
  VALID.add(0x05).add(0x06).add(0x85).add(0x95).add(0xe5).add(0xf5);
  for (const sz of [0x00, 0x08, 0x10, 0x18]) {
    VALID.add(0x63 | sz).add(0x62 | sz).add(0x61 | sz);
  }
  VALID.add(0x81).add(0x89).add(0x91);
  VALID.add(0xc3).add(0xdb).add(0xcb).add(0xd3);
  VALID.add(0x20).add(0x28).add(0x30).add(0x40).add(0x48).add(0x50).add(0x18);
})();

const isLdImm64 = (x: Insn): boolean => x.code === 0x18;
const isPseudoCall = (x: Insn): boolean => x.code === 0x85 && x.src === 1;
const isPseudoFunc = (x: Insn): boolean => x.code === 0x18 && x.src === 4;
const isKfuncCall = (x: Insn): boolean => x.code === 0x85 && x.src === 2;

/** mirrors add_subprog_and_kfunc() + check_subprogs() */
export function checkSubprogs(env: Env): void {
  const insns = env.insns;
  const n = insns.length;
  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    const x = insns[i];
    if (!isPseudoCall(x) && !isPseudoFunc(x) && !isKfuncCall(x)) continue;
    if (isKfuncCall(x)) continue;
    const t = i + x.imm + 1;
    if (t < 0 || t >= n) env.reject('call to invalid destination');
    starts.add(t);
  }
  const sorted = [...starts].sort((a, b) => a - b);
  env.subprogs = sorted.map((start) => ({ start, stackDepth: 0, hasLdAbs: false }));
  // the end of add_subprog_and_kfunc(), before check_subprogs() looks at the jumps
  if (env.log.level & 2) for (let i = 0; i < sorted.length; i++) env.verbose(`func#${i} @${sorted[i]}\n`);
  if (n === 0) env.reject('last insn is not an exit or jmp');
  let cur = 0;
  let start = 0;
  let end = env.subprogs.length > 1 ? env.subprogs[1].start : n;
  for (let i = 0; i < n; i++) {
    const code = insns[i].code;
    const cls = code & 7;
    if (cls === 0 && ((code & 0xe0) === 0x20 || (code & 0xe0) === 0x40)) env.subprogs[cur].hasLdAbs = true;
    if ((cls === 5 || cls === 6) && (code & 0xf0) !== 0x90 && (code & 0xf0) !== 0x80) {
      const off = code === 0x06 ? i + insns[i].imm + 1 : i + insns[i].off + 1;
      if (off < start || off >= end) env.reject(`jump out of range from insn ${i} to ${off}`);
    }
    if (i === end - 1) {
      if (code !== 0x95 && code !== 0x06 && code !== 0x05) env.reject('last insn is not an exit or jmp');
      start = end;
      cur++;
      if (cur < env.subprogs.length) end = cur + 1 < env.subprogs.length ? env.subprogs[cur + 1].start : n;
    }
  }
}

/** mirrors the checks of resolve_pseudo_ldimm64() that need no map table, and the opcode table. */
export function resolveLdImm64(env: Env): void {
  const insns = env.insns;
  const n = insns.length;
  for (let i = 0; i < n; i++) {
    const x = insns[i];
    if ((x.code & 7) === 1 && (((x.code & 0xe0) !== 0x60 && (x.code & 0xe0) !== 0x80) || x.imm !== 0))
      env.reject('BPF_LDX uses reserved fields');
    if (isLdImm64(x)) {
      const y = insns[i + 1];
      if (i === n - 1 || y.code !== 0 || y.dst !== 0 || y.src !== 0 || y.off !== 0) env.reject('invalid bpf_ld_imm64 insn');
      if (x.src === 0 || x.src === 3 || x.src === 4) {
        i++;
        continue;
      }
      if (!((x.src === 2 || x.src === 6) || ((x.src === 1 || x.src === 5) && y.imm === 0))) env.reject('unrecognized bpf_ld_imm64 insn');
      if ((x.src === 1 || x.src === 2) && !env.maps.has(x.imm)) env.reject(`fd ${x.imm} is not pointing to valid bpf_map`);
      i++;
      continue;
    }
    if (!VALID.has(x.code)) env.reject(`unknown opcode ${x.code.toString(16).padStart(2, '0')}`);
  }
}

const DISCOVERED = 0x10;
const EXPLORED = 0x20;
const FALLTHROUGH = 1;
const BRANCH = 2;

/** mirrors check_cfg(): depth-first search marking prune points. */
export function checkCfg(env: Env): void {
  const insns = env.insns;
  const n = insns.length;
  const state = new Uint8Array(n);
  const stack: number[] = [0];
  state[0] = DISCOVERED;
  const prune = (i: number): void => {
    if (i >= 0 && i < n) env.aux[i].prunePoint = true;
  };
  const jmpPoint = (i: number): void => {
    if (i >= 0 && i < n) env.aux[i].jmpPoint = true;
  };
  // returns 1 KEEP_EXPLORING, 0 DONE_EXPLORING
  const push = (t: number, w: number, e: number): number => {
    if (e === FALLTHROUGH && state[t] >= (DISCOVERED | FALLTHROUGH)) return 0;
    if (e === BRANCH && state[t] >= (DISCOVERED | BRANCH)) return 0;
    if (w < 0 || w >= n) env.reject(`jump out of range from insn ${t} to ${w}`);
    if (e === BRANCH) {
      prune(w);
      jmpPoint(w);
    }
    if (state[w] === 0) {
      state[t] = DISCOVERED | e;
      state[w] = DISCOVERED;
      stack.push(w);
      return 1;
    } else if ((state[w] & 0xf0) === DISCOVERED) {
      return 0; // back-edge: allowed for bpf_capable
    } else if (state[w] === EXPLORED) {
      state[t] = DISCOVERED | e;
    }
    return 0;
  };
  const visitCall = (t: number, callee: boolean): number => {
    const sz = isLdImm64(insns[t]) ? 2 : 1;
    const r = push(t, t + sz, FALLTHROUGH);
    if (r) return r;
    prune(t + sz);
    jmpPoint(t + sz);
    if (callee) {
      prune(t);
      return push(t, t + insns[t].imm + 1, BRANCH);
    }
    return 0;
  };
  const visit = (t: number): number => {
    const x = insns[t];
    if (isPseudoFunc(x)) return visitCall(t, true);
    const cls = x.code & 7;
    if (cls !== 5 && cls !== 6) return push(t, t + (isLdImm64(x) ? 2 : 1), FALLTHROUGH);
    const op = x.code & 0xf0;
    if (op === 0x90) return 0;
    if (op === 0x80) {
      // helpers calling callbacks: a checkpoint before each iteration (mirrors mark_calls_callback())
      if (x.src === 0 && isSyncCallbackHelper(x.imm)) {
        env.aux[t].callsCallback = true;
        env.aux[t].forceCheckpoint = true;
        prune(t);
        jmpPoint(t);
      }
      return visitCall(t, x.src === 1);
    }
    if (op === 0x00) {
      const off = cls === 5 ? x.off : x.imm;
      const r = push(t, t + off + 1, FALLTHROUGH);
      if (r) return r;
      prune(t + off + 1);
      jmpPoint(t + off + 1);
      return 0;
    }
    prune(t);
    if (x.code === 0xe5) env.aux[t].forceCheckpoint = true;
    const r = push(t, t + 1, FALLTHROUGH);
    if (r) return r;
    return push(t, t + x.off + 1, BRANCH);
  };
  while (stack.length) {
    const t = stack[stack.length - 1];
    if (visit(t) === 0) {
      state[t] = EXPLORED;
      stack.pop();
    }
  }
  for (let i = 0; i < n; i++) {
    if (state[i] !== EXPLORED) env.reject(`unreachable insn ${i}`);
    if (isLdImm64(insns[i])) {
      if (i + 1 < n && state[i + 1] !== 0) env.reject(`jump into the middle of ldimm64 insn ${i}`);
      i++;
    }
  }
}

/** Registers an instruction reads (use) and writes (def): for compute_live_registers(). */
function useDef(x: Insn): [number, number] {
  const cls = x.code & 7;
  const bit = (r: number): number => (r < 11 ? 1 << r : 0);
  switch (cls) {
    case 4:
    case 7: {
      const op = x.code & 0xf0;
      if (op === 0xb0) return [x.code & 8 ? bit(x.src) : 0, bit(x.dst)];
      return [bit(x.dst) | (x.code & 8 ? bit(x.src) : 0), bit(x.dst)];
    }
    case 1:
      return [bit(x.src), bit(x.dst)];
    case 2:
      return [bit(x.dst), 0];
    case 3:
      if ((x.code & 0xe0) === 0xc0) {
        const fetch = x.imm & 1;
        const u = bit(x.dst) | bit(x.src) | (x.imm === 0xf1 ? 1 : 0);
        return [u, fetch ? (x.imm === 0xf1 ? 1 : bit(x.src)) : 0];
      }
      return [bit(x.dst) | bit(x.src), 0];
    case 0:
      if (x.code === 0x18) return [0, bit(x.dst)];
      return [(1 << 6) | ((x.code & 0xe0) === 0x40 ? bit(x.src) : 0), 0x3f];
    default: {
      const op = x.code & 0xf0;
      if (op === 0x95 || op === 0x90) return [1, 0];
      if (op === 0x80) return [0x3e, 0x3f];
      if (op === 0x00 || x.code === 0xe5) return [0, 0];
      return [bit(x.dst) | (x.code & 8 ? bit(x.src) : 0), 0];
    }
  }
}

/** mirrors compute_live_registers(): registers live before each instruction (r10 always). */
export function computeLiveRegs(env: Env): void {
  const insns = env.insns;
  const n = insns.length;
  const succ: number[][] = insns.map((x, i) => {
    const cls = x.code & 7;
    if (x.code === 0x18) return [i + 2];
    if (cls !== 5 && cls !== 6) return [i + 1];
    const op = x.code & 0xf0;
    if (op === 0x90) return [];
    if (op === 0x80) return [i + 1];
    if (op === 0x00) return [i + (cls === 5 ? x.off : x.imm) + 1];
    return [i + 1, i + x.off + 1];
  });
  const ud = insns.map(useDef);
  // helper and kfunc calls read only their arguments (get_call_summary())
  for (let i = 0; i < n; i++) if (insns[i].code === 0x85 && insns[i].src !== 1) ud[i][0] = callUseMask(env, insns[i]);
  const live = new Uint16Array(n);
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      let out = 0;
      for (const s of succ[i]) if (s >= 0 && s < n) out |= live[s];
      const v = ud[i][0] | (out & ~ud[i][1]);
      if (v !== live[i]) {
        live[i] = v;
        changed = true;
      }
    }
  }
  for (let i = 0; i < n; i++) env.aux[i].liveRegs = live[i] | (1 << 10);
}

export { isKfuncCall, isPseudoCall };
