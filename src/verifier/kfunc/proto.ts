// Kfunc prototypes as the verifier uses them: mirrors fetch_kfunc_meta() and
// the argument classification of check_kfunc_args() / get_kfunc_ptr_arg_type()
// (BTF type of each parameter plus the parameter-name suffixes __sz, __szk,
// __k, __opt, __uninit, __nullable).
import type { Btf } from '../../btf/btf.js';
import { KfError } from '../../util/errors.js';

export type KfArg =
  /** a scalar; `konst`: the __k suffix (must be a known constant) */
  | { kind: 'scalar'; name: string; konst: boolean; size: number }
  /** struct __sk_buff * / struct xdp_md *: PTR_TO_CTX */
  | { kind: 'ctx'; name: string }
  /** struct bpf_dynptr * */
  | { kind: 'dynptr'; name: string; uninit: boolean; nullable: boolean }
  /** struct bpf_iter_<type> * */
  | { kind: 'iter'; name: string; btfId: number; iterName: string; nrSlots: number }
  /** memory with its size in the next parameter (`__sz`, or `__szk`: a known constant) */
  | { kind: 'mem_size'; name: string; opt: boolean; szk: boolean; sizeName: string }
  /** pointer to a sized type (scalar or struct of scalars): memory of `size` bytes */
  | { kind: 'mem'; name: string; size: number; nullable: boolean }
  /** any other pointer: trusted kernel object (KERNEL_VALUE or PTR_TO_BTF_ID) */
  | { kind: 'ptr'; name: string; nullable: boolean };

export type KfRet =
  | { kind: 'void' }
  | { kind: 'scalar'; size: number }
  /** pointer to memory of `size` bytes (rdonly) */
  | { kind: 'mem'; size: number }
  /** void *: an unknown scalar, except for the dynptr slices */
  | { kind: 'void_ptr' }
  /** pointer to a struct: an opaque kernel pointer */
  | { kind: 'ptr' };

export interface KfuncMeta {
  readonly name: string;
  /** KF_* flags */
  readonly flags: number;
  /** 'internal': only inlined bodies may call it */
  readonly kind: 'kfunc' | 'internal';
  readonly args: readonly KfArg[];
  readonly ret: KfRet;
  /** Program types that may call it (undefined: all). */
  readonly progTypes?: readonly number[];
}

/** mirrors btf_param_match_suffix() */
export function hasSuffix(name: string, suffix: string): boolean {
  return name.length > suffix.length && name.endsWith(suffix);
}

const CTX_STRUCTS = new Set(['__sk_buff', 'xdp_md', 'bpf_sock_ops', 'sk_msg_md', 'bpf_sock_addr']);

/** Builds a KfuncMeta from a FUNC of `btf`. Throws KfError when the prototype uses what the model does not know. */
export function metaFromBtf(btf: Btf, funcId: number, extra: { flags: number; kind: 'kfunc' | 'internal'; progTypes?: readonly number[] }): KfuncMeta {
  const name = btf.nameOf(funcId);
  const where = `kfunc ${name} (BTF id ${funcId})`;
  if (btf.kindOf(funcId) !== 'FUNC') throw new KfError(`${where}: kernel btf_id ${funcId} is not a function`);
  const sig = btf.funcProto(funcId);
  if (sig.params.length > 5) throw new KfError(`${where}: function has ${sig.params.length} args`);
  const args: KfArg[] = [];
  const params = sig.params;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p.type === 0) throw new KfError(`${where}: variadic prototypes are not supported`);
    const t = btf.typeById(btf.skipModsAndTypedefs(p.type));
    if (t.kind === 'INT' || t.kind === 'ENUM' || t.kind === 'ENUM64') {
      const szName = hasSuffix(p.name, '__szk') || hasSuffix(p.name, '__sz');
      if (szName && i > 0) throw new KfError(`${where}: arg#${i} size argument without a preceding memory pointer`);
      args.push({ kind: 'scalar', name: p.name, konst: hasSuffix(p.name, '__k'), size: t.size });
      continue;
    }
    if (t.kind !== 'PTR') throw new KfError(`${where}: Unrecognized arg#${i} type ${t.kind}`);
    const nullable = hasSuffix(p.name, '__nullable') || hasSuffix(p.name, '__opt');
    const refId = btf.skipModsAndTypedefs(t.type);
    const ref = btf.typeById(refId);
    const refName = ref.kind === 'VOID' ? '' : ref.name;
    const next = params[i + 1];
    const nextIsSize = !!next && (hasSuffix(next.name, '__sz') || hasSuffix(next.name, '__szk'));
    if ((ref.kind === 'STRUCT' || ref.kind === 'FWD') && CTX_STRUCTS.has(refName)) {
      args.push({ kind: 'ctx', name: p.name });
    } else if (ref.kind === 'STRUCT' && refName === 'bpf_dynptr') {
      args.push({ kind: 'dynptr', name: p.name, uninit: hasSuffix(p.name, '__uninit'), nullable: hasSuffix(p.name, '__nullable') });
    } else if (ref.kind === 'STRUCT' && refName.startsWith('bpf_iter_')) {
      const size = btf.resolveSize(refId);
      if (size % 8 || size === 0) throw new KfError(`${where}: iterator struct ${refName} has size ${size}, not a multiple of 8`);
      args.push({ kind: 'iter', name: p.name, btfId: refId, iterName: refName.slice(4), nrSlots: size / 8 });
    } else if (nextIsSize) {
      args.push({ kind: 'mem_size', name: p.name, opt: hasSuffix(p.name, '__opt'), szk: hasSuffix(next.name, '__szk'), sizeName: next.name });
      const nt = btf.typeById(btf.skipModsAndTypedefs(next.type));
      if (nt.kind !== 'INT' && nt.kind !== 'ENUM') throw new KfError(`${where}: size arg#${i + 1} is not a scalar`);
      args.push({ kind: 'scalar', name: next.name, konst: false, size: nt.kind === 'INT' ? nt.size : 4 });
      i++;
    } else if (ref.kind === 'INT' || ref.kind === 'ENUM' || ref.kind === 'ENUM64' || ref.kind === 'STRUCT' && refName !== '' && !isKernelStruct(refName)) {
      args.push({ kind: 'mem', name: p.name, size: btf.resolveSize(refId), nullable });
    } else {
      args.push({ kind: 'ptr', name: p.name, nullable });
    }
  }
  return { name, flags: extra.flags, kind: extra.kind, args, ret: retOf(btf, sig.returnType), ...(extra.progTypes && { progTypes: extra.progTypes }) };
}

