// The equivalence harness: the original and the inlined program run on the
// same inputs, each in a fresh model kernel with the program's maps, and
// must agree on the return value, the packet bytes afterwards and every map's
// contents.
import type { Insn } from '../../src/isa/insn.js';
import { createMaps, type LinkedProgram } from '../../src/kernel/link.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { testRun } from '../../src/vm/testrun.js';

export interface Input {
  readonly data: Uint8Array;
  /** Bytes kept in the linear area (skb) / the first buffer (xdp); the rest goes to fragments. */
  readonly linearLen?: number;
  readonly frags?: number[];
  /** Entries put into the named maps before the run (e.g. hash maps a program only reads). */
  readonly prefill?: readonly { map: string; key: Uint8Array; value: Uint8Array }[];
}

export interface Outcome {
  readonly retval: number;
  readonly data: string;
  readonly maps: string;
  readonly error?: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function runOnce(linked: LinkedProgram, insns: readonly Insn[], input: Input, engine: 'interp' | 'jit', ctxPcs?: ReadonlySet<number>): Outcome {
  const kernel = new ModelKernel(new AddressSpace(), { seed: 1, clockNs: () => 0n });
  const maps = createMaps(kernel, linked.maps);
  for (const e of input.prefill ?? []) {
    const m = maps.find((x) => x.name === e.map);
    if (!m) throw new Error(`prefill: the program has no map "${e.map}"`);
    if (m.updateBytes(e.key, e.value) !== 0) throw new Error(`prefill: update of map "${e.map}" failed`);
  }
  try {
    const r = testRun(insns, {
      progType: linked.progType,
      data: input.data,
      kernel,
      engine,
      ...(ctxPcs && { ctxPcs }),
      ...(input.linearLen !== undefined && input.linearLen < input.data.length && { nonLinear: { linearLen: input.linearLen } }),
      ...(input.frags && { frags: input.frags }),
    });
    return {
      retval: r.retval,
      data: hex(r.dataOut),
      maps: maps.map((m) => `${m.name}:` + m.entries().map(([k, v]) => `${k}=${hex(v)}`).join(',')).join(';'),
    };
  } catch (e) {
    return { retval: -1, data: '', maps: '', error: e instanceof Error ? e.message : String(e) };
  }
}

/** Random packets: an Ethernet + IPv4 + UDP header most of the time, random bytes otherwise. */
export function randomPacket(rand: () => number, minLen = 14, maxLen = 1500): Uint8Array {
  const len = minLen + Math.floor(rand() * (maxLen - minLen + 1));
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = Math.floor(rand() * 256);
  if (rand() < 0.7 && len >= 42) {
    b[12] = 0x08;
    b[13] = 0x00; // IPv4
    b[14] = 0x45;
    b[23] = rand() < 0.5 ? 17 : 6; // UDP or TCP
  }
  return b;
}

/** A seeded PRNG (mulberry32), so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
