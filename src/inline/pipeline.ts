// The whole inlining pipeline for one program (isolated mode, as the RFC):
//   1. one instance of the body per inlinable call site, appended;
//   2. verification, which also verifies each instance in isolation at its
//      call and records per instruction what was reached and which edges
//      were taken;
//   3. the rewrite: per-instance dead code removal and splice;
//   4. verification of the rewritten program (which must pass again).

import type { Insn } from '../isa/insn.js';
import { Class, JmpOp, LD_IMM64 } from '../isa/opcode.js';
import { KfError } from '../util/errors.js';
import type { Btf } from '../btf/index.js';
import type { KfuncOptions } from '../verifier/kfunc/context.js';
import { findCtxAccesses } from '../kernel/ctx-track.js';
import { verify, type VerifyProgram, type VerifyResult } from '../verifier/verify.js';
import { findHelperSites, type HelperSiteBody } from './helper-sites.js';
import { makeInstances, type WithInstances } from './instances.js';
import type { KfuncBody, KfuncLibrary } from './library.js';
import type { SiteCandidate } from './profit.js';
import { rewriteInstances, type SiteReport } from './rewrite.js';

/** 'isolated' (the RFC): a fake frame per instance; 'non-isolated': each body verified in its caller's state. */
export type InlineMode = 'isolated' | 'non-isolated';

export interface InlineOptions {
  readonly mode?: InlineMode;
  /** Per-instance dead code removal (default true). */
  readonly dce?: boolean;
  /** Log level of both verifications (default 0). */
  readonly logLevel?: number;
  /** Which callee-saved registers to spill around a body: 'used' (the RFC) or 'live' (default). */
  readonly spill?: 'used' | 'live';
  /** Inline helper calls with inlinable bodies (hash-map lookups, bpf_dynptr_read/write; isolated mode; default true). */
  readonly helpers?: boolean;
  /** Prototypes of kfuncs outside the model BTF (default: the library's own test kfuncs). */
  readonly kfuncs?: KfuncOptions;
  /** Per-site decision; true inlines, a string is the reason not to. Default: inline everything. */
  readonly want?: (c: SiteCandidate) => true | string;
}

export interface InlineResult {
  /** Verification of the program with its instances. */
  readonly verified: VerifyResult;
  /** The program with its instances, as verified. */
  readonly withInstances: WithInstances;
  /** The rewritten program. */
  readonly insns: Insn[];
  /** Old slot → new slot. */
  readonly map: Int32Array;
  readonly sites: SiteReport[];
  /** Verification of the rewritten program. */
  readonly reverified: VerifyResult;
  /**
   * Slots of the rewritten program that access the program's ctx (for the
   * engines' ctx conversion): the original program's, moved. Loads inside an
   * inlined body go through kernel pointers and are never ctx accesses.
   */
  readonly ctxPcs: Set<number>;
  /** Where the inlined bodies sit in the rewritten program: [start, end); `helper`: the region stands for that helper's call. */
  readonly inlined: { start: number; end: number; kfunc: string; btfId: number; helper?: number }[];
  /** Helper call sites that got an instance (by slot of the original program). */
  readonly helperSites: ReadonlyMap<number, HelperSiteBody>;
}

/** First slots of the subprograms of a program (0 and every bpf-to-bpf call or function-address target). */
export function subprogStarts(insns: readonly Insn[], end = insns.length): number[] {
  const s = new Set<number>([0]);
  for (let i = 0; i < end; i++) {
    const x = insns[i];
    if (x.code === (Class.JMP | JmpOp.CALL) && x.src === 1) s.add(i + x.imm + 1);
    else if (x.code === LD_IMM64 && x.src === 4) s.add(i + x.imm + 1);
    if (x.code === LD_IMM64) i++;
  }
  return [...s].filter((v) => v >= 0 && v < end).sort((a, b) => a - b);
}

/**
 * Calls to kfuncs of the model kernel carry their model BTF id. Kfuncs that
 * only a test library has (prototypes from the library's or the program's
 * BTF) get ids above every model id: this base plus their id in that BTF.
 */
export const LIBRARY_KFUNC_BASE = 0x4000000;

/** The call imm that names a library body. */
export function callIdOf(b: KfuncBody): number {
  return b.protoSource === 'kernel' ? b.btfId : LIBRARY_KFUNC_BASE + b.btfId;
}

/** Bodies of a library by the id a call to them carries. */
export function bodiesById(lib: KfuncLibrary): Map<number, KfuncBody> {
  const m = new Map<number, KfuncBody>();
  for (const b of lib.bodies.values()) m.set(callIdOf(b), b);
  return m;
}

