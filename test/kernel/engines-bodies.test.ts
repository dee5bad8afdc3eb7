// The honest non-inlined baseline: kfuncs run as their BPF bodies (the kfunc
// library, each body its own function) give the same results as the native
// kfuncs of the model kernel, in both engines, on linear and non-linear skbs.
// Also issue 4 (b): the slice program gives the same return value and leaves
// the same packet in both engines.
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kernelFor, loadPrograms } from '../../src/cli/programs.js';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { bodiesById } from '../../src/inline/pipeline.js';
import { testRun, type TestRunResult } from '../../src/vm/testrun.js';
import type { BpfKfuncMap } from '../../src/vm/bodies.js';

const EX = join(import.meta.dirname, '..', '..', 'examples', 'build');
const SLICE = join(EX, 'dynptr_slice.bpf.o');
const SKB = join(EX, 'dynptr_skb.bpf.o');

/** Ethernet + IPv4 frame of `size` bytes with protocol `proto` and a varied payload. */
function packet(size: number, proto: number): Uint8Array {
  const p = new Uint8Array(size);
  for (let i = 0; i < size; i++) p[i] = (i * 13 + 5) & 0xff;
  p[12] = 0x08;
  p[13] = 0x00;
  p[14] = 0x45;
  p[23] = proto;
  return p;
}

interface Outcome {
  retval: number;
  r0: bigint;
  data: string;
  maps: string[];
}

function run(path: string, prog: string, engine: 'interp' | 'jit', data: Uint8Array, linearLen: number | undefined, bodies?: BpfKfuncMap, repeat = 1): Outcome & { r: TestRunResult } {
  const { linked } = loadPrograms(path, prog).programs[0];
  const kernel = kernelFor(linked);
  const r = testRun(linked.insns, {
    progType: linked.progType,
    data,
    kernel,
    engine,
    repeat,
    ...(linearLen !== undefined && { nonLinear: { linearLen } }),
    ...(bodies && { bpfKfuncs: bodies }),
  });
  const maps = kernel.maps.all.map((m) => m.entries().map(([k, v]) => `${k}=${Buffer.from(v).toString('hex')}`).join(' '));
  return { retval: r.retval, r0: r.r0, data: Buffer.from(r.dataOut).toString('hex'), maps, r };
}

const have = existsSync(SLICE) && existsSync(SKB);
const bodies = bodiesById(defaultKfuncLibrary());
const SLICE_ID = [...bodies.values()].find((b) => b.name === 'bpf_dynptr_slice')!.btfId;

describe.skipIf(!have)('kfunc bodies as functions (the non-inlined baseline)', () => {
  const linears: (number | undefined)[] = [undefined, 14, 40, 60];
  for (const engine of ['interp', 'jit'] as const) {
    for (const lin of linears) {
      const what = `${engine}, ${lin === undefined ? 'linear skb' : `non-linear skb (linear ${lin})`}`;
      it(`dynptr_slice_bench: bodies = natives, ${what}`, () => {
        const data = packet(1000, 17);
        const native = run(SLICE, 'dynptr_slice_bench', engine, data, lin, undefined, 3);
        const body = run(SLICE, 'dynptr_slice_bench', engine, data, lin, bodies, 3);
        expect(body.retval).toBe(native.retval);
        expect(body.r0).toBe(native.r0);
        expect(body.data).toBe(native.data);
        expect(body.maps).toEqual(native.maps);
        // the program counted 3 runs of 100 calls in its global
        expect(native.maps.join('|')).toContain('0=2c01000000000000');
      });
      for (const proto of [17, 6]) {
        it(`tc_dynptr_parse (proto ${proto}): bodies = natives, ${what}`, () => {
          const data = packet(80, proto);
          const native = run(SKB, 'tc_dynptr_parse', engine, data, lin);
          const body = run(SKB, 'tc_dynptr_parse', engine, data, lin, bodies);
          expect(body.retval).toBe(native.retval);
          expect(body.data).toBe(native.data);
          expect(body.maps).toEqual(native.maps);
          // the stats slot of the protocol grew by the packet size
          const slot = proto === 17 ? 1 : 0;
          expect(native.maps[0]).toContain(`${slot}=5000000000000000`);
        });
      }
    }
  }

  it('the body really runs: a broken body changes the result, natives untouched', () => {
    // bpf_dynptr_from_skb's body replaced by "r0 = 7; exit": the program's
    // dynptr stays uninitialised, so every slice returns NULL, and r0 of the
    // call is 7 (the program ignores it): compare the stats map of dynptr_skb
    const from = [...bodies.values()].find((b) => b.name === 'bpf_dynptr_from_skb')!;
    const broken = new Map(bodies);
    broken.set(from.btfId, { ...from, name: 'broken', insns: [{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 7 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }] });
    for (const engine of ['interp', 'jit'] as const) {
      const data = packet(80, 17);
      const good = run(SKB, 'tc_dynptr_parse', engine, data, undefined, bodies);
      const bad = run(SKB, 'tc_dynptr_parse', engine, data, undefined, broken);
      expect(good.maps[0]).toContain('1=5000000000000000');
      expect(bad.maps[0]).not.toContain('1=5000000000000000');
    }
  });

  it('slice program: interpreter and JIT agree (retval, packet, maps), with natives and with bodies', () => {
    for (const lin of linears) {
      const data = packet(1000, 17);
      for (const b of [undefined, bodies]) {
        const i = run(SLICE, 'dynptr_slice_bench', 'interp', data, lin, b);
        const j = run(SLICE, 'dynptr_slice_bench', 'jit', data, lin, b);
        expect(j.retval).toBe(i.retval);
        expect(j.data).toBe(i.data);
        expect(j.maps).toEqual(i.maps);
        expect(i.data).toBe(Buffer.from(data).toString('hex'));
      }
    }
  });

  it('body faults name the body and its instruction', () => {
    type I = { code: number; dst: number; src: number; off: number; imm: number };
    const body = (insns: I[]): BpfKfuncMap => new Map([[SLICE_ID, { name: 'bpf_dynptr_slice', insns }]]);
    const exit: I = { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 };
    // a wild read (the strict interpreter) and a call to an unknown helper (both engines)
    const wild = body([{ code: 0x79, dst: 0, src: 1, off: 4096, imm: 0 }, exit]);
    expect(() => run(SLICE, 'dynptr_slice_bench', 'interp', packet(1000, 17), undefined, wild)).toThrow(
      /kfunc body "bpf_dynptr_slice": instruction 0: invalid read of 8 bytes/,
    );
    const unknown = body([{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x85, dst: 0, src: 0, off: 0, imm: 99999 }, exit]);
    for (const engine of ['interp', 'jit'] as const) {
      expect(() => run(SLICE, 'dynptr_slice_bench', engine, packet(1000, 17), undefined, unknown)).toThrow(
        /kfunc body "bpf_dynptr_slice": instruction 1: call to unknown helper 99999/,
      );
    }
  });
});
