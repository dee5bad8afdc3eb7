// Linking an object's program against the model kernel, as libbpf's
// bpf_object__load() does against a real one: maps get fds (their index + 1,
// the order ModelKernel's MapTable hands them out), every map reference
// becomes an lddw with BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE, and every
// kfunc extern becomes a call with BPF_PSEUDO_KFUNC_CALL and the kfunc's id in
// the model BTF.

import { insn, type Insn } from '../isa/insn.js';
import type { BpfMap as ObjMap, BpfObject, BpfProgram } from '../object/types.js';
import { KfError } from '../util/errors.js';
import type { BpfMap, MapKind } from './maps.js';
import type { ModelKernel } from './model.js';

export interface LinkedMap {
  /** fd as the program's lddw instructions name it. */
  readonly fd: number;
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly initialValue?: Uint8Array;
  /** Read-only to the program and frozen (.rodata, .kconfig): the verifier may read its values as constants. */
  readonly rdonly?: boolean;
}

/** KERNEL_VERSION(6, 18, 0): the kernel the model models, as LINUX_KERNEL_VERSION reads it. */
export const MODEL_KERNEL_VERSION = (6 << 16) + (18 << 8);

const BPF_F_RDONLY_PROG = 1 << 7;

/**
 * The .kconfig map's contents, as libbpf fills them (bpf_object__resolve_externs()):
 * LINUX_KERNEL_VERSION is the (model) kernel's version; the model has no
 * other config, so every CONFIG_* reads as unset (0).
 */
function kconfigValue(obj: BpfObject, m: ObjMap, version: number): Uint8Array {
  const v = new Uint8Array(m.valueSize);
  if (m.initialValue) v.set(m.initialValue.subarray(0, m.valueSize));
  for (const e of obj.externs) {
    if (e.kind !== 'kconfig' || e.offset === undefined) continue;
    if (e.name === 'LINUX_KERNEL_VERSION' && e.offset + 4 <= v.length) new DataView(v.buffer).setUint32(e.offset, version, true);
  }
  return v;
}

export interface LinkedProgram {
  readonly name: string;
  readonly progType: number;
  readonly insns: Insn[];
  readonly maps: LinkedMap[];
  /** Slots of kfunc calls and the kfunc each calls. */
  readonly kfuncCalls: { index: number; name: string }[];
}

const PSEUDO_MAP_FD = 1;
const PSEUDO_MAP_VALUE = 2;
const PSEUDO_KFUNC_CALL = 2;

export function linkProgram(
  obj: BpfObject,
  prog: BpfProgram,
  kfuncId: (name: string) => number | undefined,
  opts: { kernelVersion?: number } = {},
): LinkedProgram {
  const insns = prog.insns.slice();
  const maps: LinkedMap[] = obj.maps.map((m: ObjMap, i) => {
    const init = m.kind === 'kconfig' ? kconfigValue(obj, m, opts.kernelVersion ?? MODEL_KERNEL_VERSION) : m.initialValue;
    const rdonly = m.kind === 'kconfig' || (m.kind === 'data' && ((m.flags & BPF_F_RDONLY_PROG) !== 0 || m.section.startsWith('.rodata')));
    return {
      fd: i + 1,
      name: m.name,
      type: m.type,
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
      ...(init && { initialValue: init }),
      ...(rdonly && { rdonly }),
    };
  });
  for (const r of prog.mapRefs) {
    const x = insns[r.index];
    const fd = r.map + 1;
    if (r.kind === 'fd') insns[r.index] = insn(x.code, x.dst, PSEUDO_MAP_FD, x.off, fd);
    else {
      insns[r.index] = insn(x.code, x.dst, PSEUDO_MAP_VALUE, x.off, fd);
      const y = insns[r.index + 1];
      insns[r.index + 1] = insn(y.code, y.dst, y.src, y.off, r.offset);
    }
  }
  const kfuncCalls: { index: number; name: string }[] = [];
  for (const e of prog.externCalls) {
    if (e.kind !== 'kfunc') throw new KfError(`program "${prog.name}": instruction ${e.index}: kernel variable "${e.name}" is not supported by the model kernel`);
    const id = kfuncId(e.name);
    if (id === undefined) throw new KfError(`program "${prog.name}": instruction ${e.index}: kfunc "${e.name}" is not in the model kernel`);
    const x = insns[e.index];
    insns[e.index] = insn(x.code, x.dst, PSEUDO_KFUNC_CALL, 0, id);
    kfuncCalls.push({ index: e.index, name: e.name });
  }
  return { name: prog.name, progType: prog.progType, insns, maps, kfuncCalls };
}

const KINDS: Record<number, MapKind> = { 1: 'hash', 2: 'array', 6: 'percpu_array' };

/** Creates the linked program's maps in the model kernel, in fd order, with their initial values. */
export function createMaps(kernel: ModelKernel, maps: readonly LinkedMap[]): BpfMap[] {
  if (kernel.maps.all.length !== 0) throw new KfError('the model kernel already has maps: create them on a fresh kernel');
  return maps.map((m) => {
    const kind = KINDS[m.type];
    if (!kind) throw new KfError(`map "${m.name}": map type ${m.type} is not modelled (array, hash and percpu_array are)`);
    const created = kernel.maps.create({ type: kind, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, name: m.name });
    if (created.fd !== m.fd) throw new KfError(`map "${m.name}": got fd ${created.fd}, expected ${m.fd}`);
    if (m.initialValue && m.initialValue.some((b) => b !== 0)) {
      const key = new Uint8Array(4);
      const value = new Uint8Array(m.valueSize);
      value.set(m.initialValue.subarray(0, m.valueSize));
      created.updateBytes(key, value);
    }
    return created;
  });
}
