import { describe, expect, it } from 'vitest';
import { AddressSpace } from '../../src/vm/memory.js';
import { endRun, type CallContext, type NativeFn } from '../../src/vm/env.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { buildSkb, buildXdp, skbBytes } from '../../src/kernel/ctx-build.js';
import { readDynptr, DYNPTR_RDONLY_BIT } from '../../src/kernel/kfuncs/dynptr.js';
import { BPF_EXIST, BPF_NOEXIST } from '../../src/kernel/maps.js';

const EFAULT = -14n, EINVAL = -22n, ERANGE = -34n, E2BIG = -7n, EEXIST = -17n, ENOENT = -2n;
/** An int-returning kfunc's error as r0 holds it: the upper half zero (src/kernel/model.ts zeroExtendNarrowReturn). */
const int = (e: bigint): bigint => BigInt.asUintN(32, e);
const pkt = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

function setup() {
  const mem = new AddressSpace();
  const k = new ModelKernel(mem, { seed: 7, clockNs: () => 123n });
  const stack = mem.map(512, 'stack', 'test stack');
  const c: CallContext = { mem, pc: 0, callSubprog: () => 0n, endRun };
  const kf = (name: string): NativeFn => k.env().kfunc(k.kfuncId(name), 0)!;
  const call = (f: NativeFn, ...a: (bigint | number)[]): bigint => {
    const r = a.map((x) => BigInt(x));
    while (r.length < 5) r.push(0n);
    return BigInt.asIntN(64, f(c, r[0], r[1], r[2], r[3], r[4]));
  };
  const helper = (id: number): NativeFn => k.env().helper(id)!;
  return { mem, k, stack, c, kf, call, helper, sp: stack.base };
}

describe('skb internals (non-linear)', () => {
  const data = pkt(100);
  it('skb_copy_bits copies across head and fragments, -EFAULT past the end', () => {
    const { k, mem, kf, call, sp } = setup();
    const { ctx } = buildSkb(k.rt, data, { l2: true, linearLen: 40, frags: [30, 30] });
    expect(k.rt.skb.headlen(ctx)).toBe(40);
    expect(call(kf('skb_copy_bits'), ctx, 30, sp, 50)).toBe(0n);
    expect(mem.read(sp, 50)).toEqual(data.subarray(30, 80));
    expect(call(kf('skb_copy_bits'), ctx, 95, sp, 6)).toBe(int(EFAULT));
    expect(call(kf('skb_copy_bits'), ctx, 94, sp, 6)).toBe(0n);
    expect(mem.read(sp, 6)).toEqual(data.subarray(94, 100));
    expect(skbBytes(k.rt, ctx)).toEqual(data);
  });

  it('bpf_skb_load_bytes zeroes the buffer on failure', () => {
    const { k, mem, helper, call, sp } = setup();
    const { ctx } = buildSkb(k.rt, data, { l2: true, linearLen: 20 });
    mem.write(sp, new Uint8Array(8).fill(0xaa));
    expect(call(helper(26), ctx, 96, sp, 8)).toBe(EFAULT);
    expect(mem.read(sp, 8)).toEqual(new Uint8Array(8));
    expect(call(helper(26), ctx, 16, sp, 8)).toBe(0n);
    expect(mem.read(sp, 8)).toEqual(data.subarray(16, 24));
  });
});

