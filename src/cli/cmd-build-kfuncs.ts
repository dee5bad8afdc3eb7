// kfinline build-kfuncs SRC.c -o LIB.o [--pipeline emit-llvm|bpf] [--keep-btf]
//                       [--btf FILE] [--host-triple T] [-I DIR]... [--blob FILE.ts] [--json]
//
// Builds an inlinable kfunc library and reports every global function it
// cannot use, by name and reason. The emit-llvm pipeline (the RFC's) leaves
// unusable functions out (llvm-extract --delete) and rebuilds until every
// remaining body loads; the bpf pipeline reports them and fails.
// Tools: CLANG, LLC, STRIP, LLVM_DIS, LLVM_EXTRACT override clang-19 etc.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { Btf } from '../btf/index.js';
import {
  DEFAULT_TOOLS,
  bitcodeCmd,
  bpfCompileCmd,
  deleteFuncsCmd,
  disCmd,
  formatCmd,
  irFunctions,
  llcCmd,
  parseLlcErrors,
  rejectForLlcErrors,
  stripCmd,
  type BuildOptions,
  type BuildTools,
  type Cmd,
  type Pipeline,
  type Rejected,
} from '../inline/build.js';
import { scanKfuncLibrary, type KfuncLibrary, type LibraryProblem } from '../inline/library.js';
import { modelBtfFromObject } from '../kernel/layout.js';
import { modelObject } from '../kernel/model-blob.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { loadBtf, readInput, toJson } from './files.js';
import type { Io } from './io.js';

export interface BuildKfuncsOptions {
  pipeline?: Pipeline;
  /** Kernel BTF that internal calls and prototypes resolve against (default: the embedded model BTF). */
  kernelBtf?: Btf;
  keepBtf?: boolean;
  hostTriple?: string;
  includes?: string[];
  tools?: Partial<BuildTools>;
  /** Called with each command line before it runs. */
  onCommand?: (line: string) => void;
}

export interface BuildKfuncsResult {
  readonly output: string;
  readonly pipeline: Pipeline;
  /** The library as loaded from the output (when it loads). */
  readonly library?: KfuncLibrary;
  readonly rejected: Rejected[];
  readonly commands: string[];
  /** True when the output was written and every body in it loads. */
  readonly ok: boolean;
}

/** Tools from the environment (CLANG, LLC, STRIP, LLVM_DIS, LLVM_EXTRACT). */
export function toolsFromEnv(env: NodeJS.ProcessEnv = process.env): BuildTools {
  return {
    clang: env.CLANG ?? DEFAULT_TOOLS.clang,
    llc: env.LLC ?? DEFAULT_TOOLS.llc,
    strip: env.STRIP ?? DEFAULT_TOOLS.strip,
    llvmDis: env.LLVM_DIS ?? DEFAULT_TOOLS.llvmDis,
    llvmExtract: env.LLVM_EXTRACT ?? DEFAULT_TOOLS.llvmExtract,
  };
}

interface RunResult {
  ok: boolean;
  stderr: string;
}

