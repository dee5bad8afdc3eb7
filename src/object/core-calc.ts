// The value a CO-RE relocation computes: original (local) and new (target)
// value of a field offset/size/signedness/shift, type id/existence/size or
// enum value, and whether the instruction must be poisoned. Mirrors libbpf's
// relo_core.c: bpf_core_calc_field_relo(), bpf_core_calc_type_relo(),
// bpf_core_calc_enumval_relo(), bpf_core_calc_relo() and
// bpf_core_calc_relo_insn() (candidate loop, ambiguity checks).

import type { Btf } from '../btf/btf.js';
import { matchCoreSpec } from '../btf/core-match.js';
import {
  CoreKind, coreKindName, formatCoreSpec, isEnumvalKind, isFieldKind, isTypeKind, parseCoreSpec, type CoreSpec,
} from '../btf/core-spec.js';
import type { BtfComposite } from '../btf/types.js';
import { KfError } from '../util/errors.js';

export interface CoreReloResult {
  /** Value the compiler put in the instruction (computed from the local BTF). */
  readonly origVal: bigint;
  /** Value for the target. */
  readonly newVal: bigint;
  /** The relocation cannot be satisfied: the instruction becomes `call 0xbad2310`. */
  readonly poison: boolean;
  /** Check that the instruction holds origVal before patching. */
  readonly validate: boolean;
  /** A load/store would change size in a way that changes the value read (poison LDX/ST/STX). */
  readonly failMemszAdjust: boolean;
  /** Field sizes (byte_off on a non-bitfield), for load/store size adjustment; 0 otherwise. */
  readonly origSz: number;
  readonly newSz: number;
  /** The local spec, formatted like libbpf's debug output. */
  readonly localSpec: string;
  /** The matched target spec (undefined when no candidate matched). */
  readonly targetSpec?: string;
  /** Root type id of the matched target candidate. */
  readonly targetTypeId?: number;
}

const u64 = (n: number | bigint): bigint => BigInt.asUintN(64, BigInt(n));

interface FieldVal {
  val: bigint;
  sz: number;
  typeId: number;
  validate: boolean;
}

/** Mirrors bpf_core_calc_field_relo(); `undefined` spec: no target matched. Returns 'poison' for -EUCLEAN. */
function calcField(kind: number, spec: CoreSpec | undefined): FieldVal | 'poison' {
  const out: FieldVal = { val: 0n, sz: 0, typeId: 0, validate: true };
  if (kind === CoreKind.FIELD_EXISTS) {
    out.val = spec ? 1n : 0n;
    return out;
  }
  if (!spec) return 'poison';
  const { btf } = spec;
  const acc = spec.spec[spec.spec.length - 1];
  if (acc.name === undefined) {
    // a[n] accessor
    if (kind === CoreKind.FIELD_BYTE_OFFSET) {
      out.val = BigInt(Math.floor(spec.bitOffset / 8));
      out.sz = btf.resolveSize(acc.typeId);
      out.typeId = acc.typeId;
    } else if (kind === CoreKind.FIELD_BYTE_SIZE) {
      out.val = BigInt(btf.resolveSize(acc.typeId));
    } else {
      throw new KfError(`relocation ${coreKindName(kind)} can't be applied to array access`);
    }
    return out;
  }
  const t = btf.typeById(acc.typeId) as BtfComposite;
  const m = t.members[acc.idx];
  const fieldTypeId = btf.skipModsAndTypedefs(m.type);
  const mt = btf.typeById(fieldTypeId);
  const bitOff = spec.bitOffset;
  let bitSz = m.bitSize;
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = 'size' in mt && typeof mt.size === 'number' ? mt.size : 0;
    if (byteSz <= 0) throw new KfError(`bitfield '${m.name}' has type ${mt.kind} without a size`);
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    // the smallest load size that covers the bitfield
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) throw new KfError(`relocation ${coreKindName(kind)} can't be satisfied for bitfield '${m.name}'`);
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = btf.resolveSize(fieldTypeId);
    byteOff = Math.floor(bitOff / 8);
    bitSz = byteSz * 8;
  }
  out.validate = !bitfield;
  switch (kind) {
    case CoreKind.FIELD_BYTE_OFFSET:
      out.val = BigInt(byteOff);
      if (!bitfield) {
        out.sz = byteSz;
        out.typeId = fieldTypeId;
      }
      break;
    case CoreKind.FIELD_BYTE_SIZE:
      out.val = BigInt(byteSz);
      break;
    case CoreKind.FIELD_SIGNED:
      out.val = ((mt.kind === 'ENUM' || mt.kind === 'ENUM64') && mt.signed) || (mt.kind === 'INT' && (mt.encoding & 1) !== 0) ? 1n : 0n;
      out.validate = true;
      break;
    case CoreKind.FIELD_LSHIFT_U64:
      // little-endian BPF
      out.val = u64(64 - (bitOff + bitSz - byteOff * 8));
      break;
    case CoreKind.FIELD_RSHIFT_U64:
      out.val = u64(64 - bitSz);
      out.validate = true;
      break;
    default:
      throw new KfError(`unrecognized CO-RE relocation kind ${kind}`);
  }
  return out;
}

/** Mirrors bpf_core_calc_type_relo(). */
function calcType(kind: number, spec: CoreSpec | undefined): { val: bigint; validate: boolean } {
  if (!spec) return { val: 0n, validate: true };
  switch (kind) {
    case CoreKind.TYPE_ID_TARGET:
      return { val: BigInt(spec.rootTypeId), validate: false };
    case CoreKind.TYPE_EXISTS:
    case CoreKind.TYPE_MATCHES:
      return { val: 1n, validate: true };
    case CoreKind.TYPE_SIZE:
      return { val: BigInt(spec.btf.resolveSize(spec.rootTypeId)), validate: true };
    default:
      throw new KfError(`unrecognized CO-RE relocation kind ${kind}`);
  }
}

