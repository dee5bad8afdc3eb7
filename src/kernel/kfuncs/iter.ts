// Open-coded number iterator kfuncs (kernel/bpf/bpf_iter.c), natively.
// struct bpf_iter_num_kern { int cur; int end; }

import type { NativeFn } from '../../vm/env.js';
import { addr, s32 } from '../mem.js';
import type { KernelRuntime } from '../runtime.js';

const EINVAL = 22;
const E2BIG = 7;
const BPF_MAX_LOOPS = 8 * 1024 * 1024;

function set(rt: KernelRuntime, it: number, cur: number, end: number): void {
  const I = rt.L.iterNum;
  rt.mem.check(it, I.size, true);
  rt.mem.store(it + I.cur, 4, BigInt(cur));
  rt.mem.store(it + I.end, 4, BigInt(end));
}

/** int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end) */
export const bpfIterNumNew = (rt: KernelRuntime): NativeFn => (_c, itp, s, e) => {
  const it = addr(itp, 'bpf_iter_num_new: it');
  const start = s32(s);
  const end = s32(e);
  if (start > end) {
    set(rt, it, 0, 0);
    return -BigInt(EINVAL);
  }
  if (end - start > BPF_MAX_LOOPS) {
    set(rt, it, 0, 0);
    return -BigInt(E2BIG);
  }
  set(rt, it, (start - 1) | 0, end); // user calls next() first
  return 0n;
};

/** int *bpf_iter_num_next(struct bpf_iter_num *it): &it->cur or NULL */
export const bpfIterNumNext = (rt: KernelRuntime): NativeFn => (_c, itp) => {
  const it = addr(itp, 'bpf_iter_num_next: it');
  const I = rt.L.iterNum;
  rt.mem.check(it, I.size, true);
  const cur = Number(BigInt.asIntN(32, rt.mem.load(it + I.cur, 4)));
  const end = Number(BigInt.asIntN(32, rt.mem.load(it + I.end, 4)));
  // (s64)(s->cur + 1) >= s->end: cur + 1 wraps as int first
  if (((cur + 1) | 0) >= end) {
    set(rt, it, 0, 0);
    return 0n;
  }
  rt.mem.store(it + I.cur, 4, BigInt(cur + 1));
  return BigInt(it + I.cur);
};

/** void bpf_iter_num_destroy(struct bpf_iter_num *it) */
export const bpfIterNumDestroy = (rt: KernelRuntime): NativeFn => (_c, itp) => {
  set(rt, addr(itp, 'bpf_iter_num_destroy: it'), 0, 0);
  return 0n;
};
