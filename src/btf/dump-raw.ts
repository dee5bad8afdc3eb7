// bpftool's raw BTF dump (`bpftool btf dump file F`), line for line: mirrors
// dump_btf_type() of tools/bpf/bpftool/btf.c in its plain-text mode.

import type { Btf } from './btf.js';
import { BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, type BtfType } from './types.js';

const anon = (s: string): string => (s === '' ? '(anon)' : s);

function intEncoding(e: number): string {
  switch (e) {
    case 0: return '(none)';
    case BTF_INT_SIGNED: return 'SIGNED';
    case BTF_INT_CHAR: return 'CHAR';
    case BTF_INT_BOOL: return 'BOOL';
    default: return 'UNKN';
  }
}

/** The lines bpftool prints for one type. */
export function dumpRawType(btf: Btf, t: BtfType): string[] {
  const head = `[${t.id}] ${t.kind === 'VOID' ? 'UNKNOWN' : t.kind} '${anon(t.name)}'`;
  switch (t.kind) {
    case 'INT':
      return [`${head} size=${t.size} bits_offset=${t.offset} nr_bits=${t.bits} encoding=${intEncoding(t.encoding)}`];
    case 'PTR': case 'CONST': case 'VOLATILE': case 'RESTRICT': case 'TYPEDEF': case 'TYPE_TAG':
      return [`${head} type_id=${t.type}`];
    case 'ARRAY':
      return [`${head} type_id=${t.elemType} index_type_id=${t.indexType} nr_elems=${t.nelems}`];
    case 'STRUCT': case 'UNION':
      return [
        `${head} size=${t.size} vlen=${t.members.length}`,
        ...t.members.map(
          (m) => `\t'${anon(m.name)}' type_id=${m.type} bits_offset=${m.bitOffset}${m.bitSize ? ` bitfield_size=${m.bitSize}` : ''}`,
        ),
      ];
    case 'ENUM':
      return [
        `${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t'${anon(v.name)}' val=${v.value}`),
      ];
    case 'ENUM64':
      return [
        `${head} encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.values.length}`,
        ...t.values.map((v) => `\t'${anon(v.name)}' val=${v.value}${t.signed ? 'LL' : 'ULL'}`),
      ];
    case 'FWD':
      return [`${head} fwd_kind=${t.fwdKind}`];
    case 'FUNC':
      return [`${head} type_id=${t.type} linkage=${t.linkage}`];
    case 'FUNC_PROTO':
      return [
        `${head} ret_type_id=${t.type} vlen=${t.params.length}`,
        ...t.params.map((p) => `\t'${anon(p.name)}' type_id=${p.type}`),
      ];
    case 'VAR':
      return [`${head} type_id=${t.type}, linkage=${t.linkage}`];
    case 'DATASEC':
      return [
        `${head} size=${t.size} vlen=${t.vars.length}`,
        ...t.vars.map((v) => {
          const vk = btf.kindOf(v.type);
          return `\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${vk === 'VOID' ? 'UNKNOWN' : vk} '${anon(btf.nameOf(v.type))}')`;
        }),
      ];
    case 'FLOAT':
      return [`${head} size=${t.size}`];
    case 'DECL_TAG':
      return [`${head} type_id=${t.type} component_idx=${t.componentIdx}`];
    default:
      return [head];
  }
}

/**
 * bpftool's raw dump of a BTF, one line at a time (no trailing newlines). For
 * split BTF only the split's own types are printed, with their split ids, as
 * bpftool does; `all` includes the base's types too.
 */
export function* dumpRaw(btf: Btf, opts: { all?: boolean } = {}): Generator<string> {
  const start = opts.all ? 1 : btf.startId;
  for (let id = start; id < btf.count; id++) yield* dumpRawType(btf, btf.typeById(id));
}
