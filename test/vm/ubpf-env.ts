// The helpers of uBPF's test harness (gather_bytes, memfrob, strcmp_ext), as an Env.
import { emptyEnv, type Env, type NativeFn } from '../../src/vm/env.js';

const gather: NativeFn = (_c, a, b, c, d, e) =>
  ((a & 0xffn) << 32n) | ((b & 0xffn) << 24n) | ((c & 0xffn) << 16n) | ((d & 0xffn) << 8n) | (e & 0xffn);

const memfrob: NativeFn = (c, p, n) => {
  const len = Number(n);
  c.mem.check(p, len, true, c.pc);
  const b = c.mem.bytes(Number(p), len);
  for (let i = 0; i < len; i++) b[i] ^= 42;
  return 0n;
};

const strcmp: NativeFn = (c, a, b) => {
  for (let i = 0; ; i++) {
    c.mem.check(a + BigInt(i), 1, false, c.pc);
    c.mem.check(b + BigInt(i), 1, false, c.pc);
    const x = c.mem.u8at(Number(a) + i);
    const y = c.mem.u8at(Number(b) + i);
    if (x !== y || x === 0) return BigInt.asUintN(64, BigInt(x - y));
  }
};

/**
 * uBPF's unwind extension (ubpf_set_unwind_function_index(vm, 5)): the helper
 * returns its argument, and when that is 0 the whole program ends at once with r0 = 0.
 */
const unwind: NativeFn = (c, a) => (a === 0n ? c.endRun(0n) : a);

const HELPERS = new Map<number, NativeFn>([
  [0, gather],
  [1, memfrob],
  [4, strcmp],
  [5, unwind],
]);

export const ubpfEnv: Env = { ...emptyEnv, helper: (id) => HELPERS.get(id) };
