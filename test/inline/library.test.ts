import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseElf, toWriteInput, writeElf, R_BPF_64_64, SHT_REL, SHT_SYMTAB, STT_FUNC, STT_NOTYPE, type ElfWriteInput, type WriteSection } from '../../src/elf/index.js';
import { decodeInsns, encodeInsns } from '../../src/isa/codec.js';
import { insn } from '../../src/isa/insn.js';
import { KfError } from '../../src/util/errors.js';
import { defaultKfuncLibrary, loadKfuncLibrary, scanKfuncLibrary } from '../../src/inline/library.js';
import { KFUNC_LIBRARY_SIZE, kfuncLibraryObject } from '../../src/inline/library-blob.js';
import { parseBtf } from '../../src/btf/parse.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { interpreter } from '../../src/vm/interp.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { DYNPTR_RDONLY_BIT, initDynptr } from '../../src/kernel/kfuncs/dynptr.js';
import { HAVE_BPFTOOL, HAVE_OBJDUMP, LIB_O, MODEL_O, TEST_O, modelBtf, readBytes, run } from './library-tools.js';

const BODIES = [
  'bpf_dynptr_is_null', 'bpf_dynptr_is_rdonly', 'bpf_dynptr_size', 'bpf_dynptr_slice', 'bpf_dynptr_slice_rdwr',
  'bpf_dynptr_adjust', 'bpf_dynptr_from_skb', 'bpf_dynptr_from_xdp', 'bpf_iter_num_new', 'bpf_iter_num_next', 'bpf_iter_num_destroy',
  'bpf_dynptr_read', 'bpf_dynptr_write', '__htab_map_lookup_elem',
];
const TESTS = [
  'kf_test_scalar', 'kf_test_null', 'kf_test_kernel_value', 'kf_test_clobber', 'kf_test_clobber_stack',
  'kf_test_r10_store', 'kf_test_r10_copy', 'kf_test_dynptr_type',
];

/** llvm-objdump -dr: { symbol → start offset } and relocations { offset → name }. */
function objdumpRelocs(path: string): { funcs: Map<string, number>; relocs: Map<number, string> } {
  const text = run('llvm-objdump-19', ['-dr', '--no-show-raw-insn', path]);
  const funcs = new Map<string, number>();
  const relocs = new Map<number, string>();
  for (const l of text.split('\n')) {
    const f = /^([0-9a-f]+) <([\w.]+)>:/.exec(l);
    if (f) funcs.set(f[2], parseInt(f[1], 16));
    const r = /^\s*([0-9a-f]+):\s+R_BPF_64_32\s+([\w.]+)/.exec(l);
    if (r) relocs.set(parseInt(r[1], 16), r[2]);
  }
  return { funcs, relocs };
}

/** bpftool's FUNC ids of a BTF: name → id. */
function bpftoolFuncIds(path: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of run('bpftool', ['btf', 'dump', 'file', path]).split('\n')) {
    const m = /^\[(\d+)\] FUNC '([^']+)'/.exec(l);
    if (m) out.set(m[2], Number(m[1]));
  }
  return out;
}

