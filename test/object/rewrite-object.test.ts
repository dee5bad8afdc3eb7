// rewriteObject(): a rewritten linked program written back as a BPF object.
// Oracles: our own loader (round trip), llvm-objdump-19 (accepts the object,
// sees every slot and every relocation) and the running kernel through
// bpftool/libbpf (loads it; BPF_PROG_TEST_RUN returns what the original does).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyPatches } from '../../src/inline/patch.js';
import { insn, type Insn } from '../../src/isa/insn.js';
import { linkProgram as linkToModel } from '../../src/kernel/link.js';
import { loadObject, type BpfProgram } from '../../src/object/index.js';
import { rewriteObject } from '../../src/object/rewrite-object.js';
import { KfError } from '../../src/util/errors.js';
import { CALL, TEST_RUN_TYPES, identity, objdump, objdumpLines, packetFile, perturb, perturbed, testRun, type Case } from './rewrite-tools.js';
import { BUILD, CANNOT_LOAD_WHY, CAN_LOAD, HAVE_CLANG, HAVE_OBJDUMP, exampleObjects, readExample, rng, run, withLoaded } from '../elf/tools.js';

const TMP = mkdtempSync(join(tmpdir(), 'kf-rewrite-'));
afterAll(() => process.env.KF_KEEP_TMP || rmSync(TMP, { recursive: true, force: true }));

const cases: Case[] = exampleObjects().flatMap((file) => {
  const obj = loadObject(readExample(file), { objectName: file });
  return obj.programs.map((prog) => ({ file, obj, prog }));
});

function write(name: string, bytes: Uint8Array): string {
  const path = join(TMP, `${name}.o`);
  writeFileSync(path, bytes);
  return path;
}

/** Loads `objPath` with bpftool; returns the test-run return value of `prog` (undefined when its type has no test run). */
function loadAndRun(objPath: string, prog: BpfProgram, expectOnly: boolean): number | undefined {
  return withLoaded(objPath, (pin, names) => {
    if (expectOnly) expect(names).toEqual([prog.name]);
    if (!TEST_RUN_TYPES.has(prog.progTypeName)) return undefined;
    return testRun(`${pin}/${prog.name}`, packetFile(TMP));
  });
}

describe('rewriteObject: identity round trip through loadObject', () => {
  for (const { file, obj, prog } of cases) {
    it(`${file} ${prog.name}`, () => {
      const out = rewriteObject(obj, prog.name, prog.insns.slice(), identity(prog.insns.length));
      const back = loadObject(out, { objectName: file });
      expect(back.programs.map((p) => p.name)).toEqual([prog.name]);
      const q = back.programs[0];
      expect(q.section).toBe(prog.section);
      expect(q.progType).toBe(prog.progType);
      expect(q.insns).toEqual(prog.insns);
      expect(q.subprogs).toEqual(prog.subprogs);
      expect(q.mapRefs).toEqual(prog.mapRefs);
      expect(q.externCalls).toEqual(prog.externCalls);
      expect(q.funcInfo).toEqual(prog.funcInfo);
      expect(q.lineInfo).toEqual(prog.lineInfo);
      expect(back.maps).toEqual(obj.maps);
      expect(back.externs).toEqual(obj.externs);
      expect(back.license).toBe(obj.license);
    });
  }
});

describe('rewriteObject: a non-identity rewrite (insertions, a deletion) round trip', () => {
  for (const { file, obj, prog } of cases) {
    it(`${file} ${prog.name}`, () => {
      const { insns, model, map, kfuncName } = perturbed({ file, obj, prog });
      expect(insns.length).toBeGreaterThan(prog.insns.length);
      const q = loadObject(rewriteObject(obj, prog.name, model, map, { kfuncName }), { objectName: file }).programs[0];
      expect(q.insns).toEqual(insns);
      expect(q.subprogs).toEqual(prog.subprogs.map((s) => ({ ...s, start: map[s.start] })));
      expect(q.mapRefs).toEqual(prog.mapRefs.map((r) => ({ ...r, index: map[r.index] })));
      // Code was inserted before each kfunc call: the call is the last slot of its replacement.
      expect(q.externCalls).toEqual(prog.externCalls.map((e) => ({ ...e, index: map[e.index + 1] - 1 })));
      expect(q.funcInfo).toEqual(prog.funcInfo.map((f) => ({ ...f, insn: map[f.insn] })));
      expect(q.lineInfo).toEqual(prog.lineInfo.map((l) => ({ ...l, insn: map[l.insn] })));
    });
  }
});

