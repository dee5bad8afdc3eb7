// CO-RE pieces one by one: flavour names, access-spec parsing, instruction
// patching, candidate pruning and ambiguity, and the errors that name
// section, program, relocation, instruction and type.
import { describe, expect, it } from 'vitest';
import { essentialName, essentialNameLen, formatCoreSpec, parseCoreSpec, typesMatch, typesAreCompat, fieldsAreCompat, CoreKind } from '../../src/btf/index.js';
import type { Insn } from '../../src/isa/insn.js';
import {
  applyCoreRelosToSection, coreContext, decodeSection, isCorePoison, loadObject, patchCoreInsn, CORE_POISON_IMM, type CoreReloResult,
} from '../../src/object/index.js';
import { KfError } from '../../src/util/errors.js';
import { coreLayout, readCoreFixture } from './core-tools.js';

const local = loadObject(readCoreFixture('pair_local.bpf.o'));
const target = loadObject(readCoreFixture('pair_target.bpf.o'));
const lbtf = local.btf!;
const tbtf = target.btf!;
const id = (btf: typeof lbtf, name: string, kind: 'STRUCT' | 'TYPEDEF' | 'ENUM' | 'ENUM64' = 'STRUCT') => btf.findByNameKind(name, kind);

function kfError(fn: () => unknown): KfError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KfError) return e;
    throw e;
  }
  throw new Error('expected a KfError');
}

describe('flavour names (bpf_core_essential_name_len)', () => {
  it('strips the last ___suffix only when both sides are not underscores', () => {
    expect(essentialName('task_struct___local')).toBe('task_struct');
    expect(essentialName('a___b___c')).toBe('a___b');
    expect(essentialName('foo___')).toBe('foo___');
    expect(essentialName('foo____x')).toBe('foo____x');
    expect(essentialName('___x')).toBe('___x');
    expect(essentialName('sk_buff')).toBe('sk_buff');
    expect(essentialNameLen('')).toBe(0);
  });
});

describe('access specs (bpf_core_parse_spec)', () => {
  const st = id(lbtf, 'pstate___v1');
  it('computes the bit offset and the high-level accessors, as the compiler recorded them', () => {
    // the compiler's own value for p->arr[3] (the instruction's offset) is the oracle
    const relo = local.btfExt!.coreRelos.get('tp_btf/pair')!.find((r) => r.access.split(':').length === 3 && r.kind === CoreKind.FIELD_BYTE_OFFSET)!;
    const s = parseCoreSpec(lbtf, relo.typeId, relo.access, relo.kind);
    const insn = local.programs.find((p) => p.name === 'pair_fields')!.insns[relo.insnOff / 8];
    expect(s.bitOffset / 8).toBe(insn.off);
    expect(formatCoreSpec(s)).toMatch(/^<byte_off> \[\d+\] struct pstate___v1\.arr\[3\] \(0:\d+:3 @ offset \d+\)$/);
  });
  it('rejects malformed access strings and out-of-range members with KfError', () => {
    for (const a of ['', ':1', '0:', '0::1', '0:x', '0:-1', '0:99', '1:0:0', '0:0:0:0', '99999999999']) {
      expect(() => parseCoreSpec(lbtf, st, a, CoreKind.FIELD_BYTE_OFFSET), a).toThrow(KfError);
    }
    expect(kfError(() => parseCoreSpec(lbtf, st, '0:1', CoreKind.TYPE_SIZE)).message).toContain("needs access string '0'");
    expect(() => parseCoreSpec(lbtf, st, '0', 99)).toThrow(/unknown relocation kind/);
    expect(() => parseCoreSpec(lbtf, 1 << 20, '0', CoreKind.TYPE_SIZE)).toThrow(/out of range/);
    expect(() => parseCoreSpec(lbtf, id(lbtf, 'pmode___v1', 'ENUM'), '7', CoreKind.ENUMVAL_VALUE)).toThrow(/does not name an enumerator/);
  });
});

