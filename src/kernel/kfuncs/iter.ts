// Open-coded number iterator kfuncs (kernel/bpf/bpf_iter.c), natively.
// struct bpf_iter_num_kern { int cur; int end; }
// Each kfunc is one function on decoded arguments, with a bigint and a fast
// (number) form around it.

import { withFast, type NativeFn } from '../../vm/env.js';
import { addr, addrN, ld, s32, st } from '../mem.js';
import type { KernelRuntime } from '../runtime.js';

const EINVAL = 22;
const E2BIG = 7;
const BPF_MAX_LOOPS = 8 * 1024 * 1024;

function set(rt: KernelRuntime, it: number, cur: number, end: number): void {
  const I = rt.L.iterNum;
  rt.mem.check(it, I.size, true);
  st(rt.mem, it + I.cur, 4, cur);
  st(rt.mem, it + I.end, 4, end);
}

/** mirrors bpf_iter_num_new(): 0, -EINVAL or -E2BIG. */
function iterNumNew(rt: KernelRuntime, it: number, start: number, end: number): number {
  if (start > end) {
    set(rt, it, 0, 0);
    return -EINVAL;
  }
  if (end - start > BPF_MAX_LOOPS) {
    set(rt, it, 0, 0);
    return -E2BIG;
  }
  set(rt, it, (start - 1) | 0, end); // user calls next() first
  return 0;
}

/** int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) */
export const bpfIterNumNew = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, itp, s, e) => BigInt(iterNumNew(rt, addr(itp, 'bpf_iter_num_new: it'), s32(s), s32(e))),
    (_c, itp, s, e) => iterNumNew(rt, addrN(itp, 'bpf_iter_num_new: it'), s | 0, e | 0),
  );

/** mirrors bpf_iter_num_next(): &it->cur or NULL (0). */
function iterNumNext(rt: KernelRuntime, it: number): number {
  const I = rt.L.iterNum;
  rt.mem.check(it, I.size, true);
  const cur = ld(rt.mem, it + I.cur, 4) | 0;
  const end = ld(rt.mem, it + I.end, 4) | 0;
  // (s64)(s->cur + 1) >= s->end: cur + 1 wraps as int first
  if (((cur + 1) | 0) >= end) {
    set(rt, it, 0, 0);
    return 0;
  }
  st(rt.mem, it + I.cur, 4, cur + 1);
  return it + I.cur;
}

/** int *bpf_iter_num_next(struct bpf_iter_num *it): &it->cur or NULL */
export const bpfIterNumNext = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, itp) => BigInt(iterNumNext(rt, addr(itp, 'bpf_iter_num_next: it'))),
    (_c, itp) => iterNumNext(rt, addrN(itp, 'bpf_iter_num_next: it')),
  );

/** void bpf_iter_num_destroy(struct bpf_iter_num *it) */
export const bpfIterNumDestroy = (rt: KernelRuntime): NativeFn =>
  withFast(
    (_c, itp) => {
      set(rt, addr(itp, 'bpf_iter_num_destroy: it'), 0, 0);
      return 0n;
    },
    (_c, itp) => {
      set(rt, addrN(itp, 'bpf_iter_num_destroy: it'), 0, 0);
      return 0;
    },
  );
