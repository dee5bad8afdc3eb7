// ctxAccess() (src/kernel/ctx-access.ts) against the running kernel: for every
// program type the table has (and every expected_attach_type its rules look
// at), every aligned and misaligned read, sign-extending read and write of
// every size at every offset of the ctx (and just past its end) is accepted by
// the model exactly when BPF_PROG_LOAD accepts `r0 = *(size *)(r1 + off)` /
// `r0 = *(s size *)(r1 + off)` / `*(size *)(r1 + off) = r2`. A program type the
// kernel here cannot load at all is skipped with the reason printed.
// The ctx structs written out as constants (not in the model BTF) are compared
// with the running kernel's BTF. The verifier (verify()) is held to the same
// verdicts (for the tracepoint record: its 8-byte accesses).
import { describe, expect, it } from 'vitest';
import { insn, type Insn } from '../../src/isa/insn.js';
import {
  BPF_PERF_EVENT_DATA, BPF_PERF_EVENT_DATA_SIZE, BPF_SOCK, BPF_SOCK_SIZE, CTX_PROG_TYPES, ctxAccess, ctxSize, PT_REGS_SIZE, uapiFields,
} from '../../src/kernel/ctx-access.js';
import { StructLayouts } from '../../src/kernel/layout.js';
import { closeFd, errnoName, progLoad, vmlinuxBtf } from '../../src/oracle/index.js';
import { verify } from '../../src/verifier/index.js';
import { NO_BPF, bpfNote } from '../oracle/env.js';

const SZ: Record<number, number> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };
const ldx = (size: number, off: number): Insn => insn(0x61 | SZ[size], 0, 1, off, 0);
/** BPF_LDX | BPF_MEMSX */
const ldsx = (size: number, off: number): Insn => insn(0x81 | SZ[size], 0, 1, off, 0);
const stx = (size: number, off: number): Insn => insn(0x63 | SZ[size], 1, 2, off, 0);
const mov = (d: number, imm: number): Insn => insn(0xb7, d, 0, 0, imm);
const exit = insn(0x95, 0, 0, 0, 0);

type Kind = 'read' | 'ldsx' | 'write';
const prog = (kind: Kind, size: number, off: number): Insn[] =>
  kind === 'write' ? [mov(2, 0), stx(size, off), mov(0, 0), exit] : [kind === 'ldsx' ? ldsx(size, off) : ldx(size, off), mov(0, 0), exit];

async function loads(progType: number, attach: number, insns: Insn[]): Promise<{ ok: boolean; errno: number }> {
  const r = await progLoad({ progType, expectedAttachType: attach, insns, license: 'GPL', logLevel: 0 });
  if (r.fd >= 0) await closeFd(r.fd);
  return { ok: r.fd >= 0, errno: r.errno };
}

/**
 * The offsets checked for one size: every multiple of `size` and every
 * misaligned start in the first 16 bytes, up to 8 bytes past the end.
 */
function offsets(total: number, size: number): number[] {
  const out: number[] = [];
  for (let off = 0; off < total + 8; off += size) out.push(off);
  for (let off = 1; off < 16; off++) if (off % size) out.push(off);
  return out;
}

describe.skipIf(NO_BPF)(`ctx access rules equal the kernel's${bpfNote}`, () => {
  for (const pt of CTX_PROG_TYPES) {
    for (const attach of pt.attachTypes) {
      it(`program type ${pt.id} (${pt.name}, ${pt.ctx}${attach ? `, expected_attach_type ${attach}` : ''})`, async (t) => {
        const probe = await loads(pt.id, attach, [mov(0, 0), exit]);
        if (!probe.ok) {
          console.log(`skipped ${pt.name} (attach ${attach}): the kernel here refuses even "r0 = 0; exit" (${errnoName(probe.errno)})`);
          t.skip();
          return;
        }
        const diffs: string[] = [];
        let n = 0;
        let accepted = 0;
        const total = ctxSize(pt.id);
        const kinds: Kind[] = pt.ctx === 'trace record' ? ['read', 'write'] : ['read', 'ldsx', 'write'];
        for (const size of [1, 2, 4, 8]) {
          for (const off of offsets(total, size)) {
            for (const kind of kinds) {
              if (kind === 'ldsx' && size === 8) continue; // no 8-byte BPF_MEMSX
              const k = await loads(pt.id, attach, prog(kind, size, off));
              const m = ctxAccess(pt.id, off, size, kind === 'write', undefined, { attach, ldsx: kind === 'ldsx' });
              n++;
              if (k.ok) accepted++;
              if (m.ok !== k.ok) diffs.push(`off ${off} size ${size} ${kind}: kernel ${k.ok ? 'accepts' : 'refuses'}, model ${m.ok ? 'accepts' : `refuses (${m.reason})`}`);
              // the verifier's check_ctx_access() (src/verifier/check/mem.ts) reads the same table
              if (size === 8 || pt.ctx !== 'trace record') {
                const v = verify({ insns: prog(kind, size, off), progType: pt.id, expectedAttachType: attach, btfFuncInfo: false });
                if (v.accepted !== k.ok) diffs.push(`off ${off} size ${size} ${kind}: kernel ${k.ok ? 'accepts' : 'refuses'}, verifier ${v.accepted ? 'accepts' : `refuses (${v.error})`}`);
              }
            }
          }
        }
        console.log(`${pt.name}${attach ? ` attach ${attach}` : ''}: ${n} accesses, ${accepted} accepted by the kernel, ${diffs.length} differences`);
        expect(n).toBeGreaterThan(total);
        expect(accepted).toBeGreaterThan(0);
        expect(accepted).toBeLessThan(n);
        expect(diffs.slice(0, 40)).toEqual([]);
      });
    }
  }
});

/** The running kernel's BTF, or why it cannot be read. */
function kernelStructs(): StructLayouts | string {
  try {
    return new StructLayouts(vmlinuxBtf());
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
const K = kernelStructs();
const noBtf = typeof K === 'string' ? ` [skipped: ${K}]` : '';

describe.skipIf(typeof K === 'string')(`ctx struct layouts equal the running kernel's BTF${noBtf}`, () => {
  const S = K as StructLayouts;
  it('__sk_buff and xdp_md of the model BTF', () => {
    const u = uapiFields();
    expect(u.skbSize).toBe(S.sizeof('__sk_buff'));
    expect(u.xdpSize).toBe(S.sizeof('xdp_md'));
    for (const f of u.skb) expect({ name: f.name, off: f.off, size: f.size }).toEqual({ name: f.name, off: S.field('__sk_buff', f.name).off, size: S.field('__sk_buff', f.name).size });
    for (const f of u.xdp) expect({ name: f.name, off: f.off, size: f.size }).toEqual({ name: f.name, off: S.field('xdp_md', f.name).off, size: S.field('xdp_md', f.name).size });
  });

  it('bpf_sock, pt_regs and bpf_perf_event_data (written out: not in the model BTF)', () => {
    expect(BPF_SOCK_SIZE).toBe(S.sizeof('bpf_sock'));
    for (const f of BPF_SOCK) expect(f).toEqual({ name: f.name, off: S.field('bpf_sock', f.name).off, size: S.field('bpf_sock', f.name).size });
    expect(PT_REGS_SIZE).toBe(S.sizeof('pt_regs'));
    expect(BPF_PERF_EVENT_DATA_SIZE).toBe(S.sizeof('bpf_perf_event_data'));
    for (const f of BPF_PERF_EVENT_DATA) expect(f).toEqual({ name: f.name, off: S.field('bpf_perf_event_data', f.name).off, size: S.field('bpf_perf_event_data', f.name).size });
  });
});
