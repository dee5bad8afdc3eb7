// CO-RE access specs: the parsed form of one .BTF.ext core_relo record's
// access string ("0:1:2") against a BTF. Mirrors libbpf's relo_core.c:
// bpf_core_parse_spec(), bpf_core_format_spec(), is_flex_arr(),
// bpf_core_essential_name_len() and the relocation kind groups.

import { KfError } from '../util/errors.js';
import type { Btf } from './btf.js';
import type { BtfArray, BtfComposite, BtfEnum, BtfEnum64 } from './types.js';

/** enum bpf_core_relo_kind. */
export const CoreKind = {
  FIELD_BYTE_OFFSET: 0,
  FIELD_BYTE_SIZE: 1,
  FIELD_EXISTS: 2,
  FIELD_SIGNED: 3,
  FIELD_LSHIFT_U64: 4,
  FIELD_RSHIFT_U64: 5,
  TYPE_ID_LOCAL: 6,
  TYPE_ID_TARGET: 7,
  TYPE_EXISTS: 8,
  TYPE_SIZE: 9,
  ENUMVAL_EXISTS: 10,
  ENUMVAL_VALUE: 11,
  TYPE_MATCHES: 12,
} as const;

/** BPF_CORE_SPEC_MAX_LEN. */
export const CORE_SPEC_MAX_LEN = 64;

/** core_relo_kind_str(). */
export function coreKindName(kind: number): string {
  const names = [
    'byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64', 'local_type_id',
    'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value', 'type_matches',
  ];
  return names[kind] ?? 'unknown';
}

export const isFieldKind = (k: number): boolean => k >= 0 && k <= 5;
export const isTypeKind = (k: number): boolean => (k >= 6 && k <= 9) || k === 12;
export const isEnumvalKind = (k: number): boolean => k === 10 || k === 11;

/** One high-level accessor: a named member (name set) or an array index. */
export interface CoreAccessor {
  /** The struct/union the member belongs to, or the array element type. */
  readonly typeId: number;
  /** Member index or array index (enumerator index for enum relocations). */
  readonly idx: number;
  /** Member (or enumerator) name; undefined for array accessors. */
  readonly name?: string;
}

export interface CoreSpec {
  readonly btf: Btf;
  readonly rootTypeId: number;
  readonly kind: number;
  /** The low-level spec: one index per access-string component (every level, anonymous members included). */
  readonly raw: number[];
  /** The high-level spec: named members and array indices only. */
  readonly spec: CoreAccessor[];
  /** Bit offset of the accessed field from the start of the root. */
  bitOffset: number;
}

/** Mirrors bpf_core_is_flavor_sep(): "X___Y" with X and Y not underscores. */
function isFlavorSep(s: string, i: number): boolean {
  return s[i] !== '_' && s[i + 1] === '_' && s[i + 2] === '_' && s[i + 3] === '_' && s[i + 4] !== '_' && i + 4 < s.length;
}

/** Mirrors bpf_core_essential_name_len(): the length of `name` without its last "___flavor" suffix. */
export function essentialNameLen(name: string): number {
  if (!name.includes('___')) return name.length;
  for (let i = name.length - 5; i >= 0; i--) if (isFlavorSep(name, i)) return i + 1;
  return name.length;
}

/** `name` without its flavor suffix: "task_struct___v2" -> "task_struct". */
export const essentialName = (name: string): string => name.slice(0, essentialNameLen(name));

/** Mirrors str_is_empty() on a BTF name. */
const empty = (s: string | undefined): boolean => !s;

export const isComposite = (btf: Btf, id: number): boolean => {
  const k = btf.kindOf(id);
  return k === 'STRUCT' || k === 'UNION';
};

export const isAnyEnum = (btf: Btf, id: number): boolean => {
  const k = btf.kindOf(id);
  return k === 'ENUM' || k === 'ENUM64';
};

/** Mirrors is_flex_arr(): a zero-length array that is the last member of the enclosing struct. */
export function isFlexArr(btf: Btf, acc: CoreAccessor | undefined, arr: BtfArray): boolean {
  if (!acc || acc.name === undefined || arr.nelems > 0) return false;
  const t = btf.typeById(acc.typeId) as BtfComposite;
  return acc.idx === t.members.length - 1;
}

/** "[7] STRUCT 'task_struct___local'": how errors name a type. */
export function typeLabel(btf: Btf, id: number): string {
  if (!Number.isInteger(id) || id < 0 || id >= btf.count) return `[${id}] <bad id>`;
  const name = btf.nameOf(id);
  return `[${id}] ${btf.kindOf(id).toLowerCase()} ${name || '<anon>'}`;
}

