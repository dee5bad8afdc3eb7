// Before exploring a program with inlined regions: check the regions'
// descriptions (KfError: bad input) and their shape (Reject: a region that
// cannot stand for a call), find the callee-saved spills/fills, and make each
// region's first slot read as the call it stands for (so that the program's
// paths, precision backtracking and iterator loops see the call there); the
// region's own paths read the real instruction (regionInsn()).
import { insn as mkInsn, type Insn } from '../../isa/insn.js';
import { Class, JmpOp, Mode, opClass, opJmp, R10, Size } from '../../isa/opcode.js';
import { isLdImm64Hi, jumpTarget, writesMask } from '../../isa/view.js';
import { KfError } from '../../util/errors.js';
import type { Env } from '../env.js';
import { kfuncEnv } from '../kfunc/context.js';
import { HELPER_BODIES } from './helper-bodies.js';
import type { InlinedRegion, RegionInfo, SpillSlot } from './types.js';

export interface InlinedEnv {
  readonly regions: readonly RegionInfo[];
  /** Region by first slot. */
  readonly at: Map<number, RegionInfo>;
  /** Interned per-path region contexts by key. */
  readonly interned: Map<string, object>;
  /** Instructions processed on paths through regions. */
  processed: number;
}

const ENVS = new WeakMap<Env, InlinedEnv>();

export function inlinedEnv(env: Env): InlinedEnv | undefined {
  return ENVS.get(env);
}

const isStxDwR10 = (x: Insn): boolean => x.code === (Class.STX | Mode.MEM | Size.DW) && x.dst === R10 && x.src >= 6 && x.src <= 9;
const isLdxDwR10 = (x: Insn): boolean => x.code === (Class.LDX | Mode.MEM | Size.DW) && x.src === R10 && x.dst >= 6 && x.dst <= 9;

/** Validates the descriptions (KfError) against a program of `n` slots. */
export function checkRegionList(list: readonly InlinedRegion[], n: number): void {
  const sorted = [...list].sort((a, b) => a.start - b.start);
  let prevEnd = -1;
  for (const r of sorted) {
    const what = `inlined region of ${String(r.kfunc)} [${r.start}, ${r.end})`;
    if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start < 0 || r.end <= r.start || r.end > n)
      throw new KfError(`${what}: not a non-empty range of the program's ${n} slots`);
    if (r.start < prevEnd) throw new KfError(`${what}: overlaps the region ending at ${prevEnd}`);
    if (!Number.isInteger(r.btfId) || r.btfId <= 0) throw new KfError(`${what}: invalid BTF id ${r.btfId}`);
    if (r.stackBase !== undefined && (!Number.isInteger(r.stackBase) || r.stackBase < 0 || r.stackBase > 512))
      throw new KfError(`${what}: stackBase ${r.stackBase} outside 0..512`);
    prevEnd = r.end;
  }
}