/** What the verifier needs to check calls of a library's own (test) kfuncs. */
export function libraryKfuncOptions(lib: KfuncLibrary, programBtf?: Btf): KfuncOptions | undefined {
  const extra = [...lib.bodies.values()]
    .filter((b) => b.protoSource !== 'kernel')
    .flatMap((b) => {
      const btf = b.protoSource === 'library' ? lib.btf : programBtf;
      return btf ? [{ id: callIdOf(b), btf, btfId: b.btfId }] : [];
    });
  return extra.length ? { extra } : undefined;
}

/**
 * line_info moved to the rewritten program's slots (as rewriteObject moves .BTF.ext): records
 * of deleted slots collapse onto the slot that follows, the last one winning; records past the
 * program's end go.
 */
function movedLineInfo(lineInfo: NonNullable<VerifyProgram['lineInfo']>, map: Int32Array): NonNullable<VerifyProgram['lineInfo']> {
  const end = map[map.length - 1];
  const out: { insn: number; fileName: string; line: string; lineNum: number }[] = [];
  for (const l of lineInfo) {
    const insn = l.insn >= 0 && l.insn < map.length ? map[l.insn] : -1;
    if (insn < 0 || insn >= end) continue;
    const moved = { insn, fileName: l.fileName, line: l.line, lineNum: l.lineNum };
    if (out.length && out[out.length - 1].insn === insn) out[out.length - 1] = moved;
    else out.push(moved);
  }
  return out;
}

export function inlineProgram(prog: VerifyProgram, lib: KfuncLibrary, opts: InlineOptions = {}): InlineResult {
  const mode = opts.mode ?? 'isolated';
  if (mode !== 'isolated' && mode !== 'non-isolated') throw new KfError(`inline mode "${String(mode)}" is not implemented`);
  const byId = bodiesById(lib);
  // helper calls with inlinable bodies (hash lookups, bpf_dynptr_read/write):
  // isolated mode only (the non-isolated entry is at kfunc calls)
  const helperSites = mode === 'isolated' && opts.helpers !== false ? findHelperSites(prog.insns, prog.maps, lib) : new Map<number, HelperSiteBody>();
  const w = makeInstances(prog.insns, (x) => (x.off === 0 ? byId.get(x.imm) : undefined), (_x, i) => helperSites.get(i));
  const kfuncs = opts.kfuncs ?? libraryKfuncOptions(lib);
  const verifyOpts = {
    logLevel: opts.logLevel ?? 0,
    instances: { progLen: w.progLen, list: w.instances, mode },
    ...(kfuncs && { kfuncs }),
  };
  const verified = verify({ ...prog, insns: w.insns }, verifyOpts as Parameters<typeof verify>[1]);
  if (!verified.accepted) {
    throw new KfError(`the program is rejected by the verifier: ${verified.error}`);
  }
  const starts = subprogStarts(prog.insns);
  const callerDepth = (site: number): number => {
    let k = 0;
    while (k + 1 < starts.length && starts[k + 1] <= site) k++;
    return verified.stackDepth[k] ?? 0;
  };
  const r = rewriteInstances(w, verified, {
    dce: opts.dce ?? true,
    callerDepth,
    ...(opts.spill && { spill: opts.spill }),
    ...(opts.want && { want: opts.want }),
  });
  // The spliced regions are kernel code: the re-verification checks them in
  // the kernel's terms (KERNEL_VALUE) and gives r0 the kfunc's return type at
  // their end, as the call they replace did.
  const inlined = r.sites
    .filter((s) => s.inlined)
    .map((s) => {
      const h = helperSites.get(s.site);
      const base = { start: r.map[s.site], end: r.map[s.site] + s.replacedBy, kfunc: s.kfunc, stackBase: callerDepth(s.site) };
      return h ? { ...base, btfId: h.btfId, helper: h.helper } : { ...base, btfId: prog.insns[s.site].imm };
    });
  const reverifyOpts = { logLevel: opts.logLevel ?? 0, inlined, ...(kfuncs && { kfuncs }) };
  // func_info moved along with the subprograms (as rewriteObject moves .BTF.ext): the global
  // functions of the rewritten program are verified on their own again
  const funcInfo = prog.funcInfo?.map((f) => ({ insn: r.map[f.insn], typeId: f.typeId }));
  const lineInfo = prog.lineInfo && movedLineInfo(prog.lineInfo, r.map);
  const reverified = verify({ ...prog, insns: r.insns, ...(funcInfo && { funcInfo }), ...(lineInfo && { lineInfo }) }, reverifyOpts as Parameters<typeof verify>[1]);
  const ctxPcs = new Set<number>();
  for (const pc of findCtxAccesses(prog.insns)) ctxPcs.add(r.map[pc]);
  return { verified, withInstances: w, insns: r.insns, map: r.map, sites: r.sites, reverified, inlined, ctxPcs, helperSites };
}
