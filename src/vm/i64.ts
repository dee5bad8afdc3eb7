// 64-bit integer arithmetic on pairs of int32 halves, for the interpreter.
//
// A register file is an Int32Array with register r at [2r] (low half) and
// [2r+1] (high half). Operations write their result into R[d], R[d+1].
// Every function here is small so that the JIT-compiling JS engine inlines it.

const TWO32 = 4294967296;

export function add64(R: Int32Array, d: number, bl: number, bh: number): void {
  const lo = (R[d] >>> 0) + (bl >>> 0);
  R[d] = lo | 0;
  R[d + 1] = (R[d + 1] + bh + (lo >= TWO32 ? 1 : 0)) | 0;
}

export function sub64(R: Int32Array, d: number, bl: number, bh: number): void {
  const lo = (R[d] >>> 0) - (bl >>> 0);
  R[d] = lo | 0;
  R[d + 1] = (R[d + 1] - bh - (lo < 0 ? 1 : 0)) | 0;
}

export function neg64(R: Int32Array, d: number): void {
  const lo = R[d];
  R[d] = -lo | 0;
  R[d + 1] = (~R[d + 1] + (lo === 0 ? 1 : 0)) | 0;
}

/** High 32 bits of the unsigned product a*b. */
export function mulhiU32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const mid = ((a0 * b0) >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) | 0;
}

export function mul64(R: Int32Array, d: number, bl: number, bh: number): void {
  const al = R[d];
  const ah = R[d + 1];
  R[d + 1] = (mulhiU32(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
  R[d] = Math.imul(al, bl);
}

export function lsh64(R: Int32Array, d: number, n: number): void {
  n &= 63;
  if (n === 0) return;
  const lo = R[d];
  if (n < 32) {
    R[d + 1] = (R[d + 1] << n) | (lo >>> (32 - n));
    R[d] = lo << n;
  } else {
    R[d + 1] = lo << (n - 32);
    R[d] = 0;
  }
}

export function rsh64(R: Int32Array, d: number, n: number): void {
  n &= 63;
  if (n === 0) return;
  const hi = R[d + 1];
  if (n < 32) {
    R[d] = (R[d] >>> n) | (hi << (32 - n));
    R[d + 1] = hi >>> n;
  } else {
    R[d] = hi >>> (n - 32);
    R[d + 1] = 0;
  }
}

export function arsh64(R: Int32Array, d: number, n: number): void {
  n &= 63;
  if (n === 0) return;
  const hi = R[d + 1];
  if (n < 32) {
    R[d] = (R[d] >>> n) | (hi << (32 - n));
    R[d + 1] = hi >> n;
  } else {
    R[d] = hi >> (n - 32);
    R[d + 1] = hi >> 31;
  }
}

const SMALL_LIMIT = 4096;
const SMALL: bigint[] = Array.from({ length: SMALL_LIMIT }, (_, i) => BigInt(i));

/** The unsigned 64-bit value of the halves lo, hi; small values (offsets, sizes, NULL) come from a table and allocate nothing. */
export const toU64 = (lo: number, hi: number): bigint => {
  if (hi === 0) {
    const u = lo >>> 0;
    return u < SMALL_LIMIT ? SMALL[u] : BigInt(u);
  }
  if (hi >>> 0 < 0x20_0000) return BigInt((hi >>> 0) * 4294967296 + (lo >>> 0));
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
};
const toS64 = (lo: number, hi: number): bigint => (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0);

export function setBig(R: Int32Array, d: number, v: bigint): void {
  // values of magnitude below 2^53 convert exactly through a number
  if (v > -9007199254740992n && v < 9007199254740992n) {
    const x = Number(v);
    R[d] = x | 0;
    R[d + 1] = Math.floor(x / 4294967296) | 0;
    return;
  }
  R[d] = Number(BigInt.asIntN(32, v));
  R[d + 1] = Number(BigInt.asIntN(32, v >> 32n));
}

/** BPF division: x/0 = 0; signed INT_MIN/-1 = INT_MIN (wraps). */
export function div64(R: Int32Array, d: number, bl: number, bh: number, signed: boolean): void {
  if (bl === 0 && bh === 0) {
    R[d] = 0;
    R[d + 1] = 0;
  } else if (!signed && bh === 0 && R[d + 1] === 0) {
    R[d] = Math.floor((R[d] >>> 0) / (bl >>> 0)) | 0;
  } else if (signed) {
    setBig(R, d, toS64(R[d], R[d + 1]) / toS64(bl, bh));
  } else {
    setBig(R, d, toU64(R[d], R[d + 1]) / toU64(bl, bh));
  }
}

/** BPF modulo: x%0 = x; the sign of a signed result follows the dividend. */
export function mod64(R: Int32Array, d: number, bl: number, bh: number, signed: boolean): void {
  if (bl === 0 && bh === 0) return;
  if (!signed && bh === 0 && R[d + 1] === 0) {
    R[d] = (R[d] >>> 0) % (bl >>> 0) | 0;
  } else if (signed) {
    setBig(R, d, toS64(R[d], R[d + 1]) % toS64(bl, bh));
  } else {
    setBig(R, d, toU64(R[d], R[d + 1]) % toU64(bl, bh));
  }
}

export function div32(a: number, b: number, signed: boolean): number {
  if (b === 0) return 0;
  return signed ? ((a | 0) / (b | 0)) | 0 : Math.floor((a >>> 0) / (b >>> 0)) | 0;
}

export function mod32(a: number, b: number, signed: boolean): number {
  if (b === 0) return a | 0;
  return signed ? (a | 0) % (b | 0) | 0 : (a >>> 0) % (b >>> 0) | 0;
}

export const bswap16 = (x: number): number => ((x & 0xff) << 8) | ((x >>> 8) & 0xff);
export const bswap32 = (x: number): number =>
  ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | ((x >>> 24) & 0xff);

/** Unsigned a > b for (ah:al) and (bh:bl). */
export const gtU = (al: number, ah: number, bl: number, bh: number): boolean =>
  ah !== bh ? ah >>> 0 > bh >>> 0 : al >>> 0 > bl >>> 0;
/** Signed a > b. */
export const gtS = (al: number, ah: number, bl: number, bh: number): boolean =>
  ah !== bh ? (ah | 0) > (bh | 0) : al >>> 0 > bl >>> 0;
