import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeInsns, encodeInsns } from '../../src/isa/codec.js';
import { disasmKernel, dumpXlated, type KernelDisasmOptions } from '../../src/isa/disasm-kernel.js';
import { HELPER_NAMES, helperName } from '../../src/isa/helpers.js';
import { insn, type Insn } from '../../src/isa/insn.js';
import { kernelFormsProgram } from './kernel-forms.js';

const FIX = join(import.meta.dirname, 'fixtures');
const GOLDEN = join(FIX, 'kernel-forms.log.txt');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function has(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}
const ROOT = process.getuid?.() === 0;
const BPFTOOL = has('bpftool', ['version']);
const PY = has('python3', ['-c', 'pass']);
const VMLINUX = existsSync('/sys/kernel/btf/vmlinux');
const LIVE = ROOT && BPFTOOL && PY && VMLINUX && existsSync('/sys/fs/bpf');
const MISSING = LIVE ? '' : 'needs root, python3, bpftool, /sys/kernel/btf/vmlinux and bpffs';

/** Instruction lines of a verifier log, `idx -> text`, without the register state after `;`. */
function logLines(log: string): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of log.split('\n')) {
    const r = /^(\d+): (\([0-9a-f]{2}\) .*?)(?:\s+;.*)?$/.exec(line.trimEnd());
    if (r) m.set(Number(r[1]), r[2]);
  }
  return m;
}

function kfuncId(name: string): number {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const r = new RegExp(`^\\[(\\d+)\\] FUNC '${name}'`, 'm').exec(out);
  if (!r) throw new Error(`no kfunc ${name} in vmlinux BTF`);
  return Number(r[1]);
}

function loadLog(p: Insn[], extra: string[] = []): string {
  const hex = Buffer.from(encodeInsns(p)).toString('hex');
  return execFileSync('python3', [join(FIX, 'kernel_log.py'), '1', '--map', ...extra], { input: hex, encoding: 'utf8', maxBuffer: 1 << 28 });
}

/** Options as the verifier's callbacks: kfunc names from the ids the program was built with. */
function verifierOpts(ids: { lock: number; unlock: number }): KernelDisasmOptions {
  return { kfuncName: (id) => (id === ids.lock ? 'bpf_rcu_read_lock' : id === ids.unlock ? 'bpf_rcu_read_unlock' : undefined) };
}

function compare(p: Insn[], want: Map<number, string>, opts: KernelDisasmOptions): void {
  expect(want.size).toBeGreaterThan(150);
  for (const [i, text] of want) {
    const x = p[i];
    if (x.code === 0x18 && x.src === 1) {
      // the verifier prints the map's kernel address
      expect(text).toMatch(/^\(18\) r1 = 0xffff[0-9a-f]{12}$/);
      const addr = BigInt(text.slice('(18) r1 = '.length));
      expect(disasmKernel(p, i, { ...opts, ldImm64: () => `0x${addr.toString(16)}` })).toBe(text);
      continue;
    }
    expect(`${i}: ${disasmKernel(p, i, opts)}`).toBe(`${i}: ${text}`);
  }
}

