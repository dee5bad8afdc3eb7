// The __sk_buff fields, helpers and program types added for the legacy test-run
// cases, checked against the running kernel's BPF_PROG_TEST_RUN where bpf()
// is usable (both engines must return the kernel's retval and ctx_out fields):
// wire_len (qdisc_skb_cb(skb)->pkt_len), gso_segs / gso_size (skb_shinfo()),
// bpf_get_cgroup_classid (17), bpf_skb_vlan_push (18), sched_act, and the
// -ENOTSUPP refusal of program types without .test_run (sk_skb).
import { describe, expect, it } from 'vitest';
import { insn, type Insn } from '../../src/isa/insn.js';
import { testRun } from '../../src/vm/testrun.js';
import { modelLayout } from '../../src/kernel/layout.js';
import { closeFd, progLoad, progTestRun } from '../../src/oracle/index.js';
import { KfError } from '../../src/util/errors.js';
import { NO_BPF, bpfNote } from '../oracle/env.js';

const S = modelLayout().structs;
const sk = (f: string): number => S.off('__sk_buff', f);
const SKB_SIZE = S.sizeof('__sk_buff');
const ldxw = (d: number, s: number, o: number): Insn => insn(0x61, d, s, o, 0);
const ldxh = (d: number, s: number, o: number): Insn => insn(0x69, d, s, o, 0);
const mov = (d: number, imm: number): Insn => insn(0xb7, d, 0, 0, imm);
const movr = (d: number, s: number): Insn => insn(0xbf, d, s, 0, 0);
const lsh = (d: number, imm: number): Insn => insn(0x67, d, 0, 0, imm);
const orr = (d: number, s: number): Insn => insn(0x4f, d, s, 0, 0);
const call = (imm: number): Insn => insn(0x85, 0, 0, 0, imm);
const exit = insn(0x95, 0, 0, 0, 0);
const SCHED_CLS = 3;
const SCHED_ACT = 4;
const SK_SKB = 14;

const pkt = Uint8Array.from({ length: 64 }, (_, i) => (i * 13 + 5) & 0xff);
pkt.set([0x08, 0x00], 12); // ETH_P_IP

function skbCtx(f: Record<string, number>): Uint8Array {
  const b = new Uint8Array(SKB_SIZE);
  const dv = new DataView(b.buffer);
  for (const [k, v] of Object.entries(f)) dv.setUint32(sk(k), v, true);
  return b;
}
const u32At = (b: Uint8Array, off: number): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);

interface Case {
  name: string;
  progType: number;
  insns: Insn[];
  ctx?: Uint8Array;
  /** __sk_buff fields of ctx_out to compare too. */
  out?: string[];
}

const readField = (f: string, narrow = false): Insn[] => [narrow ? ldxh(0, 1, sk(f)) : ldxw(0, 1, sk(f)), exit];
const gsoCtx = skbCtx({ wire_len: 100, gso_segs: 8, gso_size: 10 });

const CASES: Case[] = [
  { name: 'wire_len without ctx_in (cb untouched: 0)', progType: SCHED_CLS, insns: readField('wire_len') },
  { name: 'wire_len from ctx_in', progType: SCHED_CLS, insns: readField('wire_len'), ctx: gsoCtx, out: ['wire_len', 'gso_segs', 'gso_size'] },
  { name: 'wire_len 0 in ctx_in is skb->len', progType: SCHED_CLS, insns: readField('wire_len'), ctx: skbCtx({ mark: 3 }), out: ['wire_len'] },
  { name: 'gso_segs from ctx_in', progType: SCHED_CLS, insns: readField('gso_segs'), ctx: gsoCtx, out: ['gso_segs'] },
  { name: 'gso_size from ctx_in', progType: SCHED_CLS, insns: readField('gso_size'), ctx: gsoCtx },
  { name: 'gso_segs narrow (2-byte) read', progType: SCHED_CLS, insns: readField('gso_segs', true), ctx: skbCtx({ gso_segs: 0x1234 }) },
  { name: 'gso_size in r1 itself (dst == src)', progType: SCHED_CLS, insns: [ldxw(1, 1, sk('gso_size')), movr(0, 1), exit], ctx: skbCtx({ gso_size: 1400 }) },
  { name: 'sched_act reads len', progType: SCHED_ACT, insns: readField('len') },
  {
    name: 'bpf_get_cgroup_classid',
    progType: SCHED_CLS,
    insns: [call(17), exit],
  },
  {
    // vlan_proto 1 is neither 802.1Q nor 802.1AD: the kernel pushes 802.1Q
    name: 'bpf_skb_vlan_push then vlan_present / vlan_proto / vlan_tci',
    progType: SCHED_CLS,
    insns: [
      movr(6, 1), mov(2, 1), mov(3, 0x123), call(18), movr(7, 0),
      ldxw(0, 6, sk('vlan_proto')), lsh(0, 16), ldxw(1, 6, sk('vlan_tci')), orr(0, 1),
      ldxw(1, 6, sk('vlan_present')), lsh(1, 31), orr(0, 1), lsh(7, 32), orr(0, 7), exit,
    ],
  },
];

