// Original vs inlined, on thousands of random inputs in all: identical return
// values, packet bytes and map contents, in both engines, for linear and
// non-linear skbs and multi-buffer xdp.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { inlineProgram, type InlineMode } from '../../src/inline/pipeline.js';
import { linkProgram } from '../../src/kernel/link.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { loadObject } from '../../src/object/index.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { prng, randomPacket, runOnce, type Input } from './harness.js';

const EXAMPLES = join(__dirname, '../../examples/build');
const ids = new ModelKernel(new AddressSpace()).kfuncIds;
const lib = defaultKfuncLibrary();
const RUNS = Number(process.env.KF_EQUIV_RUNS ?? 300);
const XDP = 6;

interface Case {
  file: string;
  prog: string;
  modes: InlineMode[];
  /** Map entries to put in before each run (hash maps the program mostly reads). */
  prefill?: (data: Uint8Array, rand: () => number) => Input['prefill'];
}

/** htab_lookup's `flows`: about half of the 32 keys the packet's lookups use, plus unrelated keys (same buckets' chains). */
function flowKeys(data: Uint8Array, rand: () => number): Input['prefill'] {
  const out: { map: string; key: Uint8Array; value: Uint8Array }[] = [];
  const key = (hash: number, len: number, slot: number): Uint8Array => {
    const k = new Uint8Array(8);
    const v = new DataView(k.buffer);
    v.setUint32(0, hash, true); // skb->hash (0 in the model's test runs)
    v.setUint16(4, len & 0xffff, true);
    v.setUint16(6, slot, true);
    return k;
  };
  const value = (): Uint8Array => Uint8Array.from({ length: 8 }, () => Math.floor(rand() * 256));
  for (let slot = 0; slot < 32; slot++) if (rand() < 0.5) out.push({ map: 'flows', key: key(0, data.length, slot), value: value() });
  for (let i = 0; i < 16; i++) out.push({ map: 'flows', key: key(Math.floor(rand() * 2 ** 32), Math.floor(rand() * 1500), Math.floor(rand() * 32)), value: value() });
  return out;
}

const cases: Case[] = [
  { file: 'dynptr_slice.bpf.o', prog: 'dynptr_slice_bench', modes: ['isolated', 'non-isolated'] },
  { file: 'dynptr_skb.bpf.o', prog: 'tc_dynptr_parse', modes: ['isolated', 'non-isolated'] },
  { file: 'parse_slices.bpf.o', prog: 'tc_parse_slices', modes: ['isolated', 'non-isolated'] },
  { file: 'iter_num.bpf.o', prog: 'tc_iter_num', modes: ['isolated', 'non-isolated'] },
  { file: 'xdp_frags.bpf.o', prog: 'xdp_frags_slice', modes: ['isolated', 'non-isolated'] },
  // bpf_map_lookup_elem on a hash map inlined as __htab_map_lookup_elem + the value offset (isolated mode)
  { file: 'htab_lookup.bpf.o', prog: 'tc_htab_lookup', modes: ['isolated'], prefill: flowKeys },
];

function inputs(seed: number, n: number, xdp: boolean, prefill?: Case['prefill']): Input[] {
  const rand = prng(seed);
  const out: Input[] = [];
  for (let i = 0; i < n; i++) {
    const data = randomPacket(rand, 14, xdp ? 4000 : 1500);
    if (prefill) {
      out.push({ data, prefill: prefill(data, rand), ...(rand() < 0.5 && { linearLen: 14 + Math.floor(rand() * (data.length - 14 + 1)) }) });
      continue;
    }
    if (rand() < 0.4) {
      out.push({ data });
      continue;
    }
    // non-linear: the linear part (first xdp buffer) keeps at least the Ethernet header
    const linearLen = 14 + Math.floor(rand() * (data.length - 14 + 1));
    const rest = data.length - linearLen;
    if (xdp && rest > 0) {
      const a = Math.floor(rand() * (rest + 1));
      out.push({ data, linearLen, frags: a > 0 && a < rest ? [a, rest - a] : [rest] });
    } else out.push({ data, linearLen });
  }
  return out;
}

describe('equivalence of inlined programs', () => {
  for (const c of cases) {
    const obj = loadObject(readFileSync(join(EXAMPLES, c.file)), { objectName: c.file.replace(/\.bpf\.o$/, '') });
    const prog = obj.programs.find((p) => p.name === c.prog)!;
    const linked = linkProgram(obj, prog, (n) => ids.get(n));
    const variants: { mode: InlineMode; dce: boolean }[] = [
      ...c.modes.map((mode) => ({ mode, dce: true })),
      { mode: 'isolated', dce: false },
    ];
    for (const { mode, dce } of variants) {
      it(`${c.prog} (${mode}, ${dce ? 'with' : 'without'} dead-code removal): ${RUNS} random inputs agree in the interpreter and the JIT`, () => {
        const r = inlineProgram({ insns: linked.insns, progType: linked.progType, maps: linked.maps }, lib, { dce, mode });
        expect(r.sites.some((s) => s.inlined)).toBe(true);
        expect(r.reverified.error).toBeUndefined();
        let checked = 0;
        const seed = c.file.length * 7 + (dce ? 1 : 2) + (mode === 'isolated' ? 0 : 10);
        for (const input of inputs(seed, RUNS, linked.progType === XDP, c.prefill)) {
          for (const e of ['interp', 'jit'] as const) {
            const a = runOnce(linked, linked.insns, input, e);
            const b = runOnce(linked, r.insns, input, e, r.ctxPcs);
            expect(a.error).toBeUndefined();
            expect(b, `input of ${input.data.length} bytes, linear ${input.linearLen ?? 'all'}, frags ${input.frags ?? '-'}, engine ${e}`).toEqual(a);
            checked++;
          }
        }
        expect(checked).toBe(RUNS * 2);
      });
    }
  }
});
