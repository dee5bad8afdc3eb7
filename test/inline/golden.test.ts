// Golden tests of the RFC's rewrite, over the test library of hand-written
// kfunc bodies (kernel/test_kfuncs.c → kernel/build/test_kfuncs.o). Each case
// is a small program; its golden file holds the per-site report and the
// rewritten program as `bpftool prog dump xlated` prints it.
// UPDATE_GOLDEN=1 npx vitest run test/inline/golden.test.ts rewrites them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleKernel } from '../../src/isa/asm-kernel.js';
import { dumpXlated } from '../../src/isa/disasm-kernel.js';
import type { Insn } from '../../src/isa/insn.js';
import { makeInstances } from '../../src/inline/instances.js';
import { loadKfuncLibrary } from '../../src/inline/library.js';
import { rewriteInstances } from '../../src/inline/rewrite.js';
import { modelBtfFromObject } from '../../src/kernel/layout.js';
import { modelObject } from '../../src/kernel/model-blob.js';
import { verify } from '../../src/verifier/verify.js';
import { modelIds } from '../verifier/kfunc-util.js';

const ROOT = join(__dirname, '../..');
const GOLDEN = join(__dirname, 'golden');
const lib = loadKfuncLibrary(readFileSync(join(ROOT, 'kernel/build/test_kfuncs.o')), modelBtfFromObject(modelObject()));
// Test kfuncs are not in the model BTF: calls carry ids of our own choosing,
// resolved against the library's BTF.
const TEST_BASE = 2_000_000;
const testId = (name: string): number => TEST_BASE + lib.bodies.get(name)!.btfId;
// Naked functions lose their parameter names in BTF, so kf_test_null's
// `int *p__nullable` is described by hand; the others use the library's BTF.
const extra = [...lib.bodies.values()].map((b) =>
  b.name === 'kf_test_null'
    ? { id: TEST_BASE + b.btfId, name: b.name, args: [{ mem: 4, nullable: true }], ret: 'scalar' as const }
    : { id: TEST_BASE + b.btfId, btf: lib.btf!, btfId: b.btfId },
);
const idOf = (n: string): number => (lib.bodies.has(n) ? testId(n) : modelIds.get(n)!);
const bodyById = new Map([...lib.bodies.values()].map((b) => [TEST_BASE + b.btfId, b]));

function asm(src: string): Insn[] {
  const names = [...lib.bodies.keys(), ...modelIds.keys()];
  const p = assembleKernel(src, { kfuncs: names });
  const insns = p.insns.slice();
  for (const r of p.relocations) if (r.kind === 'kfunc') insns[r.index] = { ...insns[r.index], imm: idOf(r.symbol) };
  return insns;
}

function names(id: number): string | undefined {
  for (const [n, v] of modelIds) if (v === id) return n;
  return bodyById.get(id)?.name;
}

function run(src: string, progType: number, spill: 'used' | 'live') {
  const insns = asm(src);
  const w = makeInstances(insns, (x) => bodyById.get(x.imm));
  const v = verify({ insns: w.insns, progType }, { instances: { progLen: w.progLen, list: w.instances }, kfuncs: { extra } });
  expect(v.error).toBeUndefined();
  const r = rewriteInstances(w, v, { callerDepth: () => v.stackDepth[0] ?? 0, spill });
  const report = r.sites.map(
    (s) =>
      `insn ${s.site}: ${s.kfunc}: ` +
      (s.inlined
        ? `inlined, ${s.insnsBefore} -> ${s.insnsAfterDce} insns, ${s.branchesFolded} branches folded, spilled [${s.spilled.map((x) => 'r' + x).join(',')}], stack +${s.stackAdded}`
        : `not inlined: ${s.reason}`),
  );
  const xlated = dumpXlated(r.insns, { indexWidth: 0, kfuncName: (id) => names(id) }).trimEnd();
  return { text: `# sites\n${report.join('\n')}\n# xlated\n${xlated}\n`, r };
}

