// kfinline asm FILE.s -o FILE.o [--syntax kernel|ubpf] [--section NAME] [--kfunc NAME]... [--json]

import { readFileSync, writeFileSync } from 'node:fs';
import { assembleKernel, type AsmProgram } from '../isa/asm-kernel.js';
import { assembleUbpf } from '../isa/asm-ubpf.js';
import { objectFromAsm } from '../object/from-asm.js';
import { KfError, withContext } from '../util/errors.js';
import { parseArgs } from './args.js';
import { toJson } from './files.js';
import type { Io } from './io.js';

export async function asmCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['output', 'syntax', 'section', 'license'], multi: ['kfunc'], aliases: { o: 'output' } });
  const path = args.positional[0];
  if (!path) throw new KfError('asm: missing FILE.s');
  const out = args.get('output');
  if (!out) throw new KfError('asm: missing -o FILE.o');
  const src = readFileSync(path, 'utf8');
  const syntax = args.get('syntax') ?? 'kernel';
  let prog: AsmProgram;
  if (syntax === 'kernel') prog = withContext(path, () => assembleKernel(src, { kfuncs: args.all('kfunc') }));
  else if (syntax === 'ubpf') {
    const insns = withContext(path, () => assembleUbpf(src));
    prog = { insns, functions: [], labels: new Map(), relocations: [] };
  } else throw new KfError(`asm: unknown syntax "${syntax}" (kernel or ubpf)`);
  const bytes = objectFromAsm(prog, { section: args.get('section'), license: args.get('license') });
  writeFileSync(out, bytes);
  if (args.has('json')) {
    io.out(toJson({ output: out, insns: prog.insns.length, functions: prog.functions, relocations: prog.relocations }));
  }
  return 0;
}
