// Reading NUL-terminated strings out of a BTF string section.

const decoder = new TextDecoder('utf-8');

/** The string starting at `start` in `bytes`, up to the next NUL (or `end`). */
export function cString(bytes: Uint8Array, start: number, end: number = bytes.length): string {
  let i = start;
  let ascii = true;
  while (i < end && bytes[i] !== 0) {
    if (bytes[i] >= 0x80) ascii = false;
    i++;
  }
  if (i === start) return '';
  if (ascii && i - start <= 256) {
    return String.fromCharCode.apply(null, bytes.subarray(start, i) as unknown as number[]);
  }
  return decoder.decode(bytes.subarray(start, i));
}

/** FNV-1a over the bytes of a NUL-terminated string. */
export function hashCString(bytes: Uint8Array, start: number): number {
  let h = 0x811c9dc5;
  for (let i = start; bytes[i] !== 0 && i < bytes.length; i++) {
    h = Math.imul(h ^ bytes[i], 0x01000193);
  }
  return h >>> 0;
}

/** FNV-1a over a byte array (the query side of hashCString). */
export function hashBytes(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** Whether the NUL-terminated string at `start` equals `q` byte for byte. */
export function cStringEquals(bytes: Uint8Array, start: number, q: Uint8Array): boolean {
  const n = q.length;
  if (start + n > bytes.length) return false;
  for (let i = 0; i < n; i++) if (bytes[start + i] !== q[i]) return false;
  return start + n === bytes.length || bytes[start + n] === 0;
}

const encoder = new TextEncoder();
export const utf8 = (s: string): Uint8Array => encoder.encode(s);