describe('the inlinable kfunc library', () => {
  it('loads the committed object and the embedded blob, which are the same bytes', () => {
    const bytes = readBytes(LIB_O);
    expect(KFUNC_LIBRARY_SIZE).toBe(bytes.length);
    expect(kfuncLibraryObject()).toEqual(bytes);
    const lib = loadKfuncLibrary(bytes, modelBtf());
    expect([...lib.bodies.keys()].sort()).toEqual([...BODIES].sort());
    expect(defaultKfuncLibrary().bodies.size).toBe(BODIES.length);
  });

  it('gives each body its model BTF id and prototype', () => {
    const btf = modelBtf();
    for (const b of defaultKfuncLibrary().bodies.values()) {
      expect(b.protoSource).toBe('kernel');
      expect(btf.nameOf(b.btfId)).toBe(b.name);
      expect(btf.kindOf(b.btfId)).toBe('FUNC');
      expect(b.proto).toEqual(btf.funcProto(b.btfId));
      const last = b.insns[b.insns.length - 1];
      expect(last.code === 0x95 || last.code === 0x05).toBe(true);
    }
    // bpf_dynptr_slice takes four parameters, the last named buffer__szk
    const s = defaultKfuncLibrary().bodies.get('bpf_dynptr_slice')!;
    expect(s.proto!.params.map((p) => p.name)).toEqual(['p', 'offset', 'buffer__opt', 'buffer__szk']);
  });

  it('patches every call to a kernel internal into a kfunc call by model BTF id', () => {
    const btf = modelBtf();
    const lib = defaultKfuncLibrary();
    const slice = lib.bodies.get('bpf_dynptr_slice')!;
    expect(new Set(slice.internalCalls.map((c) => c.name))).toEqual(new Set(['skb_copy_bits', 'bpf_xdp_pointer', 'bpf_xdp_copy_buf']));
    for (const b of lib.bodies.values()) {
      for (const c of b.internalCalls) {
        expect(c.btfId).toBe(btf.findByNameKind(c.name, 'FUNC'));
        expect(b.insns[c.index]).toEqual({ code: 0x85, dst: 0, src: 2, off: 0, imm: c.btfId });
      }
      // no pseudo calls left
      expect(b.insns.some((x) => x.code === 0x85 && x.src === 1)).toBe(false);
    }
  });

  it.skipIf(!HAVE_OBJDUMP)('relocations match llvm-objdump-19 -dr (skips without llvm-objdump-19)', () => {
    const { funcs, relocs } = objdumpRelocs(LIB_O);
    const lib = defaultKfuncLibrary();
    let n = 0;
    for (const b of lib.bodies.values()) {
      const start = funcs.get(b.name)!;
      expect(start).toBeDefined();
      for (const c of b.internalCalls) {
        expect(relocs.get(start + c.index * 8)).toBe(c.name);
        n++;
      }
    }
    expect(n).toBe(relocs.size);
  });

  it.skipIf(!HAVE_BPFTOOL)('btf ids agree with bpftool btf dump of kernel/build/model.o (skips without bpftool)', () => {
    const ids = bpftoolFuncIds(MODEL_O);
    for (const b of defaultKfuncLibrary().bodies.values()) {
      expect(b.btfId).toBe(ids.get(b.name));
      for (const c of b.internalCalls) expect(c.btfId).toBe(ids.get(c.name));
    }
  });

  it.skipIf(!HAVE_OBJDUMP)('body instructions are the bytes of each symbol (llvm-objdump-19)', () => {
    const text = run('llvm-objdump-19', ['-d', LIB_O]);
    const bytesOf = new Map<string, number[]>();
    let cur = '';
    for (const l of text.split('\n')) {
      const f = /^[0-9a-f]+ <([\w.]+)>:/.exec(l);
      if (f) cur = f[1];
      const m = /^\s*\d+:\s+((?:[0-9a-f]{2} ){7}[0-9a-f]{2})/.exec(l);
      if (m && cur) bytesOf.set(cur, [...(bytesOf.get(cur) ?? []), ...m[1].trim().split(' ').map((h) => parseInt(h, 16))]);
    }
    for (const b of defaultKfuncLibrary().bodies.values()) {
      const want = decodeInsns(Uint8Array.from(bytesOf.get(b.name)!));
      const got = b.insns.map((x, i) => (b.internalCalls.some((c) => c.index === i) ? insn(0x85, 0, 1, 0, -1) : x));
      expect(got).toEqual(want);
    }
  });
});

describe('the test kfunc library', () => {
  it('loads with prototypes from its own BTF', () => {
    const bytes = readBytes(TEST_O);
    const lib = loadKfuncLibrary(bytes, modelBtf());
    expect([...lib.bodies.keys()].sort()).toEqual([...TESTS].sort());
    expect(lib.btf).toBeDefined();
    for (const b of lib.bodies.values()) {
      expect(b.protoSource).toBe('library');
      expect(lib.btf!.nameOf(b.btfId)).toBe(b.name);
      expect(b.internalCalls).toEqual([]);
    }
    expect(lib.bodies.get('kf_test_clobber')!.proto!.params.length).toBe(2);
    expect(lib.bodies.get('kf_test_r10_store')!.proto!.params.length).toBe(0);
  });

  it('takes prototypes from the program BTF when the library has none', () => {
    const elf = parseElf(readBytes(TEST_O));
    const input = toWriteInput(elf);
    const stripped = writeElf({ ...input, sections: dropSections(input, ['.BTF', '.BTF.ext', '.rel.BTF.ext']) });
    expect(() => loadKfuncLibrary(stripped, modelBtf())).toThrow(/body "kf_test_\w+": no FUNC of this name in the kernel BTF, the library BTF or the program BTF/);
    const programBtf = parseBtf(elf.sectionByName('.BTF')!.data);
    const lib = loadKfuncLibrary(stripped, modelBtf(), { programBtf });
    expect(lib.bodies.get('kf_test_scalar')!.protoSource).toBe('program');
    expect(programBtf.nameOf(lib.bodies.get('kf_test_scalar')!.btfId)).toBe('kf_test_scalar');
  });
});