const SOCKET = 1;
const TC = 3;
const XDP = 6;

interface Case {
  name: string;
  what: string;
  progType: number;
  spill?: 'used' | 'live';
  src: string;
}

const CASES: Case[] = [
  {
    name: 'two-call-sites',
    what: 'two call sites with different constants get different dead code removed',
    progType: SOCKET,
    src: 'r1 = 1\ncall kf_test_scalar\nr6 = r0\nr1 = 2\ncall kf_test_scalar\nr0 += r6\nexit',
  },
  {
    name: 'null-arg',
    what: 'a NULL pointer argument prunes its branch',
    progType: SOCKET,
    src: 'r1 = 0\ncall kf_test_null\nexit',
  },
  {
    name: 'kernel-value',
    what: 'a pointer argument is a KERNEL_VALUE: loads and stores through it are kept and not checked',
    progType: SOCKET,
    src: 'r1 = 5\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\ncall kf_test_kernel_value\nexit',
  },
  {
    name: 'clobber-rfc',
    what: 'the r6/r7 the body uses are spilled just below the caller\'s deepest slot and filled back in reverse order (RFC spill rule)',
    progType: SOCKET,
    spill: 'used',
    src: 'r1 = 1\n*(u64 *)(r10 - 128) = r1\nr2 = 2\ncall kf_test_clobber\nr1 = *(u64 *)(r10 - 128)\nexit',
  },
  {
    name: 'clobber-live',
    what: 'with the liveness rule, only the callee-saved registers live after the call are spilled',
    progType: SOCKET,
    spill: 'live',
    src: 'r6 = 3\nr1 = 1\n*(u64 *)(r10 - 128) = r1\nr2 = 2\ncall kf_test_clobber\nr0 += r6\nexit',
  },
  {
    name: 'clobber-stack',
    what: "the body's own stack slots land below the spill slots",
    progType: SOCKET,
    spill: 'used',
    src: 'r1 = 7\n*(u64 *)(r10 - 32) = r1\ncall kf_test_clobber_stack\nr1 = *(u64 *)(r10 - 32)\nexit',
  },
  {
    name: 'r10-store',
    what: 'no inlining when r10 is stored as a value',
    progType: SOCKET,
    src: 'call kf_test_r10_store\nexit',
  },
  {
    name: 'r10-copy',
    what: 'no inlining when r10 is a source operand of an ALU op',
    progType: SOCKET,
    src: 'call kf_test_r10_copy\nexit',
  },
  {
    name: 'dynptr-type-skb',
    what: "inside the body an skb dynptr's type is known: the type switch folds to one constant",
    progType: TC,
    src: 'r2 = 0\nr3 = r10\nr3 += -16\ncall bpf_dynptr_from_skb\nr1 = r10\nr1 += -16\ncall kf_test_dynptr_type\nexit',
  },
  {
    name: 'dynptr-type-xdp',
    what: "inside the body an xdp dynptr's type is known: the type switch folds to one constant",
    progType: XDP,
    src: 'r2 = 0\nr3 = r10\nr3 += -16\ncall bpf_dynptr_from_xdp\nr1 = r10\nr1 += -16\ncall kf_test_dynptr_type\nexit',
  },
];

