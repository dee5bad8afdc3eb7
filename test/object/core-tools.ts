// Helpers for the CO-RE tests: the running kernel's BTF as target, and
// libbpf's own relocation decisions read from `bpftool -d prog loadall`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseBtf, type Btf } from '../../src/btf/index.js';
import { parseElf } from '../../src/elf/index.js';
import type { CoreReloOutcome } from '../../src/object/index.js';

export const CORE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'core');
export const VMLINUX = '/sys/kernel/btf/vmlinux';
export const HAVE_VMLINUX = existsSync(VMLINUX);

let vmlinux: Btf | undefined;
export function vmlinuxBtf(): Btf {
  if (!vmlinux) {
    const b = readFileSync(VMLINUX);
    vmlinux = parseBtf(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  }
  return vmlinux;
}

export function readCoreFixture(name: string): Uint8Array {
  const b = readFileSync(join(CORE_DIR, name));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** One relocation decision, in the shape libbpf's debug log gives it. */
export interface LibbpfDecision {
  readonly prog: string;
  readonly relo: number;
  readonly insn: number;
  /** 'ALU/ALU64' | 'LDX/ST/STX' | 'LDIMM64' | 'poisoned' */
  readonly action: string;
  readonly before?: string;
  readonly after?: string;
  readonly memSize?: string;
}

/**
 * Runs `bpftool -d prog loadall OBJ PIN` and parses libbpf's lines
 *   prog 'x': relo #3: patched insn #5 (LDX/ST/STX) off 36 -> 1264
 *   prog 'x': relo #3: patched insn #5 (LDX/ST/STX) mem_sz 8 -> 4
 *   prog 'x': relo #7: substituting insn #15 w/ invalid insn
 * Also returns whether the kernel accepted the programs and the whole log.
 */
export function libbpfDecisions(objPath: string): { decisions: LibbpfDecision[]; loaded: boolean; log: string } {
  const pin = `/sys/fs/bpf/kf_core_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  try {
    const r = spawnSync('bpftool', ['-d', 'prog', 'loadall', objPath, pin], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const log = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    const byKey = new Map<string, LibbpfDecision>();
    const order: string[] = [];
    for (const line of log.split('\n')) {
      const m = /^libbpf: prog '([^']+)': relo #(\d+): (.*)$/.exec(line);
      if (!m) continue;
      const [, prog, relo, rest] = m;
      const key = `${prog}#${relo}`;
      const p = /^patched insn #(\d+) \(([A-Z0-9/]+)\) (off|imm|imm64) (\d+) -> (\d+)$/.exec(rest);
      const sz = /^patched insn #(\d+) \(LDX\/ST\/STX\) mem_sz (\d+) -> (\d+)$/.exec(rest);
      const poison = /^substituting insn #(\d+) w\/ invalid insn$/.exec(rest);
      const prev = byKey.get(key);
      if (p) {
        byKey.set(key, { prog, relo: Number(relo), insn: Number(p[1]), action: p[2], before: p[4], after: p[5] });
        order.push(key);
      } else if (sz && prev) {
        byKey.set(key, { ...prev, memSize: `${sz[2]} -> ${sz[3]}` });
      } else if (poison) {
        // ld_imm64 poisons two slots: keep the first (lower) one.
        if (!prev || prev.action !== 'poisoned') order.push(key);
        if (!prev || prev.action !== 'poisoned' || Number(poison[1]) < prev.insn) {
          byKey.set(key, { prog, relo: Number(relo), insn: Number(poison[1]), action: 'poisoned' });
        }
      }
    }
    return { decisions: order.map((k) => byKey.get(k)!), loaded: r.status === 0, log };
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
}

/** Our outcomes in the same shape. */
export function asDecisions(outs: readonly CoreReloOutcome[]): LibbpfDecision[] {
  return outs.map((o) =>
    o.action === 'poisoned'
      ? { prog: o.func, relo: o.index, insn: o.insn, action: 'poisoned' }
      : {
          prog: o.func, relo: o.index, insn: o.insn, action: o.action, before: String(o.before), after: String(o.after),
          ...(o.memSize && { memSize: `${o.memSize.from} -> ${o.memSize.to}` }),
        },
  );
}

/** File offsets of interesting parts of an object: the core_relo records, the .BTF strings and types, the code. */
export function coreLayout(bytes: Uint8Array) {
  const elf = parseElf(bytes);
  const ext = elf.sectionByName('.BTF.ext')!;
  const btf = elf.sectionByName('.BTF')!;
  const dv = new DataView(ext.data.buffer, ext.data.byteOffset, ext.data.byteLength);
  const hdrLen = dv.getUint32(4, true);
  const coreOff = ext.offset + hdrLen + dv.getUint32(24, true);
  const coreLen = dv.getUint32(28, true);
  const bdv = new DataView(btf.data.buffer, btf.data.byteOffset, btf.data.byteLength);
  const bh = bdv.getUint32(4, true);
  const types = { start: btf.offset + bh + bdv.getUint32(8, true), len: bdv.getUint32(12, true) };
  const strs = { start: btf.offset + bh + bdv.getUint32(16, true), len: bdv.getUint32(20, true) };
  const code = elf.sections.filter((s) => s.name.startsWith('tp_btf') || s.name === '.text' || s.name === 'tc');
  return { core: { start: coreOff, len: coreLen }, types, strs, code };
}

