// fast-check generators of valid instructions and programs, built from the
// typed forms of view.ts. Jumps and calls get their targets fixed up so that
// every generated program passes validateInsns().

import fc from 'fast-check';
import { insn, type Insn } from '../../src/isa/insn.js';

const reg = fc.integer({ min: 0, max: 10 });
const wreg = fc.integer({ min: 0, max: 9 }); // a register that may be written
const s16 = fc.integer({ min: -0x8000, max: 0x7fff });
const s32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const smallImm = fc.oneof(s32, fc.integer({ min: -16, max: 16 }));

/** A form: one or two slots; `jump` marks slots whose off/imm is a target to fix up. */
export interface Form {
  slots: Insn[];
  /** 'off' / 'imm': pc-relative field of slot 0 to point at a random instruction start. */
  rel?: 'off' | 'imm';
  /** Uses the v4 or post-LLVM-19 load-acquire/store-release encodings. */
  acqRel?: boolean;
}

const ALU_OPS = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0];
const JMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
const SIZES = [0x00, 0x08, 0x10, 0x18];

const alu: fc.Arbitrary<Form> = fc
  .record({ cls: fc.constantFrom(0x04, 0x07), op: fc.constantFrom(...ALU_OPS), x: fc.boolean(), dst: wreg, src: reg, imm: smallImm, signed: fc.boolean() })
  .map(({ cls, op, x, dst, src, imm, signed }) => {
    const off = signed && (op === 0x30 || op === 0x90) ? 1 : 0;
    return { slots: [insn(cls | op | (x ? 8 : 0), dst, x ? src : 0, off, x ? 0 : imm)] };
  });

const neg: fc.Arbitrary<Form> = fc
  .record({ cls: fc.constantFrom(0x04, 0x07), dst: wreg })
  .map(({ cls, dst }) => ({ slots: [insn(cls | 0x80, dst, 0, 0, 0)] }));

const movsx: fc.Arbitrary<Form> = fc
  .record({ is64: fc.boolean(), dst: wreg, src: reg, w: fc.constantFrom(8, 16, 32) })
  .map(({ is64, dst, src, w }) => ({ slots: [insn((is64 ? 0x07 : 0x04) | 0xb0 | 8, dst, src, is64 ? w : w === 32 ? 16 : w, 0)] }));

const endian: fc.Arbitrary<Form> = fc
  .record({ code: fc.constantFrom(0xd4, 0xdc, 0xd7), dst: wreg, bits: fc.constantFrom(16, 32, 64) })
  .map(({ code, dst, bits }) => ({ slots: [insn(code, dst, 0, 0, bits)] }));

const lddw: fc.Arbitrary<Form> = fc
  .record({ dst: wreg, pseudo: fc.integer({ min: 0, max: 6 }), lo: s32, hi: s32 })
  .map(({ dst, pseudo, lo, hi }) => {
    if (pseudo === 4) return { slots: [insn(0x18, dst, 4, 0, 0), insn(0, 0, 0, 0, 0)], rel: 'imm' as const };
    return { slots: [insn(0x18, dst, pseudo, 0, lo), insn(0, 0, 0, 0, pseudo === 1 || pseudo === 5 ? 0 : hi)] };
  });

const ldabs: fc.Arbitrary<Form> = fc
  .record({ ind: fc.boolean(), size: fc.constantFrom(0x00, 0x08, 0x10), src: reg, imm: smallImm })
  .map(({ ind, size, src, imm }) => ({ slots: [insn(ind ? 0x40 | size : 0x20 | size, 0, ind ? src : 0, 0, imm)] }));

const ldx: fc.Arbitrary<Form> = fc
  .record({ sx: fc.boolean(), size: fc.constantFrom(...SIZES), dst: wreg, src: reg, off: s16 })
  .map(({ sx, size, dst, src, off }) => ({ slots: [insn((sx && size !== 0x18 ? 0x80 : 0x60) | size | 0x01, dst, src, off, 0)] }));

const st: fc.Arbitrary<Form> = fc
  .record({ size: fc.constantFrom(...SIZES), dst: reg, off: s16, imm: smallImm })
  .map(({ size, dst, off, imm }) => ({ slots: [insn(0x62 | size, dst, 0, off, imm)] }));

