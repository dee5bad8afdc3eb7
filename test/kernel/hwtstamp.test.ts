// __sk_buff.hwtstamp: the model's skb_shared_info carries hwtstamps (after
// frag_list, as in include/linux/skbuff.h) and bpf_convert_ctx_access() turns a
// read into skb_shinfo(skb)->hwtstamps.hwtstamp. Checked against bpftool (the
// offsets in model.o), and the running kernel (which loads and test-runs the
// same programs with ctx_in.hwtstamp set: both engines must return its retval;
// which sizes, directions and program types it accepts must equal ctxAccess()).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_BPFTOOL } from '../elf/tools.js';
import { insn, type Insn } from '../../src/isa/insn.js';
import { modelLayout } from '../../src/kernel/layout.js';
import { ctxAccess } from '../../src/kernel/ctx-access.js';
import { convertCtxAccesses, convertCtxInsn } from '../../src/kernel/ctx-convert.js';
import { buildSkb } from '../../src/kernel/ctx-build.js';
import { findCtxAccesses } from '../../src/kernel/ctx-track.js';
import { st } from '../../src/kernel/mem.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { interpreter } from '../../src/vm/interp.js';
import { jit } from '../../src/vm/jit/jit.js';
import { verify } from '../../src/verifier/index.js';
import { closeFd, progLoad, progTestRun } from '../../src/oracle/index.js';
import { NO_BPF, bpfNote } from '../oracle/env.js';

const L = modelLayout();
const S = L.structs;
const HW = S.off('__sk_buff', 'hwtstamp');
const SKB_SIZE = S.sizeof('__sk_buff');
const SCHED_CLS = 3;
const SOCKET_FILTER = 1;
const SCHED_ACT = 4;
const CGROUP_SKB = 8;

const ldx = (sz: number, d: number, s: number, o: number): Insn => insn(0x61 | ({ 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 } as Record<number, number>)[sz], d, s, o, 0);
const stx = (sz: number, d: number, s: number, o: number): Insn => insn(0x63 | ({ 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 } as Record<number, number>)[sz], d, s, o, 0);
const mov = (d: number, imm: number): Insn => insn(0xb7, d, 0, 0, imm);
const movr = (d: number, s: number): Insn => insn(0xbf, d, s, 0, 0);
const rsh = (d: number, imm: number): Insn => insn(0x77, d, 0, 0, imm);
const exit = insn(0x95, 0, 0, 0, 0);

const pkt = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff);
pkt.set([0x08, 0x00], 12);

const STAMP = 0x1122_3344_5566_7788n;
/** Programs reading hwtstamp (retval: what the kernel reports, the low 32 bits of r0). */
const PROGS: { name: string; insns: Insn[]; want: (v: bigint) => number }[] = [
  { name: 'low half', insns: [ldx(8, 0, 1, HW), exit], want: (v) => Number(v & 0xffff_ffffn) },
  { name: 'high half', insns: [ldx(8, 0, 1, HW), rsh(0, 32), exit], want: (v) => Number(v >> 32n) },
  { name: 'into r1 itself (dst == src)', insns: [ldx(8, 1, 1, HW), movr(0, 1), rsh(0, 16), exit], want: (v) => Number((v >> 16n) & 0xffff_ffffn) },
  { name: 'from a copy of the ctx in r6', insns: [movr(6, 1), mov(1, 0), ldx(8, 7, 6, HW), movr(0, 7), rsh(0, 8), exit], want: (v) => Number((v >> 8n) & 0xffff_ffffn) },
];

/** Runs `prog` on a model skb whose skb_shinfo(skb)->hwtstamps.hwtstamp is `stamp`. */
function runModel(prog: Insn[], stamp: bigint, engine: 'interp' | 'jit', progType = SCHED_CLS): bigint {
  const k = new ModelKernel(new AddressSpace());
  const rt = k.rt;
  const built = buildSkb(rt, pkt, { l2: progType !== SOCKET_FILTER });
  st(rt.mem, rt.skb.shinfo(built.ctx) + rt.L.shinfo.hwtstamp, 8, stamp);
  const insns = convertCtxAccesses(prog, progType, findCtxAccesses(prog), rt.L).insns;
  const exe = (engine === 'jit' ? jit : interpreter).load({ insns, name: 'hwtstamp' }, k.env(), rt.mem, {});
  try {
    return BigInt.asUintN(64, exe.run(BigInt(built.ctx)));
  } finally {
    exe.dispose();
  }
}


