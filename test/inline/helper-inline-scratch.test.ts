import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { defaultKfuncLibrary } from '../../src/inline/library.js';
import { inlineProgram } from '../../src/inline/pipeline.js';
import { linkProgram } from '../../src/kernel/link.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { loadObject } from '../../src/object/index.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { disasmKernel } from '../../src/isa/disasm-kernel.js';

const ids = new ModelKernel(new AddressSpace()).kfuncIds;
const lib = defaultKfuncLibrary();
for (const [file, name] of [['htab_lookup.bpf.o', 'tc_htab_lookup'], ['parse_slices.bpf.o', 'tc_parse_slices']]) {
  it(name, () => {
    const obj = loadObject(readFileSync(join(__dirname, '../../examples/build', file)), { objectName: file });
    const prog = obj.programs.find((p) => p.name === name)!;
    const linked = linkProgram(obj, prog, (n) => ids.get(n));
    try {
      const r = inlineProgram({ insns: linked.insns, progType: linked.progType, maps: linked.maps }, lib, { logLevel: 0 });
      console.log(name, [...r.helperSites.keys()], r.sites.map((s) => `${s.site} ${s.kfunc} ${s.inlined} ${s.reason ?? ''} ${s.insnsBefore}->${s.insnsAfterDce}`).join('\n'));
      console.log('verified', r.verified.processed, 'reverified', r.reverified.accepted, r.reverified.error, r.insns.length);
    } catch (e) { console.log(String(e)); }
  });
}