/** Parses the access string the way bpf_core_parse_spec()'s sscanf("%d") loop does, but strictly. */
function parseAccessString(access: string): number[] {
  if (access === '' || access[0] === ':') throw new KfError(`access string '${access}' is empty or starts with ':'`);
  const parts = access.split(':');
  const raw: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,10}$/.test(p) || Number(p) > 0x7fffffff) throw new KfError(`access string '${access}': bad component '${p}'`);
    if (raw.length === CORE_SPEC_MAX_LEN) throw new KfError(`access string '${access}': more than ${CORE_SPEC_MAX_LEN} components`);
    raw.push(Number(p));
  }
  return raw;
}

/**
 * Mirrors bpf_core_parse_spec(): checks the access string against the type
 * `typeId` of `btf` and computes the accessed field's bit offset. Throws
 * KfError naming the problem.
 */
export function parseCoreSpec(btf: Btf, typeId: number, access: string, kind: number): CoreSpec {
  if (!Number.isInteger(typeId) || typeId < 0 || typeId >= btf.count) throw new KfError(`type id ${typeId} out of range [0, ${btf.count - 1}]`);
  const spec: CoreSpec = { btf, rootTypeId: typeId, kind, raw: [], spec: [], bitOffset: 0 };
  if (isTypeKind(kind)) {
    if (access !== '0') throw new KfError(`type-based relocation ${coreKindName(kind)} needs access string '0', got '${access}'`);
    return spec;
  }
  if (!isFieldKind(kind) && !isEnumvalKind(kind)) throw new KfError(`unknown relocation kind ${kind}`);
  spec.raw.push(...parseAccessString(access));
  let id = btf.skipModsAndTypedefs(typeId);
  let t = btf.typeById(id);
  const first = spec.raw[0];
  if (isEnumvalKind(kind)) {
    if ((t.kind !== 'ENUM' && t.kind !== 'ENUM64') || spec.raw.length > 1 || first >= t.values.length) {
      throw new KfError(`enum value access '${access}' does not name an enumerator of ${typeLabel(btf, id)}`);
    }
    spec.spec.push({ typeId: id, idx: first, name: (t as BtfEnum | BtfEnum64).values[first].name });
    return spec;
  }
  spec.spec.push({ typeId: id, idx: first });
  spec.bitOffset = first * btf.resolveSize(id) * 8;
  for (let i = 1; i < spec.raw.length; i++) {
    id = btf.skipModsAndTypedefs(id);
    t = btf.typeById(id);
    const idx = spec.raw[i];
    if (t.kind === 'STRUCT' || t.kind === 'UNION') {
      if (idx >= t.members.length) throw new KfError(`access '${access}' component ${i}: member ${idx} beyond the ${t.members.length} members of ${typeLabel(btf, id)}`);
      const m = t.members[idx];
      spec.bitOffset += m.bitOffset;
      if (m.name !== '') spec.spec.push({ typeId: id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === 'ARRAY') {
      const elem = btf.skipModsAndTypedefs(t.elemType);
      const flex = isFlexArr(btf, spec.spec[spec.spec.length - 1], t);
      if (!flex && idx >= t.nelems) throw new KfError(`access '${access}' component ${i}: index ${idx} beyond the ${t.nelems} elements of ${typeLabel(btf, id)}`);
      spec.spec.push({ typeId: elem, idx });
      id = elem;
      spec.bitOffset += idx * btf.resolveSize(elem) * 8;
    } else {
      throw new KfError(`access '${access}' (at idx ${i}) captures type ${typeLabel(btf, id)} of unexpected kind ${t.kind}`);
    }
  }
  if (spec.bitOffset > 0xffffffff) throw new KfError(`access '${access}': bit offset ${spec.bitOffset} overflows u32`);
  return spec;
}

/**
 * Mirrors bpf_core_format_spec(): "<byte_off> [7] struct task_struct___local.pid (0:4 @ offset 36)".
 */
export function formatCoreSpec(s: CoreSpec): string {
  const { btf } = s;
  const rootName = btf.nameOf(s.rootTypeId);
  let out = `<${coreKindName(s.kind)}> [${s.rootTypeId}] ${btf.kindOf(s.rootTypeId).toLowerCase()} ${empty(rootName) ? '<anon>' : rootName}`;
  if (isTypeKind(s.kind)) return out;
  if (isEnumvalKind(s.kind)) {
    const t = btf.typeById(btf.skipModsAndTypedefs(s.rootTypeId));
    if ((t.kind === 'ENUM' || t.kind === 'ENUM64') && s.raw.length) {
      const e = t.values[s.raw[0]];
      if (e) out += `::${e.name} = ${e.value}`;
    }
    return out;
  }
  s.spec.forEach((a, i) => {
    if (a.name !== undefined) out += `.${a.name}`;
    else if (i > 0 || a.idx > 0) out += `[${a.idx}]`;
  });
  out += ` (${s.raw.join(':')}`;
  out += s.bitOffset % 8 ? ` @ offset ${Math.floor(s.bitOffset / 8)}.${s.bitOffset % 8})` : ` @ offset ${s.bitOffset / 8})`;
  return out;
}
