// The raw bpf() system call through koffi, loaded lazily so that the rest of
// kfinline works in a browser and where koffi is missing.
//
// libc's variadic `long syscall(long nr, ...)` is called with the number of
// __NR_bpf for the running architecture; errno comes from koffi.errno(),
// which koffi saves right after the foreign call.

import { KfError } from '../util/errors.js';
import { errnoName } from './errno.js';

/** __NR_bpf per Node's process.arch. */
const NR_BPF: Record<string, number> = { x64: 321, arm64: 280 };

export interface SysResult {
  /** The syscall's return value (an fd or 0), -1 on failure. */
  readonly ret: number;
  /** errno when ret < 0, else 0. */
  readonly errno: number;
}

export interface Sys {
  /** bpf(cmd, attr, size): attr must stay referenced until this returns. */
  bpf(cmd: number, attr: Buffer): SysResult;
  close(fd: number): void;
  /** Address of a Buffer's bytes, for the __aligned_u64 pointer fields of union bpf_attr. */
  address(b: Buffer): bigint;
}

let loading: Promise<Sys | string> | undefined;

async function init(): Promise<Sys | string> {
  if (process.platform !== 'linux') return `not Linux (platform ${process.platform})`;
  const nr = NR_BPF[process.arch];
  if (nr === undefined) return `no bpf() syscall number known for architecture ${process.arch}`;
  let koffi: typeof import('koffi');
  try {
    const mod = (await import('koffi')) as unknown as { default?: typeof import('koffi') };
    koffi = mod.default ?? (mod as unknown as typeof import('koffi'));
  } catch (e) {
    return `koffi failed to load (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
  try {
    const libc = koffi.load('libc.so.6');
    const syscall = libc.func('long syscall(long nr, ...)');
    const close = libc.func('int close(int fd)');
    return {
      bpf(cmd: number, attr: Buffer): SysResult {
        const r = Number(syscall(nr, 'long', cmd, 'void *', attr, 'long', attr.length));
        if (r < 0) return { ret: -1, errno: koffi.errno() };
        return { ret: r, errno: 0 };
      },
      close(fd: number): void {
        if (fd >= 0) close(fd);
      },
      address(b: Buffer): bigint {
        return b.length === 0 ? 0n : koffi.address(b);
      },
    };
  } catch (e) {
    return `libc syscall() not callable through koffi (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`;
  }
}

/** The system-call layer, or the reason it cannot be had (not Linux, no koffi, ...). */
export function sysOrReason(): Promise<Sys | string> {
  loading ??= init();
  return loading;
}

/** The system-call layer; throws KfError "bpf() unavailable: <reason>". */
export async function getSys(): Promise<Sys> {
  const s = await sysOrReason();
  if (typeof s === 'string') throw new KfError(`bpf() unavailable: ${s}`);
  return s;
}

/**
 * KfError for a failed command: "bpf(BPF_MAP_CREATE) failed: EINVAL (22): ...".
 * EPERM says bpf() is unavailable, except where it is a normal answer
 * (updating a frozen map).
 */
export function bpfError(cmdName: string, errno: number, detail?: string, epermMeansUnavailable = true): KfError {
  const e = `${errnoName(errno)} (${errno})`;
  if (errno === 1 && epermMeansUnavailable) return new KfError(`bpf() unavailable: bpf(${cmdName}) not permitted (${e}): needs root or CAP_BPF/CAP_SYS_ADMIN`);
  if (errno === 38) return new KfError(`bpf() unavailable: kernel has no bpf() system call (${e})`);
  return new KfError(`bpf(${cmdName}) failed: ${e}${detail ? `: ${detail}` : ''}`);
}