describe('kernel syntax vs the 6.18 verifier log', () => {
  it('matches the golden log of the forms program', () => {
    const golden = readFileSync(GOLDEN, 'utf8');
    const lock = Number(/call bpf_rcu_read_lock#(\d+)/.exec(golden)![1]);
    const unlock = Number(/call bpf_rcu_read_unlock#(\d+)/.exec(golden)![1]);
    const ids = { lock, unlock };
    const p = kernelFormsProgram(ids);
    const want = logLines(golden);
    // every instruction (lddw counted once) is in the log
    const starts = p.map((_, i) => i).filter((i) => i === 0 || p[i - 1].code !== 0x18);
    expect([...want.keys()].sort((a, b) => a - b)).toEqual(starts);
    compare(p, want, verifierOpts(ids));
  });

  it.skipIf(!LIVE)(`matches the running kernel's log ${MISSING}`, () => {
    const ids = { lock: kfuncId('bpf_rcu_read_lock'), unlock: kfuncId('bpf_rcu_read_unlock') };
    const p = kernelFormsProgram(ids);
    const log = loadLog(p);
    const want = logLines(log);
    if (UPDATE) writeFileSync(GOLDEN, [...want].map(([i, t]) => `${i}: ${t}`).join('\n') + '\n');
    compare(p, want, verifierOpts(ids));
  });
});

describe('dumpXlated vs bpftool prog dump xlated', () => {
  it.skipIf(!LIVE)(`prints what bpftool prints ${MISSING}`, () => {
    const I = insn;
    // a v3 program: bpftool 7.1 carries an older disasm.c
    const p = [
      I(0x85, 0, 0, 0, 5), // call bpf_ktime_get_ns
      I(0xb7, 1, 0, 0, 1),
      I(0x7a, 10, 0, -8, 1),
      I(0x18, 1, 0, 0, 1), I(0, 0, 0, 0, 0),
      I(0x18, 1, 1, 0, 0), I(0, 0, 0, 0, 0), // map fd, patched by the loader
      I(0x79, 2, 10, -8, 0),
      I(0x15, 2, 0, 1, 0),
      I(0xdb, 10, 2, -8, 0),
      I(0xc3, 10, 2, -8, 0x01),
      I(0x05, 0, 0, 0, 0),
      I(0xb7, 0, 0, 0, 0),
      I(0x95, 0, 0, 0, 0),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'kfisa-'));
    const pin = `/sys/fs/bpf/kfisa_${process.pid}`;
    try {
      loadLog(p, ['--pin', pin]);
      const text = execFileSync('bpftool', ['prog', 'dump', 'xlated', 'pinned', pin], { encoding: 'utf8' });
      execFileSync('bpftool', ['prog', 'dump', 'xlated', 'pinned', pin, 'file', join(dir, 'x.bin')]);
      const x = decodeInsns(new Uint8Array(readFileSync(join(dir, 'x.bin'))));
      // helper calls in xlated code hold kernel addresses; bpftool names them through kallsyms
      const names = new Map<number, string>();
      for (const l of text.split('\n')) {
        const r = /^\s*(\d+): \(85\) call (.*)#-?\d+$/.exec(l);
        if (r) names.set(Number(r[1]), r[2]);
      }
      const ours = dumpXlated(x, { helperName: () => undefined, callName: (_x, i) => names.get(i) });
      expect(ours).toBe(text);
    } finally {
      rmSync(pin, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('formats lddw once, skips its second slot, and counts it', () => {
    const I = insn;
    const p = [I(0xb7, 1, 0, 0, 1), I(0x18, 1, 1, 0, 5), I(0, 0, 0, 0, 0), I(0x18, 2, 2, 0, 7), I(0, 0, 0, 0, 16), I(0x18, 3, 4, 0, 3), I(0, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0)];
    expect(dumpXlated(p)).toBe(
      ['   0: (b7) r1 = 1', '   1: (18) r1 = map[id:5]', '   3: (18) r2 = map[id:7][0]+16', '   5: (18) r3 = subprog[+3]', '   7: (95) exit', ''].join('\n'),
    );
    expect(dumpXlated(p, { indexWidth: 0, ldImm64: (_x, v) => `0x${v.toString(16)}` }).split('\n')[1]).toBe('1: (18) r1 = 0x5');
  });
});

describe('disasmKernel details', () => {
  const I = insn;
  const k = (x: Insn, o?: KernelDisasmOptions): string => disasmKernel([x, I(0, 0, 0, 0, 0)], 0, o);
  it('calls', () => {
    expect(k(I(0x85, 0, 0, 0, 1))).toBe('(85) call bpf_map_lookup_elem#1');
    expect(k(I(0x85, 0, 0, 0, 999))).toBe('(85) call unknown#999');
    expect(k(I(0x85, 0, 1, 0, 3))).toBe('(85) call pc+3');
    expect(k(I(0x85, 0, 1, 0, -3))).toBe('(85) call pc-3');
    expect(k(I(0x85, 0, 2, 0, 63909))).toBe('(85) call kernel-function#63909');
    expect(k(I(0x85, 0, 2, 0, 63909), { kfuncName: () => 'bpf_dynptr_slice' })).toBe('(85) call bpf_dynptr_slice#63909');
  });
  it('lddw pointers without ptr leaks', () => {
    expect(k(I(0x18, 1, 2, 0, 5), { allowPtrLeaks: false })).toBe('(18) r1 = 0x0');
    expect(k(I(0x18, 1, 0, 0, -1))).toBe('(18) r1 = 0xffffffff');
  });
  it('what the kernel prints for odd encodings', () => {
    expect(k(I(0xbf, 1, 2, 1, 1))).toBe('(bf) r1 = addr_space_cast(r2, 0, 1)');
    expect(k(I(0xbf, 1, 2, -1, 0))).toBe('(bf) r1 = &(void __percpu *)(r2)');
    expect(k(I(0x99, 1, 2, 0, 0))).toBe('(99) r1 = *((null) *)(r2 +0)');
    expect(k(I(0xc3, 1, 2, 0, 0x02))).toBe('BUG_c3');
    expect(k(I(0x68, 1, 2, 0, 0))).toBe('BUG_ld_68');
    expect(k(I(0xe1, 1, 2, 0, 0))).toBe('BUG_ldx_e1');
    expect(k(I(0xc2, 0, 0, 0, 0))).toBe('(c2) nospec');
  });
  it('the helper table', () => {
    expect(HELPER_NAMES.length).toBe(212);
    expect(helperName(1)).toBe('bpf_map_lookup_elem');
    expect(helperName(211)).toBe('bpf_cgroup_storage_delete');
    expect(helperName(212)).toBeUndefined();
  });
  it('never throws on random slots', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 80 }).map((b) => b.slice(0, b.length - (b.length % 8))), (b) => {
        const x = decodeInsns(b);
        for (let i = 0; i < x.length; i++) expect(disasmKernel(x, i)).not.toContain('undefined');
        dumpXlated(x);
      }),
    );
  });
});