const stx: fc.Arbitrary<Form> = fc
  .record({ size: fc.constantFrom(...SIZES), dst: reg, src: reg, off: s16 })
  .map(({ size, dst, src, off }) => ({ slots: [insn(0x63 | size, dst, src, off, 0)] }));

const atomic: fc.Arbitrary<Form> = fc
  .record({
    size: fc.constantFrom(0x00, 0x18),
    op: fc.constantFrom(0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1),
    dst: reg,
    src: wreg,
    off: s16,
  })
  .map(({ size, op, dst, src, off }) => ({ slots: [insn(0xc3 | size, dst, src, off, op)] }));

const acqRel: fc.Arbitrary<Form> = fc
  .record({ size: fc.constantFrom(...SIZES), acq: fc.boolean(), dst: reg, src: reg, wdst: wreg, off: s16 })
  .map(({ size, acq, dst, src, wdst, off }) => ({
    slots: [acq ? insn(0xc3 | size, wdst, src, off, 0x100) : insn(0xc3 | size, dst, src, off, 0x110)],
    acqRel: true,
  }));

const jump: fc.Arbitrary<Form> = fc
  .record({ kind: fc.constantFrom('ja', 'gotol', 'may_goto', 'cond'), is32: fc.boolean(), op: fc.constantFrom(...JMP_OPS), x: fc.boolean(), dst: reg, src: reg, imm: smallImm })
  .map(({ kind, is32, op, x, dst, src, imm }): Form => {
    if (kind === 'ja') return { slots: [insn(0x05, 0, 0, 0, 0)], rel: 'off' };
    if (kind === 'gotol') return { slots: [insn(0x06, 0, 0, 0, 0)], rel: 'imm' };
    if (kind === 'may_goto') return { slots: [insn(0xe5, 0, 0, 0, 0)], rel: 'off' };
    return { slots: [insn((is32 ? 0x06 : 0x05) | op | (x ? 8 : 0), dst, x ? src : 0, 0, x ? 0 : imm)], rel: 'off' };
  });

const call: fc.Arbitrary<Form> = fc
  .record({ kind: fc.constantFrom(0, 1, 2), imm: fc.integer({ min: 0, max: 0x7fffffff }), off: s16 })
  .map(({ kind, imm, off }): Form => {
    if (kind === 1) return { slots: [insn(0x85, 0, 1, 0, 0)], rel: 'imm' };
    return { slots: [insn(0x85, 0, kind, kind === 2 ? off : 0, imm)] };
  });

const exit: fc.Arbitrary<Form> = fc.constant({ slots: [insn(0x95, 0, 0, 0, 0)] });

/** Any valid instruction form. `acqRel: false` leaves out load-acquire/store-release (LLVM 19 cannot print them). */
export function formArb(opts: { acqRel?: boolean } = {}): fc.Arbitrary<Form> {
  const arbs = [alu, neg, movsx, endian, lddw, ldabs, ldx, st, stx, atomic, jump, call, exit];
  if (opts.acqRel ?? true) arbs.push(acqRel);
  return fc.oneof(...arbs);
}

/** Lays forms out as a program, pointing every pc-relative field at a random instruction start. */
export function layout(forms: readonly Form[], pick: readonly number[]): Insn[] {
  const starts: number[] = [];
  let n = 0;
  for (const f of forms) {
    starts.push(n);
    n += f.slots.length;
  }
  const out: Insn[] = [];
  forms.forEach((f, k) => {
    const i = starts[k];
    const slots = f.slots.slice();
    if (f.rel) {
      const t = starts[(pick[k] ?? 0) % starts.length];
      const d = t - i - 1;
      const x = slots[0];
      slots[0] = f.rel === 'off' ? insn(x.code, x.dst, x.src, d, x.imm) : insn(x.code, x.dst, x.src, x.off, d);
    }
    out.push(...slots);
  });
  return out;
}

/** A valid program of 1..maxForms instructions. */
export function programArb(maxForms = 40, opts: { acqRel?: boolean } = {}): fc.Arbitrary<Insn[]> {
  return fc
    .array(fc.tuple(formArb(opts), fc.nat()), { minLength: 1, maxLength: maxForms })
    .map((xs) => layout(xs.map((x) => x[0]), xs.map((x) => x[1])));
}