describe('type relations', () => {
  it('typesMatch / typesAreCompat / fieldsAreCompat on the pair', () => {
    expect(typesMatch(lbtf, id(lbtf, 'pinner___v1'), tbtf, id(tbtf, 'pinner'))).toBe(true);
    // pstate___v1 has a member (deep) of an anonymous struct type the target names differently: still compatible, not a match
    expect(typesAreCompat(lbtf, id(lbtf, 'pstate___v1'), tbtf, id(tbtf, 'pstate'))).toBe(true);
    expect(typesAreCompat(lbtf, id(lbtf, 'pstate___v1'), tbtf, id(tbtf, 'pmode', 'ENUM'))).toBe(false);
    expect(fieldsAreCompat(lbtf, id(lbtf, 'pmode___v1', 'ENUM'), tbtf, id(tbtf, 'pmode', 'ENUM'))).toBe(true);
    expect(fieldsAreCompat(lbtf, id(lbtf, 'pmode___v1', 'ENUM'), tbtf, id(tbtf, 'pbig', 'ENUM64'))).toBe(false);
  });
});

const res = (over: Partial<CoreReloResult>): CoreReloResult => ({
  origVal: 0n, newVal: 0n, poison: false, validate: true, failMemszAdjust: false, origSz: 0, newSz: 0, localSpec: 'x', ...over,
});
const I = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

describe('patchCoreInsn (bpf_core_patch_insn)', () => {
  it('ALU immediates, load/store offsets with size changes, ld_imm64', () => {
    const p = [I(0xb7, 1, 0, 0, 8), I(0x79, 0, 1, 16, 0), I(0x18, 2, 0, 0, 5), I(0, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0)];
    expect(patchCoreInsn(p, 0, res({ origVal: 8n, newVal: 4n })).action).toBe('ALU/ALU64');
    expect(p[0].imm).toBe(4);
    const r = patchCoreInsn(p, 1, res({ origVal: 16n, newVal: 44n, origSz: 8, newSz: 4 }));
    expect(r).toMatchObject({ action: 'LDX/ST/STX', before: 16n, after: 44n, memSize: { from: 8, to: 4 } });
    expect(p[1]).toEqual(I(0x61, 0, 1, 44, 0));
    patchCoreInsn(p, 2, res({ origVal: 5n, newVal: 0xfffffffffffffe00n }));
    expect([p[2].imm, p[3].imm]).toEqual([-512, -1]);
  });
  it('poisons like libbpf: call 0xbad2310, both slots of a ld_imm64', () => {
    const p = [I(0x18, 2, 0, 0, 5), I(0, 0, 0, 0, 0), I(0x61, 0, 1, 4, 0)];
    expect(patchCoreInsn(p, 0, res({ poison: true })).action).toBe('poisoned');
    expect(p.slice(0, 2).every(isCorePoison)).toBe(true);
    expect(p[0]).toEqual(I(0x85, 0, 0, 0, CORE_POISON_IMM));
    // a size change that would change the value read (signed ints): poisoned
    expect(patchCoreInsn(p, 2, res({ origVal: 4n, newVal: 8n, origSz: 8, newSz: 4, failMemszAdjust: true })).action).toBe('poisoned');
  });
  it('raises KfError where libbpf fails the load', () => {
    const cases: [Insn[], Partial<CoreReloResult>, RegExp][] = [
      [[I(0xb7, 1, 0, 0, 9)], { origVal: 8n, newVal: 4n }, /unexpected instruction \(ALU\/ALU64\) value: got 9, exp 8 -> 4/],
      [[I(0x0f, 1, 2, 0, 0)], {}, /register source/],
      [[I(0x61, 0, 1, 4, 0)], { origVal: 8n, newVal: 4n }, /unexpected instruction \(LDX\/ST\/STX\) value: got 4, exp 8/],
      [[I(0x61, 0, 1, 4, 0)], { origVal: 4n, newVal: 40000n }, /value too big: 40000/],
      [[I(0x61, 0, 1, 4, 0)], { origVal: 4n, newVal: 8n, origSz: 8, newSz: 4 }, /unexpected mem size: got 4, exp 8/],
      [[I(0x61, 0, 1, 4, 0)], { origVal: 4n, newVal: 8n, origSz: 4, newSz: 3 }, /invalid new mem size: 3/],
      [[I(0x18, 0, 1, 0, 4), I(0, 0, 0, 0, 0)], { origVal: 4n }, /LDIMM64\) has unexpected form/],
      [[I(0x18, 0, 0, 0, 4)], { origVal: 4n }, /LDIMM64\) has unexpected form/],
      [[I(0x05, 0, 0, 3, 0)], {}, /unrecognized instruction, code:0x5/],
    ];
    for (const [insns, r, re] of cases) expect(() => patchCoreInsn(insns, 0, res(r))).toThrow(re);
  });
});

