// Matching a local CO-RE spec against one target candidate type, and the
// candidate search itself. Mirrors libbpf: bpf_core_spec_match(),
// bpf_core_match_member() (relo_core.c) and bpf_core_add_cands() /
// bpf_core_find_cands() (libbpf.c).

import { KfError } from '../util/errors.js';
import type { Btf } from './btf.js';
import { fieldsAreCompat, kindCoreCompat, typesAreCompat, typesMatch } from './core-compat.js';
import {
  CORE_SPEC_MAX_LEN, CoreKind, essentialName, essentialNameLen, isEnumvalKind, isFieldKind, isFlexArr, isTypeKind, typeLabel,
  type CoreAccessor, type CoreSpec,
} from './core-spec.js';
import type { BtfComposite } from './types.js';

/** Mirrors bpf_core_match_member(): finds the local named accessor in target composite `targId`, descending into anonymous members. */
function matchMember(local: Btf, lacc: CoreAccessor, targ: Btf, targIdIn: number, spec: CoreSpec, depth: number): { found: boolean; next: number } {
  if (depth > CORE_SPEC_MAX_LEN) throw new KfError(`member '${lacc.name}': anonymous members nested deeper than ${CORE_SPEC_MAX_LEN}`);
  const targId = targ.skipModsAndTypedefs(targIdIn);
  const tt = targ.typeById(targId);
  if (tt.kind !== 'STRUCT' && tt.kind !== 'UNION') return { found: false, next: 0 };
  const lt = local.typeById(lacc.typeId) as BtfComposite;
  const lm = lt.members[lacc.idx];
  for (let i = 0; i < tt.members.length; i++) {
    const m = tt.members[i];
    if (spec.raw.length === CORE_SPEC_MAX_LEN) throw new KfError(`member '${lm.name}': target spec longer than ${CORE_SPEC_MAX_LEN} (too deep struct/union/array nesting)`);
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (m.name === '') {
      const r = matchMember(local, lacc, targ, m.type, spec, depth + 1);
      if (r.found) return r;
    } else if (m.name === lm.name) {
      spec.spec.push({ typeId: targId, idx: i, name: m.name });
      const ok = fieldsAreCompat(local, lm.type, targ, m.type);
      if (!ok) spec.spec.pop();
      return { found: ok, next: m.type };
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return { found: false, next: 0 };
}

/**
 * Mirrors bpf_core_spec_match(): matches `localSpec` against candidate
 * `targId` of `targ`. Returns the target spec, or undefined when the
 * candidate does not match.
 */
export function matchCoreSpec(localSpec: CoreSpec, targ: Btf, targIdIn: number): CoreSpec | undefined {
  const local = localSpec.btf;
  const kind = localSpec.kind;
  let targId = targIdIn;
  const ts: CoreSpec = { btf: targ, rootTypeId: targId, kind, raw: [], spec: [], bitOffset: 0 };
  if (isTypeKind(kind)) {
    const ok = kind === CoreKind.TYPE_MATCHES
      ? typesMatch(local, localSpec.rootTypeId, targ, targId)
      : typesAreCompat(local, localSpec.rootTypeId, targ, targId);
    return ok ? ts : undefined;
  }
  if (isEnumvalKind(kind)) {
    targId = targ.skipModsAndTypedefs(targId);
    const t = targ.typeById(targId);
    if (t.kind !== 'ENUM' && t.kind !== 'ENUM64') return undefined;
    const lname = localSpec.spec[0].name ?? '';
    const llen = essentialNameLen(lname);
    for (let i = 0; i < t.values.length; i++) {
      const tn = t.values[i].name;
      if (essentialNameLen(tn) !== llen || tn.slice(0, llen) !== lname.slice(0, llen)) continue;
      ts.spec.push({ typeId: targId, idx: i, name: tn });
      ts.raw.push(i);
      return ts;
    }
    return undefined;
  }
  if (!isFieldKind(kind)) throw new KfError(`unknown relocation kind ${kind}`);
  for (let i = 0; i < localSpec.spec.length; i++) {
    const lacc = localSpec.spec[i];
    targId = targ.skipModsAndTypedefs(targId);
    const tt = targ.typeById(targId);
    if (lacc.name !== undefined) {
      const r = matchMember(local, lacc, targ, targId, ts, 0);
      if (!r.found) return undefined;
      targId = r.next;
    } else {
      if (i > 0) {
        if (tt.kind !== 'ARRAY') return undefined;
        const flex = isFlexArr(targ, ts.spec[ts.spec.length - 1], tt);
        if (!flex && lacc.idx >= tt.nelems) return undefined;
        targId = targ.skipModsAndTypedefs(tt.elemType);
      }
      if (ts.raw.length === CORE_SPEC_MAX_LEN) throw new KfError(`target spec longer than ${CORE_SPEC_MAX_LEN} (too deep struct/union/array nesting)`);
      ts.spec.push({ typeId: targId, idx: lacc.idx });
      ts.raw.push(lacc.idx);
      ts.bitOffset += lacc.idx * targ.resolveSize(targId) * 8;
    }
  }
  return ts;
}

/**
 * Per target BTF, built once and cheap (no string decoding except of
 * flavoured names): the name-string offset of every type, and the types with
 * flavoured names ("foo___bar") by essential name.
 */
interface TargetIndex {
  /** nameOffs[id]: name offset of type id (0 for id 0). */
  readonly nameOffs: Uint32Array;
  readonly flavoured: Map<string, number[]>;
}
const targetIndexes = new WeakMap<Btf, TargetIndex>();

/** String offsets (in `btf`'s offset space, bases included) of the strings that contain "___". */
function tripleUnderscoreStrings(btf: Btf): Set<number> {
  const out = new Set<number>();
  for (let lvl: Btf | undefined = btf; lvl; lvl = lvl.base) {
    const first = lvl.base?.strTotal ?? 0;
    const len = lvl.strTotal - first;
    if (len <= 0) continue;
    const [bytes, s0] = lvl.strLocation(first);
    let strStart = 0;
    let run = 0;
    for (let i = 0; i < len && s0 + i < bytes.length; i++) {
      const c = bytes[s0 + i];
      if (c === 0) {
        strStart = i + 1;
        run = 0;
      } else if (c === 0x5f) {
        if (++run === 3) out.add(first + strStart);
      } else run = 0;
    }
  }
  return out;
}

function targetIndex(targ: Btf): TargetIndex {
  let idx = targetIndexes.get(targ);
  if (idx) return idx;
  const nameOffs = new Uint32Array(targ.count);
  for (let id = 1; id < targ.count; id++) nameOffs[id] = targ.nameOffOf(id);
  const triple = tripleUnderscoreStrings(targ);
  const flavoured = new Map<string, number[]>();
  if (triple.size) {
    for (let id = 1; id < targ.count; id++) {
      if (!triple.has(nameOffs[id])) continue;
      const name = targ.str(nameOffs[id]);
      if (essentialNameLen(name) === name.length) continue;
      const k = essentialName(name);
      const l = flavoured.get(k);
      if (l) l.push(id);
      else flavoured.set(k, [id]);
    }
  }
  idx = { nameOffs, flavoured };
  targetIndexes.set(targ, idx);
  return idx;
}

const COMPAT_KINDS: Readonly<Record<string, readonly ('ENUM' | 'ENUM64')[]>> = { ENUM: ['ENUM', 'ENUM64'], ENUM64: ['ENUM', 'ENUM64'] };

/**
 * Mirrors bpf_core_find_cands() / bpf_core_add_cands(): the target types whose
 * kind is CO-RE compatible with the local type and whose essential name
 * equals the local type's ("task_struct___local" finds "task_struct" and
 * "task_struct___2"), in id order. Anonymous local types are an error (libbpf
 * does not search candidates for them).
 */
export function findCoreCandidates(local: Btf, localId: number, targ: Btf): number[] {
  const lt = local.typeById(localId);
  if (lt.name === '') throw new KfError(`candidate search for anonymous type ${typeLabel(local, localId)} is not supported`);
  if (lt.kind === 'VOID') return [];
  const ess = essentialName(lt.name);
  const idx = targetIndex(targ);
  const out = new Set<number>(idx.flavoured.get(ess) ?? []);
  for (const k of COMPAT_KINDS[lt.kind] ?? [lt.kind]) {
    const first = targ.findByNameKind(ess, k);
    if (first < 0) continue;
    // every type whose name is the same string (BTF string tables are deduplicated)
    const off = idx.nameOffs[first];
    for (let id = first; id < idx.nameOffs.length; id++) if (idx.nameOffs[id] === off) out.add(id);
  }
  return [...out].filter((id) => kindCoreCompat(targ.typeById(id), lt)).sort((a, b) => a - b);
}