describe('dynptr kfuncs', () => {
  const data = pkt(100);
  it('from_skb, slice: linear pointer, buffer copy across frags, NULL without buffer or beyond end', () => {
    const { k, mem, kf, call, sp } = setup();
    const { ctx } = buildSkb(k.rt, data, { l2: true, linearLen: 40 });
    const d = sp, buf = sp + 64;
    expect(call(kf('bpf_dynptr_from_skb'), ctx, 0, d)).toBe(0n);
    expect(readDynptr(k.rt, d)).toMatchObject({ data: ctx, size: 100, type: 3, rdonly: false, offset: 0 });
    expect(call(kf('bpf_dynptr_size'), d)).toBe(100n);
    const p = call(kf('bpf_dynptr_slice'), d, 10, buf, 20);
    expect(p).toBe(BigInt(k.rt.skb.data(ctx) + 10));
    expect(call(kf('bpf_dynptr_slice'), d, 30, buf, 20)).toBe(BigInt(buf));
    expect(mem.read(buf, 20)).toEqual(data.subarray(30, 50));
    expect(call(kf('bpf_dynptr_slice'), d, 30, 0, 20)).toBe(0n);
    expect(call(kf('bpf_dynptr_slice'), d, 90, buf, 11)).toBe(0n);
    expect(call(kf('bpf_dynptr_slice'), d, 90, buf, 10)).toBe(BigInt(buf));
  });

  it('from_skb with flags sets the dynptr to NULL and returns -EINVAL', () => {
    const { k, kf, call, sp, mem } = setup();
    const { ctx } = buildSkb(k.rt, data, { l2: true });
    mem.write(sp, new Uint8Array(16).fill(1));
    expect(call(kf('bpf_dynptr_from_skb'), ctx, 1, sp)).toBe(int(EINVAL));
    expect(call(kf('bpf_dynptr_is_null'), sp)).toBe(1n);
    expect(call(kf('bpf_dynptr_size'), sp)).toBe(BigInt(0xffffffea));
  });

  it('read-only dynptr: write -EINVAL, slice_rdwr NULL, is_rdonly', () => {
    const { k, kf, call, sp, helper } = setup();
    k.rt.skbDynptrRdonly = true;
    const { ctx } = buildSkb(k.rt, data, { l2: true });
    expect(call(kf('bpf_dynptr_from_skb'), ctx, 0, sp)).toBe(0n);
    expect(k.mem.u32at(sp + 8) & DYNPTR_RDONLY_BIT).not.toBe(0);
    expect(call(kf('bpf_dynptr_is_rdonly'), sp)).toBe(1n);
    expect(call(helper(202), sp, 0, sp + 32, 4, 0)).toBe(EINVAL);
    expect(call(kf('bpf_dynptr_slice_rdwr'), sp, 0, sp + 32, 4)).toBe(0n);
    expect(call(kf('bpf_dynptr_slice'), sp, 0, sp + 32, 4)).not.toBe(0n);
  });

  it('adjust: bounds and effect', () => {
    const { k, kf, call, sp, mem, helper } = setup();
    const { ctx } = buildSkb(k.rt, data, { l2: true });
    call(kf('bpf_dynptr_from_skb'), ctx, 0, sp);
    expect(call(kf('bpf_dynptr_adjust'), sp, 101, 101)).toBe(int(ERANGE));
    expect(call(kf('bpf_dynptr_adjust'), sp, 10, 5)).toBe(int(EINVAL));
    expect(call(kf('bpf_dynptr_adjust'), sp, 10, 30)).toBe(0n);
    expect(readDynptr(k.rt, sp)).toMatchObject({ size: 20, offset: 10, type: 3 });
    expect(call(helper(201), sp + 32, 20, sp, 0, 0)).toBe(0n);
    expect(mem.read(sp + 32, 20)).toEqual(data.subarray(10, 30));
    expect(call(helper(201), sp + 32, 1, sp, 20, 0)).toBe(E2BIG);
    expect(call(helper(201), sp + 32, 1, sp, 0, 1)).toBe(EINVAL);
    expect(call(kf('bpf_dynptr_adjust'), 0n + BigInt(sp + 64), 0, 0)).toBe(int(EINVAL)); // zeroed = NULL dynptr
  });

  it('dynptr_write to a non-linear skb pulls the range into the head', () => {
    const { k, kf, call, sp, mem, helper } = setup();
    const { ctx } = buildSkb(k.rt, data, { l2: true, linearLen: 20, frags: [40, 40] });
    call(kf('bpf_dynptr_from_skb'), ctx, 0, sp);
    mem.write(sp + 32, Uint8Array.of(1, 2, 3, 4));
    expect(call(helper(202), sp, 60, sp + 32, 4, 0)).toBe(0n);
    expect(k.rt.skb.headlen(ctx)).toBe(64);
    const want = data.slice();
    want.set([1, 2, 3, 4], 60);
    expect(skbBytes(k.rt, ctx)).toEqual(want);
    expect(call(helper(202), sp, 60, sp + 32, 4, 8)).toBe(EINVAL); // bad flags
  });

  it('xdp multi-buffer: slices inside a frag, across frags, errors', () => {
    const { k, kf, call, sp, mem } = setup();
    const { ctx } = buildXdp(k.rt, data, { linearLen: 40, frags: [30, 30] });
    expect(call(kf('bpf_dynptr_from_xdp'), ctx, 0, sp)).toBe(0n);
    expect(call(kf('bpf_dynptr_size'), sp)).toBe(100n);
    const frags = k.rt.xdp.frags(ctx);
    expect(call(kf('bpf_xdp_pointer'), ctx, 45, 10)).toBe(BigInt(frags[0].addr + 5));
    expect(call(kf('bpf_xdp_pointer'), ctx, 65, 10)).toBe(0n); // crosses frags
    expect(BigInt.asUintN(64, call(kf('bpf_xdp_pointer'), ctx, 95, 10))).toBe(BigInt.asUintN(64, EINVAL));
    expect(BigInt.asUintN(64, call(kf('bpf_xdp_pointer'), ctx, 0x10000, 1))).toBe(BigInt.asUintN(64, EFAULT));
    const buf = sp + 64;
    expect(call(kf('bpf_dynptr_slice'), sp, 35, buf, 40)).toBe(BigInt(buf));
    expect(mem.read(buf, 40)).toEqual(data.subarray(35, 75));
    expect(call(kf('bpf_dynptr_slice'), sp, 35, 0, 40)).toBe(0n);
    expect(call(kf('bpf_dynptr_slice'), sp, 75, buf, 26)).toBe(0n);
    mem.write(buf, new Uint8Array(20).fill(9));
    call(kf('bpf_xdp_copy_buf'), ctx, 60, buf, 20, 1); // flush into the packet, across frags
    expect(mem.read(frags[0].addr + 20, 10)).toEqual(new Uint8Array(10).fill(9));
    expect(mem.read(frags[0].addr + 10, 1)).toEqual(data.subarray(50, 51));
    expect(mem.read(frags[1].addr, 10)).toEqual(new Uint8Array(10).fill(9));
  });

  it('xdp_adjust_head keeps the xdp_frame headroom and an Ethernet header', () => {
    const { k, helper, call } = setup();
    const { ctx } = buildXdp(k.rt, pkt(64));
    const d0 = k.rt.xdp.data(ctx);
    expect(call(helper(44), ctx, 51)).toBe(EINVAL); // less than ETH_HLEN left
    expect(call(helper(44), ctx, 50)).toBe(0n);
    expect(k.rt.xdp.data(ctx)).toBe(d0 + 50);
    expect(call(helper(44), ctx, -50 - 256 + k.rt.L.xdpFrameSize - 1)).toBe(EINVAL);
    expect(call(helper(44), ctx, -50 - 256 + k.rt.L.xdpFrameSize)).toBe(0n);
  });
});

