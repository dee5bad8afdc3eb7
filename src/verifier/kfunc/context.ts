// What the verifier knows about kfuncs for one verification: the BTF that
// kfunc calls' imm refers to (the model kernel's by default), extra test
// kfuncs, and the hidden instance subprograms. Kept beside the Env (not in it)
// so the core verifier needs no kfunc fields.
import type { Btf } from '../../btf/btf.js';
import { kfuncByName, KFUNCS } from '../../kernel/catalogue.js';
import { modelLayout } from '../../kernel/layout.js';
import { KfError } from '../../util/errors.js';
import { isInlinableHelperCall } from '../inlined/helper-bodies.js';
import type { Env } from '../env.js';
import { metaFromBtf, metaFromDescriptor, type KfuncDescriptor, type KfuncMeta } from './proto.js';

export interface InstanceDesc {
  readonly site: number;
  readonly kfunc: string;
  readonly start: number;
  readonly len: number;
}

export interface InstancesOption {
  /** Slots of the program proper; instance bodies follow. */
  readonly progLen: number;
  readonly list: readonly InstanceDesc[];
  /** 'isolated' (default, the RFC): a fake frame per instance; 'non-isolated': the body runs in the caller's state (src/verifier/inlined/nonisolated.ts). */
  readonly mode?: 'isolated' | 'non-isolated';
}

/** A kfunc whose prototype comes from another BTF (a test library's or a program's). */
export interface BtfKfunc {
  /** The call's imm. */
  readonly id: number;
  readonly btf: Btf;
  /** The FUNC in `btf` (default: `id`). */
  readonly btfId?: number;
  readonly flags?: number;
}

export interface KfuncOptions {
  /** The BTF kfunc ids refer to (default: the model kernel's). */
  readonly btf?: Btf;
  /** Kfuncs outside `btf`, by call imm. */
  readonly extra?: readonly (BtfKfunc | KfuncDescriptor)[];
}

export class KfuncEnv {
  private readonly cache = new Map<number, KfuncMeta | null>();
  private readonly extra = new Map<number, BtfKfunc | KfuncDescriptor>();
  readonly btf: Btf;
  readonly progLen: number;
  /** Instance by call site. */
  readonly instanceAt = new Map<number, InstanceDesc>();
  readonly mode: 'isolated' | 'non-isolated';

  constructor(insnCount: number, opts: KfuncOptions, instances?: InstancesOption) {
    this.btf = opts.btf ?? modelLayout().structs.btf;
    for (const e of opts.extra ?? []) this.extra.set(e.id, e);
    this.progLen = instances ? instances.progLen : insnCount;
    this.mode = instances?.mode ?? 'isolated';
    for (const i of instances?.list ?? []) this.instanceAt.set(i.site, i);
  }

  /** True for slots of instance bodies. */
  inInstance(idx: number): boolean {
    return idx >= this.progLen;
  }

  /** mirrors fetch_kfunc_meta(): undefined when `id` names no function. */
  meta(id: number): KfuncMeta | undefined {
    let m = this.cache.get(id);
    if (m === undefined) {
      m = this.build(id);
      this.cache.set(id, m);
    }
    return m ?? undefined;
  }

  private build(id: number): KfuncMeta | null {
    const e = this.extra.get(id);
    if (e) {
      if ('args' in e) return metaFromDescriptor(e);
      const fid = e.btfId ?? id;
      if (fid <= 0 || fid >= e.btf.count + e.btf.startId || e.btf.kindOf(fid) !== 'FUNC') return null;
      return metaFromBtf(e.btf, fid, { flags: e.flags ?? 0, kind: 'kfunc' });
    }
    const btf = this.btf;
    if (id <= 0 || id >= btf.startId + btf.count || btf.kindOf(id) !== 'FUNC') return null;
    const name = btf.nameOf(id);
    const desc = kfuncByName(name);
    // Functions of the model BTF outside the catalogue are kernel internals.
    return metaFromBtf(btf, id, { flags: desc?.flags ?? 0, kind: desc?.kind ?? 'internal', ...(desc?.progTypes && { progTypes: desc.progTypes }) });
  }
}

const ENVS = new WeakMap<Env, KfuncEnv>();

export function attachKfuncEnv(env: Env, opts: KfuncOptions = {}, instances?: InstancesOption): KfuncEnv {
  if (instances) {
    const n = env.insns.length;
    if (!Number.isInteger(instances.progLen) || instances.progLen < 1 || instances.progLen > n)
      throw new KfError(`instances: progLen ${instances.progLen} outside 1..${n}`);
    for (const i of instances.list) {
      if (!Number.isInteger(i.site) || i.site < 0 || i.site >= instances.progLen)
        throw new KfError(`instance of ${i.kfunc}: call site ${i.site} is outside the program (0..${instances.progLen - 1})`);
      const x = env.insns[i.site];
      // kfunc calls, and helper calls whose helper has an inlinable body (src/verifier/inlined/helper-bodies.ts)
      if (x.code !== 0x85 || (x.src !== 2 && !isInlinableHelperCall(x)))
        throw new KfError(`instance of ${i.kfunc}: instruction ${i.site} is not a kfunc call nor a call of a helper with an inlinable body`);
      if (!Number.isInteger(i.start) || !Number.isInteger(i.len) || i.start < instances.progLen || i.len < 1 || i.start + i.len > n)
        throw new KfError(`instance of ${i.kfunc} at ${i.site}: body [${i.start}, ${i.start + i.len}) is outside the instance area [${instances.progLen}, ${n})`);
    }
  }
  const k = new KfuncEnv(env.insns.length, opts, instances);
  ENVS.set(env, k);
  return k;
}

/** The kfunc context of `env` (a default one, for the model kernel, when none was attached). */
export function kfuncEnv(env: Env): KfuncEnv {
  let k = ENVS.get(env);
  if (!k) {
    k = new KfuncEnv(env.insns.length, {});
    ENVS.set(env, k);
  }
  return k;
}

export { KFUNCS };
