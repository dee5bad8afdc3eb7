import { describe, expect, it } from 'vitest';
import { insn } from '../../src/isa/insn.js';
import { AddressSpace, GUARD_GAP, LOW_RESERVED, VmFault } from '../../src/vm/memory.js';
import { emptyEnv, funcAddr, type Env, type NativeFn } from '../../src/vm/env.js';
import { interpreter } from '../../src/vm/interp.js';
import { jit } from '../../src/vm/jit/jit.js';
import { KfError } from '../../src/util/errors.js';
import { ENGINES, runWith } from './engines.js';

/** helper 181 = loop(n, cb, ctx): calls cb(i, ctx) n times and sums r0 (bpf_loop style); helper 7 = `h7`, if given. */
function loopEnv(h7?: NativeFn): Env {
  const loop: NativeFn = (c, n, cb, ctx) => {
    let s = 0n;
    for (let i = 0n; i < n; i++) s += c.callSubprog(cb, [i, ctx]);
    return s;
  };
  return { ...emptyEnv, helper: (id) => (id === 181 ? loop : id === 7 ? h7 : undefined) };
}

describe('AddressSpace', () => {
  it('never maps address 0, leaves guard gaps and finds regions', () => {
    const m = new AddressSpace();
    const a = m.map(100, 'ctx', 'a');
    const b = m.map(16, 'map_value', 'b', { writable: false });
    expect(a.base).toBeGreaterThanOrEqual(LOW_RESERVED);
    expect(b.base).toBeGreaterThanOrEqual(a.base + a.size + GUARD_GAP);
    expect(m.regionAt(a.base + 99, 1)).toBe(a);
    expect(m.regionAt(a.base + 99, 2)).toBeUndefined();
    expect(m.regionAt(a.base + a.size, 1)).toBeUndefined();
    expect(m.regionAt(0, 1)).toBeUndefined();
    expect(() => m.check(b.base, 4, true, 3)).toThrow(/instruction 3: invalid write of 4 bytes at 0x[0-9a-f]+: map_value region "b" is read-only/);
    m.unmap(a);
    expect(m.regionAt(a.base, 1)).toBeUndefined();
    const c = m.map(50, 'scratch', 'c');
    expect(c.base).toBe(a.base); // first fit reuses the hole
    expect(() => m.unmap(a)).toThrow(KfError);
  });

  it('grows the memory and keeps views valid; loads and stores little-endian', () => {
    const m = new AddressSpace({ pages: 2 });
    const big = m.map(3 * 65536, 'packet', 'big');
    m.store(big.base + big.size - 8, 8, 0x1122334455667788n);
    expect(m.load(big.base + big.size - 8, 4)).toBe(0x55667788n);
    expect(m.u8at(big.base + big.size - 1)).toBe(0x11);
    expect(() => m.load(m.byteLength, 1)).toThrow(VmFault);
    expect(() => m.map(-1, 'ctx', 'bad')).toThrow(KfError);
    expect(() => new AddressSpace({ pages: 2, maxPages: 2 }).map(1 << 20, 'ctx', 'huge')).toThrow(/address space full/);
  });
});