/** The static analysis of one region; rejects (env.reject) a region that cannot stand for a call. */
function analyse(env: Env, r: InlinedRegion, index: number): RegionInfo {
  const insns = env.insns;
  const where = `insns ${r.start}..${r.end - 1}`;
  const pre = `inlined ${r.kfunc} (${where})`;
  const meta = kfuncEnv(env).meta(r.btfId);
  if (!meta) throw new KfError(`inlined region of ${r.kfunc} [${r.start}, ${r.end}): kernel btf_id ${r.btfId} is not a function`);
  const helper = r.helper === undefined ? undefined : HELPER_BODIES.get(r.helper);
  if (r.helper !== undefined && (!helper || helper.body !== meta.name))
    throw new KfError(`inlined region of ${r.kfunc} [${r.start}, ${r.end}): helper ${String(r.helper)} has no inlinable body named ${meta.name}`);
  if (!helper && meta.kind === 'internal') env.reject(`${pre}: ${meta.name} is a kernel internal, not a kfunc`);
  if (isLdImm64Hi(insns, r.start)) throw new KfError(`inlined region of ${r.kfunc}: slot ${r.start} is the second half of an lddw`);
  if (r.end < insns.length && isLdImm64Hi(insns, r.end)) throw new KfError(`inlined region of ${r.kfunc}: slot ${r.end} is the second half of an lddw`);
  const spills: SpillSlot[] = [];
  for (let i = r.start; i < r.end && isStxDwR10(insns[i]); i++) spills.push({ reg: insns[i].src, off: insns[i].off, idx: i });
  const fills: SpillSlot[] = [];
  for (let i = r.end - 1; i >= r.start + spills.length && isLdxDwR10(insns[i]) && !isLdImm64Hi(insns, i); i--)
    fills.unshift({ reg: insns[i].dst, off: insns[i].off, idx: i });
  const fillStart = r.end - fills.length;
  let written = 0;
  for (let i = r.start; i < r.end; i++) {
    const x = insns[i];
    if (isLdImm64Hi(insns, i)) continue;
    const cls = opClass(x.code);
    if (cls === Class.JMP || cls === Class.JMP32) {
      const op = opJmp(x.code);
      if (op === JmpOp.EXIT) env.reject(`${pre}: exit at insn ${i} inside the region (a body's exits must jump to its end)`);
      if (op === JmpOp.CALL) {
        if (x.src === 1) env.reject(`${pre}: bpf-to-bpf call at insn ${i} inside the region`);
        if (x.src !== 2) env.reject(`${pre}: helper call at insn ${i} inside the region (bodies call kernel functions only)`);
        continue;
      }
      const t = jumpTarget(insns, i)!;
      if (t < r.start || t > r.end) env.reject(`${pre}: jump at insn ${i} to ${t} leaves the region`);
      if (t === r.start) env.reject(`${pre}: jump at insn ${i} back to the region's first slot`);
      if (fills.length && t > fillStart) env.reject(`${pre}: jump at insn ${i} to ${t} skips the fills of the callee-saved registers`);
    }
    if (i >= fillStart) continue;
    written |= writesMask(insns, i);
  }
  const restored = new Set(fills.filter((f) => spills.some((s) => s.reg === f.reg && s.off === f.off)).map((f) => f.reg));
  const clobbers: number[] = [];
  for (let reg = 6; reg <= 9; reg++) if (written & (1 << reg) && !restored.has(reg)) clobbers.push(reg);
  for (const f of fills) if (!restored.has(f.reg) && !clobbers.includes(f.reg)) clobbers.push(f.reg);
  clobbers.sort((a, b) => a - b);
  return {
    index,
    start: r.start,
    end: r.end,
    kfunc: r.kfunc,
    btfId: r.btfId,
    meta,
    nargs: helper ? helper.nargs : meta.args.length,
    ...(helper?.dynptrArg !== undefined && { dynptrArg: helper.dynptrArg }),
    stackBase: r.stackBase ?? 0,
    first: insns[r.start],
    call: helper ? mkInsn(Class.JMP | JmpOp.CALL, 0, 0, 0, helper.helper) : mkInsn(Class.JMP | JmpOp.CALL, 0, 2, 0, r.btfId),
    spills,
    fills,
    clobbers,
    where,
  };
}

/**
 * Attaches the regions to `env` after the structure checks of the real
 * program (check_cfg, liveness) and puts each region's call in its first slot.
 * `env.insns` must be a private copy.
 */
export function prepareInlined(env: Env, list: readonly InlinedRegion[]): InlinedEnv {
  checkRegionList(list, env.insns.length);
  const regions = [...list].sort((a, b) => a.start - b.start).map((r, k) => analyse(env, r, k));
  const at = new Map<number, RegionInfo>();
  const insns = env.insns as Insn[];
  for (const r of regions) {
    at.set(r.start, r);
    insns[r.start] = r.call;
    const aux = env.aux[r.start];
    // the call reads its arguments (the body may ignore some, the call's checks do not)
    for (let a = 1; a <= r.nargs; a++) aux.liveRegs |= 1 << a;
    // the program's path continues at `end`: a non-sequential step the jump history records
    if (r.end < env.aux.length) env.aux[r.end].jmpPoint = true;
  }
  const ie: InlinedEnv = { regions, at, interned: new Map(), processed: 0 };
  ENVS.set(env, ie);
  return ie;
}



