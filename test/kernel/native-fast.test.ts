// The fast (number) forms of the model kernel's natives agree with their
// bigint forms: same r0 (as the engines store it), same memory afterwards,
// same error, on random arguments below 2^53 over one prepared world (skb and
// xdp contexts with fragments, dynptrs of every kind, an iterator, maps).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressSpace } from '../../src/vm/memory.js';
import { endRun, type CallContext, type NativeFn } from '../../src/vm/env.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { HELPERS, KFUNCS } from '../../src/kernel/catalogue.js';
import { buildSkb, buildXdp } from '../../src/kernel/ctx-build.js';
import { BPF_DYNPTR_TYPE_LOCAL, DYNPTR_RDONLY_BIT } from '../../src/kernel/kfuncs/dynptr.js';
import { st } from '../../src/kernel/mem.js';

const pkt = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);

/** One deterministic world: two calls of world() give byte-identical memories. */
function world() {
  const mem = new AddressSpace();
  const k = new ModelKernel(mem, { seed: 7 });
  const stack = mem.map(512, 'stack', 'test stack');
  const sp = stack.base;
  const skb = buildSkb(k.rt, pkt(100), { l2: true, linearLen: 40, frags: [30, 30] }).ctx;
  const xdp = buildXdp(k.rt, pkt(100), { linearLen: 40, frags: [30, 30] }).ctx;
  const arr = k.maps.create({ type: 'array', keySize: 4, valueSize: 12, maxEntries: 3 });
  const hash = k.maps.create({ type: 'hash', keySize: 4, valueSize: 8, maxEntries: 2 });
  const c: CallContext = { mem, pc: 3, callSubprog: () => 0n, endRun };
  const kf = (name: string): NativeFn => k.env().kfunc(k.kfuncId(name), 0)!;
  const call = (f: NativeFn, ...a: number[]): bigint => f(c, BigInt(a[0] ?? 0), BigInt(a[1] ?? 0), BigInt(a[2] ?? 0), BigInt(a[3] ?? 0), BigInt(a[4] ?? 0));
  // dynptrs: skb at sp, read-only skb at sp+16, xdp at sp+32, NULL at sp+48, local (over sp+256..) at sp+64
  call(kf('bpf_dynptr_from_skb'), skb, 0, sp);
  call(kf('bpf_dynptr_from_skb'), skb, 0, sp + 16);
  st(mem, sp + 16 + k.rt.L.dynptr.sizeField, 4, (mem.u32at(sp + 16 + k.rt.L.dynptr.sizeField) | DYNPTR_RDONLY_BIT) >>> 0);
  call(kf('bpf_dynptr_from_xdp'), xdp, 0, sp + 32);
  st(mem, sp + 64, 8, sp + 256);
  st(mem, sp + 64 + k.rt.L.dynptr.offset, 4, 8);
  st(mem, sp + 64 + k.rt.L.dynptr.sizeField, 4, (100 | (BPF_DYNPTR_TYPE_LOCAL << 28)) >>> 0);
  mem.write(sp + 256, pkt(200).subarray(0, 200));
  call(kf('bpf_iter_num_new'), sp + 96, 3, 9); // an iterator at sp+96
  mem.setU32(sp + 112, 1); // keys
  mem.setU32(sp + 116, 7);
  call(k.env().helper(2)!, hash.obj, sp + 116, sp + 120, 0);
  const addrs = [0, sp, sp + 16, sp + 32, sp + 48, sp + 64, sp + 96, sp + 112, sp + 116, sp + 120, sp + 200, sp + 505, sp + 512, skb, xdp, arr.obj, hash.obj, 0x1000];
  return { mem, k, c, kf, addrs };
}

const NAMES = [...KFUNCS.map((f) => f.name)];
const HELPER_IDS = HELPERS.map((h) => h.id);

