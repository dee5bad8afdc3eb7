// Test helper: load a program into the running kernel with bpf(BPF_PROG_LOAD)
// and return the verifier log. Uses koffi (loaded lazily). Only for tests.
import { beforeAll } from 'vitest';
import { encodeInsns } from '../../src/isa/codec.js';
import type { Insn } from '../../src/isa/insn.js';

export interface KernelLoad {
  ok: boolean;
  errno: number;
  log: string;
}

type SyscallFn = (...args: unknown[]) => number | bigint;
let sys: { syscall: SyscallFn; errno: () => number; koffi: any } | null | undefined;

async function init(): Promise<typeof sys> {
  if (sys !== undefined) return sys;
  try {
    const koffi: any = (await import('koffi')).default;
    const libc = koffi.load('libc.so.6');
    const syscall = libc.func('long syscall(long nr, ...)');
    sys = { syscall, errno: () => koffi.errno(), koffi };
  } catch {
    sys = null;
  }
  return sys;
}

/** Why kernel loading is unavailable, or null when bpf() works. */
export async function kernelUnavailable(): Promise<string | null> {
  const s = await init();
  if (!s) return 'koffi/libc not loadable';
  if (process.getuid && process.getuid() !== 0) return 'not root: bpf() needs CAP_BPF';
  const r = await kernelLoad([{ code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 }, { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 }], 1);
  return r.ok ? null : `bpf(BPF_PROG_LOAD) failed with errno ${r.errno}`;
}

const SYS_BPF = 321; // x86-64
const BPF_PROG_LOAD = 5;

export async function kernelLoad(
  insns: readonly Insn[],
  progType: number,
  opts: { logLevel?: number; flags?: number; expectedAttach?: number } = {},
): Promise<KernelLoad> {
  const s = await init();
  if (!s) throw new Error('koffi unavailable');
  const code = Buffer.from(encodeInsns(insns));
  const license = Buffer.from('GPL\0');
  const logSize = 16 << 20;
  const log = Buffer.alloc(logSize);
  const attr = Buffer.alloc(144);
  const addr = (b: Buffer): bigint => BigInt(s.koffi.address(b));
  attr.writeUInt32LE(progType, 0);
  attr.writeUInt32LE(insns.length, 4);
  attr.writeBigUInt64LE(addr(code), 8);
  attr.writeBigUInt64LE(addr(license), 16);
  attr.writeUInt32LE(opts.logLevel ?? 2, 24);
  attr.writeUInt32LE(logSize, 28);
  attr.writeBigUInt64LE(addr(log), 32);
  attr.writeUInt32LE(opts.flags ?? 0, 44);
  attr.writeUInt32LE(opts.expectedAttach ?? 0, 68);
  const fd = Number(s.syscall(SYS_BPF, 'int', BPF_PROG_LOAD, 'void *', attr, 'uint', 144));
  const errno = fd < 0 ? s.errno() : 0;
  if (fd >= 0) {
    const close = s.koffi.load('libc.so.6').func('int close(int)');
    close(fd);
  }
  const end = log.indexOf(0);
  return { ok: fd >= 0, errno, log: log.subarray(0, end < 0 ? logSize : end).toString('utf8') };
}

/** Whether the running kernel can be asked, and its vmlinux kfunc ids; filled in by probeKernel()'s beforeAll. */
export interface KernelProbe {
  /** Why the kernel comparison is skipped, or null when it runs. */
  why: string | null;
  /** A kfunc's BTF id in the running kernel's vmlinux (valid once `why` is null). */
  vmlinuxId: (name: string) => number;
}

/**
 * Registers a beforeAll that probes bpf() and reads vmlinux BTF; `what`
 * names the comparison in the line printed when it is skipped.
 */
export function probeKernel(what: string): KernelProbe {
  const probe: KernelProbe = { why: 'not probed', vmlinuxId: () => 0 };
  beforeAll(async () => {
    probe.why = await kernelUnavailable();
    if (probe.why) {
      console.log(`${what} skipped: ${probe.why}`);
      return;
    }
    const btf = (await import('../../src/oracle/index.js')).vmlinuxBtf();
    probe.vmlinuxId = (n) => btf.findByNameKind(n, 'FUNC');
  });
  return probe;
}