describe('the test kfuncs run as their header says (reference interpreter)', () => {
  const lib = loadKfuncLibrary(readBytes(TEST_O), modelBtf());
  const mem = new AddressSpace();
  const k = new ModelKernel(mem);
  const runBody = (name: string, ...args: bigint[]): bigint => {
    const exe = interpreter.load({ insns: lib.bodies.get(name)!.insns, name }, k.env(), mem);
    try {
      return exe.run(...args);
    } finally {
      exe.dispose();
    }
  };
  it('scalar, null, kernel value, clobbers, r10', () => {
    expect([1n, 2n, 3n, 0xffffffff00000001n].map((x) => runBody('kf_test_scalar', x))).toEqual([10n, 20n, 30n, 10n]);
    const cell = mem.map(8, 'kernel', 'cell');
    mem.store(cell.base, 4, 0x1234n);
    expect(runBody('kf_test_null', 0n)).toBe(0n);
    expect(runBody('kf_test_null', BigInt(cell.base))).toBe(0x1234n);
    expect(runBody('kf_test_kernel_value', BigInt(cell.base))).toBe(0x1235n);
    expect(mem.load(cell.base, 8)).toBe(0x1235n);
    expect(runBody('kf_test_clobber', 5n, 7n)).toBe(12n);
    expect(runBody('kf_test_clobber_stack', 21n)).toBe(42n);
    expect(runBody('kf_test_r10_store')).toBe(0n);
    expect(runBody('kf_test_r10_copy')).toBe(7n);
  });
  it('kf_test_dynptr_type: 1 for SKB, 2 for XDP, 3 otherwise, read-only or not', () => {
    const p = mem.map(16, 'stack', 'dynptr').base;
    const types = [0, 1, 2, 3, 4, 5, 7].flatMap((t) => [false, true].map((ro) => {
      initDynptr(k.rt, p, 0x10000, t, 0, 100);
      if (ro) mem.store(p + 8, 4, mem.load(p + 8, 4) | BigInt(DYNPTR_RDONLY_BIT));
      return runBody('kf_test_dynptr_type', BigInt(p));
    }));
    expect(types).toEqual([3n, 3n, 3n, 3n, 3n, 3n, 1n, 1n, 2n, 2n, 3n, 3n, 3n, 3n]);
  });
});

/** Sections without the named ones, with link/info indices renumbered. */
function dropSections(input: ElfWriteInput, names: string[]): WriteSection[] {
  const keep = input.sections.map((s, i) => ({ s, old: i + 1 })).filter(({ s }) => !names.includes(s.name));
  const newIdx = new Map(keep.map(({ old }, i) => [old, i + 1]));
  return keep.map(({ s }) => ({
    ...s,
    link: s.link ? newIdx.get(s.link) ?? 0 : s.link,
    info: s.type === SHT_REL ? newIdx.get(s.info ?? 0) ?? 0 : s.info,
    symbols: s.symbols?.map((y) => ({ ...y, shndx: y.shndx > 0 && y.shndx < 0xff00 ? newIdx.get(y.shndx) ?? 0 : y.shndx })),
  }));
}

