// CO-RE type compatibility between a local (object) BTF and a target
// (kernel) BTF. Mirrors libbpf's relo_core.c: btf_kind_core_compat(),
// __bpf_core_types_are_compat(), bpf_core_fields_are_compat(),
// __bpf_core_types_match(), bpf_core_names_match(), bpf_core_enums_match(),
// bpf_core_composites_match(). Results are 1 (compatible), 0 (not); errors
// (libbpf's negative returns) raise KfError. Every chain is depth-bounded.

import { KfError } from '../util/errors.js';
import type { Btf } from './btf.js';
import { essentialNameLen, typeLabel } from './core-spec.js';
import type { BtfType } from './types.js';

const MAX_DEPTH = 32;

const isEnumT = (t: BtfType): boolean => t.kind === 'ENUM' || t.kind === 'ENUM64';
const isCompositeT = (t: BtfType): boolean => t.kind === 'STRUCT' || t.kind === 'UNION';

/** Mirrors btf_kind_core_compat(): same kind, or both some enum. */
export function kindCoreCompat(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || (isEnumT(a) && isEnumT(b));
}

/** Essential names equal ("foo___a" vs "foo"). */
function essentialEq(a: string, b: string): boolean {
  const la = essentialNameLen(a);
  return la === essentialNameLen(b) && a.slice(0, la) === b.slice(0, la);
}

/**
 * Mirrors __bpf_core_types_are_compat(): the test type-based relocations
 * (type_exists, type_size, target_type_id) apply to a candidate.
 */
export function typesAreCompat(local: Btf, localId: number, targ: Btf, targId: number, level = MAX_DEPTH): boolean {
  if (!kindCoreCompat(local.typeById(localId), targ.typeById(targId))) return false;
  let lid = localId;
  let tid = targId;
  for (let depth = MAX_DEPTH; ; ) {
    if (--depth < 0) throw new KfError(`types ${typeLabel(local, localId)} and ${typeLabel(targ, targId)}: compatibility check nested deeper than ${MAX_DEPTH}`);
    lid = local.skipModsAndTypedefs(lid);
    tid = targ.skipModsAndTypedefs(tid);
    const lt = local.typeById(lid);
    const tt = targ.typeById(tid);
    if (!kindCoreCompat(lt, tt)) return false;
    switch (lt.kind) {
      case 'VOID': case 'STRUCT': case 'UNION': case 'ENUM': case 'ENUM64': case 'FWD':
        return true;
      case 'INT':
        return lt.offset === 0 && (tt as typeof lt).offset === 0;
      case 'PTR':
        lid = lt.type;
        tid = (tt as typeof lt).type;
        continue;
      case 'ARRAY':
        lid = lt.elemType;
        tid = (tt as typeof lt).elemType;
        continue;
      case 'FUNC_PROTO': {
        const tp = tt as typeof lt;
        if (lt.params.length !== tp.params.length) return false;
        for (let i = 0; i < lt.params.length; i++) {
          if (level <= 0) throw new KfError(`function prototypes ${typeLabel(local, lid)} and ${typeLabel(targ, tid)} nested deeper than ${MAX_DEPTH}`);
          if (!typesAreCompat(local, local.skipModsAndTypedefs(lt.params[i].type), targ, targ.skipModsAndTypedefs(tp.params[i].type), level - 1)) return false;
        }
        lid = lt.type;
        tid = tp.type;
        continue;
      }
      default:
        return false;
    }
  }
}

/**
 * Mirrors bpf_core_fields_are_compat(): whether a local member's type may be
 * relocated to a target member's type (any two composites, any two pointers,
 * ints, same-named enums/fwds, arrays of compatible elements).
 */
export function fieldsAreCompat(local: Btf, localId: number, targ: Btf, targId: number): boolean {
  let lid = localId;
  let tid = targId;
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    lid = local.skipModsAndTypedefs(lid);
    tid = targ.skipModsAndTypedefs(tid);
    const lt = local.typeById(lid);
    const tt = targ.typeById(tid);
    if (isCompositeT(lt) && isCompositeT(tt)) return true;
    if (!kindCoreCompat(lt, tt)) return false;
    switch (lt.kind) {
      case 'PTR': case 'FLOAT':
        return true;
      case 'FWD': case 'ENUM': case 'ENUM64':
        return essentialNameLen(lt.name) === 0 || essentialNameLen(tt.name) === 0 || essentialEq(lt.name, tt.name);
      case 'INT':
        return lt.offset === 0 && (tt as typeof lt).offset === 0;
      case 'ARRAY':
        lid = lt.elemType;
        tid = (tt as typeof lt).elemType;
        continue;
      default:
        return false;
    }
  }
  throw new KfError(`member types ${typeLabel(local, localId)} and ${typeLabel(targ, targId)}: arrays nested deeper than ${MAX_DEPTH}`);
}

