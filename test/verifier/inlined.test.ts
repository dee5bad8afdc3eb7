// Re-verification of inlined programs (verify(prog, { inlined })): hand-made
// regions of kernel code standing for kfunc calls.
import { describe, expect, it } from 'vitest';
import type { Insn } from '../../src/isa/insn.js';
import { verify } from '../../src/verifier/verify.js';
import { KfError } from '../../src/util/errors.js';
import { asmWithKfuncs, modelId } from './kfunc-util.js';

const TC = 3;
const asm = (src: string): Insn[] => asmWithKfuncs(src, modelId);

// bpf_dynptr_from_skb(skb, 0, fp-16) stood for by a small body: writes the
// dynptr's 16 bytes through r3 (data = the skb, size word, offset), returns 0.
const CALLER_HEAD = 'r6 = 7; r1 = r1; r2 = 0; r3 = r10; r3 += -16';
const HEAD_LEN = 5;
const FROM_SKB_BODY = 'r4 = *(u32 *)(r1 +0); w4 |= 805306368; *(u64 *)(r3 +0) = r1; *(u32 *)(r3 +8) = r4; *(u32 *)(r3 +12) = r2; w0 = 0';
const BODY_LEN = 6;
// after the region: the dynptr is an initialised skb dynptr for the program
const TAIL = 'r1 = r10; r1 += -16; call bpf_dynptr_size; r0 = r6; exit';

function region(len = BODY_LEN, extra: object = {}) {
  return [{ start: HEAD_LEN, end: HEAD_LEN + len, kfunc: 'bpf_dynptr_from_skb', btfId: modelId('bpf_dynptr_from_skb'), ...extra }];
}

function run(body: string, len: number, opts: { tail?: string; stackBase?: number; head?: string; headLen?: number } = {}) {
  const head = opts.head ?? CALLER_HEAD;
  const headLen = opts.headLen ?? HEAD_LEN;
  const insns = asm(`${head}; ${body}; ${opts.tail ?? TAIL}`);
  const inlined = [{ start: headLen, end: headLen + len, kfunc: 'bpf_dynptr_from_skb', btfId: modelId('bpf_dynptr_from_skb'), ...(opts.stackBase !== undefined && { stackBase: opts.stackBase }) }];
  return { insns, r: verify({ insns, progType: TC }, { inlined, logLevel: 2 }) };
}

