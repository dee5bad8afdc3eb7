// Raw decode/encode between bytes and instruction slots. Round-trips exactly:
// encode(decode(b)) is b for every byte string whose length is a multiple of 8.
// Semantic validation (is this a valid instruction?) lives in validate.ts.

import { KfError } from '../util/errors.js';
import { INSN_SIZE, type Insn } from './insn.js';

export function decodeInsns(bytes: Uint8Array): Insn[] {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new KfError(
      `program length ${bytes.length} is not a multiple of ${INSN_SIZE} (trailing ${bytes.length % INSN_SIZE} bytes at offset ${bytes.length - (bytes.length % INSN_SIZE)})`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length / INSN_SIZE;
  const out = new Array<Insn>(n);
  for (let i = 0; i < n; i++) {
    const o = i * INSN_SIZE;
    const regs = bytes[o + 1];
    out[i] = {
      code: bytes[o],
      dst: regs & 0xf,
      src: regs >> 4,
      off: dv.getInt16(o + 2, true),
      imm: dv.getInt32(o + 4, true),
    };
  }
  return out;
}

export function encodeInsns(insns: readonly Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * INSN_SIZE);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < insns.length; i++) {
    const x = insns[i];
    const o = i * INSN_SIZE;
    out[o] = x.code & 0xff;
    out[o + 1] = (x.dst & 0xf) | ((x.src & 0xf) << 4);
    dv.setInt16(o + 2, x.off, true);
    dv.setInt32(o + 4, x.imm | 0, true);
  }
  return out;
}

/** Hex of the program bytes, as the kernel-verifier JSONL suite stores it. */
export function insnsFromHex(hexstr: string): Insn[] {
  const clean = hexstr.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new KfError('program hex is not an even-length hex string');
  }
  const b = new Uint8Array(clean.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(clean.substr(i * 2, 2), 16);
  return decodeInsns(b);
}