describe('faults', () => {
  for (const engine of ENGINES) {
    describe(engine.name, () => {
      it('names instruction and address of a stray write (interp) / turns wasm traps into VmFault (jit)', () => {
        // r1 = 0x7ffffff0_00000000 (far outside memory); *(u64 *)(r1 + 8) = 1
        // (the JIT trusts verified code like a kernel JIT: it only catches accesses beyond the wasm memory)
        const p =
          engine.name === 'interp'
            ? [insn(0x18, 1, 0, 0, 0), insn(0, 0, 0, 0, 0x7ffffff0), insn(0x7a, 1, 0, 8, 1), insn(0x95, 0, 0, 0, 0)]
            : [insn(0x18, 1, 0, 0, 0xfffff000 | 0), insn(0, 0, 0, 0, 0), insn(0x7a, 1, 0, 8, 1), insn(0x95, 0, 0, 0, 0)];
        let err: unknown;
        try {
          runWith(engine, p);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(VmFault);
        if (engine.name === 'interp') {
          expect((err as VmFault).message).toBe('instruction 2: invalid write of 8 bytes at 0x7ffffff000000008: outside any region');
          expect((err as VmFault).pc).toBe(2);
          expect((err as VmFault).addr).toBe(0x7ffffff000000008n);
        } else expect((err as VmFault).message).toMatch(/wasm trap: memory access out of bounds/);
      });
      it('faults on calls to unknown helpers, naming the instruction', () => {
        const p = [insn(0xb7, 0, 0, 0, 1), insn(0x85, 0, 0, 0, 12345), insn(0x95, 0, 0, 0, 0)];
        expect(() => runWith(engine, p)).toThrow(/instruction 1: call to unknown helper 12345/);
      });
      it('faults on recursion deeper than 8 frames', () => {
        const p = [insn(0x85, 0, 1, 0, -1), insn(0x95, 0, 0, 0, 0)];
        expect(() => runWith(engine, p)).toThrow(/instruction 0: call stack exceeds 8 frames/);
      });
      it('faults when running off the end', () => {
        expect(() => runWith(engine, [insn(0xb7, 0, 0, 0, 1)])).toThrow(/fell off the end/);
      });
      it('faults on an unknown opcode only when executed', () => {
        const p = [insn(0xb7, 0, 0, 0, 7), insn(0x05, 0, 0, 1, 0), insn(0xff, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)];
        expect(runWith(engine, p).r0).toBe(7n);
        expect(() => runWith(engine, [insn(0xff, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)])).toThrow(VmFault);
      });
      it('calls helpers with r1..r5 and callbacks through callSubprog (bpf_loop style)', () => {
        const env = loopEnv();
        const p = [
          insn(0xb7, 6, 0, 0, 100), // r6 = 100 (callee-saved across the helper)
          insn(0xb7, 1, 0, 0, 10), // r1 = 10
          insn(0x18, 2, 4, 0, 6), insn(0, 0, 0, 0, 0), // r2 = &cb (insn 2 + 6 + 1 = 9)
          insn(0xb7, 3, 0, 0, 3), // r3 = 3
          insn(0x85, 0, 0, 0, 181),
          insn(0x0f, 0, 6, 0, 0), // r0 += r6
          insn(0x95, 0, 0, 0, 0),
          insn(0x95, 0, 0, 0, 0), // padding (never reached)
          // cb(i, ctx): r6 = 1000 (must not leak); stack write in its own frame; return i * ctx
          insn(0xb7, 6, 0, 0, 1000),
          insn(0x7b, 10, 1, -8, 0),
          insn(0xbf, 0, 1, 0, 0),
          insn(0x2f, 0, 2, 0, 0),
          insn(0x95, 0, 0, 0, 0),
        ];
        expect(funcAddr(9) & 0xffn).toBe(9n);
        // sum_{i<10} 3i = 135, + 100
        expect(runWith(engine, p, undefined, env).r0).toBe(235n);
      });
      it('ends the whole run from a callback with CallContext.endRun, and the next run starts clean', () => {
        // helper 7 ends the run with r0 = 4242 when its argument is 5
        const env = loopEnv((c, a) => (a === 5n ? c.endRun(4242n) : a));
        const prog = (stop: number) => [
          insn(0xb7, 1, 0, 0, 10), // r1 = 10
          insn(0x18, 2, 4, 0, 5), insn(0, 0, 0, 0, 0), // r2 = &cb (insn 1 + 5 + 1 = 7)
          insn(0xb7, 3, 0, 0, stop), // r3 = ctx = the i at which to stop
          insn(0x85, 0, 0, 0, 181),
          insn(0x95, 0, 0, 0, 0),
          insn(0x95, 0, 0, 0, 0), // padding
          // cb(i, ctx): r0 = helper7(i == ctx ? 5 : 1)
          insn(0xb7, 0, 0, 0, 1), // 7: r0 = 1 (the helper's argument unless i == ctx)
          insn(0x5d, 1, 2, 1, 0), // if r1 != r2 goto +1
          insn(0xb7, 0, 0, 0, 5), // r0 = 5
          insn(0xbf, 1, 0, 0, 0), // r1 = r0
          insn(0x85, 0, 0, 0, 7),
          insn(0x95, 0, 0, 0, 0),
        ];
        const mem = new AddressSpace();
        const ex = engine.load({ insns: prog(3), name: 'endrun' }, env, mem);
        expect(ex.run()).toBe(4242n); // ended inside the 4th callback, two frames deep
        expect(ex.run()).toBe(4242n); // and again: nothing of the ended run is left behind
        expect(runWith(engine, prog(99), undefined, env).r0).toBe(10n); // never stops: ten callbacks returning 1
      });
    });
  }

  it('LD_ABS/LD_IND go through env.packetLoad; out of bounds ends the run with r0 = 0', () => {
    const seen: string[] = [];
    const env: Env = {
      ...emptyEnv,
      packetLoad: (_c, ctx, off, size) => {
        seen.push(`${ctx}:${off}:${size}`);
        return off < 100 ? BigInt(off * 1000 + size) : null;
      },
    };
    // r6 = r1; r0 = ldabsw[20]; r7 = 30; r8 = r0; r0 = ldindh[r7 + 5]; r0 += r8; exit
    const p = [insn(0xbf, 6, 1, 0, 0), insn(0x20, 0, 0, 0, 20), insn(0xb7, 7, 0, 0, 30), insn(0xbf, 8, 0, 0, 0), insn(0x48, 0, 7, 0, 5), insn(0x0f, 0, 8, 0, 0), insn(0x95, 0, 0, 0, 0)];
    const oob = p.map((x) => (x.code === 0x48 ? insn(0x48, 0, 7, 0, 500) : x));
    for (const e of ENGINES) {
      seen.length = 0;
      expect(e.load({ insns: p }, env, new AddressSpace()).run(77n)).toBe(20004n + 35002n);
      expect(seen).toEqual(['77:20:4', '77:35:2']);
      expect(e.load({ insns: oob }, env, new AddressSpace()).run(77n)).toBe(0n);
      expect(() => e.load({ insns: p }, emptyEnv, new AddressSpace()).run(77n)).toThrow(/instruction 1: LD_ABS\/LD_IND is unsupported/);
    }
  });

  it('rejects pseudo ld_imm64 without an environment, naming the instruction', () => {
    const p = [insn(0x18, 1, 1, 0, 5), insn(0, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0)];
    for (const e of [interpreter, jit]) expect(() => runWith(e, p)).toThrow(/instruction 0: ld_imm64 with pseudo source 1/);
  });

  it('interpreter: reads crossing a region end and writes to read-only regions fault', () => {
    const mem = new AddressSpace();
    const ro = mem.map(8, 'rodata', 'ro', { writable: false });
    const ex = interpreter.load({ insns: [insn(0x79, 0, 1, 4, 0), insn(0x95, 0, 0, 0, 0)] }, emptyEnv, mem);
    expect(() => ex.run(BigInt(ro.base))).toThrow(`instruction 0: invalid read of 8 bytes at 0x${(ro.base + 4).toString(16)}: crosses the end of rodata region "ro"`);
    const ex2 = interpreter.load({ insns: [insn(0x62, 1, 0, 0, 1), insn(0x95, 0, 0, 0, 0)] }, emptyEnv, mem);
    expect(() => ex2.run(BigInt(ro.base))).toThrow(/instruction 0: invalid write of 4 bytes at 0x[0-9a-f]+: rodata region "ro" is read-only/);
    expect(() => interpreter.load({ insns: [insn(0x79, 0, 10, 0, 0), insn(0x95, 0, 0, 0, 0)] }, emptyEnv, mem).run()).toThrow(
      /instruction 0: invalid read of 8 bytes at 0x[0-9a-f]+: outside any region/,
    );
  });

  it('may_goto: taken once the per-run budget of 8M is used up, in both engines', () => {
    // r0 = 0; loop: may_goto +2; r0 += 1; goto loop; exit
    const p = [insn(0xb7, 0, 0, 0, 0), insn(0xe5, 0, 0, 2, 0), insn(0x07, 0, 0, 0, 1), insn(0x05, 0, 0, -3, 0), insn(0x95, 0, 0, 0, 0)];
    for (const e of ENGINES) expect(runWith(e, p).r0).toBe(8n * 1024n * 1024n);
  });
});