describe('verify with inlined regions', () => {
  it('accepts a region that initialises the dynptr; the program sees the call\'s effects', () => {
    const { insns, r } = run(FROM_SKB_BODY, BODY_LEN);
    expect(r.error).toBeUndefined();
    expect(r.accepted).toBe(true);
    // the region's own instructions were explored (kernel mode) and counted
    for (let i = HEAD_LEN; i < HEAD_LEN + BODY_LEN; i++) expect(r.reached[i], `slot ${i}`).toBe(1);
    expect(r.inlinedProcessed).toBe(BODY_LEN);
    expect(r.processed).toBeGreaterThan(BODY_LEN + HEAD_LEN);
    // loads through the distilled skb pointer are kernel values
    expect(r.log).toMatch(/r4 = \*\(u32 \*\)\(r1 \+0\)\s+; R1=kernel_value\(\) R4=kernel_value\(\)/);
    // the same instructions without the region marked: the skb is ctx, a u32 at +0 is len, but
    // storing the ctx pointer into a dynptr and calling bpf_dynptr_size on junk is rejected
    const plain = verify({ insns, progType: TC });
    expect(plain.accepted).toBe(false);
  });

  it('r0 after the region is the kfunc\'s return type, r1..r5 are clobbered, r6..r9 preserved', () => {
    const bad = run(FROM_SKB_BODY, BODY_LEN, { tail: 'r0 = r2; exit' });
    expect(bad.r.error).toBe('R2 !read_ok');
    const ok = run(FROM_SKB_BODY, BODY_LEN, { tail: 'if r0 != 0 goto +1; r0 = r6; exit' });
    expect(ok.r.error).toBeUndefined();
  });

  it('applies the call\'s argument checks at the region\'s first slot', () => {
    // flags passed as a pointer
    const { r } = run(FROM_SKB_BODY, BODY_LEN, { head: 'r6 = 7; r1 = r1; r2 = r10; r3 = r10; r3 += -16' });
    expect(r.accepted).toBe(false);
    expect(r.error).toBe('R2 is not a scalar');
  });

  it('rejects a body writing below 512 bytes of stack', () => {
    const { r } = run(`${FROM_SKB_BODY}; *(u64 *)(r10 -520) = r2`, BODY_LEN + 1);
    expect(r.error).toBe(`inlined bpf_dynptr_from_skb (insns 5..11): insn 11 writes fp-520 size 8, outside the 512-byte stack`);
  });

  it('rejects a body writing into the caller\'s slots in use', () => {
    const head = 'r6 = 7; *(u64 *)(r10 -24) = r6; r2 = 0; r3 = r10; r3 += -16';
    const { r } = run(`${FROM_SKB_BODY}; *(u64 *)(r10 -24) = r2`, BODY_LEN + 1, { head });
    expect(r.error).toMatch(/insn 11 writes fp-24 size 8: the program's stack slot fp-24 is in use$/);
    // reads too
    const rd = run(`${FROM_SKB_BODY}; r5 = *(u64 *)(r10 -24)`, BODY_LEN + 1, { head });
    expect(rd.r.error).toMatch(/insn 11 reads fp-24 size 8: the program's stack slot fp-24 is in use$/);
  });

  it('with stackBase, rejects any access into the caller\'s bytes, allows the body\'s own frame below', () => {
    const own = run(`${FROM_SKB_BODY}; *(u64 *)(r10 -40) = r2; r5 = *(u64 *)(r10 -40)`, BODY_LEN + 2, { stackBase: 32 });
    expect(own.r.error).toBeUndefined();
    // the body's frame counts in the program's stack depth
    expect(own.r.stackDepth[0]).toBe(40);
    const caller = run(`${FROM_SKB_BODY}; *(u64 *)(r10 -32) = r2`, BODY_LEN + 1, { stackBase: 32 });
    expect(caller.r.error).toMatch(/insn 11 writes fp-32 size 8, inside the caller's 32 bytes of stack$/);
  });

  it('rejects writing beyond the dynptr it was given', () => {
    const { r } = run(`${FROM_SKB_BODY}; *(u64 *)(r3 +16) = r2`, BODY_LEN + 1, { stackBase: 16 });
    expect(r.error).toMatch(/insn 11 writes fp0 size 8, outside the 512-byte stack$/);
    const across = run(`${FROM_SKB_BODY}; *(u64 *)(r3 +12) = r2`, BODY_LEN + 1);
    expect(across.r.error).toMatch(/writes fp-4 size 8 across the bounds of a stack object$/);
  });

  it('callee-saved spills: restored registers stay, the spill slot is protected, unrestored ones are clobbered', () => {
    const spillBody = `*(u64 *)(r10 -24) = r6; ${FROM_SKB_BODY}; r6 = 1; r6 = *(u64 *)(r10 -24)`;
    const ok = run(spillBody, BODY_LEN + 3);
    expect(ok.r.error).toBeUndefined();
    const over = run(`*(u64 *)(r10 -24) = r6; ${FROM_SKB_BODY}; *(u64 *)(r10 -24) = r2; r6 = *(u64 *)(r10 -24)`, BODY_LEN + 3);
    expect(over.r.error).toMatch(/insn 12 overwrites the spill slot of r6 at fp-24$/);
    // r6 changed without a spill: the program may not read it after the region
    const clob = run(`${FROM_SKB_BODY}; r6 = 1`, BODY_LEN + 1);
    expect(clob.r.error).toBe('R6 !read_ok');
  });

  it('rejects a stack pointer stored into kernel memory', () => {
    const { r } = run(`${FROM_SKB_BODY}; r5 = r10; *(u64 *)(r3 +0) = r5`, BODY_LEN + 2);
    expect(r.error).toMatch(/insn 12 stores a stack pointer \(R5\) into kernel memory$/);
  });

  it('rejects exits, helper calls and jumps out of the region', () => {
    expect(run(`${FROM_SKB_BODY}; if r2 == 0 goto +1; exit`, BODY_LEN + 2).r.error).toMatch(/exit at insn 12 inside the region/);
    expect(run(`${FROM_SKB_BODY}; call 7`, BODY_LEN + 1).r.error).toMatch(/helper call at insn 11 inside the region/);
    expect(run(`${FROM_SKB_BODY}; if r2 == 0 goto +1`, BODY_LEN + 1).r.error).toMatch(/jump at insn 11 to 13 leaves the region/);
  });

  it('a kernel pointer passed to a kernel internal is fine, a stack pointer is not', () => {
    const { r } = run(`${FROM_SKB_BODY}; r1 = r3; call bpf_dynptr_size`, BODY_LEN + 2);
    expect(r.error).toMatch(/R1 type=fp expected=scalar, kernel_value/);
  });

  it('bad region descriptions are KfErrors', () => {
    const insns = asm(`${CALLER_HEAD}; ${FROM_SKB_BODY}; ${TAIL}`);
    const bad = (inlined: object[]) => () => verify({ insns, progType: TC }, { inlined: inlined as never });
    expect(bad([{ start: 5, end: 100, kfunc: 'x', btfId: 1 }])).toThrow(KfError);
    expect(bad([...region(), ...region()])).toThrow(/overlaps/);
    expect(bad([{ ...region()[0], btfId: 1 }])).toThrow(/is not a function/);
  });
});
