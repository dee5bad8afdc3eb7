// Whole verifier logs of the example objects against the running kernel's,
// at levels 1 and 2: the objects are loaded as libbpf does (BTF, func_info,
// line_info: src/oracle loadObjectProgram) and verified here with the same
// BTF, func_info and line_info. Compared whole: source lines
// (`; ... @ file:line`), `func#N @M`, the `Live regs before insn:` table and
// the stack-liveness trace of level 2. Only what cannot be equal is made so:
// map addresses, kfunc names and BTF ids (the model kernel's are not vmlinux's).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkProgram } from '../../src/kernel/link.js';
import { ModelKernel } from '../../src/kernel/model.js';
import { loadObject, type BpfObject, type BpfProgram } from '../../src/object/index.js';
import { verify } from '../../src/verifier/index.js';
import { AddressSpace } from '../../src/vm/memory.js';
import { BUILD, exampleObjects } from '../elf/tools.js';

const ids = new ModelKernel(new AddressSpace()).kfuncIds;

let why: string | undefined = 'not probed';
beforeAll(async () => {
  why = await (await import('../../src/oracle/index.js')).bpfAvailable();
  if (why) console.log(`example log comparison skipped: ${why}`);
});

/**
 * Programs whose logs cannot be equal yet, at which levels, and why (verdicts are compared for all):
 * - tc_bpf_loop (level 2): 6.18 marks a callback frame ` cb`, marks bpf_loop's zero flags (r4) precise
 *   (loop_flag_is_zero()) and its stack liveness differs; the model does none of these yet.
 * - tc_iter_num: 6.18 gives bpf_iter_num_next()'s pointer the iterator's ref_obj_id (invalidated at
 *   bpf_iter_num_destroy()), the model does not: other states after the loop, 193 insns against 201.
 * - tp_nanosleep: the model kernel's tracepoint context holds other values.
 */
const DIFFERS: Record<string, { levels: number[]; why: string }> = {
  tc_bpf_loop: { levels: [2], why: 'callback frames' },
  tc_iter_num: { levels: [1, 2], why: 'iterator pointers' },
  tp_nanosleep: { levels: [2], why: 'context values' },
};

/** Map addresses, kfunc names and ids out; the statistics lines out. */
function normalize(log: string): string {
  return log
    .split('\n')
    .filter((l) => !/^verification time|^stack depth/.test(l))
    .map((l) =>
      l
        .replace(/\(18\) r(\d+) = 0x[0-9a-f]+/, '(18) r$1 = ADDR')
        .replace(/\(85\) call (kernel-function|bpf_[a-z0-9_]+)#(\d+)/, (m, name: string, id: string) => (name === 'kernel-function' || Number(id) > 1000 ? '(85) call KFUNC' : m)),
    )
    .join('\n')
    .replace(/ +;/g, ' ;');
}

function ours(obj: BpfObject, p: BpfProgram, logLevel: number) {
  const l = linkProgram(obj, p, (x) => ids.get(x));
  return verify(
    { insns: l.insns, progType: l.progType, maps: l.maps, nrCpuIds: 2, ...(obj.btf && { btf: obj.btf, funcInfo: p.funcInfo, lineInfo: p.lineInfo }) },
    { logLevel },
  );
}

describe('example objects: whole logs against the running kernel', () => {
  let compared = 0;
  afterAll(() => {
    if (!why) console.log(`example logs compared whole: ${compared} (program, level) pairs`);
  });
  const files = existsSync(BUILD) ? exampleObjects() : [];
  for (const file of files) {
    it(`${file}: levels 1 and 2`, async (ctx) => {
      if (why) ctx.skip();
      const oracle = await import('../../src/oracle/index.js');
      const obj = loadObject(new Uint8Array(readFileSync(join(BUILD, file))), { objectName: file.replace(/\.bpf\.o$/, '') });
      for (const p of obj.programs) {
        for (const level of [1, 2]) {
          const k = await oracle.loadObjectProgram(obj, p, { logLevel: level, stats: false });
          expect(k.withBtf, `${p.name}: the kernel took the object's BTF`).toBe(true);
          const r = ours(obj, p, level);
          expect(r.accepted, `${p.name}: ${r.error}`).toBe(k.accepted);
          if (DIFFERS[p.name]?.levels.includes(level)) continue;
          compared++;
          expect(normalize(r.log), `${p.name} level ${level}`).toBe(normalize(k.log));
        }
      }
    });
  }

  it('the source lines come from line_info: each new line once, file name without directories', async (ctx) => {
    if (why || !existsSync(join(BUILD, 'subprogs.bpf.o'))) ctx.skip();
    const obj = loadObject(new Uint8Array(readFileSync(join(BUILD, 'subprogs.bpf.o'))), { objectName: 'subprogs' });
    const p = obj.programs.find((x) => x.name === 'tc_hash')!;
    const log = ours(obj, p, 2).log;
    expect(log).toMatch(/^; int tc_hash\(struct __sk_buff \*skb\) @ subprogs\.bpf\.c:\d+$/m);
    expect(log).toMatch(/^func#0 @0\nfunc#1 @\d+\n/);
    expect(log).toMatch(/^Live regs before insn:\n {6}0: \.1\.\.45\.\.\.\. \(bf\) r6 = r1$/m);
    // without line_info: no source lines
    const l = linkProgram(obj, p, (x) => ids.get(x));
    const bare = verify({ insns: l.insns, progType: l.progType, maps: l.maps, nrCpuIds: 2, btf: obj.btf, funcInfo: p.funcInfo }, { logLevel: 2 }).log;
    expect(bare).not.toMatch(/^; /m);
  });
});
