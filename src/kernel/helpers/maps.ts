// Map helpers (kernel/bpf/helpers.c: bpf_map_lookup_elem and friends).
// Each helper has a bigint and a fast (number) form around one implementation.

import { withFast, type NativeFn } from '../../vm/env.js';
import { KfError } from '../../util/errors.js';
import { addr, addrN, u64N } from '../mem.js';
import type { BpfMap } from '../maps.js';
import type { KernelRuntime } from '../runtime.js';

function mapAt(rt: KernelRuntime, v: bigint | number, what: string): BpfMap {
  const a = typeof v === 'number' ? addrN(v, what) : addr(v, what);
  const m = rt.maps.at(a);
  if (!m) throw new KfError(`${what}: ${a.toString(16)} is not a map`);
  return m;
}

/** 1: void *bpf_map_lookup_elem(struct bpf_map *map, const void *key) */
export const bpfMapLookupElem = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, map, key) => BigInt(mapAt(rt, map, 'bpf_map_lookup_elem: map').lookup(addr(key, 'bpf_map_lookup_elem: key'))),
    (_c, map, key) => mapAt(rt, map, 'bpf_map_lookup_elem: map').lookup(addrN(key, 'bpf_map_lookup_elem: key')),
  );

/** 2: long bpf_map_update_elem(struct bpf_map *map, const void *key, const void *value, u64 flags) */
export const bpfMapUpdateElem = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, map, key, value, flags) =>
      BigInt(
        mapAt(rt, map, 'bpf_map_update_elem: map').update(
          addr(key, 'bpf_map_update_elem: key'),
          addr(value, 'bpf_map_update_elem: value'),
          BigInt.asUintN(64, flags),
        ),
      ),
    (_c, map, key, value, flags) =>
      mapAt(rt, map, 'bpf_map_update_elem: map').update(addrN(key, 'bpf_map_update_elem: key'), addrN(value, 'bpf_map_update_elem: value'), u64N(flags)),
  );

/** 3: long bpf_map_delete_elem(struct bpf_map *map, const void *key) */
export const bpfMapDeleteElem = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, map, key) => BigInt(mapAt(rt, map, 'bpf_map_delete_elem: map').delete(addr(key, 'bpf_map_delete_elem: key'))),
    (_c, map, key) => mapAt(rt, map, 'bpf_map_delete_elem: map').delete(addrN(key, 'bpf_map_delete_elem: key')),
  );
