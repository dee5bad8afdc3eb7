import { describe, expect, it } from 'vitest';
import { insn, type Insn } from '../../src/isa/insn.js';
import { testRun } from '../../src/vm/testrun.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { modelLayout } from '../../src/kernel/layout.js';
import { convertCtxAccesses, ctxAccess, findCtxAccesses } from '../../src/kernel/progtypes.js';
import { KfError } from '../../src/util/errors.js';

const pkt = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const S = modelLayout().structs;
const sk = (f: string): number => S.off('__sk_buff', f);
const xm = (f: string): number => S.off('xdp_md', f);
// encoders
const ldxw = (d: number, s: number, o: number): Insn => insn(0x61, d, s, o, 0);
const ldxb = (d: number, s: number, o: number): Insn => insn(0x71, d, s, o, 0);
const stxw = (d: number, s: number, o: number): Insn => insn(0x63, d, s, o, 0);
const mov = (d: number, imm: number): Insn => insn(0xb7, d, 0, 0, imm);
const movr = (d: number, s: number): Insn => insn(0xbf, d, s, 0, 0);
const addk = (d: number, imm: number): Insn => insn(0x07, d, 0, 0, imm);
const subr = (d: number, s: number): Insn => insn(0x1f, d, s, 0, 0);
const jeqk = (d: number, imm: number, off: number): Insn => insn(0x15, d, 0, off, imm);
const ja = (off: number): Insn => insn(0x05, 0, 0, off, 0);
const call = (imm: number, src = 0): Insn => insn(0x85, 0, src, 0, imm);
const exit = insn(0x95, 0, 0, 0, 0);

describe('ctx access rules', () => {
  it('follow the kernel per program type', () => {
    expect(ctxAccess(3, sk('data'), 4, false)).toMatchObject({ ok: true, regType: 'PTR_TO_PACKET' });
    expect(ctxAccess(1, sk('data'), 4, false).ok).toBe(false); // socket filters: no direct packet access
    expect(ctxAccess(3, sk('data'), 8, false).ok).toBe(false);
    expect(ctxAccess(3, sk('mark'), 4, true).ok).toBe(true);
    expect(ctxAccess(3, sk('len'), 4, true).ok).toBe(false);
    expect(ctxAccess(1, sk('cb') + 4, 4, true).ok).toBe(true);
    expect(ctxAccess(1, sk('mark'), 4, true).ok).toBe(false);
    expect(ctxAccess(3, sk('len') + 1, 1, false).ok).toBe(true); // narrow read
    expect(ctxAccess(3, sk('len') + 1, 2, false).ok).toBe(false); // misaligned
    expect(ctxAccess(3, sk('tstamp'), 4, false).ok).toBe(false);
    expect(ctxAccess(3, sk('family'), 4, false).ok).toBe(false);
    expect(ctxAccess(6, xm('data_end'), 4, false)).toMatchObject({ ok: true, regType: 'PTR_TO_PACKET_END' });
    expect(ctxAccess(6, xm('data'), 4, true).ok).toBe(false);
    expect(ctxAccess(6, xm('egress_ifindex'), 4, false).ok).toBe(false);
    expect(ctxAccess(6, 24, 4, false).ok).toBe(false);
    expect(() => ctxAccess(99, 0, 4, false)).toThrow(KfError);
  });

  it('conversion remaps jumps around expanded instructions', () => {
    const prog = [jeqk(1, 0, 2), ldxw(0, 1, sk('vlan_present')), ja(1), mov(0, 7), exit];
    const pcs = findCtxAccesses(prog);
    expect([...pcs]).toEqual([1]);
    const c = convertCtxAccesses(prog, 3, pcs);
    expect(c.insns.length).toBe(7);
    expect(c.newIndex.slice(0, 5)).toEqual([0, 1, 4, 5, 6]);
    expect(c.insns[0].off).toBe(4); // to the old insn 3 = new 5
    expect(c.insns[4].off).toBe(1);
  });

  it('rejects mixed pointers and BPF_ST into ctx', () => {
    const mixed = [jeqk(2, 0, 1), movr(1, 10), ldxw(0, 1, -8), exit];
    expect(() => findCtxAccesses(mixed)).toThrow(/different pointers/);
    expect(() => convertCtxAccesses([insn(0x62, 1, 0, sk('mark'), 1), exit], 3, new Set([0]))).toThrow(/BPF_ST/);
  });
});

