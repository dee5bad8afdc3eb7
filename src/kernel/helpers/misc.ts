// Helpers without a program-type object: time, randomness, trace output, bpf_loop.

import { withFast, type NativeFn } from '../../vm/env.js';
import { KfError } from '../../util/errors.js';
import { addr, u32 } from '../mem.js';
import type { KernelRuntime } from '../runtime.js';

const EINVAL = 22;
const E2BIG = 7;
const BPF_MAX_LOOPS = 8 * 1024 * 1024;

/** 5: u64 bpf_ktime_get_ns(void): a fast form only when the runtime's clock fits in a number. */
export const bpfKtimeGetNs = (rt: KernelRuntime): NativeFn => {
  const fast = rt.clockNsNumber;
  return fast ? withFast(() => rt.clockNs(), () => fast()) : () => rt.clockNs();
};

/** 7: u32 bpf_get_prandom_u32(void) */
export const bpfGetPrandomU32 = (rt: KernelRuntime): NativeFn =>
  withFast(
    () => BigInt(rt.nextRandom()),
    () => rt.nextRandom(),
  );

/** 181: long bpf_loop(u32 nr_loops, void *callback_fn, void *callback_ctx, u64 flags) */
export const bpfLoop = (): NativeFn => (c, nr, fn, ctx, flags) => {
  const n = u32(nr);
  if (flags) return -BigInt(EINVAL);
  if (n > BPF_MAX_LOOPS) return -BigInt(E2BIG);
  let i = 0;
  for (; i < n; i++) {
    const ret = c.callSubprog(fn, [BigInt(i), ctx, 0n, 0n, 0n]);
    // return value: 0 - continue, 1 - stop and return
    if (BigInt.asUintN(64, ret) !== 0n) return BigInt(i + 1);
  }
  return BigInt(i);
};

/**
 * 6: long bpf_trace_printk(const char *fmt, u32 fmt_size, ...): formats like
 * bstr_printf() for the specifiers BPF allows (%d %i %u %x %X %p %s %c %%, with
 * l/ll), appends the text to rt.trace, returns its length.
 */
export const bpfTracePrintk = (rt: KernelRuntime): NativeFn => (c, fmtp, size, a1, a2, a3) => {
  const n = u32(size);
  const fa = addr(fmtp, 'bpf_trace_printk: fmt');
  if (n === 0) return -BigInt(EINVAL);
  rt.mem.check(fa, n, false, c.pc);
  const fmt = rt.mem.read(fa, n);
  if (fmt[n - 1] !== 0) return -BigInt(EINVAL); // bpf_bprintf_prepare(): must be NUL terminated
  const args = [a1, a2, a3];
  let out = '';
  let ai = 0;
  const end = fmt.indexOf(0);
  for (let i = 0; i < end; i++) {
    const ch = String.fromCharCode(fmt[i]);
    if (ch !== '%') {
      out += ch;
      continue;
    }
    i++;
    if (fmt[i] === 0x25) {
      out += '%';
      continue;
    }
    let longs = 0;
    while (fmt[i] === 0x6c /* l */) {
      longs++;
      i++;
    }
    const conv = String.fromCharCode(fmt[i]);
    if (ai >= 3) return -BigInt(EINVAL);
    const raw = BigInt.asUintN(64, args[ai++]);
    const bits = longs ? 64 : 32;
    switch (conv) {
      case 'd':
      case 'i':
        out += BigInt.asIntN(bits, raw).toString();
        break;
      case 'u':
        out += BigInt.asUintN(bits, raw).toString();
        break;
      case 'x':
        out += BigInt.asUintN(bits, raw).toString(16);
        break;
      case 'X':
        out += BigInt.asUintN(bits, raw).toString(16).toUpperCase();
        break;
      case 'p':
        out += '0x' + raw.toString(16);
        break;
      case 'c':
        out += String.fromCharCode(Number(raw & 0xffn));
        break;
      case 's': {
        const s = addr(raw, 'bpf_trace_printk: %s argument');
        let str = '';
        for (let k = 0; k < 4096; k++) {
          const b = rt.mem.check(s + k, 1, false, c.pc) && rt.mem.u8at(s + k);
          if (!b) break;
          str += String.fromCharCode(b);
        }
        out += str;
        break;
      }
      default:
        throw new KfError(`bpf_trace_printk: unsupported format specifier '%${'l'.repeat(longs)}${conv}'`);
    }
  }
  rt.trace.push(out);
  return BigInt(out.length);
};
