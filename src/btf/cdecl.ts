// C spelling of BTF types: typeName() for an abstract declarator
// ('struct sk_buff *', 'int (*)(void *)') and formatC() for a declaration of
// one type, roughly what `bpftool btf dump format c` prints for it (the
// declarator logic mirrors libbpf's btf_dump_emit_type_chain(), simplified).

import { KfError } from '../util/errors.js';
import type { Btf } from './btf.js';
import type { BtfComposite, BtfEnum, BtfEnum64, BtfType } from './types.js';

const MAX_DEPTH = 64;

const paren = (inner: string): string => (inner.startsWith('*') ? `(${inner})` : inner);
const join = (base: string, inner: string): string => (!inner ? base : inner.startsWith('[') ? base + inner : `${base} ${inner}`);

function tooDeep(btf: Btf, id: number): never {
  throw new KfError(`BTF: type [${id}] ${btf.kindOf(id)}: declarator nested deeper than ${MAX_DEPTH} (a cycle?)`);
}

/** The base-type word for named types: 'int', 'struct foo', 'enum bar', 'u32'. */
function baseName(t: BtfType): string {
  switch (t.kind) {
    case 'VOID': return 'void';
    case 'STRUCT': return t.name ? `struct ${t.name}` : 'struct {...}';
    case 'UNION': return t.name ? `union ${t.name}` : 'union {...}';
    case 'ENUM': case 'ENUM64': return t.name ? `enum ${t.name}` : 'enum {...}';
    case 'FWD': return `${t.fwdKind} ${t.name}`;
    default: return t.name || '(anon)';
  }
}

/** A declaration of `inner` (a declarator, possibly empty) having type `id`. */
export function declare(btf: Btf, id: number, inner: string, depth = 0): string {
  if (depth > MAX_DEPTH) tooDeep(btf, id);
  const t = btf.typeById(id);
  switch (t.kind) {
    case 'PTR':
      // libbpf spacing: 'void *p', 'void * (*f)(void)', 'char * const p'
      return declare(btf, t.type, /^(\(|(const|volatile|restrict)\b)/.test(inner) ? `* ${inner}` : `*${inner}`, depth + 1);
    case 'CONST': case 'VOLATILE': case 'RESTRICT': {
      const q = t.kind === 'CONST' ? 'const' : t.kind === 'VOLATILE' ? 'volatile' : 'restrict';
      let target = t.type;
      for (let d = 0; btf.kindOf(target) === 'TYPE_TAG'; d++) {
        if (d > MAX_DEPTH) tooDeep(btf, id);
        target = (btf.typeById(target) as { type: number }).type;
      }
      if (btf.kindOf(target) === 'PTR') return declare(btf, t.type, inner ? `${q} ${inner}` : q, depth + 1);
      return `${q} ${declare(btf, t.type, inner, depth + 1)}`;
    }
    case 'TYPE_TAG':
      return declare(btf, t.type, inner, depth + 1);
    case 'ARRAY':
      return declare(btf, t.elemType, `${paren(inner)}[${t.nelems}]`, depth + 1);
    case 'FUNC_PROTO': {
      const ps = t.params.map((p) => (p.type === 0 ? '...' : declare(btf, p.type, p.name, depth + 1)));
      return declare(btf, t.type, `${paren(inner)}(${ps.length ? ps.join(', ') : 'void'})`, depth + 1);
    }
    case 'FUNC':
      return declare(btf, t.type, inner || t.name, depth + 1);
    case 'VAR':
      return declare(btf, t.type, inner || t.name, depth + 1);
    case 'DATASEC':
      return `SEC("${t.name}")`;
    case 'DECL_TAG':
      return `__attribute__((btf_decl_tag("${t.name}")))`;
    default:
      return join(baseName(t), inner);
  }
}

/** The C spelling of a type as an abstract declarator: 'const char *', 'unsigned int'. */
export function typeName(btf: Btf, id: number): string {
  return declare(btf, id, '');
}

function enumBody(t: BtfEnum | BtfEnum64, indent: string): string {
  const suffix = t.kind === 'ENUM64' ? (t.signed ? 'LL' : 'ULL') : '';
  const vals = t.values.map((v) => `${indent}\t${v.name} = ${v.value}${suffix},`);
  return [`enum${t.name ? ` ${t.name}` : ''} {`, ...vals, `${indent}}`].join('\n');
}

function compositeBody(btf: Btf, t: BtfComposite, indent: string, depth: number): string {
  if (depth > MAX_DEPTH) tooDeep(btf, t.id);
  const kw = `${t.kind === 'STRUCT' ? 'struct' : 'union'}${t.name ? ` ${t.name}` : ''}`;
  if (!t.members.length) return `${kw} {}`;
  const lines = [`${kw} {`];
  for (const m of t.members) {
    const mt = btf.typeById(m.type);
    let d: string;
    if ((mt.kind === 'STRUCT' || mt.kind === 'UNION') && !mt.name) {
      d = compositeBody(btf, mt, `${indent}\t`, depth + 1) + (m.name ? ` ${m.name}` : '');
    } else if ((mt.kind === 'ENUM' || mt.kind === 'ENUM64') && !mt.name) {
      d = enumBody(mt, `${indent}\t`) + (m.name ? ` ${m.name}` : '');
    } else {
      d = declare(btf, m.type, m.name);
    }
    lines.push(`${indent}\t${d}${m.bitSize ? `: ${m.bitSize}` : ''};`);
  }
  lines.push(`${indent}}`);
  return lines.join('\n');
}

/** A C declaration of type `id` (multi-line for structs, unions and enums). */
export function formatC(btf: Btf, id: number): string {
  const t = btf.typeById(id);
  switch (t.kind) {
    case 'STRUCT': case 'UNION':
      return `${compositeBody(btf, t, '', 0)};`;
    case 'ENUM': case 'ENUM64':
      return `${enumBody(t, '')};`;
    case 'FWD':
      return `${t.fwdKind} ${t.name};`;
    case 'TYPEDEF': {
      const target = btf.typeById(t.type);
      if ((target.kind === 'STRUCT' || target.kind === 'UNION') && !target.name) {
        return `typedef ${compositeBody(btf, target, '', 0)} ${t.name};`;
      }
      return `typedef ${declare(btf, t.type, t.name)};`;
    }
    case 'FUNC':
      return `${t.linkage === 'static' ? 'static ' : t.linkage === 'extern' ? 'extern ' : ''}${declare(btf, t.type, t.name)};`;
    case 'VAR':
      return `${t.linkage === 'static' ? 'static ' : t.linkage === 'extern' ? 'extern ' : ''}${declare(btf, t.type, t.name)};`;
    case 'DATASEC': {
      const vars = t.vars.map((v) => `\t${formatC(btf, v.type).replace(/\n/g, '\n\t')} /* offset=${v.offset} size=${v.size} */`);
      return [`SEC("${t.name}") /* size=${t.size} */ {`, ...vars, '};'].join('\n');
    }
    case 'DECL_TAG':
      return `/* ${typeName(btf, t.type)}${t.componentIdx >= 0 ? ` component ${t.componentIdx}` : ''} */ __attribute__((btf_decl_tag("${t.name}")));`;
    default:
      return `${typeName(btf, id)};`;
  }
}
