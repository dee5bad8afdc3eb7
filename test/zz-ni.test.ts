import { readFileSync, readdirSync } from 'node:fs';
import { it } from 'vitest';
import { defaultKfuncLibrary } from '../src/inline/library.js';
import { inlineProgram } from '../src/inline/pipeline.js';
import { verify } from '../src/verifier/verify.js';
import { linkProgram } from '../src/kernel/link.js';
import { ModelKernel } from '../src/kernel/model.js';
import { loadObject } from '../src/object/index.js';
import { AddressSpace } from '../src/vm/memory.js';
it('dbg', () => {
  const ids = new ModelKernel(new AddressSpace()).kfuncIds;
  for (const f of (process.env.F ?? 'dynptr_skb.bpf.o,dynptr_slice.bpf.o,iter_num.bpf.o,parse_slices.bpf.o,xdp_frags.bpf.o,htab_lookup.bpf.o').split(',')) {
    let obj; try { obj = loadObject(readFileSync('/work/main/examples/build/' + f), { objectName: f }); } catch { console.log('missing', f); continue; }
    for (const prog of obj.programs) {
      const linked = linkProgram(obj, prog, (n) => ids.get(n));
      const p = { insns: linked.insns, progType: linked.progType, maps: linked.maps };
      const none = verify(p);
      const row = [f, prog.name, `none ${none.processed}/${none.totalStates}/${none.peakStates}`];
      const after: Record<string, number[]> = {};
      for (const mode of ['isolated', 'non-isolated'] as const) {
        try {
          const r = inlineProgram(p, defaultKfuncLibrary(), { mode, logLevel: process.env.LL ? 2 : 0 });
          row.push(`${mode} ${r.verified.processed}/${r.verified.totalStates}/${r.verified.peakStates} re=${r.reverified.accepted}${r.reverified.error ?? ''} ${r.reverified.processed} size=${r.insns.length}`);
          after[mode] = r.sites.map((s) => s.insnsAfterDce); if (r.sites.some((s) => !s.inlined)) console.log(mode, JSON.stringify(r.sites.map((s) => [s.site, s.kfunc, s.reason])));
        } catch (e) { row.push(mode + ' ERR ' + (e as Error).message); }
      }
      console.log(row.join(' | '));
      console.log('  iso', JSON.stringify(after['isolated']), '\n  ni ', JSON.stringify(after['non-isolated']));
    }
  }
});
