// Precision backtracking, callbacks and return codes, judged against the
// running kernel: processed-instruction counts of the example objects and of a
// long bounded loop, and the kernel's own verdicts.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { insn } from '../../src/isa/insn.js';
import { linkProgram } from '../../src/kernel/link.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { loadObject } from '../../src/object/index.js';
import { verify } from '../../src/verifier/index.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { longLoopProgram } from '../../bench/verifier.js';

const EX = 'examples/build';
let why: string | undefined = 'not probed';
beforeAll(async () => {
  const oracle = await import('../../src/oracle/index.js');
  why = await oracle.bpfAvailable();
  if (why) console.log(`kernel comparison skipped: ${why}`);
});

describe('precision tracking against the kernel', () => {
  it('example programs: accepted, processed counts within 10% of the kernel', async (ctx) => {
    if (why || !existsSync(EX)) ctx.skip();
    const oracle = await import('../../src/oracle/index.js');
    const ids = new ModelKernel(new AddressSpace()).kfuncIds;
    const rows: string[] = [];
    let n = 0;
    for (const f of readdirSync(EX).filter((x) => x.endsWith('.o'))) {
      const obj = loadObject(new Uint8Array(readFileSync(`${EX}/${f}`)), { objectName: f.replace(/\.bpf\.o$/, '') });
      for (const p of obj.programs) {
        const l = linkProgram(obj, p, (x) => ids.get(x));
        // with the object's BTF func_info, as the kernel loads it: global functions verified apart
        const r = verify({ insns: l.insns, progType: l.progType, maps: l.maps, nrCpuIds: 2, btf: obj.btf, funcInfo: p.funcInfo });
        const k = await oracle.loadObjectProgram(obj, p, { logLevel: 1 });
        const kp = oracle.parseLogStats(k.log).processed ?? 0;
        rows.push(`${f}/${p.name}: ours ${r.processed} kernel ${kp}`);
        expect(r.accepted, `${p.name}: ${r.error}`).toBe(k.accepted);
        expect(Math.abs(r.processed - kp), `${p.name}: ours ${r.processed} kernel ${kp}`).toBeLessThanOrEqual(0.1 * kp);
        n++;
      }
    }
    console.log(rows.join('\n'));
    expect(n).toBeGreaterThan(10);
  }, 60_000);

  it('a 4000-iteration bounded loop: the same processed count as the kernel', async (ctx) => {
    if (why) ctx.skip();
    const oracle = await import('../../src/oracle/index.js');
    const insns = longLoopProgram(4000);
    const r = verify({ insns, progType: 1 });
    const k = await oracle.progLoad({ progType: 1, insns, license: 'GPL', logLevel: oracle.BPF_LOG_STATS });
    if (k.fd >= 0) await oracle.closeFd(k.fd);
    expect(r.accepted).toBe(k.fd >= 0);
    expect(r.processed).toBe(oracle.parseLogStats(k.log).processed);
  }, 60_000);
});

describe('precision marks (no kernel needed)', () => {
  // r6 = 5; r7 = 1 (imprecise); if r6 == 5 goto +0: r6 gets precise, r7 does not
  const insns = [
    insn(0xb7, 6, 0, 0, 5), insn(0xb7, 7, 0, 0, 1), insn(0xbf, 0, 6, 0, 0), insn(0x15, 0, 0, 1, 7),
    insn(0x05, 0, 0, 0, 0), insn(0x15, 6, 0, 0, 5), insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0),
  ];
  it('backtracks a known branch to the constant that decided it', () => {
    const r = verify({ insns, progType: 1, btfFuncInfo: false }, { logLevel: 2 });
    expect(r.accepted).toBe(true);
    expect(r.log).toContain('mark_precise: frame0: regs=r0 stack= before 2: (bf) r0 = r6');
    expect(r.log).toContain('mark_precise: frame0: regs=r6 stack= before 0: (b7) r6 = 5');
  });
  it('a callback needs BTF func_info, as the kernel says for raw programs', () => {
    // r2 = callback (ld_imm64 BPF_PSEUDO_FUNC) ; ...
    const p = [
      insn(0xb7, 1, 0, 0, 4), insn(0x18, 2, 4, 0, 6), insn(0, 0, 0, 0, 0), insn(0xb7, 3, 0, 0, 0), insn(0xb7, 4, 0, 0, 0),
      insn(0x85, 0, 0, 0, 181), insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0),
      insn(0xb7, 0, 0, 0, 0), insn(0x95, 0, 0, 0, 0),
    ];
    expect(verify({ insns: p, progType: 1, btfFuncInfo: false }).error).toBe('missing btf func_info');
    const r = verify({ insns: p, progType: 1 }, { logLevel: 2 });
    expect(r.accepted, r.error).toBe(true);
    expect(r.reached[8]).toBe(1);
    // callback returning 2 is out of its [0, 1] range
    const bad = p.slice();
    bad[8] = insn(0xb7, 0, 0, 0, 2);
    expect(verify({ insns: bad, progType: 1 }).error).toBe('At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]');
  });
  it('return codes: cgroup_skb 0..1 (egress 0..3), xdp unchecked', () => {
    const ret = (v: number) => [insn(0xb7, 0, 0, 0, v), insn(0x95, 0, 0, 0, 0)];
    expect(verify({ insns: ret(2), progType: 8 }).error).toBe('At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]');
    expect(verify({ insns: ret(3), progType: 8, expectedAttachType: 1 }).accepted).toBe(true);
    expect(verify({ insns: ret(7), progType: 6 }).accepted).toBe(true);
  });
});
