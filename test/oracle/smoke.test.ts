import { it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { loadObject } from '../../src/object/index.js';
import { bpfAvailable, loadObjectProgram } from '../../src/oracle/index.js';
it('smoke', async () => {
  console.log('avail', await bpfAvailable());
  for (const f of readdirSync('examples/build').filter((x) => x.endsWith('.o'))) {
    const obj = loadObject(new Uint8Array(readFileSync('examples/build/' + f)), { objectName: f.replace(/\.bpf\.o$/, '') });
    for (const p of obj.programs) {
      const r = await loadObjectProgram(obj, p);
      console.log(f, p.name, r.accepted, r.errno, r.processed, r.verificationTimeUs, r.stackDepth, r.withBtf, r.error);
    }
  }
});