describe('bad libraries', () => {
  const base = () => toWriteInput(parseElf(readBytes(LIB_O)));
  const relText = (input: ElfWriteInput) => input.sections.findIndex((s) => s.name === '.rel.text');
  const textIdx = (input: ElfWriteInput) => input.sections.findIndex((s) => s.name === '.text');

  const expectKf = (f: () => unknown, re: RegExp): void => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KfError);
    expect((err as KfError).message).toMatch(re);
  };

  it('refuses a relocation of another type, naming the body, the instruction and the reason', () => {
    const input = base();
    const ri = relText(input);
    const sections = input.sections.map((s, i) => (i === ri ? { ...s, relocs: s.relocs!.map((r, j) => (j === 0 ? { ...r, type: R_BPF_64_64 } : r)) } : s));
    const bytes = writeElf({ ...input, sections });
    const { problems } = scanKfuncLibrary(bytes, modelBtf());
    expect(problems).toHaveLength(1);
    expectKf(() => loadKfuncLibrary(bytes, modelBtf()), /^kfunc library: body "bpf_dynptr_slice": instruction \d+: relocation of type 1 \(R_BPF_64_64\) against "bpf_xdp_pointer": only R_BPF_64_32 on call -1 is allowed$/);
  });

  it('refuses a call to a function that is not in the kernel BTF', () => {
    const input = base();
    const si = input.sections.findIndex((s) => s.type === SHT_SYMTAB);
    const sections = input.sections.map((s, i) =>
      i === si ? { ...s, symbols: s.symbols!.map((y) => (y.name === 'skb_copy_bits' ? { ...y, name: 'skb_copy_bitz' } : y)) } : s,
    );
    const bytes = writeElf({ ...input, sections });
    expectKf(() => loadKfuncLibrary(bytes, modelBtf()), /body "bpf_dynptr_slice(_rdwr)?": instruction \d+: calls "skb_copy_bitz", which is not a FUNC in the kernel BTF/);
    const { library, problems } = scanKfuncLibrary(bytes, modelBtf());
    expect(problems.map((p) => p.body).sort()).toEqual(['bpf_dynptr_slice', 'bpf_dynptr_slice_rdwr']);
    expect(library.bodies.has('bpf_dynptr_slice')).toBe(false);
    expect(library.bodies.has('bpf_dynptr_size')).toBe(true);
  });

  it('refuses a relocation on an instruction that is not call -1', () => {
    const input = base();
    const ri = relText(input);
    const r0 = input.sections[ri].relocs![0];
    const sections = input.sections.map((s, i) => (i === ri ? { ...s, relocs: [{ ...r0, offset: r0.offset - 8n }, ...s.relocs!.slice(1)] } : s));
    expectKf(() => loadKfuncLibrary(writeElf({ ...input, sections }), modelBtf()), /body "bpf_dynptr_slice": instruction \d+: R_BPF_64_32 relocation against "bpf_xdp_pointer" on an instruction that is not call -1/);
  });

  it('refuses a bpf-to-bpf call and a jump out of a body', () => {
    const input = base();
    const ti = textIdx(input);
    const lib = defaultKfuncLibrary();
    const patch = (at: number, x: ReturnType<typeof insn>) => {
      const insns = decodeInsns(input.sections[ti].data!);
      insns[at] = x;
      return writeElf({ ...input, sections: input.sections.map((s, i) => (i === ti ? { ...s, data: encodeInsns(insns) } : s)) });
    };
    // bpf_dynptr_is_null is the first body: instruction 1 becomes `call pc+1`
    expect(lib.bodies.get('bpf_dynptr_is_null')!.insns.length).toBe(5);
    expectKf(() => loadKfuncLibrary(patch(1, insn(0x85, 0, 1, 0, 1)), modelBtf()), /body "bpf_dynptr_is_null": instruction 1: bpf-to-bpf call \(call 1\) without a relocation/);
    expectKf(() => loadKfuncLibrary(patch(1, insn(0x05, 0, 0, 10, 0)), modelBtf()), /body "bpf_dynptr_is_null": instruction 1: jumps to 12, outside the body \(0\.\.4\)/);
    expectKf(() => loadKfuncLibrary(patch(4, insn(0xb7, 0, 0, 0, 0)), modelBtf()), /body "bpf_dynptr_is_null": instruction 4: the body does not end with exit or goto/);
  });

  it('refuses non-BPF and empty objects', () => {
    const input = base();
    expectKf(() => loadKfuncLibrary(writeElf({ ...input, machine: 62 }), modelBtf()), /kfunc library: not a BPF object \(e_machine 62/);
    const noFuncs = (inp: ElfWriteInput) => {
      const si = inp.sections.findIndex((s) => s.type === SHT_SYMTAB);
      return writeElf({ ...inp, sections: inp.sections.map((s, i) => (i === si ? { ...s, symbols: s.symbols!.map((y) => (y.type === STT_FUNC ? { ...y, type: STT_NOTYPE } : y)) } : s)) });
    };
    expectKf(() => loadKfuncLibrary(noFuncs(input), modelBtf()), /relocation at \.text instruction \d+ lies outside every global function/);
    expectKf(() => loadKfuncLibrary(noFuncs(toWriteInput(parseElf(readBytes(TEST_O)))), modelBtf()), /^kfunc library: no global functions in \.text$/);
  });

  it('gives a KfError, never another error, on every truncation of the object', () => {
    const bytes = readBytes(LIB_O);
    for (let n = 0; n < bytes.length; n += 7) {
      try {
        loadKfuncLibrary(bytes.subarray(0, n), modelBtf());
      } catch (e) {
        expect(e, `truncated to ${n} bytes: ${String(e)}`).toBeInstanceOf(KfError);
      }
    }
  });

  it('gives a KfError or a library on random byte corruption (fast-check)', () => {
    const bytes = readBytes(LIB_O);
    const btf = modelBtf();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }), (flips) => {
        const b = bytes.slice();
        for (const [at, v] of flips) b[at] = v;
        try {
          const lib = loadKfuncLibrary(b, btf);
          expect(lib.bodies.size).toBeGreaterThan(0);
        } catch (e) {
          if (!(e instanceof KfError)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });
});