function runCmd(c: Cmd, log: string[], onCommand?: (l: string) => void): RunResult {
  const line = (c.cwd ? `(cd ${c.cwd} && ` : '') + formatCmd(c) + (c.cwd ? ')' : '');
  log.push(line);
  onCommand?.(line);
  const r = spawnSync(c.tool, [...c.args], { cwd: c.cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KfError(`${c.tool} not found (needed to ${c.what}; install it or set its environment variable)`);
    throw new KfError(`${c.tool}: ${r.error.message}`);
  }
  return { ok: r.status === 0, stderr: r.stderr ?? '' };
}

function mustRun(c: Cmd, log: string[], onCommand?: (l: string) => void): void {
  const r = runCmd(c, log, onCommand);
  if (!r.ok) throw new KfError(`${c.tool} failed to ${c.what}:\n${r.stderr.trim()}`);
}

const problemReason = (p: LibraryProblem): string => (p.index !== undefined ? `instruction ${p.index}: ${p.reason}` : p.reason);

function scan(lib: string, btf: Btf): { library: KfuncLibrary; problems: LibraryProblem[] } {
  const bytes = readInput(lib);
  const r = scanKfuncLibrary(bytes, btf);
  const whole = r.problems.find((p) => p.body === '');
  if (whole) throw new KfError(`${lib}: ${whole.reason}`);
  return r;
}

/** Runs the pipeline: SRC.c → OUT (an ELF BPF object). */
export function buildKfuncLibrary(src: string, out: string, o: BuildKfuncsOptions = {}): BuildKfuncsResult {
  const pipeline = o.pipeline ?? 'emit-llvm';
  const srcAbs = resolve(src);
  if (!existsSync(srcAbs)) throw new KfError(`${src}: no such file`);
  const outAbs = resolve(out);
  const btf = o.kernelBtf ?? modelBtfFromObject(modelObject());
  const bo: BuildOptions = {
    tools: { ...toolsFromEnv(), ...o.tools },
    hostTriple: o.hostTriple,
    includes: o.includes?.map((d) => resolve(d)),
    keepBtf: o.keepBtf,
    cwd: dirname(srcAbs),
  };
  const rel = basename(srcAbs);
  const tmp = mkdtempSync(join(tmpdir(), 'kfinline-kfuncs-'));
  const log: string[] = [];
  const rejected: Rejected[] = [];
  try {
    if (pipeline === 'bpf') {
      const obj = join(tmp, 'x.o');
      mustRun(bpfCompileCmd(rel, obj, bo), log, o.onCommand);
      const lib = join(tmp, 'lib.o');
      mustRun(stripCmd(obj, lib, bo, o.keepBtf), log, o.onCommand);
      const { library, problems } = scan(lib, btf);
      for (const p of problems) rejected.push({ name: p.body, reason: problemReason(p) });
      if (problems.length) return { output: outAbs, pipeline, rejected: merge(rejected), commands: log, ok: false };
      writeFileSync(outAbs, readFileSync(lib));
      return { output: outAbs, pipeline, library, rejected, commands: log, ok: true };
    }
    if (o.keepBtf) throw new KfError('--keep-btf applies to the bpf pipeline only (the emit-llvm pipeline strips BTF, as the RFC)');
    let bc = join(tmp, 'x0.bc');
    mustRun(bitcodeCmd(rel, bc, bo), log, o.onCommand);
    const gone = new Set<string>();
    for (let round = 1; ; round++) {
      const ll = join(tmp, `x${round}.ll`);
      mustRun(disCmd(bc, ll, bo), log, o.onCommand);
      const fns = irFunctions(readFileSync(ll, 'utf8'));
      if (!fns.some((f) => f.global)) throw new KfError(`${src}: no global function left to build`);
      const obj = join(tmp, `x${round}.o`);
      const r = runCmd(llcCmd(bc, obj, bo), log, o.onCommand);
      let drop: Rejected[];
      let library: KfuncLibrary | undefined;
      const lib = join(tmp, `lib${round}.o`);
      if (!r.ok) {
        drop = rejectForLlcErrors(parseLlcErrors(r.stderr, fns), fns, r.stderr);
      } else {
        mustRun(stripCmd(obj, lib, bo), log, o.onCommand);
        const s = scan(lib, btf);
        library = s.library;
        drop = s.problems.map((p) => ({ name: p.body, reason: problemReason(p) }));
      }
      if (drop.length === 0) {
        writeFileSync(outAbs, readFileSync(lib));
        return { output: outAbs, pipeline, library, rejected: merge(rejected), commands: log, ok: true };
      }
      rejected.push(...drop);
      const names = [...new Set(drop.map((d) => d.name))];
      const again = names.filter((n) => gone.has(n));
      if (again.length) throw new KfError(`${src}: deleting ${again.join(', ')} did not remove the problem`);
      for (const n of names) gone.add(n);
      const next = join(tmp, `x${round}.bc`);
      mustRun(deleteFuncsCmd(bc, next, names, bo), log, o.onCommand);
      bc = next;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** One entry per function, reasons joined. */
function merge(rs: readonly Rejected[]): Rejected[] {
  const m = new Map<string, string[]>();
  for (const r of rs) m.set(r.name, [...(m.get(r.name) ?? []), r.reason]);
  return [...m].map(([name, reasons]) => ({ name, reason: reasons.join('; ') }));
}

/** The TypeScript module embedding a library object as base64 (src/inline/library-blob.ts). */
export function libraryBlobModule(bytes: Uint8Array, from: string): string {
  const b64 = Buffer.from(bytes).toString('base64');
  const lines = b64.match(/.{1,100}/g) ?? [];
  return (
    `// GENERATED by scripts/build-kfuncs.mjs from ${from}: do not edit.\n` +
    `// The inlinable kfunc library (a BPF object), embedded for browser builds.\n\n` +
    `const B64 =\n${lines.map((l) => `  '${l}'`).join(' +\n')};\n\n` +
    `/** Size in bytes of ${from}. */\nexport const KFUNC_LIBRARY_SIZE = ${bytes.length};\n\n` +
    `/** The bytes of ${from}. */\n` +
    `export function kfuncLibraryObject(): Uint8Array {\n` +
    `  const s = atob(B64);\n` +
    `  const out = new Uint8Array(s.length);\n` +
    `  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);\n` +
    `  return out;\n` +
    `}\n`
  );
}

export async function buildKfuncsCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, {
    values: ['output', 'pipeline', 'btf', 'host-triple', 'blob'],
    flags: ['keep-btf', 'verbose'],
    multi: ['I'],
    aliases: { o: 'output', v: 'verbose' },
  });
  const src = args.positional[0];
  if (!src) throw new KfError('build-kfuncs: missing SRC.c');
  if (args.positional.length > 1) throw new KfError(`build-kfuncs: unexpected argument "${args.positional[1]}"`);
  const out = args.get('output');
  if (!out) throw new KfError('build-kfuncs: missing -o LIB.o');
  const pipeline = args.get('pipeline') ?? 'emit-llvm';
  if (pipeline !== 'emit-llvm' && pipeline !== 'bpf') throw new KfError(`build-kfuncs: unknown pipeline "${pipeline}" (emit-llvm or bpf)`);
  const json = args.has('json');
  const btfPath = args.get('btf');
  const res = buildKfuncLibrary(src, out, {
    pipeline,
    kernelBtf: btfPath ? loadBtf(btfPath) : undefined,
    keepBtf: args.has('keep-btf'),
    hostTriple: args.get('host-triple'),
    includes: args.all('I'),
    onCommand: args.has('verbose') && !json ? (l) => io.err(l) : undefined,
  });
  const blob = args.get('blob');
  if (blob && res.ok) writeFileSync(blob, libraryBlobModule(readInput(out), out));
  const bodies = [...(res.library?.bodies.values() ?? [])].map((b) => ({
    name: b.name,
    insns: b.insns.length,
    btfId: b.btfId,
    protoSource: b.protoSource,
    internalCalls: b.internalCalls.map((c) => ({ index: c.index, name: c.name, btfId: c.btfId })),
  }));
  if (json) {
    io.out(toJson({ output: res.output, pipeline: res.pipeline, ok: res.ok, bodies, rejected: res.rejected, commands: res.commands }, 2));
  } else {
    if (res.ok) io.out(`${out}: ${bodies.length} bodies (${res.pipeline} pipeline)`);
    for (const b of bodies) {
      const calls = b.internalCalls.length ? `  calls ${[...new Set(b.internalCalls.map((c) => c.name))].join(', ')}` : '';
      io.out(`  ${b.name}: ${b.insns} insns, btf id ${b.btfId} (${b.protoSource})${calls}`);
    }
    for (const r of res.rejected) io.err(`build-kfuncs: cannot use ${r.name}: ${r.reason}`);
    if (!res.ok) io.err(`build-kfuncs: ${out} not written`);
  }
  return res.ok ? 0 : 1;
}