describe(`rewriteObject: llvm-objdump-19 accepts the output${HAVE_OBJDUMP ? '' : ' [skipped: llvm-objdump-19 missing]'}`, () => {
  for (const { file, obj, prog } of cases) {
    it.skipIf(!HAVE_OBJDUMP)(`${file} ${prog.name}`, () => {
      const pt = perturbed({ file, obj, prog });
      const model = linkToModel(obj, prog, (n) => 1000 + obj.externs.findIndex((e) => e.name === n)).insns;
      for (const [tag, insns, map] of [['id', model, identity(prog.insns.length)], ['perturbed', pt.model, pt.map]] as const) {
        const path = write(`${prog.name}-${tag}`, rewriteObject(obj, prog.name, insns, map, { kfuncName: pt.kfuncName }));
        const d = objdump(path);
        expect(d.lines).toBe(objdumpLines(insns));
        // Every kfunc call is relocated against its kfunc; maps against their symbol.
        const kf = d.relocs.filter((r) => obj.externs.some((e) => e.kind === 'kfunc' && e.name === r));
        expect(kf).toEqual(prog.externCalls.filter((e) => e.kind === 'kfunc').map((e) => e.name));
        const btfMaps = prog.mapRefs.filter((r) => obj.maps[r.map].kind === 'btf').map((r) => obj.maps[r.map].name);
        expect(d.relocs.filter((r) => obj.maps.some((m) => m.kind === 'btf' && m.name === r))).toEqual(btfMaps);
      }
    });
  }
});

describe(`rewriteObject: the kernel loads the output (${CAN_LOAD ? 'bpftool as root' : 'skipped: ' + CANNOT_LOAD_WHY})`, () => {
  for (const { file, obj, prog } of cases) {
    it.skipIf(!CAN_LOAD)(`${file} ${prog.name}`, () => {
      const want = loadAndRun(join(BUILD, file), prog, false);
      const same = loadAndRun(write(`${prog.name}-id`, rewriteObject(obj, prog.name, prog.insns.slice(), identity(prog.insns.length))), prog, true);
      const { model, map, kfuncName } = perturbed({ file, obj, prog });
      const moved = loadAndRun(write(`${prog.name}-perturbed`, rewriteObject(obj, prog.name, model, map, { kfuncName })), prog, true);
      expect(same).toBe(want);
      expect(moved).toBe(want);
      if (TEST_RUN_TYPES.has(prog.progTypeName)) expect(want).toBeTypeOf('number');
    });
  }

  // Decided by experiment: without .BTF.ext libbpf passes no func_info, which
  // the kernel accepts for static subprograms but not for a bpf_loop
  // callback ("missing btf func_info"); so .BTF.ext is regenerated.
  it.skipIf(!CAN_LOAD)('without .BTF.ext a static subprogram loads, a callback does not', () => {
    const get = (f: string, p: string) => cases.find((c) => c.file === f && c.prog.name === p)!;
    const sub = get('subprogs.bpf.o', 'tc_hash');
    const cb = get('loops.bpf.o', 'tc_bpf_loop');
    const noExt = (c: Case) => write(`${c.prog.name}-noext`, rewriteObject(c.obj, c.prog.name, c.prog.insns.slice(), identity(c.prog.insns.length), { btfExt: false }));
    expect(loadObject(rewriteObject(sub.obj, 'tc_hash', sub.prog.insns.slice(), identity(sub.prog.insns.length), { btfExt: false })).btfExt).toBeUndefined();
    expect(loadAndRun(noExt(sub), sub.prog, true)).toBe(loadAndRun(join(BUILD, sub.file), sub.prog, false));
    expect(() => withLoaded(noExt(cb), () => 0)).toThrow(/failed to load/);
  });
});

// No example has CO-RE relocations: a tiny program whose return value is a
// field offset in the running kernel's task_struct.
const CORE_SRC = `
struct task_struct { int pid; int tgid; } __attribute__((preserve_access_index));
struct __sk_buff;
__attribute__((section("tc"), used)) int core_tc(struct __sk_buff *skb)
{
	struct task_struct *t = 0;
	return __builtin_preserve_field_info(t->tgid, 0) + 100000 * __builtin_preserve_type_info(*t, 0);
}
char _license[] __attribute__((section("license"), used)) = "GPL";
`;

describe(`rewriteObject: CO-RE relocations move with their instructions${HAVE_CLANG ? '' : ' [skipped: clang-19 missing]'}`, () => {
  it.skipIf(!HAVE_CLANG)('core_tc', () => {
    const src = join(TMP, 'core.bpf.c');
    writeFileSync(src, CORE_SRC);
    const objPath = join(TMP, 'core.bpf.o');
    run('clang-19', ['-O2', '-g', '-target', 'bpf', '-mcpu=v3', '-c', src, '-o', objPath]);
    const obj = loadObject(readFileSync(objPath));
    const prog = obj.programs[0];
    expect(prog.coreRelos.length).toBeGreaterThan(0);
    const { insns, map } = perturb(prog);
    const out = write('core-perturbed', rewriteObject(obj, prog.name, insns, map));
    const q = loadObject(readFileSync(out)).programs[0];
    expect(q.insns).toEqual(insns);
    expect(q.coreRelos).toEqual(prog.coreRelos.map((r) => ({ ...r, insn: map[r.insn] })));
    if (!CAN_LOAD) return;
    const want = loadAndRun(objPath, prog, true)!;
    expect(want).toBeGreaterThan(100000 + 8); // libbpf relocated the offset: tgid is not at 4 in the kernel's task_struct
    expect(loadAndRun(out, prog, true)).toBe(want);
  });
});