describe('skb_shared_info.hwtstamps in the model', () => {
  it.skipIf(!HAVE_BPFTOOL)('sits after frag_list, 8 bytes, where bpftool says model.o has it (needs bpftool)', () => {
    const out = execFileSync('bpftool', ['btf', 'dump', 'file', join(__dirname, '..', '..', 'kernel', 'build', 'model.o')], { maxBuffer: 1 << 28 }).toString();
    const block = /\] STRUCT 'skb_shared_info' size=\d+ vlen=\d+\n((?:\t.*\n)+)/.exec(out);
    expect(block, 'skb_shared_info in bpftool btf dump').not.toBeNull();
    const members = [...block![1].matchAll(/\t'([^']*)' type_id=\d+ bits_offset=(\d+)/g)].map((m) => ({ name: m[1], bits: Number(m[2]) }));
    const i = members.findIndex((m) => m.name === 'hwtstamps');
    expect(members[i - 1].name).toBe('frag_list');
    expect(members[i].bits / 8).toBe(L.shinfo.hwtstamp);
    expect(members[i + 1].bits - members[i].bits).toBe(64);
  });

  it('a read becomes skb->end then an 8-byte load at the hwtstamps offset (bpf_convert_shinfo_access)', () => {
    for (const [d, s] of [[0, 1], [1, 1], [7, 6]]) {
      const out = convertCtxInsn(SCHED_CLS, ldx(8, d, s, HW), L);
      expect(out).toEqual([ldx(8, d, s, L.skb.end), ldx(8, d, d, L.shinfo.hwtstamp)]);
    }
  });

  it('the engines return what the shared info holds', () => {
    for (const stamp of [0n, STAMP, 0xffff_ffff_ffff_fffen]) {
      for (const p of PROGS) {
        for (const engine of ['interp', 'jit'] as const) {
          expect(Number(BigInt.asUintN(32, runModel(p.insns, stamp, engine))), `${p.name} ${engine} ${stamp}`).toBe(p.want(stamp));
        }
      }
    }
    expect(runModel([ldx(8, 0, 1, HW), exit], STAMP, 'jit', CGROUP_SKB)).toBe(STAMP);
  });

  it('refuses writes, narrow and misaligned reads, and socket filters, in ctxAccess() and so in the verifier', () => {
    for (const pt of [SOCKET_FILTER, SCHED_CLS, SCHED_ACT, CGROUP_SKB]) {
      for (const size of [1, 2, 4, 8]) {
        for (let off = HW; off < HW + 8; off += size) {
          for (const write of [false, true]) {
            const want = pt !== SOCKET_FILTER && size === 8 && !write;
            expect(ctxAccess(pt, off, size, write).ok, `type ${pt} off ${off} size ${size} ${write ? 'write' : 'read'}`).toBe(want);
            // the verifier's check_ctx_access() uses the same table: the one-access program passes exactly when it is allowed
            const insns = write ? [mov(2, 0), stx(size, 1, 2, off), mov(0, 0), exit] : [ldx(size, 0, 1, off), mov(0, 0), exit];
            const r = verify({ insns, progType: pt, btfFuncInfo: false }, { logLevel: 1 });
            expect(r.accepted, `verifier: type ${pt} off ${off} size ${size} ${write ? 'write' : 'read'}: ${r.error ?? ''}`).toBe(want);
            if (!want) expect(r.log).toContain(`invalid bpf_context access off=${off} size=${size}`);
          }
        }
      }
    }
    expect(() => convertCtxInsn(SCHED_CLS, stx(8, 1, 2, HW), L)).toThrow(/invalid bpf_context access off=184 size=8/);
  });
});

describe.skipIf(NO_BPF)(`hwtstamp in the kernel${bpfNote}`, () => {
  it('test runs with ctx_in.hwtstamp set return what both engines return', async () => {
    const ctx = new Uint8Array(SKB_SIZE);
    new DataView(ctx.buffer).setBigUint64(HW, STAMP, true);
    for (const p of PROGS) {
      const r = await progLoad({ progType: SCHED_CLS, insns: p.insns, license: 'GPL', logLevel: 1 });
      expect(r.fd, r.log).toBeGreaterThanOrEqual(0);
      try {
        const k = await progTestRun(r.fd, { data: pkt, ctx, ctxSizeOut: SKB_SIZE });
        expect(k.retval >>> 0, `${p.name}: kernel`).toBe(p.want(STAMP));
        for (const engine of ['interp', 'jit'] as const) expect(Number(BigInt.asUintN(32, runModel(p.insns, STAMP, engine))), `${p.name}: ${engine}`).toBe(k.retval >>> 0);
        // convert_skb_to___skb() copies the stamp back into ctx_out
        expect(new DataView(k.ctxOut.buffer, k.ctxOut.byteOffset).getBigUint64(HW, true)).toBe(STAMP);
      } finally {
        await closeFd(r.fd);
      }
    }
  });

  it('accepts exactly the accesses ctxAccess() accepts', async () => {
    let checked = 0;
    for (const pt of [SOCKET_FILTER, SCHED_CLS, SCHED_ACT, CGROUP_SKB]) {
      for (const size of [1, 2, 4, 8]) {
        for (let off = HW; off < HW + 8; off += size) {
          for (const write of [false, true]) {
            const insns = write ? [mov(2, 0), stx(size, 1, 2, off), mov(0, 0), exit] : [ldx(size, 0, 1, off), mov(0, 0), exit];
            const r = await progLoad({ progType: pt, insns, license: 'GPL', logLevel: 1 });
            if (r.fd >= 0) await closeFd(r.fd);
            const what = `type ${pt} off ${off} size ${size} ${write ? 'write' : 'read'}: ${r.log.split('\n').slice(-3).join(' | ')}`;
            expect(ctxAccess(pt, off, size, write).ok, what).toBe(r.fd >= 0);
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(4 * (8 + 4 + 2 + 1) * 2);
  });
});
