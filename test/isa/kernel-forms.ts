// A socket filter that the 6.18 verifier accepts and that uses every instruction
// form, for comparing disasmKernel() with the verifier log (kernel_log.py).
// Helper 1 is bpf_map_lookup_elem; kfuncs are looked up in /sys/kernel/btf/vmlinux.

import { insn as I, type Insn } from '../../src/isa/insn.js';

export function kernelFormsProgram(kfuncIds: { lock: number; unlock: number }): Insn[] {
  const p: Insn[] = [];
  const e = (code: number, dst: number, src: number, off: number, imm: number): void => {
    p.push(I(code, dst, src, off, imm));
  };
  e(0xbf, 6, 1, 0, 0); // r6 = r1
  e(0xb7, 0, 0, 0, 0); // r0 = 0
  e(0xb4, 0, 0, 0, 1); // w0 = 1
  e(0xb7, 7, 0, 0, 5); // r7 = 5
  for (const op of [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xc0]) e(0x07 | op, 7, 0, 0, op === 0x00 ? -8 : 3);
  e(0x87, 7, 0, 0, 0); // r7 = -r7
  e(0xbc, 8, 7, 0, 0); // w8 = w7
  for (const op of [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xc0]) e(0x0c | op, 8, 7, 0, 0);
  for (const op of [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xc0]) e(0x04 | op, 8, 0, 0, 2);
  e(0x84, 8, 0, 0, 0); // w8 = -w8
  for (const op of [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xc0]) e(0x0f | op, 8, 7, 0, 0);
  e(0xbf, 8, 7, 0, 0); // r8 = r7
  e(0x3f, 8, 7, 1, 0); // r8 s/= r7
  e(0x9f, 8, 7, 1, 0); // r8 s%= r7
  e(0x37, 8, 0, 1, 3); // r8 s/= 3
  e(0x94, 8, 0, 1, -3); // w8 s%= -3
  e(0xbf, 8, 7, 8, 0); // r8 = (s8)r7
  e(0xbf, 8, 7, 16, 0);
  e(0xbf, 8, 7, 32, 0);
  e(0xbc, 8, 7, 8, 0); // w8 = (s8)w7
  e(0xbc, 8, 7, 16, 0);
  e(0xdc, 8, 0, 0, 16); // r8 = be16 r8
  e(0xdc, 8, 0, 0, 64);
  e(0xd4, 8, 0, 0, 32); // r8 = le32 r8
  e(0xd7, 8, 0, 0, 16); // r8 = bswap16 r8
  e(0xd7, 8, 0, 0, 64);
  e(0x7b, 10, 7, -8, 0); // *(u64 *)(r10 -8) = r7
  e(0x62, 10, 0, -16, 5); // *(u32 *)(r10 -16) = 5
  e(0x6a, 10, 0, -12, -2); // *(u16 *)(r10 -12) = -2
  e(0x72, 10, 0, -10, 7); // *(u8 *)(r10 -10) = 7
  e(0x73, 10, 7, -9, 0); // *(u8 *)(r10 -9) = r7
  e(0x6b, 10, 7, -24, 0); // *(u16 *)(r10 -24) = r7
  e(0x63, 10, 7, -20, 0); // *(u32 *)(r10 -20) = r7
  e(0x79, 2, 10, -8, 0); // r2 = *(u64 *)(r10 -8)
  e(0x61, 2, 10, -16, 0);
  e(0x69, 2, 10, -16, 0);
  e(0x71, 2, 10, -16, 0);
  e(0x81, 2, 10, -16, 0); // r2 = *(s32 *)(r10 -16)
  e(0x89, 2, 10, -16, 0);
  e(0x91, 2, 10, -16, 0);
  e(0xdb, 10, 7, -8, 0x00); // lock *(u64 *)(r10 -8) += r7
  e(0xdb, 10, 7, -8, 0x40);
  e(0xdb, 10, 7, -8, 0x50);
  e(0xdb, 10, 7, -8, 0xa0);
  e(0xc3, 10, 7, -16, 0x00); // lock *(u32 *)(r10 -16) += r7
  e(0xbf, 3, 7, 0, 0); // r3 = r7
  for (const imm of [0x01, 0x41, 0x51, 0xa1, 0xe1]) e(0xdb, 10, 3, -8, imm);
  for (const imm of [0x01, 0x41, 0x51, 0xa1, 0xe1]) e(0xc3, 10, 3, -16, imm);
  e(0xdb, 10, 3, -8, 0xf1); // r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r3)
  e(0xc3, 10, 3, -16, 0xf1);
  e(0xdb, 4, 10, -8, 0x100); // r4 = load_acquire((u64 *)(r10 -8))
  e(0xd3, 4, 10, -16, 0x100); // r4 = load_acquire((u8 *)(r10 -16))
  e(0xcb, 4, 10, -16, 0x100);
  e(0xc3, 4, 10, -16, 0x100);
  e(0xdb, 10, 4, -8, 0x110); // store_release((u64 *)(r10 -8), r4)
  e(0xd3, 10, 4, -16, 0x110);
  e(0xcb, 10, 4, -16, 0x110);
  e(0xc3, 10, 4, -16, 0x110);
  e(0x30, 0, 0, 0, 0); // r0 = *(u8 *)skb[0]
  e(0x28, 0, 0, 0, 2); // r0 = *(u16 *)skb[2]
  e(0x20, 0, 0, 0, 4); // r0 = *(u32 *)skb[4]
  e(0x50, 0, 7, 0, 1); // r0 = *(u8 *)skb[r7 + 1]
  e(0x48, 0, 7, 0, 0);
  e(0x40, 0, 7, 0, -4);
  e(0xb7, 8, 0, 0, 9); // r8 = 9
  for (const op of [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0]) {
    e(0x05 | op, 7, 0, 0, op === 0x20 ? 100 : -1); // if r7 > 0x64 goto pc+0
    e(0x0d | op, 7, 8, 0, 0); // if r7 != r8 goto pc+0
    e(0x06 | op, 7, 0, 0, 0x7fffffff);
    e(0x0e | op, 7, 8, 0, 0);
  }
  e(0x05, 0, 0, 0, 0); // goto pc+0
  e(0x06, 0, 0, 0, 0); // gotol pc+0
  e(0xe5, 0, 0, 1, 0); // may_goto pc+1
  e(0x05, 0, 0, 0, 0); // goto pc+0
  e(0x18, 1, 0, 0, 0x55667788); // r1 = 0x1122334455667788
  e(0x00, 0, 0, 0, 0x11223344);
  e(0x18, 2, 0, 0, -1); // r2 = 0xffffffff
  e(0x00, 0, 0, 0, 0);
  e(0x62, 10, 0, -32, 0); // *(u32 *)(r10 -32) = 0
  e(0x18, 1, 1, 0, 0); // r1 = map fd (patched)
  e(0x00, 0, 0, 0, 0);
  e(0xbf, 2, 10, 0, 0); // r2 = r10
  e(0x07, 2, 0, 0, -32); // r2 += -32
  e(0x85, 0, 0, 0, 1); // call bpf_map_lookup_elem#1
  e(0x85, 0, 0, 0, 5); // call bpf_ktime_get_ns#5
  e(0x85, 0, 2, 0, kfuncIds.lock); // call bpf_rcu_read_lock#id
  e(0x85, 0, 2, 0, kfuncIds.unlock);
  const callAt = p.length;
  e(0x85, 0, 1, 0, 0); // call pc+N (patched below)
  e(0xb7, 0, 0, 0, 0); // r0 = 0
  e(0x95, 0, 0, 0, 0); // exit
  const sub = p.length;
  p[callAt] = I(0x85, 0, 1, 0, sub - callAt - 1);
  e(0xb7, 0, 0, 0, 1); // r0 = 1
  e(0x95, 0, 0, 0, 0);
  return p;
}