/** Mirrors bpf_core_calc_enumval_relo(); enum32 values are sign-extended as libbpf's __s32 val is. */
function calcEnumval(kind: number, spec: CoreSpec | undefined): bigint | 'poison' {
  if (kind === CoreKind.ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (kind !== CoreKind.ENUMVAL_VALUE) throw new KfError(`unrecognized CO-RE relocation kind ${kind}`);
  if (!spec) return 'poison';
  const t = spec.btf.typeById(spec.spec[0].typeId);
  if (t.kind === 'ENUM') return u64(t.values[spec.spec[0].idx].value | 0);
  if (t.kind === 'ENUM64') return u64(t.values[spec.spec[0].idx].value);
  throw new KfError(`enum value relocation resolved to a ${t.kind}`);
}

type Res = Omit<CoreReloResult, 'localSpec' | 'targetSpec' | 'targetTypeId'>;

/** Mirrors bpf_core_calc_relo(): local vs target values for one candidate (or none). */
function calcRelo(kind: number, local: CoreSpec, targ: CoreSpec | undefined): Res {
  const res = { origVal: 0n, newVal: 0n, poison: false, validate: true, failMemszAdjust: false, origSz: 0, newSz: 0 };
  if (isFieldKind(kind)) {
    const o = calcField(kind, local);
    const n = o === 'poison' ? o : calcField(kind, targ);
    if (o === 'poison' || n === 'poison') return { ...res, poison: true };
    Object.assign(res, { origVal: o.val, newVal: n.val, validate: o.validate, origSz: o.sz, newSz: n.sz });
    if (o.sz !== n.sz) {
      const ot = local.btf.typeById(o.typeId);
      const nt = targ!.btf.typeById(n.typeId);
      const bothPtr = ot.kind === 'PTR' && nt.kind === 'PTR';
      const bothUint = ot.kind === 'INT' && nt.kind === 'INT' && ot.encoding !== 1 && nt.encoding !== 1;
      if (!bothPtr && !bothUint) res.failMemszAdjust = true;
    }
    return res;
  }
  if (isTypeKind(kind)) {
    const o = calcType(kind, local);
    return { ...res, origVal: o.val, newVal: calcType(kind, targ).val, validate: o.validate };
  }
  if (isEnumvalKind(kind)) {
    const o = calcEnumval(kind, local);
    const n = o === 'poison' ? o : calcEnumval(kind, targ);
    if (o === 'poison' || n === 'poison') return { ...res, poison: true };
    return { ...res, origVal: o, newVal: n };
  }
  throw new KfError(`unrecognized CO-RE relocation kind ${kind}`);
}

/** Candidate lists per local root type id, shared by the relocations of one object and pruned as libbpf prunes them. */
export type CoreCandCache = Map<number, number[]>;

/**
 * Mirrors bpf_core_calc_relo_insn(): parses the local spec, matches every
 * candidate, checks that all matching candidates agree, and computes the
 * result (for no match: existence 0, type-based 0, otherwise poison).
 * `findCands` gives the candidates of a local type id (see findCoreCandidates()).
 */
export function calcCoreRelo(
  local: Btf,
  relo: { readonly typeId: number; readonly access: string; readonly kind: number },
  targ: Btf,
  cache: CoreCandCache,
  findCands: (localId: number) => number[],
): CoreReloResult {
  const localSpec = parseCoreSpec(local, relo.typeId, relo.access, relo.kind);
  const localStr = formatCoreSpec(localSpec);
  if (relo.kind === CoreKind.TYPE_ID_LOCAL) {
    const v = BigInt(localSpec.rootTypeId);
    return { origVal: v, newVal: v, poison: false, validate: false, failMemszAdjust: false, origSz: 0, newSz: 0, localSpec: localStr };
  }
  let cands = cache.get(relo.typeId);
  if (!cands) {
    cands = findCands(relo.typeId);
    cache.set(relo.typeId, cands);
  }
  let best: { res: Res; spec: CoreSpec } | undefined;
  const kept: number[] = [];
  for (const c of cands) {
    const cs = matchCoreSpec(localSpec, targ, c);
    if (!cs) continue;
    const r = calcRelo(relo.kind, localSpec, cs);
    if (!best) best = { res: r, spec: cs };
    else if (cs.bitOffset !== best.spec.bitOffset) {
      throw new KfError(`field offset ambiguity: ${cs.bitOffset} != ${best.spec.bitOffset} (candidates [${best.spec.rootTypeId}] and [${c}])`);
    } else if (r.poison !== best.res.poison || r.newVal !== best.res.newVal) {
      throw new KfError(
        `relocation decision ambiguity: ${r.poison ? 'failure' : 'success'} ${r.newVal} != ${best.res.poison ? 'failure' : 'success'} ${best.res.newVal} (candidates [${best.spec.rootTypeId}] and [${c}])`,
      );
    }
    kept.push(c);
  }
  if (kept.length) {
    cache.set(relo.typeId, kept);
    return { ...best!.res, localSpec: localStr, targetSpec: formatCoreSpec(best!.spec), targetTypeId: best!.spec.rootTypeId };
  }
  return { ...calcRelo(relo.kind, localSpec, undefined), localSpec: localStr };
}