/** Structs the model kernel passes around as opaque objects. */
function isKernelStruct(name: string): boolean {
  return ['sk_buff', 'xdp_buff', 'bpf_map', 'bpf_dynptr_kern', 'net_device', 'task_struct'].includes(name);
}

function retOf(btf: Btf, id: number): KfRet {
  if (id === 0) return { kind: 'void' };
  const t = btf.typeById(btf.skipModsAndTypedefs(id));
  if (t.kind === 'INT' || t.kind === 'ENUM' || t.kind === 'ENUM64') return { kind: 'scalar', size: t.size };
  if (t.kind !== 'PTR') throw new KfError(`kernel function return type ${t.kind} is not supported`);
  const refId = btf.skipModsAndTypedefs(t.type);
  const ref = btf.typeById(refId);
  if (ref.kind === 'VOID') return { kind: 'void_ptr' };
  if (ref.kind === 'STRUCT' || ref.kind === 'UNION' || ref.kind === 'FWD') return { kind: 'ptr' };
  return { kind: 'mem', size: btf.resolveSize(refId) };
}

/** A simple prototype for kfuncs outside any BTF (tests): argument kinds in order. */
export interface KfuncDescriptor {
  /** The call's imm. */
  readonly id: number;
  readonly name: string;
  readonly flags?: number;
  readonly args: readonly ('scalar' | 'ptr' | 'ptr_or_null' | 'ctx' | 'dynptr' | 'dynptr_uninit' | { mem: number; nullable?: boolean })[];
  readonly ret: 'void' | 'scalar' | 'ptr' | { mem: number };
}

export function metaFromDescriptor(d: KfuncDescriptor): KfuncMeta {
  const args: KfArg[] = d.args.map((a, i): KfArg => {
    const name = `arg${i}`;
    if (typeof a === 'object') return { kind: 'mem', name, size: a.mem, nullable: !!a.nullable };
    switch (a) {
      case 'scalar': return { kind: 'scalar', name, konst: false, size: 8 };
      case 'ptr': return { kind: 'ptr', name, nullable: false };
      case 'ptr_or_null': return { kind: 'ptr', name, nullable: true };
      case 'ctx': return { kind: 'ctx', name };
      case 'dynptr': return { kind: 'dynptr', name, uninit: false, nullable: false };
      case 'dynptr_uninit': return { kind: 'dynptr', name, uninit: true, nullable: false };
    }
    throw new KfError(`kfunc descriptor ${d.name}: unknown argument kind ${String(a)}`);
  });
  if (args.length > 5) throw new KfError(`kfunc descriptor ${d.name}: ${args.length} args (at most 5)`);
  const r = d.ret;
  const ret: KfRet = typeof r === 'object' ? { kind: 'mem', size: r.mem } : r === 'void' ? { kind: 'void' } : r === 'scalar' ? { kind: 'scalar', size: 8 } : { kind: 'ptr' };
  return { name: d.name, flags: d.flags ?? 0, kind: 'kfunc', args, ret };
}
