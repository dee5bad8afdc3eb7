// Whether the current path runs kernel code: an instance body (isolated or
// non-isolated) or an inlined region's own path. Kernel code is the kernel's
// own: the verifier checks what it does to the program's memory, not that it
// terminates. A loop over KERNEL_VALUEs (the hash loop of
// __htab_map_lookup_elem(), the bucket walk) repeats its state exactly; on
// these paths an exact repeat is pruned instead of "infinite loop detected".
import type { Env } from '../env.js';
import { kfuncEnv } from '../kfunc/context.js';

export function onKernelCodePath(env: Env): boolean {
  return env.cur.region !== undefined || kfuncEnv(env).inInstance(env.insnIdx);
}
