// LoadOptions.bpfKfuncs: a kfunc call to a BPF body enters it like a
// bpf-to-bpf call (args r1..r5, r0 back, r6..r9 kept, a fresh frame), and the
// body's own kfunc calls go to the Env's natives.
import { describe, expect, it } from 'vitest';
import { insn, type Insn } from '../../src/isa/insn.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { emptyEnv, type Env } from '../../src/vm/env.js';
import { appendBodies } from '../../src/vm/bodies.js';
import { KfError } from '../../src/util/errors.js';
import { ENGINES } from './engines.js';

const exit = insn(0x95, 0, 0, 0, 0);
const mov = (d: number, imm: number): Insn => insn(0xb7, d, 0, 0, imm);
const movr = (d: number, s: number): Insn => insn(0xbf, d, s, 0, 0);
const kcall = (id: number): Insn => insn(0x85, 0, 2, 0, id);
const stx = (d: number, s: number, off: number): Insn => insn(0x7b, d, s, off, 0);
const ldx = (d: number, s: number, off: number): Insn => insn(0x79, d, s, off, 0);

// body 50: r0 = r1 * 10 + r2 + native(100)(r1); clobbers r6 and its own stack slot
const body50: Insn[] = [
  mov(6, 999),
  stx(10, 6, -8),
  movr(7, 1),
  insn(0x27, 7, 0, 0, 10), // r7 *= 10
  insn(0x0f, 7, 2, 0, 0), // r7 += r2
  kcall(100), // native: r0 = r1 + 1000
  insn(0x0f, 0, 7, 0, 0),
  movr(1, 10), // r1 = its frame pointer
  exit,
];
const env: Env = { ...emptyEnv, kfunc: (id) => (id === 100 ? (_c, a) => a + 1000n : undefined) };

describe('kfunc bodies (LoadOptions.bpfKfuncs)', () => {
  // r6 = 5; *(fp-8) = 77; r1 = 3; r2 = 4; call body; r0 += r6; r0 += *(fp-8); exit
  const prog = [mov(6, 5), mov(1, 77), stx(10, 1, -8), mov(1, 3), mov(2, 4), kcall(50), insn(0x0f, 0, 6, 0, 0), ldx(1, 10, -8), insn(0x0f, 0, 1, 0, 0), exit];
  for (const e of ENGINES) {
    it(`${e.name}: args, r0, callee-saved r6..r9, a fresh frame, natives inside`, () => {
      const ex = e.load({ insns: prog }, env, new AddressSpace(), { bpfKfuncs: new Map([[50, body50]]) });
      // 3*10 + 4 + (3 + 1000) + 5 + 77
      expect(ex.run()).toBe(34n + 1003n + 5n + 77n);
      // without the body, the kfunc is unknown to the Env
      expect(() => e.load({ insns: prog }, env, new AddressSpace()).run()).toThrow(/instruction 5: call to unknown kfunc btf_id 50/);
    });

    it(`${e.name}: a body may be called from the deepest frame; other kfuncs stay native`, () => {
      // main calls sub1 .. sub7 (8 frames), the deepest calls the body
      const p: Insn[] = [];
      for (let k = 0; k < 7; k++) p.push(insn(0x85, 0, 1, 0, 1), exit); // call next; exit
      p.push(mov(1, 2), mov(2, 1), kcall(50), exit);
      const ex = e.load({ insns: p }, env, new AddressSpace(), { bpfKfuncs: new Map([[50, body50]]) });
      expect(ex.run()).toBe(21n + 1002n);
      // and the native kfunc 100 (not a body) is called natively
      const q = [mov(1, 1), kcall(100), exit];
      expect(e.load({ insns: q }, env, new AddressSpace(), { bpfKfuncs: new Map([[50, body50]]) }).run()).toBe(1001n);
    });

    it(`${e.name}: a program falling off its end does not run into a body`, () => {
      const ex = e.load({ insns: [mov(0, 1)] }, env, new AddressSpace(), { bpfKfuncs: new Map([[50, body50]]) });
      expect(() => ex.run()).toThrow(/fell off the end/);
    });
  }

  it('refuses bodies that cannot run as one function, naming them', () => {
    expect(() => appendBodies([exit], new Map([[7, []]]))).toThrow(/kfunc body "btf_id 7" \(btf_id 7\): the body has no instructions/);
    expect(() => appendBodies([exit], new Map([[7, { name: 'f', insns: [insn(0x85, 0, 1, 0, 0), exit] }]]))).toThrow(
      /kfunc body "f" \(btf_id 7\): instruction 0: bpf-to-bpf calls are not supported/,
    );
    expect(() => appendBodies([exit], new Map([[7, [insn(0x05, 0, 0, 5, 0), exit]]]))).toThrow(KfError);
    expect(() => appendBodies([exit], new Map([[0, [exit]]]))).toThrow(/bad kfunc BTF id 0/);
  });
});
