// Building a kfunc library: the command lines of the RFC's pipeline and the
// parsing of what the tools print. Pure: nothing here runs a process or
// touches a file (src/cli/cmd-build-kfuncs.ts and scripts/build-kfuncs.mjs do).
//
// The RFC's pipeline (kernel/bpf/Makefile of the series):
//   clang <c_flags> -emit-llvm -c inlinable_kfuncs.c -o X.bc      host bitcode
//   llc -mcpu=v3 --mtriple=bpf --filetype=obj X.bc -o X.o          BPF code
//   llvm-strip --strip-debug --remove-section=.*BTF* -o LIB.o X.o
// The kernel headers are compiled as host code (their layouts are the host's);
// any host inline assembly that survives optimisation makes llc fail. The
// second pipeline is plain `clang -O2 -target bpf -mcpu=v3 -c` (test libraries
// of hand-written BPF, built with -g so that their BTF gives prototypes).

import { KfError } from '../util/errors.js';

export type Pipeline = 'emit-llvm' | 'bpf';

/** One tool invocation. `cwd` (when set) is where relative paths resolve. */
export interface Cmd {
  readonly tool: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  /** What the step does, for messages. */
  readonly what: string;
}

export interface BuildTools {
  readonly clang: string;
  readonly llc: string;
  readonly strip: string;
  readonly llvmDis: string;
  readonly llvmExtract: string;
}

export const DEFAULT_TOOLS: BuildTools = {
  clang: 'clang-19',
  llc: 'llc-19',
  strip: 'llvm-strip-19',
  llvmDis: 'llvm-dis-19',
  llvmExtract: 'llvm-extract-19',
};

/**
 * The host the library's C is compiled for. Pinned (not the build machine's
 * default) so that the committed object is reproducible: the model kernel is
 * an x86_64 kernel, as in the RFC.
 */
export const HOST_TRIPLE = 'x86_64-unknown-linux-gnu';

/**
 * The kernel's c_flags that matter here: freestanding, wrapping signed
 * arithmetic (-fno-strict-overflow), no unwind tables, no stack protector.
 */
export const HOST_CFLAGS: readonly string[] = [
  '-O2',
  '-nostdinc',
  '-ffreestanding',
  '-fno-strict-overflow',
  '-fno-asynchronous-unwind-tables',
  '-fno-unwind-tables',
  '-fno-stack-protector',
  '-fno-pic',
  '-Wall',
  '-Werror',
];

export const BPF_CFLAGS: readonly string[] = ['-O2', '-target', 'bpf', '-mcpu=v3', '-fno-strict-overflow', '-Wall', '-Werror'];

export interface BuildOptions {
  readonly tools?: Partial<BuildTools>;
  /** Host triple for the emit-llvm pipeline (default HOST_TRIPLE). */
  readonly hostTriple?: string;
  /** Extra -I directories. */
  readonly includes?: readonly string[];
  /** bpf pipeline: keep .BTF (built with -g); DWARF is always stripped. */
  readonly keepBtf?: boolean;
  /** Directory the compiler runs in (relative source paths keep the objects reproducible). */
  readonly cwd?: string;
}

const tools = (o: BuildOptions): BuildTools => ({ ...DEFAULT_TOOLS, ...o.tools });
const incs = (o: BuildOptions): string[] => (o.includes ?? []).flatMap((d) => ['-I', d]);

/** clang -emit-llvm -c SRC -o BC (host target). */
export function bitcodeCmd(src: string, bc: string, o: BuildOptions = {}): Cmd {
  return {
    tool: tools(o).clang,
    args: [`--target=${o.hostTriple ?? HOST_TRIPLE}`, ...HOST_CFLAGS, ...incs(o), '-emit-llvm', '-c', src, '-o', bc],
    cwd: o.cwd,
    what: 'compile to host bitcode',
  };
}

/** llvm-dis BC -o LL: the IR text, to map llc's errors to functions. */
export function disCmd(bc: string, ll: string, o: BuildOptions = {}): Cmd {
  return { tool: tools(o).llvmDis, args: [bc, '-o', ll], cwd: o.cwd, what: 'disassemble bitcode' };
}

