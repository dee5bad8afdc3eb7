// Type resolution over a Btf: sizes, modifier skipping, member paths and
// function signatures. Chains are bounded (MAX_RESOLVE_DEPTH like the kernel)
// so a malformed cycle raises KfError instead of hanging.

import { KfError } from '../util/errors.js';
import type { Btf } from './btf.js';
import type { BtfParam } from './types.js';

/** The kernel's MAX_RESOLVE_DEPTH. */
export const MAX_RESOLVE_DEPTH = 32;
const U32_MAX = 0xffffffff;

const label = (btf: Btf, id: number): string => `type [${id}] ${btf.kindOf(id)} '${btf.nameOf(id)}'`;

/** Mirrors btf_type_skip_modifiers(): const/volatile/restrict/type tags and typedefs. */
export function skipModsAndTypedefs(btf: Btf, id: number): number {
  let cur = id;
  for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
    const t = btf.typeById(cur);
    switch (t.kind) {
      case 'TYPEDEF': case 'CONST': case 'VOLATILE': case 'RESTRICT': case 'TYPE_TAG':
        cur = t.type;
        break;
      default:
        return cur;
    }
  }
  throw new KfError(`BTF: ${label(btf, id)}: modifier chain longer than ${MAX_RESOLVE_DEPTH} (a cycle?)`);
}

/** Skips only const/volatile/restrict/type tags (btf_type_skip_qualifiers()), keeping typedefs. */
export function skipQualifiers(btf: Btf, id: number): number {
  let cur = id;
  for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
    const t = btf.typeById(cur);
    if (t.kind === 'CONST' || t.kind === 'VOLATILE' || t.kind === 'RESTRICT' || t.kind === 'TYPE_TAG') cur = t.type;
    else return cur;
  }
  throw new KfError(`BTF: ${label(btf, id)}: qualifier chain longer than ${MAX_RESOLVE_DEPTH} (a cycle?)`);
}

/**
 * Mirrors __btf_resolve_size(): the size of a type in bytes, modifiers and
 * typedefs followed, arrays multiplied out (with u32 overflow checks).
 */
export function resolveSize(btf: Btf, id: number): number {
  let nelems = 1;
  let cur = id;
  for (let depth = 0; depth < MAX_RESOLVE_DEPTH; depth++) {
    const t = btf.typeById(cur);
    let size: number;
    switch (t.kind) {
      case 'INT': case 'STRUCT': case 'UNION': case 'ENUM': case 'ENUM64': case 'DATASEC': case 'FLOAT':
        size = t.size;
        break;
      case 'PTR':
        size = 8;
        break;
      case 'TYPEDEF': case 'VOLATILE': case 'CONST': case 'RESTRICT': case 'TYPE_TAG':
        cur = t.type;
        continue;
      case 'ARRAY':
        if (t.nelems && nelems > Math.floor(U32_MAX / t.nelems)) {
          throw new KfError(`BTF: ${label(btf, id)}: array size overflows u32`);
        }
        nelems *= t.nelems;
        cur = t.elemType;
        continue;
      default:
        throw new KfError(`BTF: ${label(btf, id)}: ${label(btf, cur)} has no size`);
    }
    if (nelems && size > Math.floor(U32_MAX / nelems)) throw new KfError(`BTF: ${label(btf, id)}: size overflows u32`);
    return nelems * size;
  }
  throw new KfError(`BTF: ${label(btf, id)}: type chain longer than ${MAX_RESOLVE_DEPTH} (a cycle?)`);
}

export interface MemberLocation {
  /** Bit offset from the start of the outer struct. */
  readonly bitOffset: number;
  /** 0 unless the member is a bitfield. */
  readonly bitSize: number;
  /** The member's type id (unresolved). */
  readonly type: number;
}

/** Finds `name` among the members of a composite, descending into anonymous members (C rules). */
function findMember(btf: Btf, compId: number, name: string, depth: number): MemberLocation | undefined {
  if (depth > MAX_RESOLVE_DEPTH) throw new KfError(`BTF: ${label(btf, compId)}: anonymous members nested deeper than ${MAX_RESOLVE_DEPTH}`);
  const t = btf.typeById(compId);
  if (t.kind !== 'STRUCT' && t.kind !== 'UNION') return undefined;
  for (const m of t.members) {
    if (m.name === name) return { bitOffset: m.bitOffset, bitSize: m.bitSize, type: m.type };
  }
  for (const m of t.members) {
    if (m.name !== '') continue;
    const inner = findMember(btf, skipModsAndTypedefs(btf, m.type), name, depth + 1);
    if (inner) return { ...inner, bitOffset: m.bitOffset + inner.bitOffset };
  }
  return undefined;
}

/**
 * Location of a member path inside a struct/union: 'data', 'hdr.len',
 * 'frags[2].size'. Anonymous struct/union members are searched like C does.
 */
export function memberOffset(btf: Btf, structId: number, path: string): MemberLocation {
  const parts = path.split('.');
  let cur: MemberLocation = { bitOffset: 0, bitSize: 0, type: structId };
  for (const part of parts) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new KfError(`BTF: member path '${path}': bad component '${part}'`);
    const compId = skipModsAndTypedefs(btf, cur.type);
    const comp = btf.typeById(compId);
    if (comp.kind !== 'STRUCT' && comp.kind !== 'UNION') {
      throw new KfError(`BTF: member path '${path}': '${part}' applied to ${label(btf, compId)}, not a struct or union`);
    }
    const found = findMember(btf, compId, m[1], 0);
    if (!found) throw new KfError(`BTF: member path '${path}': ${label(btf, compId)} has no member '${m[1]}'`);
    cur = { ...found, bitOffset: cur.bitOffset + found.bitOffset };
    for (const idx of m[2].match(/\d+/g) ?? []) {
      const arrId = skipModsAndTypedefs(btf, cur.type);
      const arr = btf.typeById(arrId);
      if (arr.kind !== 'ARRAY') throw new KfError(`BTF: member path '${path}': '${part}' indexes ${label(btf, arrId)}, not an array`);
      const i = Number(idx);
      if (i >= arr.nelems) throw new KfError(`BTF: member path '${path}': index ${i} beyond ${arr.nelems} elements`);
      cur = { bitOffset: cur.bitOffset + i * resolveSize(btf, arr.elemType) * 8, bitSize: 0, type: arr.elemType };
    }
  }
  return cur;
}

export interface FuncSignature {
  /** 0 for void. */
  readonly returnType: number;
  readonly params: readonly BtfParam[];
}

/** The signature of a FUNC (through its FUNC_PROTO) or of a FUNC_PROTO itself. */
export function funcProto(btf: Btf, funcId: number): FuncSignature {
  let t = btf.typeById(funcId);
  if (t.kind === 'FUNC') t = btf.typeById(t.type);
  if (t.kind !== 'FUNC_PROTO') throw new KfError(`BTF: ${label(btf, funcId)} is not a FUNC or FUNC_PROTO`);
  return { returnType: t.type, params: t.params };
}