/** Mirrors bpf_core_names_match(). */
function namesMatch(ln: string, tn: string): boolean {
  if (tn === '') return ln === '';
  return essentialEq(ln, tn);
}

/** Mirrors bpf_core_enums_match(): same size, every local enumerator named in the target. */
function enumsMatch(lt: BtfType, tt: BtfType): boolean {
  if (!isEnumT(lt) || !isEnumT(tt)) return false;
  const l = lt as Extract<BtfType, { kind: 'ENUM' | 'ENUM64' }>;
  const t = tt as Extract<BtfType, { kind: 'ENUM' | 'ENUM64' }>;
  if (l.size !== t.size || l.values.length > t.values.length) return false;
  return l.values.every((lv) => t.values.some((tv) => namesMatch(lv.name, tv.name)));
}

/**
 * Mirrors __bpf_core_types_match(): the stricter relation of type_matches
 * relocations (members matched by name and type, ints by size and sign,
 * enums by enumerator names, arrays by length).
 */
export function typesMatch(local: Btf, localId: number, targ: Btf, targId: number, behindPtr = false, level = MAX_DEPTH): boolean {
  if (level <= 0) throw new KfError(`types ${typeLabel(local, localId)} and ${typeLabel(targ, targId)}: match nested deeper than ${MAX_DEPTH}`);
  let lid = localId;
  let tid = targId;
  let ptr = behindPtr;
  for (let depth = MAX_DEPTH; ; ) {
    if (--depth < 0) throw new KfError(`types ${typeLabel(local, localId)} and ${typeLabel(targ, targId)}: match chain longer than ${MAX_DEPTH}`);
    lid = local.skipModsAndTypedefs(lid);
    tid = targ.skipModsAndTypedefs(tid);
    const lt = local.typeById(lid);
    const tt = targ.typeById(tid);
    if (!namesMatch(lt.name, tt.name)) return false;
    switch (lt.kind) {
      case 'VOID':
        return tt.kind === 'VOID';
      case 'FWD': {
        const lf = lt.fwdKind === 'union';
        if (ptr) {
          if (tt.kind === 'FWD') return lf === (tt.fwdKind === 'union');
          return (tt.kind === 'STRUCT' && !lf) || (tt.kind === 'UNION' && lf);
        }
        return tt.kind === 'FWD' && lf === (tt.fwdKind === 'union');
      }
      case 'ENUM': case 'ENUM64':
        return enumsMatch(lt, tt);
      case 'STRUCT': case 'UNION':
        if (ptr) {
          if (lt.kind === tt.kind) return true;
          if (tt.kind !== 'FWD') return false;
          return (lt.kind === 'UNION') === (tt.fwdKind === 'union');
        }
        if (lt.kind !== tt.kind) return false;
        return compositesMatch(local, lt, targ, tt as typeof lt, ptr, level);
      case 'INT':
        if (tt.kind !== 'INT') return false;
        return lt.size === tt.size && (lt.encoding & 1) === (tt.encoding & 1);
      case 'PTR':
        if (tt.kind !== 'PTR') return false;
        ptr = true;
        lid = lt.type;
        tid = tt.type;
        continue;
      case 'ARRAY':
        if (tt.kind !== 'ARRAY' || lt.nelems !== tt.nelems) return false;
        lid = lt.elemType;
        tid = tt.elemType;
        continue;
      case 'FUNC_PROTO':
        if (tt.kind !== 'FUNC_PROTO' || lt.params.length !== tt.params.length) return false;
        for (let i = 0; i < lt.params.length; i++) {
          if (!typesMatch(local, lt.params[i].type, targ, tt.params[i].type, ptr, level - 1)) return false;
        }
        lid = lt.type;
        tid = tt.type;
        continue;
      default:
        return false;
    }
  }
}

/** Mirrors bpf_core_composites_match(). */
function compositesMatch(
  local: Btf,
  lt: Extract<BtfType, { kind: 'STRUCT' | 'UNION' }>,
  targ: Btf,
  tt: Extract<BtfType, { kind: 'STRUCT' | 'UNION' }>,
  behindPtr: boolean,
  level: number,
): boolean {
  if (lt.members.length > tt.members.length) return false;
  for (const lm of lt.members) {
    let matched = false;
    for (const tm of tt.members) {
      if (!namesMatch(lm.name, tm.name)) continue;
      if (typesMatch(local, lm.type, targ, tm.type, behindPtr, level - 1)) {
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  return true;
}
