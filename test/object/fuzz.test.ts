// Malformed input: truncations at every interesting offset, seeded random
// byte flips and random bytes must raise KfError (or load), never another
// error type, never hang.
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../src/elf/index.js';
import { loadObject } from '../../src/object/index.js';
import { KfError } from '../../src/util/errors.js';
import { exampleObjects, readExample, rng } from '../elf/tools.js';

type Outcome = 'ok' | 'kferror';

function attempt(bytes: Uint8Array): Outcome {
  try {
    const o = loadObject(bytes);
    // Touch what callers touch, so lazily decoded parts are exercised too.
    for (const p of o.programs) void p.insns.length;
    return 'ok';
  } catch (e) {
    if (e instanceof KfError) return 'kferror';
    throw new Error(`non-KfError ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
  }
}

/** Offsets where structures start or end: header fields, section data, section headers, symbols, relocations. */
function interestingOffsets(bytes: Uint8Array): number[] {
  const f = parseElf(bytes);
  const s = new Set<number>([0, 1, 4, 16, 24, 40, 52, 58, 60, 62, 63, 64, bytes.length - 1]);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = Number(dv.getBigUint64(0x28, true));
  for (const sec of f.sections) {
    const h = shoff + sec.index * 64;
    s.add(h).add(h + 32).add(h + 63);
    if (sec.data.length) s.add(sec.offset).add(sec.offset + 1).add(sec.offset + sec.data.length - 1).add(sec.offset + Math.floor(sec.data.length / 2));
  }
  return [...s].filter((x) => x >= 0 && x < bytes.length).sort((a, b) => a - b);
}

const objs = exampleObjects();

describe('fuzz: loadObject raises only KfError', () => {
  for (const name of objs) {
    it(`${name}: truncated at every interesting offset`, () => {
      const b = readExample(name);
      expect(attempt(b)).toBe('ok');
      let errors = 0;
      for (const off of interestingOffsets(b)) {
        if (attempt(b.slice(0, off)) === 'kferror') errors++;
      }
      expect(errors).toBeGreaterThan(0);
    });

    it(`${name}: 1500 seeded mutations (byte flips, 32/64-bit field smashes)`, () => {
      const orig = readExample(name);
      const r = rng(0x5eed ^ name.length * 7919);
      const offs = interestingOffsets(orig);
      const counts = { ok: 0, kferror: 0 };
      for (let n = 0; n < 1500; n++) {
        const b = orig.slice();
        const k = 1 + Math.floor(r() * 4);
        for (let j = 0; j < k; j++) {
          // Half the time aim at a structure boundary (headers, table starts).
          const base = r() < 0.5 ? offs[Math.floor(r() * offs.length)] + Math.floor(r() * 64) : Math.floor(r() * b.length);
          const at = Math.min(b.length - 1, base);
          const mode = r();
          if (mode < 0.5) b[at] ^= 1 << Math.floor(r() * 8);
          else if (mode < 0.7) b[at] = Math.floor(r() * 256);
          else {
            const v = [0x00, 0xff, 0x7f, 0x80][Math.floor(r() * 4)];
            for (let q = 0; q < 8 && at + q < b.length; q++) b[at + q] = v;
          }
        }
        counts[attempt(b)]++;
      }
      expect(counts.ok + counts.kferror).toBe(1500);
      expect(counts.kferror).toBeGreaterThan(0);
    });
  }

  it('mutations aimed inside the sections the loader reads (BTF, BTF.ext, maps, code, symbols, relocations)', () => {
    const r = rng(7);
    const counts = { ok: 0, kferror: 0 };
    for (const name of objs) {
      const orig = readExample(name);
      const f = parseElf(orig);
      const targets = f.sections.filter(
        (s) => s.data.length > 0 && (['.BTF', '.BTF.ext', '.maps', '.symtab', 'license'].includes(s.name) || s.type === 9 || (s.flags & 4n) !== 0n),
      );
      for (const sec of targets) {
        for (let n = 0; n < 150; n++) {
          const b = orig.slice();
          const k = 1 + Math.floor(r() * 3);
          for (let j = 0; j < k; j++) {
            const at = sec.offset + Math.floor(r() * sec.data.length);
            b[at] = r() < 0.5 ? b[at] ^ (1 << Math.floor(r() * 8)) : Math.floor(r() * 256);
          }
          counts[attempt(b)]++;
        }
      }
    }
    expect(counts.kferror).toBeGreaterThan(100);
    expect(counts.ok).toBeGreaterThan(100);
  });

  it('random byte strings, with and without an ELF64 header', () => {
    const r = rng(42);
    for (let n = 0; n < 2000; n++) {
      const len = Math.floor(r() * 600);
      const b = new Uint8Array(len);
      for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
      if (n % 2 === 0 && len >= 64) {
        b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1 + (n % 4 === 0 ? 1 : 0), 1]);
        // Plausible section header table somewhere inside.
        const dv = new DataView(b.buffer);
        dv.setBigUint64(0x28, BigInt(Math.floor(r() * len)), true);
        dv.setUint16(0x3a, 64, true);
        dv.setUint16(0x3c, Math.floor(r() * 8), true);
        dv.setUint16(0x3e, Math.floor(r() * 8), true);
      }
      expect(attempt(b)).toBe('kferror');
    }
  });

  it('error messages name the section and offsets', () => {
    const b = readExample(objs[0]).slice();
    const f = parseElf(b);
    const rel = f.relocations[0];
    const sec = f.sections[rel.section];
    // Grow the relocation section's sh_size past the end of the file.
    const dv = new DataView(b.buffer);
    const shoff = Number(dv.getBigUint64(0x28, true));
    dv.setBigUint64(shoff + sec.index * 64 + 0x20, BigInt(b.length), true);
    expect(() => parseElf(b)).toThrow(
      `ELF: section ${sec.index} (${sec.name}): offset 0x${sec.offset.toString(16)} + size 0x${b.length.toString(16)} beyond end of file (0x${b.length.toString(16)})`,
    );
  });
});
