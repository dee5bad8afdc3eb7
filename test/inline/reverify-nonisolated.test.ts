// Non-isolated verification (--mode non-isolated): instances verified in the
// caller's state with the dual representation of stack objects. Accepts,
// re-verifies, removes at least the dead code isolated mode removes, and the
// inlined program agrees with the original on random inputs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { inlineProgram } from '../../src/inline/pipeline.js';
import { linkProgram } from '../../src/kernel/link.js';
import { loadObject } from '../../src/object/index.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { prng, randomPacket, runOnce } from './harness.js';

const EXAMPLES = join(__dirname, '../../examples/build');
const lib = defaultKfuncLibrary();
const modelIds = new ModelKernel(new AddressSpace()).kfuncIds;
// iter_num.bpf.o: non-isolated verification of its iterator loops does not converge yet (see the report)
const FILES = ['dynptr_skb', 'dynptr_slice', 'parse_slices', 'xdp_frags'];

describe('non-isolated verification of inlined examples', () => {
  for (const name of FILES) {
    const path = join(EXAMPLES, `${name}.bpf.o`);
    it.skipIf(!existsSync(path))(`${name}: accepted, re-verified, at least the isolated mode's dead code removed, same results`, () => {
      const obj = loadObject(readFileSync(path), { objectName: name });
      const p = obj.programs[0];
      const linked = linkProgram(obj, p, (n) => modelIds.get(n));
      const prog = { insns: linked.insns, progType: linked.progType, maps: linked.maps };
      // the same sites in both modes: helper calls with bodies are inlined in isolated mode only
      const iso = inlineProgram(prog, lib, { mode: 'isolated', helpers: false });
      const ni = inlineProgram(prog, lib, { mode: 'non-isolated' });
      expect(ni.verified.accepted).toBe(true);
      expect(ni.reverified.error).toBeUndefined();
      expect(ni.sites.map((s) => s.inlined)).toEqual(iso.sites.map((s) => s.inlined));
      ni.sites.forEach((s, k) => expect(s.insnsAfterDce, `site ${s.site} ${s.kfunc}`).toBeLessThanOrEqual(iso.sites[k].insnsAfterDce));
      const noDce = inlineProgram(prog, lib, { mode: 'non-isolated', dce: false });
      expect(noDce.reverified.accepted).toBe(true);
      const rand = prng(name.length * 13);
      const xdp = linked.progType === 6;
      for (let i = 0; i < 60; i++) {
        const data = randomPacket(rand, 14, xdp ? 3000 : 1500);
        const input = xdp ? { data, frags: data.length > 1500 ? [1500] : [] } : { data, ...(i % 2 ? { linearLen: 14 + Math.floor(rand() * (data.length - 13)) } : {}) };
        // the isolated rewrite is checked against the original in equivalence.test.ts
        const a = runOnce(linked, iso.insns, input as never, 'interp');
        const b = runOnce(linked, ni.insns, input as never, 'interp');
        expect(b, `input ${i} of ${data.length} bytes`).toEqual(a);
      }
    });
  }
});
