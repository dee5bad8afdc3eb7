// ModelKernel: the model kernel bound to one AddressSpace, handing the
// execution engines an Env (helpers by id, kfuncs by model BTF id, map
// addresses for the pseudo ld_imm64 forms).

import { withFast, type Env, type NativeFn } from '../vm/env.js';
import type { Btf } from '../btf/index.js';
import type { AddressSpace } from '../vm/memory.js';
import { KfError } from '../util/errors.js';
import { HELPERS, KFUNCS, kfuncIds } from './catalogue.js';
import { ArrayMap } from './maps.js';
import { KernelRuntime, type RuntimeOptions } from './runtime.js';

const PSEUDO_MAP_FD = 1;
const PSEUDO_MAP_VALUE = 2;
const PSEUDO_MAP_IDX = 5;
const PSEUDO_MAP_IDX_VALUE = 6;

export class ModelKernel {
  readonly rt: KernelRuntime;
  /** Kfunc (and internal function) name → BTF id in the model BTF. */
  readonly kfuncIds: ReadonlyMap<string, number>;
  private readonly helpers = new Map<number, NativeFn>();
  private readonly kfuncs = new Map<number, NativeFn>();

  constructor(readonly mem: AddressSpace, opts: RuntimeOptions = {}) {
    this.rt = new KernelRuntime(mem, opts);
    for (const h of HELPERS) this.helpers.set(h.id, h.impl(this.rt));
    this.kfuncIds = kfuncIds(this.rt.L.structs);
    const btf = this.rt.L.structs.btf;
    for (const k of KFUNCS) {
      const id = this.kfuncIds.get(k.name)!;
      this.kfuncs.set(id, zeroExtendNarrowReturn(btf, id, k.impl(this.rt)));
    }
  }

  /** BTF id of a kfunc or internal function of the model. */
  kfuncId(name: string): number {
    const id = this.kfuncIds.get(name);
    if (id === undefined) throw new KfError(`unknown kfunc ${name}`);
    return id;
  }

  /** Adds or replaces a native function under a BTF id (e.g. a kfunc outside the catalogue). */
  setKfunc(btfId: number, fn: NativeFn): void {
    this.kfuncs.set(btfId, fn);
  }

  get maps() {
    return this.rt.maps;
  }

  /** mirrors the map resolution of resolve_pseudo_ldimm64() */
  ldImm64(src: number, imm: number, nextImm: number, pc: number): bigint {
    const maps = this.rt.maps;
    switch (src) {
      case PSEUDO_MAP_FD:
      case PSEUDO_MAP_IDX: {
        const m = src === PSEUDO_MAP_FD ? maps.byFd(imm) : maps.byIndex(imm);
        if (!m) throw new KfError(`instruction ${pc}: ${src === PSEUDO_MAP_FD ? 'fd' : 'index'} ${imm} is not pointing to valid bpf_map`);
        return BigInt(m.obj);
      }
      case PSEUDO_MAP_VALUE:
      case PSEUDO_MAP_IDX_VALUE: {
        const m = src === PSEUDO_MAP_VALUE ? maps.byFd(imm) : maps.byIndex(imm);
        if (!m) throw new KfError(`instruction ${pc}: ${src === PSEUDO_MAP_VALUE ? 'fd' : 'index'} ${imm} is not pointing to valid bpf_map`);
        if (!(m instanceof ArrayMap) || m.spec.type !== 'array') throw new KfError(`instruction ${pc}: no direct value access support for this map type`);
        // mirrors array_map_direct_value_addr()
        if (m.spec.maxEntries !== 1) throw new KfError(`instruction ${pc}: direct value access needs an array with max_entries 1 (map "${m.name}" has ${m.spec.maxEntries})`);
        const off = nextImm >>> 0;
        if (off >= m.spec.valueSize) throw new KfError(`instruction ${pc}: invalid access to map value pointer, value_size=${m.spec.valueSize} off=${off}`);
        return BigInt(m.elemAddr(0) + off);
      }
      default:
        throw new KfError(`instruction ${pc}: unsupported ld_imm64 pseudo source ${src}`);
    }
  }

  env(): Env {
    return {
      helper: (id) => this.helpers.get(id),
      kfunc: (btfId, off) => (off === 0 ? this.kfuncs.get(btfId) : undefined),
      ldImm64: (src, imm, nextImm, pc) => this.ldImm64(src, imm, nextImm, pc),
    };
  }
}

/**
 * A kernel function returning a 32-bit (or narrower) integer leaves the
 * upper half of r0 zero, as the x86-64 JIT's call of native code does (the
 * callee writes eax; the verifier only marks the subregister,
 * mark_btf_func_reg_size()): `int` results such as -EINVAL reach the program
 * as 0x00000000ffffffea, not sign-extended. Natives return the C value; this
 * wrapper truncates it for the functions whose BTF return type is narrower
 * than 64 bits.
 */
function zeroExtendNarrowReturn(btf: Btf, funcId: number, fn: NativeFn): NativeFn {
  const ret = btf.funcProto(funcId).returnType;
  if (ret === 0) return fn;
  const t = btf.typeById(btf.skipModsAndTypedefs(ret));
  if (t.kind === 'PTR' || btf.resolveSize(ret) >= 8) return fn;
  const wrapped = (c: Parameters<NativeFn>[0], a: bigint, b: bigint, d: bigint, e: bigint, f: bigint): bigint => BigInt.asUintN(32, fn(c, a, b, d, e, f));
  // keep the declared parameter count (declaredArgs() reads it from the source)
  Object.defineProperty(wrapped, 'length', { value: fn.length });
  const fast = fn.fast;
  if (!fast) return wrapped as NativeFn;
  const fastWrapped = (c: Parameters<typeof fast>[0], a: number, b: number, d: number, e: number, f: number): number => fast(c, a, b, d, e, f) >>> 0;
  Object.defineProperty(fastWrapped, 'length', { value: fast.length });
  return withFast(wrapped, fastWrapped);
}

