// Applying CO-RE relocations to the instructions of one code section.
// Mirrors libbpf: bpf_core_patch_insn() / bpf_core_poison_insn()
// (relo_core.c) and bpf_object__relocate_core() / bpf_core_resolve_relo()
// (libbpf.c): each .BTF.ext core_relo record of a section is resolved against
// the target BTF and its instruction patched in place, before subprograms
// are appended to programs (so appended copies carry the patched code).

import type { Btf } from '../btf/btf.js';
import { findCoreCandidates } from '../btf/core-match.js';
import { coreKindName, typeLabel } from '../btf/core-spec.js';
import type { BtfCoreRelo } from '../btf/ext.js';
import type { Insn } from '../isa/insn.js';
import { KfError, withContext } from '../util/errors.js';
import { calcCoreRelo, type CoreCandCache, type CoreReloResult } from './core-calc.js';

/** libbpf's poison: `call 195896080` ("bad relo"); the verifier then says "invalid func unknown#195896080". */
export const CORE_POISON_IMM = 0xbad2310;
const CALL = 0x85;
const LD_IMM64 = 0x18;

export const isCorePoison = (x: Insn): boolean => x.code === CALL && x.src === 0 && x.imm === CORE_POISON_IMM;

export interface CoreReloOutcome {
  readonly section: string;
  /** Index of the record among its section's core_relo records (libbpf's "relo #N"). */
  readonly index: number;
  /** The function (program or subprogram) holding the instruction. */
  readonly func: string;
  /** Instruction index inside that function (libbpf's "insn #N"). */
  readonly insn: number;
  /** Instruction index inside the section. */
  readonly sectionInsn: number;
  readonly kind: number;
  readonly kindName: string;
  readonly typeId: number;
  readonly access: string;
  /** What libbpf's debug log says: patched (with the class it names) or poisoned. */
  readonly action: 'ALU/ALU64' | 'LDX/ST/STX' | 'LDIMM64' | 'poisoned';
  /** The instruction's value before and after (imm, off or imm64); equal to each other when poisoned. */
  readonly before: bigint;
  readonly after: bigint;
  /** Load/store size change in bytes, when the access size was adjusted. */
  readonly memSize?: { readonly from: number; readonly to: number };
  readonly result: CoreReloResult;
}