describe('iterators, maps, misc helpers', () => {
  it('bpf_iter_num: range, empty, errors', () => {
    const { k, kf, call, sp } = setup();
    expect(call(kf('bpf_iter_num_new'), sp, 0, 3)).toBe(0n);
    const seen: number[] = [];
    for (;;) {
      const p = call(kf('bpf_iter_num_next'), sp);
      if (!p) break;
      seen.push(k.mem.dv.getInt32(Number(p), true));
    }
    expect(seen).toEqual([0, 1, 2]);
    expect(call(kf('bpf_iter_num_new'), sp, 5, 1)).toBe(int(EINVAL));
    expect(call(kf('bpf_iter_num_next'), sp)).toBe(0n);
    expect(call(kf('bpf_iter_num_new'), sp, -(2 ** 31), 2 ** 31 - 1)).toBe(int(E2BIG));
    expect(call(kf('bpf_iter_num_new'), sp, 4, 4)).toBe(0n);
    expect(call(kf('bpf_iter_num_next'), sp)).toBe(0n);
  });

  it('array and hash maps', () => {
    const { k, call, helper, sp, mem } = setup();
    const arr = k.maps.create({ type: 'array', keySize: 4, valueSize: 12, maxEntries: 3 });
    const h = k.maps.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 2 });
    mem.setU32(sp, 2);
    const v = call(helper(1), arr.obj, sp);
    expect(v).toBe(BigInt(arr.valueRegion.base + 2 * 16));
    mem.setU32(sp, 3);
    expect(call(helper(1), arr.obj, sp)).toBe(0n);
    expect(call(helper(2), arr.obj, sp, sp + 8, 0)).toBe(E2BIG);
    mem.setU32(sp, 1);
    expect(call(helper(2), arr.obj, sp, sp + 8, BPF_NOEXIST)).toBe(EEXIST);
    expect(call(helper(2), arr.obj, sp, sp + 8, 3)).toBe(EINVAL);
    expect(call(helper(3), arr.obj, sp)).toBe(EINVAL);
    expect(call(helper(1), h.obj, sp)).toBe(0n);
    expect(call(helper(2), h.obj, sp, sp + 8, BPF_EXIST)).toBe(ENOENT);
    mem.write(sp + 8, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    expect(call(helper(2), h.obj, sp, sp + 8, 0)).toBe(0n);
    const hv = Number(call(helper(1), h.obj, sp));
    expect(mem.read(hv, 8)).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    expect(call(helper(2), h.obj, sp, sp + 8, BPF_NOEXIST)).toBe(EEXIST);
    mem.setU32(sp, 2);
    expect(call(helper(2), h.obj, sp, sp + 8, 0)).toBe(0n);
    mem.setU32(sp, 3);
    expect(call(helper(2), h.obj, sp, sp + 8, 0)).toBe(E2BIG);
    expect(call(helper(3), h.obj, sp)).toBe(ENOENT);
    mem.setU32(sp, 2);
    expect(call(helper(3), h.obj, sp)).toBe(0n);
    expect(h.lookupBytes(Uint8Array.of(1, 0, 0, 0))).toEqual(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    expect(h.lookupBytes(Uint8Array.of(2, 0, 0, 0))).toBeUndefined();
  });

  it('trace_printk formats, prandom and ktime come from the runtime', () => {
    const { k, call, helper, sp, mem } = setup();
    const fmt = new TextEncoder().encode('x=%d y=%llx s=%u%%\0');
    mem.write(sp, fmt);
    expect(call(helper(6), sp, fmt.length, -5, 0xabcdef0123n, 7)).toBe(BigInt('x=-5 y=abcdef0123 s=7%'.length));
    expect(k.rt.trace).toEqual(['x=-5 y=abcdef0123 s=7%']);
    expect(call(helper(6), sp, fmt.length - 1)).toBe(EINVAL); // not NUL terminated
    expect(call(helper(5))).toBe(123n);
    const a = call(helper(7)), b = call(helper(7));
    expect(a).not.toBe(b);
    expect(a >= 0n && a < 2n ** 32n).toBe(true);
  });

  it('bpf_loop calls back until the callback returns 1', () => {
    const { helper } = setup();
    const mem = new AddressSpace();
    const calls: bigint[] = [];
    const c: CallContext = { mem, pc: 0, callSubprog: (_f, args) => (calls.push(args[0]), args[0] === 4n ? 1n : 0n), endRun };
    expect(helper(181)(c, 10n, 0n, 0n, 0n, 0n)).toBe(5n);
    expect(calls).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(helper(181)(c, 3n, 0n, 0n, 1n, 0n)).toBe(EINVAL);
    expect(helper(181)(c, BigInt(8 * 1024 * 1024 + 1), 0n, 0n, 0n, 0n)).toBe(E2BIG);
  });
});