function model(c: Case, engine: 'interp' | 'jit') {
  return testRun(c.insns, { progType: c.progType, data: pkt, ctxIn: c.ctx, engine });
}

describe('model test runs of the added fields, helpers and types', () => {
  it('agree between the engines', () => {
    for (const c of CASES) {
      const a = model(c, 'interp');
      const b = model(c, 'jit');
      expect(b.retval, c.name).toBe(a.retval);
      expect(b.ctxOut, c.name).toEqual(a.ctxOut);
    }
  });

  it('read back what ctx_in set and what vlan_push stored', () => {
    expect(model(CASES[1], 'interp').retval).toBe(100);
    expect(model(CASES[3], 'interp').retval).toBe(8);
    expect(model(CASES[4], 'interp').retval).toBe(10);
    const v = model(CASES[9], 'jit');
    expect(v.retval >>> 31).toBe(1); // vlan_present
    expect((v.retval >>> 16) & 0x7fff).toBe(0x0081); // htons(ETH_P_8021Q)
    expect(v.retval & 0xffff).toBe(0x123);
    expect(v.r0 >> 32n).toBe(0n); // the helper's return value
    expect(v.dataOut).toEqual(pkt); // the tag went into the skb, not the packet
  });

  it('refuses what the kernel refuses', () => {
    expect(() => testRun([mov(0, 0), exit], { progType: SK_SKB, data: pkt })).toThrow(/-ENOTSUPP/);
    expect(() => testRun([mov(0, 0), exit], { progType: 5, data: pkt })).toThrow(/tracepoint.*-ENOTSUPP/);
    expect(() => testRun(readField('wire_len'), { progType: SCHED_CLS, data: pkt, ctxIn: skbCtx({ wire_len: 10 }) })).toThrow(KfError);
    expect(() => testRun(readField('gso_segs'), { progType: SCHED_CLS, data: pkt, ctxIn: skbCtx({ gso_segs: 70000 }) })).toThrow(/gso_segs/);
    expect(() => testRun(readField('len'), { progType: SCHED_CLS, data: pkt, ctxIn: new Uint8Array(SKB_SIZE).fill(0, 0).map((_, i) => (i === sk('hwtstamp') ? 1 : 0)) })).toThrow(/hwtstamp/);
    // a second push would move the present tag into the packet
    const twice = [movr(6, 1), mov(2, 0x0081), mov(3, 1), call(18), movr(1, 6), mov(2, 0x0081), mov(3, 2), call(18), exit];
    expect(() => testRun(twice, { progType: SCHED_CLS, data: pkt })).toThrow(/not modelled/);
  });
});

describe.skipIf(NO_BPF)(`the same runs in the kernel${bpfNote}`, () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = await progLoad({ progType: c.progType, insns: c.insns, license: 'GPL', logLevel: 1 });
      expect(r.fd, r.log).toBeGreaterThanOrEqual(0);
      try {
        const k = await progTestRun(r.fd, { data: pkt, ctx: c.ctx, ctxSizeOut: c.ctx ? SKB_SIZE : undefined });
        for (const engine of ['interp', 'jit'] as const) {
          const m = model(c, engine);
          expect(m.retval, `${engine}: retval`).toBe(k.retval >>> 0);
          for (const f of c.out ?? []) expect(u32At(m.ctxOut, sk(f)), `${engine}: ctx_out ${f}`).toBe(u32At(k.ctxOut, sk(f)));
        }
      } finally {
        await closeFd(r.fd);
      }
    });
  }

  it('sk_skb: the kernel refuses the test run with ENOTSUPP, as the model does', async () => {
    const insns = [mov(0, 0), exit];
    const r = await progLoad({ progType: SK_SKB, insns, license: 'GPL' });
    expect(r.fd, r.log).toBeGreaterThanOrEqual(0);
    try {
      await expect(progTestRun(r.fd, { data: pkt })).rejects.toThrow(/ENOTSUPP|524/);
    } finally {
      await closeFd(r.fd);
    }
    expect(() => testRun(insns, { progType: SK_SKB, data: pkt })).toThrow(/-ENOTSUPP/);
  });
});
