// A small argument parser for bpftool-style command lines:
//   kfinline disasm FILE.o --prog NAME --syntax llvm --json
// Options may appear anywhere; `--x=y` and `--x y` both work; flags are
// declared so that `--json FILE` does not swallow FILE.

import { KfError } from '../util/errors.js';

export interface ArgSpec {
  /** Options that take a value. */
  readonly values?: readonly string[];
  /** Options that take no value. */
  readonly flags?: readonly string[];
  /** Options that may repeat; their values collect into an array. */
  readonly multi?: readonly string[];
  /** Short aliases, e.g. { o: 'output', C: 'compare' }. */
  readonly aliases?: Readonly<Record<string, string>>;
}

export interface ParsedArgs {
  readonly positional: string[];
  readonly opts: Map<string, string | true>;
  readonly multi: Map<string, string[]>;
  get(name: string): string | undefined;
  has(name: string): boolean;
  all(name: string): string[];
  int(name: string, dflt: number): number;
}

export function parseArgs(argv: readonly string[], spec: ArgSpec): ParsedArgs {
  const values = new Set(spec.values ?? []);
  const flags = new Set([...(spec.flags ?? []), 'json', 'help']);
  const multiNames = new Set(spec.multi ?? []);
  const positional: string[] = [];
  const opts = new Map<string, string | true>();
  const multi = new Map<string, string[]>();
  let rest = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (rest || !a.startsWith('-') || a === '-') {
      positional.push(a);
      continue;
    }
    if (a === '--') {
      rest = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else {
      const short = a.slice(1);
      name = spec.aliases?.[short] ?? short;
    }
    if (flags.has(name)) {
      if (inline !== undefined) throw new KfError(`option --${name} takes no value`);
      opts.set(name, true);
      continue;
    }
    if (values.has(name) || multiNames.has(name)) {
      let v = inline;
      if (v === undefined) {
        if (i + 1 >= argv.length) throw new KfError(`option --${name} needs a value`);
        v = argv[++i];
      }
      if (multiNames.has(name)) {
        const list = multi.get(name) ?? [];
        list.push(v);
        multi.set(name, list);
      } else opts.set(name, v);
      continue;
    }
    throw new KfError(`unknown option ${a}`);
  }
  return {
    positional,
    opts,
    multi,
    get: (n) => {
      const v = opts.get(n);
      return typeof v === 'string' ? v : undefined;
    },
    has: (n) => opts.has(n),
    all: (n) => multi.get(n) ?? [],
    int: (n, d) => {
      const v = opts.get(n);
      if (typeof v !== 'string') return d;
      const x = Number(v);
      if (!Number.isInteger(x)) throw new KfError(`option --${n}: "${v}" is not an integer`);
      return x;
    },
  };
}