/** The one-function sections of ambig_local.bpf.o, ready for applyCoreRelosToSection(). */
function ambigSection(name: string) {
  const o = loadObject(readCoreFixture('ambig_local.bpf.o'));
  const sec = o.elf.sectionByName(name)!;
  const insns = decodeSection(sec.data, true);
  return { o, insns, funcs: [{ name: o.programs.find((p) => p.section === name)!.name, start: 0, end: insns.length }], relos: o.btfExt!.coreRelos.get(name)! };
}

describe('candidates (bpf_core_calc_relo_insn)', () => {
  const amb = loadObject(readCoreFixture('ambig_target.bpf.o')).btf!;
  it('agreeing flavours are all kept as candidates; the value is theirs', () => {
    const { o, insns, funcs, relos } = ambigSection('tp_btf/ok');
    const cx = coreContext(o.btf!, amb);
    const r = applyCoreRelosToSection(cx, 'tp_btf/ok', insns, funcs, relos);
    expect(r.outcomes[0]).toMatchObject({ action: 'LDX/ST/STX', before: 0n, after: 4n });
    const cands = [...cx.cache.values()][0];
    expect(cands.map((c) => amb.nameOf(c))).toEqual(['pinner___a', 'pinner___b']);
  });
  it('disagreeing flavours: field offset ambiguity, naming section, program, relocation, instruction and type', () => {
    const { o, insns, funcs, relos } = ambigSection('tp_btf/bad');
    const e = kfError(() => applyCoreRelosToSection(coreContext(o.btf!, amb), 'tp_btf/bad', insns, funcs, relos));
    expect(e.message).toMatch(/^section "tp_btf\/bad": program "disagree": CO-RE relocation #0 <byte_off> at instruction 1: \[\d+\] struct pouter___v1 \+ 0:0: field offset ambiguity: 96 != 32/);
  });
});

describe('loadObject errors name where', () => {
  it('an instruction that does not hold the compile-time value', () => {
    const b = readCoreFixture('pair_local.bpf.o').slice();
    const sec = local.elf.sectionByName('tp_btf/pair')!;
    const relo0 = local.btfExt!.coreRelos.get('tp_btf/pair')![0];
    const at = sec.offset + relo0.insnOff + 2;
    const off = new DataView(b.buffer).getInt16(at, true);
    new DataView(b.buffer).setInt16(at, off + 1, true);
    const e = kfError(() => loadObject(b, { targetBtf: tbtf }));
    expect(e.message).toContain('section "tp_btf/pair": program "pair_fields": CO-RE relocation #0 <byte_off> at instruction 1');
    expect(e.message).toContain(`unexpected instruction (LDX/ST/STX) value: got ${off + 1}, exp ${off} -> `);
  });
  it('a field relocation kind that cannot apply to an array element', () => {
    const b = readCoreFixture('pair_local.bpf.o').slice();
    const { core } = coreLayout(b);
    const relos = local.btfExt!.coreRelos.get('tp_btf/pair')!;
    const i = relos.findIndex((r) => r.kind === CoreKind.FIELD_BYTE_OFFSET && r.access.split(':').length === 3);
    new DataView(b.buffer).setUint32(core.start + 12 + 16 * i + 12, CoreKind.FIELD_SIGNED, true);
    expect(kfError(() => loadObject(b, { targetBtf: tbtf })).message).toMatch(/CO-RE relocation #\d+ <signed> .*can't be applied to array access/);
  });
  it('without a target BTF nothing is applied and the records stay available', () => {
    const o = loadObject(readCoreFixture('pair_local.bpf.o'));
    expect(o.coreOutcomes).toBeUndefined();
    expect(o.programs[0].coreRelos.length).toBeGreaterThan(10);
  });
  it('the target BTF function is not called for objects without CO-RE records', () => {
    let called = 0;
    loadObject(readCoreFixture('ambig_target.bpf.o'), { targetBtf: () => (called++, tbtf) });
    expect(called).toBe(0);
  });
});
