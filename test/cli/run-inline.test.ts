// `kfinline run FILE.o --inline`: the program with its kfunc calls inlined
// computes what the program with calls computes (retval and the packet
// after the run), on a linear and a non-linear skb, in both engines.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { captureIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/main.js';
import { loadObject } from '../../src/object/index.js';
import { TEST_RUN_TYPES, packetFile } from '../object/rewrite-tools.js';

const EX = join(__dirname, '../../examples/build');
const TMP = mkdtempSync(join(tmpdir(), 'kf-run-inline-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const PKT = packetFile(TMP);

async function cli(...argv: string[]) {
  const io = captureIo();
  const code = await runCli(argv, io);
  return { code, out: io.stdout.join('\n'), err: io.stderr.join('\n') };
}

type RunOut = { retval: number; data_out: string; inlined: boolean; maps: Record<string, Record<string, string>> };
/** Programs whose run left something to compare beyond a zero retval (the test must not be vacuous). */
const observable = new Set<string>();

async function runJson(...argv: string[]): Promise<RunOut> {
  const r = await cli('run', ...argv, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out);
}

describe('kfinline run --inline', () => {
  for (const f of readdirSync(EX).filter((x) => x.endsWith('.bpf.o')).sort()) {
    const obj = loadObject(new Uint8Array(readFileSync(join(EX, f))));
    for (const p of obj.programs.filter((q) => TEST_RUN_TYPES.has(q.progTypeName))) {
      const skb = p.progTypeName !== 'XDP';
      it(`${f} ${p.name}: same retval and packet with calls inlined${skb ? ', linear and non-linear' : ''}`, async () => {
        for (const engine of ['interp', 'jit']) {
          for (const linear of skb ? [undefined, '20'] : [undefined]) {
            const base = [join(EX, f), '--prog', p.name, '--data', PKT, '--engine', engine, ...(linear ? ['--linear', linear] : [])];
            const plain = await runJson(...base);
            const inl = await runJson(...base, '--inline');
            expect(inl.inlined).toBe(true);
            expect({ retval: inl.retval, data: inl.data_out, maps: inl.maps }, `${engine} linear ${linear ?? 'all'}`).toEqual({ retval: plain.retval, data: plain.data_out, maps: plain.maps });
            if (plain.retval !== 0 || Object.values(plain.maps).some((m) => Object.keys(m).length)) observable.add(p.name);
          }
        }
      });
    }
  }

  it('most programs leave a trace to compare (retval or map contents)', () => {
    expect(observable.size).toBeGreaterThanOrEqual(8);
  });

  it('says how many call sites it inlined', async () => {
    const r = await cli('run', join(EX, 'dynptr_skb.bpf.o'), '--data', PKT, '--inline');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/tc_dynptr_parse: retval \d+ .*, [1-9]\d*\/\d+ call sites inlined\)$/);
  });

  it('--kfuncs and --mode need --inline; a bad --mode is named', async () => {
    const a = await cli('run', join(EX, 'dynptr_skb.bpf.o'), '--mode', 'isolated');
    expect(a.code).not.toBe(0);
    expect(a.err).toMatch(/--kfuncs and --mode go with --inline/);
    const b = await cli('run', join(EX, 'dynptr_skb.bpf.o'), '--inline', '--mode', 'sideways');
    expect(b.code).not.toBe(0);
    expect(b.err).toMatch(/--mode must be isolated or non-isolated, not "sideways"/);
  });
});
