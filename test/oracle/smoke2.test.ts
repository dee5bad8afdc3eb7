import { it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadObject } from '../../src/object/index.js';
import { btfLoad } from '../../src/oracle/index.js';
import { fixupObjectBtf } from '../../src/oracle/btf-fixup.js';
it('smoke', async () => {
  for (const f of ['dynptr_slice.bpf.o']) {
    const obj = loadObject(new Uint8Array(readFileSync('examples/build/' + f)), { objectName: 'x' });
    const fx = fixupObjectBtf(obj)!;
    const r = await btfLoad(fx.bytes, { logLevel: 1 });
    console.log(r.fd, r.errno, r.log.split("\n").filter(l=>!l.startsWith("\t")).slice(-12).join("\n"));
  }
});
