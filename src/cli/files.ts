// Reading inputs for commands: files, BTF blobs inside ELF objects, and the
// running kernel's BTF.

import { readFileSync, existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { parseBtf, type Btf } from '../btf/index.js';
import { parseElf } from '../elf/index.js';
import { KfError, withContext } from '../util/errors.js';

export const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';

export function readInput(path: string): Uint8Array {
  if (!existsSync(path)) throw new KfError(`${path}: no such file`);
  const b = readFileSync(path);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

const isElf = (b: Uint8Array): boolean => b.length >= 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;

/** The raw BTF bytes of a file: a raw BTF blob, or the `.BTF` section of an ELF object. */
export function btfBytesOf(path: string, bytes: Uint8Array = readInput(path)): Uint8Array {
  if (!isElf(bytes)) return bytes;
  const elf = withContext(path, () => parseElf(bytes));
  const sec = elf.sections.find((s) => s.name === '.BTF');
  if (!sec) throw new KfError(`${path}: ELF object has no .BTF section`);
  return sec.data;
}

/**
 * Loads BTF from `path`. Module BTF under /sys/kernel/btf is split BTF on
 * top of vmlinux; like bpftool, use vmlinux as its base unless one is given.
 */
export function loadBtf(path: string, basePath?: string): Btf {
  let base: Btf | undefined;
  if (basePath) base = loadBtf(basePath);
  else if (dirname(path) === '/sys/kernel/btf' && basename(path) !== 'vmlinux' && existsSync(VMLINUX_BTF)) {
    base = loadBtf(VMLINUX_BTF);
  }
  const bytes = btfBytesOf(path);
  return withContext(path, () => parseBtf(bytes, base));
}

/** JSON.stringify that prints bigints as numbers where safe, strings otherwise. */
export function toJson(v: unknown, indent?: number): string {
  return JSON.stringify(
    v,
    (_k, x) => (typeof x === 'bigint' ? (x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(x) : x.toString()) : x),
    indent,
  );
}

/**
 * A path inside the package (examples/, kernel/): the CLI runs both from
 * dist/src/cli (installed) and from src/cli (tests), so look upwards for the
 * package root.
 */
export function packagePath(fromUrl: string, ...parts: string[]): string {
  let dir = dirname(new URL(fromUrl).pathname);
  for (let i = 0; i < 6; i++) {
    if (existsSync(`${dir}/package.json`)) return [dir, ...parts].join('/');
    dir = dirname(dir);
  }
  throw new KfError(`cannot find the kfinline package root above ${fromUrl}`);
}

/** One case of a kernel-verifier JSONL file (../shared/testsuites/kernel-verifier). */
export interface JsonlCase {
  readonly descr: string;
  readonly insns?: string;
  readonly prog_type?: number;
  readonly flags?: number;
  readonly data?: string;
}

/** The cases of a JSONL file, one JSON object a line; a bad line is an error naming it. */
export function* readJsonlCases(path: string): Generator<JsonlCase> {
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let ln = 0; ln < lines.length; ln++) {
    const line = lines[ln].trim();
    if (!line) continue;
    let c: Partial<JsonlCase>;
    try {
      c = JSON.parse(line);
    } catch {
      throw new KfError(`${path}: line ${ln + 1}: not JSON`);
    }
    yield { ...c, descr: c.descr ?? `line ${ln + 1}` };
  }
}