/** llc -mcpu=v3 --mtriple=bpf --filetype=obj BC -o OBJ */
export function llcCmd(bc: string, obj: string, o: BuildOptions = {}): Cmd {
  return { tool: tools(o).llc, args: ['-mcpu=v3', '--mtriple=bpf', '--filetype=obj', bc, '-o', obj], cwd: o.cwd, what: 'lower bitcode to BPF' };
}

/** llvm-extract --delete: the module without the named functions (those the library cannot use). */
export function deleteFuncsCmd(bc: string, out: string, names: readonly string[], o: BuildOptions = {}): Cmd {
  if (names.length === 0) throw new KfError('deleteFuncsCmd: no functions to delete');
  return {
    tool: tools(o).llvmExtract,
    args: ['--delete', ...names.map((n) => `--func=${n}`), bc, '-o', out],
    cwd: o.cwd,
    what: `delete ${names.join(', ')} from the bitcode`,
  };
}

/** llvm-strip --strip-debug --remove-section=.*BTF* -o LIB OBJ (the bpf pipeline may keep BTF). */
export function stripCmd(obj: string, lib: string, o: BuildOptions = {}, keepBtf = false): Cmd {
  const args = ['--strip-debug'];
  if (!keepBtf) args.push('--remove-section=.*BTF*');
  args.push('-o', lib, obj);
  return { tool: tools(o).strip, args, cwd: o.cwd, what: 'strip' };
}

/** clang -O2 -target bpf -mcpu=v3 [-g] -c SRC -o OBJ */
export function bpfCompileCmd(src: string, obj: string, o: BuildOptions = {}): Cmd {
  return {
    tool: tools(o).clang,
    // -fdebug-prefix-map: the source path that .BTF.ext line info keeps is relative (reproducible objects)
    args: [...BPF_CFLAGS, ...(o.keepBtf ? ['-g', ...(o.cwd ? [`-fdebug-prefix-map=${o.cwd}=.`] : [])] : []), ...incs(o), '-c', src, '-o', obj],
    cwd: o.cwd,
    what: 'compile to BPF',
  };
}

/** The command line as a shell would show it. */
export function formatCmd(c: Cmd): string {
  const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [c.tool, ...c.args].map(q).join(' ');
}

// ---- LLVM IR text -------------------------------------------------------------

export interface IrFunction {
  readonly name: string;
  /** Not internal/private linkage: an ELF global, so a library body. */
  readonly global: boolean;
  /** !srcloc cookies of the inline assembly in its body. */
  readonly asmSrclocs: number[];
  readonly hasInlineAsm: boolean;
  /** Functions it calls by name (defined or declared). */
  readonly calls: string[];
}

const NAME = String.raw`@(?:"((?:[^"\\]|\\.)*)"|([-\w$.]+))`;
const DEFINE_RE = new RegExp(String.raw`^define\s+([^@]*)` + NAME);
const CALL_RE = new RegExp(String.raw`\b(?:call|invoke|callbr)\b[^@]*?` + NAME + String.raw`\s*\(`);

/** The functions defined in an LLVM IR text (llvm-dis output). */
export function irFunctions(ll: string): IrFunction[] {
  const lines = ll.split('\n');
  const meta = new Map<string, number>();
  for (const l of lines) {
    const m = /^(![0-9]+) = !\{i64 (-?\d+)/.exec(l);
    if (m) meta.set(m[1], Number(m[2]));
  }
  const out: IrFunction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const d = DEFINE_RE.exec(lines[i]);
    if (!d) continue;
    const linkage = d[1];
    const name = d[2] ?? d[3];
    const asmSrclocs: number[] = [];
    const calls: string[] = [];
    let hasInlineAsm = false;
    for (i++; i < lines.length && lines[i] !== '}'; i++) {
      const l = lines[i];
      if (/\basm\s+(?:sideeffect\s+|inteldialect\s+|alignstack\s+|unwind\s+)*"/.test(l)) {
        hasInlineAsm = true;
        const s = /!srcloc (![0-9]+)/.exec(l);
        const v = s ? meta.get(s[1]) : undefined;
        if (v !== undefined) asmSrclocs.push(v);
        continue;
      }
      const c = CALL_RE.exec(l);
      if (c) {
        const callee = c[1] ?? c[2];
        if (!callee.startsWith('llvm.') && !calls.includes(callee)) calls.push(callee);
      }
    }
    out.push({ name, global: !/\b(internal|private)\b/.test(linkage), asmSrclocs, hasInlineAsm, calls });
  }
  return out;
}

