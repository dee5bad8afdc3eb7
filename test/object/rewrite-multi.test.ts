// rewriteObject() with several programs (the form `kfinline inline -o` uses):
// every program of an example object written at once — unchanged, all
// perturbed, or perturbed and unchanged mixed — then read back by our loader,
// by llvm-objdump-19, and loaded whole by the running kernel (`bpftool prog
// loadall`, i.e. libbpf). Subprogram blocks that two programs share are
// written once when equal and kept apart when not.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHF_EXECINSTR, STB_GLOBAL, STB_LOCAL, STT_FUNC, parseElf } from '../../src/elf/index.js';
import { linkProgram as linkToModel } from '../../src/kernel/link.js';
import { loadObject, type BpfObject, type BpfProgram } from '../../src/object/index.js';
import { rewriteObject, unchangedProgram, type RewrittenProgram } from '../../src/object/rewrite-object.js';
import { KfError } from '../../src/util/errors.js';
import { BUILD, CANNOT_LOAD_WHY, CAN_LOAD, HAVE_BPFTOOL, HAVE_CLANG, HAVE_OBJDUMP, exampleObjects, readExample, run, withLoaded } from '../elf/tools.js';
import { TEST_RUN_TYPES, identity, objdump, objdumpLines, packetFile, perturbed, testRun } from './rewrite-tools.js';