describe('testRun (interpreter)', () => {
  it('tc reads len, pkt_type, protocol; socket filter sees L3 length', () => {
    const data = pkt(100);
    data.fill(0xff, 0, 6); // broadcast
    data[12] = 0x08;
    data[13] = 0x00;
    const prog = [ldxw(0, 1, sk('len')), ldxw(2, 1, sk('pkt_type')), insn(0x27, 2, 0, 0, 1000), insn(0x0f, 0, 2, 0, 0), exit];
    expect(testRun(prog, { progType: 3, data }).retval).toBe(100 + 1000);
    expect(testRun(prog, { progType: 1, data }).retval).toBe(86 + 1000);
    const proto = [ldxw(0, 1, sk('protocol')), exit];
    expect(testRun(proto, { progType: 3, data }).retval).toBe(0x0008); // network order, as the kernel
  });

  it('tc writes mark and cb; ctxIn/ctxOut round trip', () => {
    const prog = [mov(2, 42), stxw(1, 2, sk('mark')), ldxw(3, 1, sk('cb') + 8), addk(3, 1), stxw(1, 3, sk('cb') + 8), mov(0, 0), exit];
    const ctxIn = new Uint8Array(S.sizeof('__sk_buff'));
    new DataView(ctxIn.buffer).setUint32(sk('cb') + 8, 41, true);
    const r = testRun(prog, { progType: 3, data: pkt(64), ctxIn });
    const out = new DataView(r.ctxOut.buffer);
    expect(out.getUint32(sk('mark'), true)).toBe(42);
    expect(out.getUint32(sk('cb') + 8, true)).toBe(42);
    expect(() => testRun(prog, { progType: 1, data: pkt(64) })).toThrow(/invalid bpf_context access/);
  });

  it('xdp: data_end - data, linear part only, ingress_ifindex through rxq->dev', () => {
    const prog = [ldxw(2, 1, xm('data')), ldxw(0, 1, xm('data_end')), subr(0, 2), ldxw(3, 1, xm('ingress_ifindex')), insn(0x27, 3, 0, 0, 1000), insn(0x0f, 0, 3, 0, 0), exit];
    expect(testRun(prog, { progType: 6, data: pkt(64) }).retval).toBe(64 + 1000);
    expect(testRun(prog, { progType: 6, data: pkt(64), nonLinear: { linearLen: 20 }, frags: [20, 24] }).retval).toBe(20 + 1000);
  });

  it('xdp_adjust_head changes data and dataOut', () => {
    const prog = [movr(6, 1), mov(2, 14), call(44), movr(1, 6), ldxw(2, 1, xm('data')), ldxb(0, 2, 0), exit];
    const data = pkt(64);
    const r = testRun(prog, { progType: 6, data });
    expect(r.retval).toBe(data[14]);
    expect(r.dataOut).toEqual(data.subarray(14));
  });

  it('kfuncs by BTF id: bpf_dynptr_from_skb + bpf_dynptr_slice on a non-linear skb', () => {
    const k = new ModelKernel(new AddressSpace());
    const prog = (off: number, withBuf: boolean): Insn[] => [
      movr(6, 1),
      mov(2, 0), movr(3, 10), addk(3, -16), call(k.kfuncId('bpf_dynptr_from_skb'), 2),
      movr(1, 10), addk(1, -16), mov(2, off), movr(3, 10), addk(3, -32), mov(4, 4),
      ...(withBuf ? [] : [mov(3, 0)]),
      call(k.kfuncId('bpf_dynptr_slice'), 2),
      jeqk(0, 0, 2), ldxb(0, 0, 0), exit,
      mov(0, 999), exit,
    ];
    const data = pkt(100);
    expect(testRun(prog(20, true), { progType: 3, data, kernel: k, nonLinear: { linearLen: 14 } }).retval).toBe(data[20]);
    expect(testRun(prog(12, true), { progType: 3, data, kernel: k, nonLinear: { linearLen: 14 }, frags: [40, 46] }).retval).toBe(data[12]);
    expect(testRun(prog(20, false), { progType: 3, data, kernel: k, nonLinear: { linearLen: 14 } }).retval).toBe(999);
    expect(testRun(prog(5, false), { progType: 3, data, kernel: k, nonLinear: { linearLen: 14 } }).retval).toBe(data[5]);
    expect(testRun(prog(97, true), { progType: 3, data, kernel: k }).retval).toBe(999);
  });

  it('maps through ld_imm64 MAP_FD and lookup/update', () => {
    // key = 1 at fp-4; v = lookup(map, &key); if (!v) return 77; *v += 5; return *v
    const prog = [
      mov(2, 1), stxw(10, 2, -4),
      insn(0x18, 1, 1, 0, 1), insn(0, 0, 0, 0, 0),
      movr(2, 10), addk(2, -4), call(1),
      jeqk(0, 0, 5), ldxw(1, 0, 0), addk(1, 5), stxw(0, 1, 0), ldxw(0, 0, 0), exit,
      mov(0, 77), exit,
    ];
    const k = new ModelKernel(new AddressSpace());
    const m = k.maps.create({ type: 'array', keySize: 4, valueSize: 4, maxEntries: 2 });
    expect(testRun(prog, { progType: 3, data: pkt(20), kernel: k, repeat: 3 }).retval).toBe(15);
    expect(m.lookupBytes(Uint8Array.of(1, 0, 0, 0))).toEqual(Uint8Array.of(15, 0, 0, 0));
    expect(testRun(prog, { progType: 3, data: pkt(20), maps: [{ type: 'hash', keySize: 4, valueSize: 4, maxEntries: 2 }] }).retval).toBe(77);
  });

  it('bad inputs raise KfError', () => {
    expect(() => testRun([mov(0, 0), exit], { progType: 2, data: pkt(20) })).toThrow(KfError);
    expect(() => testRun([mov(0, 0), exit], { progType: 3, data: pkt(10) })).toThrow(KfError);
    expect(() => testRun([mov(0, 0), exit], { progType: 3, data: pkt(20), nonLinear: { linearLen: 30 } })).toThrow(KfError);
    expect(() => testRun([mov(0, 0), exit], { progType: 6, data: pkt(20), nonLinear: { linearLen: 2 }, frags: [9] })).toThrow(KfError);
    expect(() => testRun([mov(0, 0), exit], { progType: 3, data: pkt(20), engine: 'wasm' as 'jit' })).toThrow(KfError);
    expect(() => testRun([mov(0, 0), exit], { progType: 3, data: pkt(20), repeat: 0 })).toThrow(KfError);
  });
});
