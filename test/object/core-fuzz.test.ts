// Corrupt CO-RE input must raise KfError (or load), never another error type
// and never hang: smashed core_relo records (.BTF.ext), corrupted access
// strings and types (.BTF), corrupted target BTF, and patched instructions.
import { describe, expect, it } from 'vitest';
import { parseBtf, type Btf } from '../../src/btf/index.js';
import { parseElf } from '../../src/elf/index.js';
import { loadObject } from '../../src/object/index.js';
import { KfError } from '../../src/util/errors.js';
import { rng } from '../elf/tools.js';
import { coreLayout as layout, readCoreFixture } from './core-tools.js';

type Outcome = 'ok' | 'kferror';

/** KfErrors raised while applying CO-RE records (not earlier, while parsing). */
let coreErrors = 0;

function attempt(bytes: Uint8Array, target: Btf | (() => Btf)): Outcome {
  try {
    const o = loadObject(bytes, { targetBtf: target });
    for (const p of o.programs) void p.insns.length;
    return 'ok';
  } catch (e) {
    if (e instanceof KfError) {
      if (e.context.some((c) => c.includes('CO-RE relocation #'))) coreErrors++;
      return 'kferror';
    }
    throw new Error(`non-KfError ${(e as Error)?.name}: ${(e as Error)?.message}\n${(e as Error)?.stack}`);
  }
}

const FIXTURES = ['pair_local.bpf.o', 'core_task.bpf.o', 'core_more.bpf.o'];
const pairTarget = (): Btf => loadObject(readCoreFixture('pair_target.bpf.o')).btf!;

describe('fuzz: CO-RE relocation raises only KfError', () => {
  const target = pairTarget();
  for (const name of FIXTURES) {
    it(`${name}: 800 smashed core_relo record fields`, () => {
      const orig = readCoreFixture(name);
      expect(attempt(orig, target)).toBe('ok');
      const { core } = layout(orig);
      const r = rng(0xc0e ^ name.length);
      const counts = { ok: 0, kferror: 0 };
      const before = coreErrors;
      const values = [0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 0x7fffffff, 0xffffffff, 0x10000, 24, 31];
      for (let n = 0; n < 800; n++) {
        const b = orig.slice();
        const dv = new DataView(b.buffer);
        // records start after rec_size (4) and the {sec_name_off, num_info} header (8) of the first section
        const nrec = Math.floor((core.len - 12) / 16);
        for (let k = 1 + Math.floor(r() * 2); k > 0; k--) {
          const at = core.start + 12 + 16 * Math.floor(r() * nrec) + 4 * Math.floor(r() * 4);
          const v = r() < 0.7 ? values[Math.floor(r() * values.length)] : Math.floor(r() * 0x100000000);
          if (at + 4 <= core.start + core.len) dv.setUint32(at, r() < 0.5 ? v : (dv.getUint32(at, true) + (r() < 0.5 ? 1 : -1)) >>> 0, true);
        }
        counts[attempt(b, target)]++;
      }
      expect(counts.kferror).toBeGreaterThan(0);
      expect(coreErrors - before, 'errors raised by the CO-RE stage itself').toBeGreaterThan(0);
    });

    it(`${name}: 800 corrupted access strings, types and instructions`, () => {
      const orig = readCoreFixture(name);
      const { types, strs, code } = layout(orig);
      const r = rng(0xb7f ^ (name.length * 31));
      const digits = '0123456789:9:x-';
      const counts = { ok: 0, kferror: 0 };
      for (let n = 0; n < 800; n++) {
        const b = orig.slice();
        const which = n % 3;
        if (which === 0) {
          // a character of the string table: digits and colons of access strings mostly
          const at = strs.start + Math.floor(r() * strs.len);
          b[at] = /[0-9:]/.test(String.fromCharCode(b[at])) || r() < 0.3 ? digits.charCodeAt(Math.floor(r() * digits.length)) : b[at];
        } else if (which === 1) {
          const at = types.start + 4 * Math.floor((r() * types.len) / 4);
          new DataView(b.buffer).setUint32(at, r() < 0.5 ? Math.floor(r() * 64) : Math.floor(r() * 0x100000000), true);
        } else {
          const s = code[Math.floor(r() * code.length)];
          const at = s.offset + 8 * Math.floor((r() * s.data.length) / 8);
          b[at + Math.floor(r() * 8)] = Math.floor(r() * 256);
        }
        counts[attempt(b, target)]++;
      }
      expect(counts.ok).toBeGreaterThan(0);
    });
  }

  it('corrupted target BTF: 800 mutations of pair_target.bpf.o\'s .BTF', () => {
    const local = readCoreFixture('pair_local.bpf.o');
    const tb = readCoreFixture('pair_target.bpf.o');
    const { types } = layout(tb);
    const btfSec = parseElf(tb).sectionByName('.BTF')!;
    const r = rng(0x7a6);
    const counts = { ok: 0, kferror: 0 };
    for (let n = 0; n < 800; n++) {
      const b = tb.slice(btfSec.offset, btfSec.offset + btfSec.data.length);
      const at = types.start - btfSec.offset + 4 * Math.floor((r() * types.len) / 4);
      new DataView(b.buffer).setUint32(at, r() < 0.5 ? Math.floor(r() * 40) : Math.floor(r() * 0x100000000), true);
      counts[attempt(local, () => parseBtf(b))]++;
    }
    expect(counts.ok + counts.kferror).toBe(800);
  });
});