describe('rewriteObject: input in the model-kernel encoding', () => {
  for (const { file, obj, prog } of cases.filter((c) => c.prog.externCalls.every((e) => e.kind === 'kfunc'))) {
    it(`${file} ${prog.name}: map fds and kfunc ids are re-emitted as relocations`, () => {
      const names = obj.externs.map((e) => e.name);
      const linked = linkToModel(obj, prog, (n) => 1000 + names.indexOf(n));
      const kfuncName = (id: number) => names[id - 1000];
      for (const opts of [{}, { kfuncName }]) {
        const q = loadObject(rewriteObject(obj, prog.name, linked.insns, identity(prog.insns.length), opts)).programs[0];
        expect(q.insns).toEqual(prog.insns);
      }
    });
  }
});

describe('rewriteObject: bad input raises KfError', () => {
  const get = (f: string, p: string) => cases.find((c) => c.file === f && c.prog.name === p)!;
  const dyn = get('dynptr_skb.bpf.o', 'tc_dynptr_parse');
  const hash = get('subprogs.bpf.o', 'tc_hash');
  const site = dyn.prog.externCalls[0].index;
  const patched = (c: Case, i: number, xs: Insn[]) => applyPatches(c.prog.insns, new Map([[i, [...xs, c.prog.insns[i]]]]));

  it('unknown program, wrong map', () => {
    const { obj, prog } = hash;
    expect(() => rewriteObject(obj, 'nope', prog.insns, identity(prog.insns.length))).toThrow(/no program "nope".*tc_hash/);
    expect(() => rewriteObject(obj, 'tc_hash', prog.insns, identity(prog.insns.length - 1))).toThrow(KfError);
    expect(() => rewriteObject(obj, 'tc_hash', prog.insns, Int32Array.from(identity(prog.insns.length)).reverse())).toThrow(/slot map/);
    expect(() => rewriteObject(obj, 'tc_hash', [], new Int32Array(prog.insns.length + 1))).toThrow(/empty/);
  });

  it('a kfunc call the original did not make needs kfuncName and an extern', () => {
    const extra = insn(CALL, 0, 2, 0, 77);
    const { insns, map } = patched(dyn, site, [extra]);
    expect(() => rewriteObject(dyn.obj, dyn.prog.name, insns, map)).toThrow(/instruction \d+: call of kernel function with BTF id 77/);
    expect(() => rewriteObject(dyn.obj, dyn.prog.name, insns, map, { kfuncName: () => 'skb_copy_bits' })).toThrow(/BTF id 77/);
    // With a name the object knows, the call is written: at the site, the call named by kfuncName.
    const q = loadObject(rewriteObject(dyn.obj, dyn.prog.name, insns, map, { kfuncName: (id) => (id === 77 ? 'bpf_dynptr_size' : dyn.prog.externCalls[0].name) })).programs[0];
    expect(q.externCalls.slice(0, 2)).toEqual([
      { index: map[site], name: 'bpf_dynptr_size', kind: 'kfunc' },
      { index: map[site] + 1, name: dyn.prog.externCalls[0].name, kind: 'kfunc' },
    ]);
  });

  it('a map reference the original did not have', () => {
    const ld = [insn(0x18, 1, 1, 0, 1), insn(0, 0, 0, 0, 0)];
    const { insns, map } = patched(dyn, site, ld);
    expect(() => rewriteObject(dyn.obj, dyn.prog.name, insns, map)).toThrow(/map reference that is not one of the original/);
  });

  it('a jump between the entry function and the subprograms', () => {
    const insns = hash.prog.insns.slice();
    const last = hash.prog.subprogs[1].start - 1;
    insns[last] = insn(0x05, 0, 0, 1, 0); // goto into .text
    expect(() => rewriteObject(hash.obj, 'tc_hash', insns, identity(insns.length))).toThrow(/instruction 14: jump to 16 leaves the entry function/);
  });

  it('random maps and instructions never crash', () => {
    const r = rng(7);
    for (let k = 0; k < 400; k++) {
      const c = cases[Math.floor(r() * cases.length)];
      const n = c.prog.insns.length;
      const insns = c.prog.insns.map((x) => (r() < 0.05 ? insn(Math.floor(r() * 256), Math.floor(r() * 11), Math.floor(r() * 16), Math.floor(r() * 64) - 32, Math.floor(r() * 64) - 32) : x));
      const map = identity(n);
      if (r() < 0.5) for (let i = 1; i <= n; i++) map[i] = Math.max(0, map[i] + Math.floor(r() * 3) - 1);
      try {
        loadObject(rewriteObject(c.obj, c.prog.name, insns, map));
      } catch (e) {
        expect(e, String(e)).toBeInstanceOf(KfError);
      }
    }
  });
});