export interface LlcError {
  readonly message: string;
  /** The function the error is in, when the error carries a source cookie that maps to one. */
  readonly fn?: string;
}

/**
 * Parses llc's errors. Inline assembly errors carry the asm's !srcloc cookie
 * (`note: !srcloc = N` after the error, or `... at line N` in it), which
 * `irFunctions()` maps back to the function that contains the asm.
 */
export function parseLlcErrors(stderr: string, fns: readonly IrFunction[]): LlcError[] {
  const bySrcloc = new Map<number, string>();
  for (const f of fns) for (const s of f.asmSrclocs) bySrcloc.set(s, f.name);
  const out: { message: string; fn?: string }[] = [];
  const lines = stderr.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const e = /(?:^|:\s)error:\s*(.*)$/.exec(l);
    if (e) {
      const err: { message: string; fn?: string } = { message: e[1].trim() };
      const at = /\bat line (\d+)\b/.exec(e[1]);
      if (at) err.fn = bySrcloc.get(Number(at[1]));
      // The offending asm line follows an `<inline asm>` error; keep it in the message.
      if (/^<inline asm>/.test(l) && i + 1 < lines.length && lines[i + 1].trim() && !/error:|note:/.test(lines[i + 1])) {
        err.message += `: "${lines[i + 1].trim()}"`;
      }
      out.push(err);
      continue;
    }
    const n = /note: !srcloc = (\d+)/.exec(l);
    if (n && out.length && out[out.length - 1].fn === undefined) out[out.length - 1].fn = bySrcloc.get(Number(n[1]));
  }
  return out;
}

/** A global function that the build left out of the library, and why. */
export interface Rejected {
  readonly name: string;
  readonly reason: string;
}

/**
 * The functions to reject for llc's errors: each error's function, or, for
 * errors that name none, every global function with inline assembly.
 * Throws when an error cannot be pinned on any function.
 */
export function rejectForLlcErrors(errors: readonly LlcError[], fns: readonly IrFunction[], stderr: string): Rejected[] {
  const out = new Map<string, string[]>();
  const add = (name: string, msg: string): void => {
    const l = out.get(name) ?? [];
    if (!l.includes(msg)) l.push(msg);
    out.set(name, l);
  };
  const withAsm = fns.filter((f) => f.hasInlineAsm);
  const globals = new Set(fns.filter((f) => f.global).map((f) => f.name));
  for (const e of errors) {
    if (e.fn) add(e.fn, e.message);
    else for (const f of withAsm) add(f.name, e.message);
  }
  if (out.size === 0) throw new KfError(`llc failed and no function could be blamed:\n${stderr.trim()}`);
  // Asm in a static function that was not inlined: blame the globals that reach it.
  const rej = new Map<string, string>();
  for (const [name, msgs] of out) {
    const why = `contains host inline assembly that llc cannot lower to BPF: ${msgs.join('; ')}`;
    if (globals.has(name)) {
      rej.set(name, why);
      continue;
    }
    const reach = callersOf(name, fns).filter((g) => globals.has(g));
    if (reach.length === 0) throw new KfError(`llc failed in static function "${name}" (${msgs.join('; ')}), which no global function calls`);
    for (const g of reach) if (!rej.has(g)) rej.set(g, `calls static function "${name}", which ${why}`);
  }
  return [...rej].map(([name, reason]) => ({ name, reason }));
}

/** Every function that calls `name`, directly or not. */
export function callersOf(name: string, fns: readonly IrFunction[]): string[] {
  const seen = new Set<string>([name]);
  const todo = [name];
  while (todo.length) {
    const cur = todo.pop()!;
    for (const f of fns) {
      if (f.calls.includes(cur) && !seen.has(f.name)) {
        seen.add(f.name);
        todo.push(f.name);
      }
    }
  }
  seen.delete(name);
  return [...seen];
}