export interface CoreFunc {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

/** Mirrors bpf_core_poison_insn(). */
const poisonInsn = (): Insn => ({ code: CALL, dst: 0, src: 0, off: 0, imm: CORE_POISON_IMM });

const sizeBytes = (code: number): number => [4, 2, 1, 8][(code >> 3) & 3];
const sizeCode = (bytes: number): number => ({ 4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18 } as Record<number, number>)[bytes] ?? -1;
const s64 = (n: number): bigint => BigInt.asUintN(64, BigInt(n));

type Patched = Pick<CoreReloOutcome, 'action' | 'before' | 'after' | 'memSize'>;

/**
 * Mirrors bpf_core_patch_insn(): patches insns[idx] (and idx+1 for ld_imm64)
 * with the relocation result. Throws KfError where libbpf fails the load.
 */
export function patchCoreInsn(insns: Insn[], idx: number, res: CoreReloResult): Patched {
  const x = insns[idx];
  const cls = x.code & 7;
  const isLd = x.code === LD_IMM64;
  const poison = (): Patched => {
    const before = isLd && idx + 1 < insns.length ? s64(x.imm >>> 0) | (s64(insns[idx + 1].imm) << 32n) : s64(cls === 1 || cls === 2 || cls === 3 ? x.off : x.imm);
    if (isLd && idx + 1 < insns.length) insns[idx + 1] = poisonInsn();
    insns[idx] = poisonInsn();
    return { action: 'poisoned', before: BigInt.asUintN(64, before), after: BigInt.asUintN(64, before) };
  };
  if (res.poison) return poison();
  const { origVal, newVal } = res;
  switch (cls) {
    case 4: case 7: {
      // ALU / ALU64 with an immediate
      if (x.code & 0x08) throw new KfError(`instruction (opcode 0x${x.code.toString(16)}) is an ALU op with a register source, not an immediate`);
      if (res.validate && s64(x.imm) !== origVal) {
        throw new KfError(`unexpected instruction (ALU/ALU64) value: got ${x.imm >>> 0}, exp ${origVal} -> ${newVal}`);
      }
      insns[idx] = { ...x, imm: Number(BigInt.asIntN(32, newVal)) };
      return { action: 'ALU/ALU64', before: s64(x.imm), after: newVal };
    }
    case 1: case 2: case 3: {
      // LDX / ST / STX
      if (res.validate && s64(x.off) !== origVal) {
        throw new KfError(`unexpected instruction (LDX/ST/STX) value: got ${x.off & 0xffff}, exp ${origVal} -> ${newVal}`);
      }
      if (newVal > 0x7fffn) throw new KfError(`instruction (LDX/ST/STX) value too big: ${newVal}`);
      if (res.failMemszAdjust) return poison();
      let code = x.code;
      let memSize: Patched['memSize'];
      if (res.newSz !== res.origSz) {
        const have = sizeBytes(x.code);
        if (have !== res.origSz) throw new KfError(`instruction (LDX/ST/STX) unexpected mem size: got ${have}, exp ${res.origSz}`);
        const sc = sizeCode(res.newSz);
        if (sc < 0) throw new KfError(`instruction (LDX/ST/STX) invalid new mem size: ${res.newSz}`);
        code = (x.code & 0xe7) | sc;
        memSize = { from: res.origSz, to: res.newSz };
      }
      insns[idx] = { ...x, code, off: Number(newVal) };
      return { action: 'LDX/ST/STX', before: s64(x.off), after: newVal, ...(memSize && { memSize }) };
    }
    case 0: {
      const y = insns[idx + 1];
      if (!isLd || !y || x.src !== 0 || x.off !== 0 || y.code !== 0 || y.dst !== 0 || y.src !== 0 || y.off !== 0) {
        throw new KfError('instruction (LDIMM64) has unexpected form');
      }
      const imm = s64(x.imm >>> 0) | BigInt.asUintN(64, s64(y.imm) << 32n);
      if (res.validate && imm !== origVal) throw new KfError(`unexpected instruction (LDIMM64) value: got ${imm}, exp ${origVal} -> ${newVal}`);
      insns[idx] = { ...x, imm: Number(BigInt.asIntN(32, newVal)) };
      insns[idx + 1] = { ...y, imm: Number(BigInt.asIntN(32, newVal >> 32n)) };
      return { action: 'LDIMM64', before: imm, after: newVal };
    }
    default:
      throw new KfError(
        `trying to relocate unrecognized instruction, code:0x${x.code.toString(16)}, src:0x${x.src.toString(16)}, dst:0x${x.dst.toString(16)}, off:0x${(x.off & 0xffff).toString(16)}, imm:0x${(x.imm >>> 0).toString(16)}`,
      );
  }
}

export interface CoreContext {
  readonly localBtf: Btf;
  readonly targetBtf: Btf;
  /** Shared by all sections of one object, like libbpf's cand_cache. */
  readonly cache: CoreCandCache;
}

export function coreContext(localBtf: Btf, targetBtf: Btf): CoreContext {
  return { localBtf, targetBtf, cache: new Map() };
}

/**
 * Mirrors bpf_object__relocate_core() for one section: resolves and applies
 * each record to a copy of `insns`. Records outside every function are
 * skipped (libbpf does so for eliminated __weak subprograms). Unresolvable
 * field/enum relocations poison their instruction; inconsistent input
 * raises KfError naming the section, relocation, instruction and type.
 */
export function applyCoreRelosToSection(
  cx: CoreContext,
  section: string,
  insns: readonly Insn[],
  funcs: readonly CoreFunc[],
  relos: readonly BtfCoreRelo[],
): { insns: Insn[]; outcomes: CoreReloOutcome[] } {
  const out = insns.slice();
  const outcomes: CoreReloOutcome[] = [];
  const findCands = (id: number): number[] => findCoreCandidates(cx.localBtf, id, cx.targetBtf);
  relos.forEach((r, i) => {
    if (r.insnOff % 8 !== 0) throw new KfError(`section "${section}": CO-RE relocation #${i}: instruction offset ${r.insnOff} is not a multiple of 8`);
    const sIdx = r.insnOff / 8;
    const f = funcs.find((fn) => sIdx >= fn.start && sIdx < fn.end);
    if (!f) return;
    const fIdx = sIdx - f.start;
    const where = `program "${f.name}": CO-RE relocation #${i} <${coreKindName(r.kind)}> at instruction ${fIdx}: ${typeLabel(cx.localBtf, r.typeId)} + ${r.access}`;
    withContext(`section "${section}"`, () =>
      withContext(where, () => {
        const res = calcCoreRelo(cx.localBtf, r, cx.targetBtf, cx.cache, findCands);
        if (out[sIdx].code === LD_IMM64 && sIdx + 1 >= f.end) throw new KfError('ld_imm64 crosses the end of its function');
        const p = patchCoreInsn(out, sIdx, res);
        outcomes.push({
          section, index: i, func: f.name, insn: fIdx, sectionInsn: sIdx,
          kind: r.kind, kindName: coreKindName(r.kind), typeId: r.typeId, access: r.access,
          ...p, result: res,
        });
      }),
    );
  });
  return { insns: out, outcomes };
}

/** One line per outcome, in the words of libbpf's debug log ("patched insn #1 (LDX/ST/STX) off 36 -> 1264"). */
export function formatCoreOutcome(o: CoreReloOutcome): string {
  const head = `prog '${o.func}': relo #${o.index}: `;
  if (o.action === 'poisoned') return `${head}substituting insn #${o.insn} w/ invalid insn (${o.result.localSpec}: no matching target)`;
  const what = o.action === 'ALU/ALU64' ? 'imm' : o.action === 'LDX/ST/STX' ? 'off' : 'imm64';
  let s = `${head}patched insn #${o.insn} (${o.action}) ${what} ${o.before} -> ${o.after}`;
  if (o.memSize) s += `, mem_sz ${o.memSize.from} -> ${o.memSize.to}`;
  return s;
}