describe('golden: the RFC rewrite over the test kfunc library', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.what}`, () => {
      const { text } = run(c.src, c.progType, c.spill ?? 'live');
      const file = join(GOLDEN, `${c.name}.txt`);
      const full = `# ${c.what}\n# program (${c.progType === TC ? 'tc' : c.progType === XDP ? 'xdp' : 'socket'})\n${c.src}\n${text}`;
      if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, full);
      expect(full).toBe(readFileSync(file, 'utf8'));
    });
  }

  // The properties the goldens show, asserted directly so a careless
  // --update cannot accept a regression.
  it('the two call sites fold to different constants', () => {
    const { r } = run(CASES[0].src, SOCKET, 'live');
    const x = dumpXlated(r.insns, { indexWidth: 0 });
    expect(x).toMatch(/w0 = 10/);
    expect(x).toMatch(/w0 = 20/);
    expect(x).not.toMatch(/w0 = 30/);
    expect(x).not.toMatch(/if w1/);
  });
  it('spills r6 then r7 below the deepest slot (-128) and fills in reverse', () => {
    const { r } = run(CASES[3].src, SOCKET, 'used');
    const x = dumpXlated(r.insns, { indexWidth: 0 }).split('\n');
    const spill6 = x.findIndex((l) => l.includes('*(u64 *)(r10 -136) = r6'));
    const spill7 = x.findIndex((l) => l.includes('*(u64 *)(r10 -144) = r7'));
    const fill7 = x.findIndex((l) => l.includes('r7 = *(u64 *)(r10 -144)'));
    const fill6 = x.findIndex((l) => l.includes('r6 = *(u64 *)(r10 -136)'));
    expect(spill6).toBeGreaterThan(-1);
    expect([spill6 < spill7, spill7 < fill7, fill7 < fill6]).toEqual([true, true, true]);
  });
  it("moves the body's -8 slot below the spill slot", () => {
    const { r } = run(CASES[5].src, SOCKET, 'used');
    const x = dumpXlated(r.insns, { indexWidth: 0 });
    expect(x).toContain('*(u64 *)(r10 -40) = r6');
    expect(x).toContain('*(u64 *)(r10 -48) = r6');
    expect(x).toContain('r0 = *(u64 *)(r10 -48)');
  });
  it('leaves the calls in place when r10 escapes (both ways)', () => {
    for (const c of [CASES[6], CASES[7]]) {
      const { r } = run(c.src, SOCKET, 'live');
      expect(r.sites[0].inlined).toBe(false);
      expect(r.sites[0].reason).toMatch(/r10 escapes/);
      expect(r.insns[0].code).toBe(0x85);
    }
  });
  it('folds the dynptr type switch to 1 for skb and 2 for xdp', () => {
    for (const [c, want] of [[CASES[8], 'w0 = 1'], [CASES[9], 'w0 = 2']] as const) {
      const { r } = run(c.src, c.progType, 'live');
      const x = dumpXlated(r.insns, { indexWidth: 0 });
      expect(r.sites.find((s) => s.kfunc === 'kf_test_dynptr_type')?.inlined).toBe(true);
      expect(x).toContain(want);
      expect(x).not.toMatch(/w0 = 3\b/);
      expect(x.match(/if w1/g) ?? []).toHaveLength(0);
    }
  });
});

// The running kernel as the oracle: a rewritten program whose inlined bodies
// touch only registers and the program's own stack loads into it.
import { bpfAvailable, loadRawProgram } from '../../src/oracle/index.js';
const noBpf = await bpfAvailable();
describe.skipIf(noBpf !== undefined)(`the running kernel loads inlined programs${noBpf ? ` (skipped: ${noBpf})` : ''}`, () => {
  for (const name of ['two-call-sites', 'clobber-live', 'clobber-stack', 'kernel-value']) {
    it(`${name}: accepted by the kernel`, async () => {
      const c = CASES.find((x) => x.name === name)!;
      const { r } = run(c.src, c.progType, 'live');
      expect(r.sites.every((s) => s.inlined)).toBe(true);
      const k = await loadRawProgram(r.insns, c.progType, { logLevel: 1 });
      try {
        expect(k.error ?? '').toBe('');
        expect(k.accepted).toBe(true);
      } finally {
        k.close();
      }
    });
  }
  it("the RFC's spill rule spills a register the caller never set, which the kernel rejects", async () => {
    const { r } = run(CASES.find((x) => x.name === 'clobber-rfc')!.src, SOCKET, 'used');
    const k = await loadRawProgram(r.insns, SOCKET, { logLevel: 1 });
    try {
      expect(k.accepted).toBe(false);
      expect(k.error).toMatch(/R[67] !read_ok/);
    } finally {
      k.close();
    }
  });
});