const TMP = mkdtempSync(join(tmpdir(), 'kf-rewrite-multi-'));
afterAll(() => process.env.KF_KEEP_TMP || rmSync(TMP, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const path = join(TMP, `${name}.o`);
  writeFileSync(path, bytes);
  return path;
}

const objects = exampleObjects().map((file) => ({ file, obj: loadObject(readExample(file), { objectName: file }) }));
/** Objects with more than one program (global_data, global_funcs, loops, subprogs, tc_counters, xdp_parse). */
const multi = objects.filter((o) => o.obj.programs.length > 1);

/** What one program of the output should read back as: its instructions (object encoding) and slot map. */
interface Expected {
  readonly prog: BpfProgram;
  readonly insns: readonly import('../../src/isa/insn.js').Insn[];
  readonly map: Int32Array;
}

type Variant = 'identity' | 'perturbed' | 'mixed';
const VARIANTS: Variant[] = ['identity', 'perturbed', 'mixed'];

/**
 * Every program of `obj`: `identity` unchanged; `perturbed` each one perturbed
 * in the model-kernel encoding with its own kfuncName; `mixed` every other
 * one perturbed, given in reverse order.
 */
function variant(file: string, obj: BpfObject, v: Variant): { given: RewrittenProgram[]; want: Expected[] } {
  const given: RewrittenProgram[] = [];
  const want: Expected[] = [];
  obj.programs.forEach((prog, k) => {
    const change = v === 'perturbed' || (v === 'mixed' && k % 2 === 0);
    if (!change) {
      given.push(unchangedProgram(prog));
      want.push({ prog, insns: prog.insns, map: identity(prog.insns.length) });
      return;
    }
    const pt = perturbed({ file, obj, prog });
    given.push({ name: prog.name, insns: pt.model, map: pt.map, kfuncName: pt.kfuncName });
    want.push({ prog, insns: pt.insns, map: pt.map });
  });
  if (v === 'mixed') given.reverse();
  return { given, want };
}

/** The output read back by loadObject has the same programs, at their new slots. */
function expectSamePrograms(back: BpfObject, obj: BpfObject, want: readonly Expected[]): void {
  expect(back.programs.map((p) => [p.name, p.section, p.progType])).toEqual(obj.programs.map((p) => [p.name, p.section, p.progType]));
  for (const { prog, insns, map } of want) {
    const q = back.programs.find((p) => p.name === prog.name)!;
    const moved = map.some((v, i) => v !== i);
    expect(q.insns, prog.name).toEqual(insns);
    expect(q.subprogs).toEqual(prog.subprogs.map((s) => ({ ...s, start: map[s.start] })));
    expect(q.mapRefs).toEqual(prog.mapRefs.map((r) => ({ ...r, index: map[r.index] })));
    // perturb() inserts code before each kfunc call: the call is the last slot of its replacement.
    expect(q.externCalls).toEqual(prog.externCalls.map((e) => ({ ...e, index: moved && e.kind === 'kfunc' ? map[e.index + 1] - 1 : map[e.index] })));
    expect(q.funcInfo).toEqual(prog.funcInfo.map((f) => ({ ...f, insn: map[f.insn] })));
    expect(q.lineInfo).toEqual(prog.lineInfo.map((l) => ({ ...l, insn: map[l.insn] })));
  }
  expect(back.maps).toEqual(obj.maps);
  expect(back.externs).toEqual(obj.externs);
  expect(back.license).toBe(obj.license);
}

describe('rewriteObject(obj, programs): every program round trips through loadObject', () => {
  for (const { file, obj } of objects) {
    for (const v of VARIANTS) {
      it(`${file} ${v}`, () => {
        const { given, want } = variant(file, obj, v);
        const back = loadObject(rewriteObject(obj, given), { objectName: file });
        expectSamePrograms(back, obj, want);
      });
    }
  }

  it('programs not given are dropped; the one-program form is the one-element list', () => {
    const { file, obj } = multi.find((o) => o.file === 'tc_counters.bpf.o')!;
    const [a, b] = obj.programs;
    const back = loadObject(rewriteObject(obj, [unchangedProgram(b)]), { objectName: file });
    expect(back.programs.map((p) => p.name)).toEqual([b.name]);
    expect(back.programs[0].insns).toEqual(b.insns);
    expect(rewriteObject(obj, [unchangedProgram(a)])).toEqual(rewriteObject(obj, a.name, a.insns, identity(a.insns.length)));
  });
});

describe(`rewriteObject(obj, programs): llvm-objdump-19 accepts the output${HAVE_OBJDUMP ? '' : ' [skipped: llvm-objdump-19 missing]'}`, () => {
  for (const { file, obj } of multi) {
    it.skipIf(!HAVE_OBJDUMP)(file, () => {
      for (const v of VARIANTS) {
        const { given, want } = variant(file, obj, v);
        const d = objdump(write(`${file}-${v}`, rewriteObject(obj, given)));
        // No two programs of the examples share a subprogram: every slot of every program is written once.
        expect(d.lines, v).toBe(want.reduce((n, w) => n + objdumpLines(w.insns), 0));
        for (const p of obj.programs) for (const s of p.subprogs) expect(d.funcs).toContain(s.name);
        const kfuncs = obj.programs.flatMap((p) => p.externCalls.filter((e) => e.kind === 'kfunc').map((e) => e.name));
        expect(d.relocs.filter((r) => obj.externs.some((e) => e.kind === 'kfunc' && e.name === r)).sort()).toEqual(kfuncs.sort());
      }
    });
  }
});

/** Loads the whole object with `bpftool prog loadall`; the test-run return value of each program that has one. */
function loadAllAndRun(path: string, names: readonly string[], obj: BpfObject): Map<string, number> {
  return withLoaded(path, (pin, pinned) => {
    expect(pinned).toEqual([...names].sort());
    const rv = new Map<string, number>();
    for (const p of obj.programs) if (TEST_RUN_TYPES.has(p.progTypeName) && names.includes(p.name)) rv.set(p.name, testRun(`${pin}/${p.name}`, packetFile(TMP)));
    return rv;
  });
}

describe(`rewriteObject(obj, programs): the kernel loads every program of the output (${CAN_LOAD ? 'bpftool prog loadall as root' : 'skipped: ' + CANNOT_LOAD_WHY})`, () => {
  for (const { file, obj } of multi) {
    it.skipIf(!CAN_LOAD)(file, () => {
      const names = obj.programs.map((p) => p.name);
      const want = loadAllAndRun(join(BUILD, file), names, obj);
      for (const v of VARIANTS) {
        const out = write(`${file}-${v}-load`, rewriteObject(obj, variant(file, obj, v).given));
        expect(loadAllAndRun(out, names, obj), v).toEqual(want);
      }
    });
  }
});

// Two programs calling the same static and global subprograms (clang puts one
// copy of each in .text; loadObject links a copy into each program).
const SHARED_SRC = `
struct __sk_buff;
static __attribute__((noinline)) int mix(int x)
{
	return x * 31 + 7;
}
__attribute__((noinline)) int gsum(int x)
{
	return mix(x) + 3;
}
__attribute__((section("tc"), used)) int tc_one(struct __sk_buff *skb)
{
	return gsum(1) & 0xff;
}
__attribute__((section("tc"), used)) int tc_two(struct __sk_buff *skb)
{
	return gsum(2) & 0xff;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
`;

describe(`rewriteObject(obj, programs): shared subprograms${HAVE_CLANG ? '' : ' [skipped: clang-19 missing]'}`, () => {
  const build = () => {
    const src = join(TMP, 'shared.bpf.c');
    writeFileSync(src, SHARED_SRC);
    const path = join(TMP, 'shared.bpf.o');
    run('clang-19', ['-O2', '-g', '-target', 'bpf', '-mcpu=v3', '-c', src, '-o', path]);
    return { path, obj: loadObject(readFileSync(path), { objectName: 'shared' }) };
  };
  /** Slots of .text in an object and the function symbols there by name (with how many of each). */
  const textOf = (bytes: Uint8Array) => {
    const elf = parseElf(bytes);
    const text = elf.sections.find((s) => s.name === '.text' && (s.flags & SHF_EXECINSTR) !== 0n)!;
    const funcs = elf.symbols.filter((y) => y.type === STT_FUNC && y.shndx === text.index).map((y) => y.name).sort();
    return { slots: Number(text.size) / 8, funcs };
  };

  it.skipIf(!HAVE_CLANG)('equal blocks are written once, different ones side by side; all load and run as before', () => {
    const { path, obj } = build();
    expect(obj.programs.map((p) => p.name)).toEqual(['tc_one', 'tc_two']);
    const [one, two] = obj.programs;
    expect(one.subprogs.map((s) => s.name)).toEqual(['tc_one', 'gsum', 'mix']);
    expect(two.subprogs.map((s) => s.name)).toEqual(['tc_two', 'gsum', 'mix']);
    const orig = textOf(readFileSync(path));
    const textLen = one.insns.length - one.subprogs[1].start;
    expect(orig).toEqual({ slots: textLen, funcs: ['gsum', 'mix'] });

    const p1 = perturbed({ file: 'shared', obj, prog: one });
    const p2 = perturbed({ file: 'shared', obj, prog: two });
    const pText = p1.insns.length - p1.map[one.subprogs[1].start];
    const cases: { tag: string; given: RewrittenProgram[]; want: Expected[]; text: { slots: number; funcs: string[] } }[] = [
      {
        tag: 'both unchanged: one block',
        given: [unchangedProgram(one), unchangedProgram(two)],
        want: [one, two].map((prog) => ({ prog, insns: prog.insns, map: identity(prog.insns.length) })),
        text: orig,
      },
      {
        tag: 'both perturbed alike: one block',
        given: [
          { name: 'tc_one', insns: p1.model, map: p1.map, kfuncName: p1.kfuncName },
          { name: 'tc_two', insns: p2.model, map: p2.map, kfuncName: p2.kfuncName },
        ],
        want: [{ prog: one, insns: p1.insns, map: p1.map }, { prog: two, insns: p2.insns, map: p2.map }],
        text: { slots: pText, funcs: ['gsum', 'mix'] },
      },
      {
        tag: 'one perturbed: two blocks',
        given: [unchangedProgram(two), { name: 'tc_one', insns: p1.model, map: p1.map, kfuncName: p1.kfuncName }],
        want: [{ prog: one, insns: p1.insns, map: p1.map }, { prog: two, insns: two.insns, map: identity(two.insns.length) }],
        text: { slots: pText + textLen, funcs: ['gsum', 'gsum', 'mix', 'mix'] },
      },
    ];
    expect(pText).toBeGreaterThan(textLen);
    const want = CAN_LOAD ? loadAllAndRun(path, ['tc_one', 'tc_two'], obj) : undefined;
    if (want) expect([...want.values()]).toEqual([(1 * 31 + 7 + 3) & 0xff, (2 * 31 + 7 + 3) & 0xff]);
    for (const c of cases) {
      const bytes = rewriteObject(obj, c.given);
      expect(textOf(bytes), c.tag).toEqual(c.text);
      expectSamePrograms(loadObject(bytes, { objectName: 'shared' }), obj, c.want);
      const out = write(`shared-${c.tag.replace(/\W+/g, '_')}`, bytes);
      // No lddw in this source: llvm-objdump shows each entry function and .text slot once.
      if (HAVE_OBJDUMP) expect(objdump(out).lines, c.tag).toBe(c.want.reduce((n, w) => n + w.map[w.prog.subprogs[1].start], 0) + c.text.slots);
      if (want) expect(loadAllAndRun(out, ['tc_one', 'tc_two'], obj), c.tag).toEqual(want);
      // One global gsum (later copies are local): libbpf's static linker takes the object.
      const gsum = parseElf(bytes).symbols.filter((y) => y.name === 'gsum');
      expect(gsum.map((y) => y.bind), c.tag).toEqual(c.text.funcs.length === 2 ? [STB_GLOBAL] : [STB_LOCAL, STB_GLOBAL]);
      if (HAVE_BPFTOOL) run('bpftool', ['gen', 'object', join(TMP, 'linked.o'), out]);
    }
  });
});

describe('rewriteObject(obj, programs): bad input raises KfError', () => {
  const { obj } = multi.find((o) => o.file === 'xdp_parse.bpf.o')!;
  const [a, b] = obj.programs;
  it('an unknown program names the object\'s programs', () => {
    expect(() => rewriteObject(obj, [unchangedProgram(a), { ...unchangedProgram(b), name: 'nope' }])).toThrow(KfError);
    expect(() => rewriteObject(obj, [{ ...unchangedProgram(b), name: 'nope' }])).toThrow(`no program "nope" in the object (programs: ${a.name}, ${b.name})`);
  });
  it('a program given twice', () => {
    expect(() => rewriteObject(obj, [unchangedProgram(a), unchangedProgram(b), unchangedProgram(a)])).toThrow(KfError);
    expect(() => rewriteObject(obj, [unchangedProgram(a), unchangedProgram(a)])).toThrow(`program "${a.name}" is given twice`);
  });
  it('no programs, or not a list', () => {
    expect(() => rewriteObject(obj, [])).toThrow(KfError);
    expect(() => rewriteObject(obj, [])).toThrow('no program to write');
    expect(() => rewriteObject(obj, { length: 1 } as unknown as RewrittenProgram[])).toThrow(KfError);
  });
  it('a bad program names itself', () => {
    const bad = { ...unchangedProgram(b), map: identity(b.insns.length - 1) };
    expect(() => rewriteObject(obj, [unchangedProgram(a), bad])).toThrow(KfError);
    expect(() => rewriteObject(obj, [unchangedProgram(a), bad])).toThrow(new RegExp(`writing program "${b.name}".*slot map has length`));
  });
  it('programs in the model-kernel encoding with a shared kfuncName', () => {
    // The option's kfuncName serves every program that does not bring its own.
    const { file, obj: o } = objects.find((x) => x.file === 'dynptr_skb.bpf.o')!;
    const prog = o.programs[0];
    const names = o.externs.map((e) => e.name);
    const model = linkToModel(o, prog, (n) => 1000 + names.indexOf(n)).insns;
    const q = loadObject(rewriteObject(o, [{ name: prog.name, insns: model, map: identity(prog.insns.length) }], { kfuncName: (id) => names[id - 1000] }), { objectName: file });
    expect(q.programs[0].insns).toEqual(prog.insns);
  });
});