/** Arguments as the engines pass them to a fast form: integers in [0, 2^53). */
function argArb(addrs: number[]): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...addrs) },
    { weight: 4, arbitrary: fc.integer({ min: 0, max: 130 }) },
    { weight: 1, arbitrary: fc.constantFrom(0xffff, 0x10000, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 5, 2 ** 53 - 1, 2 ** 32 - 22) },
    { weight: 1, arbitrary: fc.maxSafeNat() },
  );
}

type Outcome = { r0?: bigint; error?: string };

function outcome(f: () => bigint | number): Outcome {
  try {
    const v = f();
    if (typeof v === 'number') {
      expect(Number.isSafeInteger(v), `fast result ${v} is a safe integer`).toBe(true);
      return { r0: BigInt.asUintN(64, BigInt(v)) };
    }
    return { r0: BigInt.asUintN(64, v) };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;

describe('fast and bigint forms of the natives agree', () => {
  const probe = world();
  const natives: [string, (w: ReturnType<typeof world>) => NativeFn][] = [
    ...NAMES.map((n): [string, (w: ReturnType<typeof world>) => NativeFn] => [n, (w) => w.kf(n)]),
    ...HELPER_IDS.map((id): [string, (w: ReturnType<typeof world>) => NativeFn] => [`helper ${id}`, (w) => w.k.env().helper(id)!]),
  ].filter(([, get]) => get(probe).fast !== undefined);

  it('the hot kfuncs and helpers have a fast form', () => {
    const names = natives.map(([n]) => n);
    for (const n of [
      'bpf_dynptr_from_skb', 'bpf_dynptr_from_xdp', 'bpf_dynptr_slice', 'bpf_dynptr_slice_rdwr', 'bpf_dynptr_size',
      'bpf_dynptr_is_null', 'bpf_dynptr_is_rdonly', 'bpf_dynptr_adjust', 'bpf_iter_num_new', 'bpf_iter_num_next',
      'bpf_iter_num_destroy', 'skb_copy_bits', 'bpf_xdp_pointer', 'bpf_xdp_copy_buf',
      'helper 1', 'helper 2', 'helper 3', 'helper 7', 'helper 26',
    ]) {
      expect(names).toContain(n);
    }
    // bpf_ktime_get_ns: fast with the default clock only (a given clock may exceed 2^53)
    expect(probe.k.env().helper(5)!.fast).toBeDefined();
    const t = new ModelKernel(new AddressSpace(), { clockNs: () => 1n << 60n });
    expect(t.env().helper(5)!.fast).toBeUndefined();
    expect(t.env().helper(5)!(probe.c, 0n, 0n, 0n, 0n, 0n)).toBe(1n << 60n);
    const fastNs = probe.k.env().helper(5)!.fast!(probe.c, 0, 0, 0, 0, 0);
    const slowNs = probe.k.env().helper(5)!(probe.c, 0n, 0n, 0n, 0n, 0n);
    expect(Number.isSafeInteger(fastNs)).toBe(true);
    expect(Math.abs(Number(slowNs) - fastNs)).toBeLessThan(1e9);
  });

  for (const [name, get] of natives) {
    if (name === 'helper 5') continue; // the clock moves between the two calls (checked above)
    it(`${name}`, () => {
      fc.assert(
        fc.property(fc.array(argArb(probe.addrs), { minLength: 5, maxLength: 5 }), fc.integer({ min: 1, max: 3 }), (args, times) => {
          const a = world();
          const b = world();
          const slow = get(a);
          const fast = get(b).fast!;
          const [r1, r2, r3, r4, r5] = args;
          // repeated calls: stateful natives (iterators, adjust, map updates) step on their own results
          for (let i = 0; i < times; i++) {
            const x = outcome(() => slow(a.c, BigInt(r1), BigInt(r2), BigInt(r3), BigInt(r4), BigInt(r5)));
            const y = outcome(() => fast(b.c, r1, r2, r3, r4, r5));
            expect(y).toEqual(x);
          }
          expect(same(a.mem.u8, b.mem.u8)).toBe(true);
        }),
        { numRuns: 60 },
      );
    });
  }
});
