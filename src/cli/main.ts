// kfinline command line. The only layer that touches the terminal and files.

import { KfError } from '../util/errors.js';
import { type Command, type Io, processIo } from './io.js';

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  disasm: { summary: 'disasm FILE.o [--prog NAME] [--syntax kernel|llvm]', load: async () => (await import('./cmd-disasm.js')).disasmCommand },
  asm: { summary: 'asm FILE.s -o FILE.o [--syntax kernel|ubpf]', load: async () => (await import('./cmd-asm.js')).asmCommand },
  verify: { summary: 'verify FILE.o [--prog NAME] [--log-level 0|1|2] | verify --cases FILE.jsonl', load: async () => (await import('./cmd-verify.js')).verifyCommand },
  stats: { summary: 'stats FILE.o... [-o table|csv] [-C A.csv B.csv]', load: async () => (await import('./cmd-stats.js')).statsCommand },
  inline: { summary: 'inline FILE.o [--prog NAME] [--kfuncs LIB.o] [--mode isolated] [--no-dce] [--dump xlated|llvm] [-o OUT.o: the whole object, selected programs inlined]', load: async () => (await import('./cmd-inline.js')).inlineCommand },
  demo: { summary: 'demo [FILE.o] [--prog NAME] [--rounds N] [--repeat N]', load: async () => (await import('./cmd-demo.js')).demoCommand },
  run: { summary: 'run FILE.o [--prog NAME] [--data FILE | --data-hex HEX | --data-size N] [--repeat N] [--engine interp|jit] [--inline [--kfuncs LIB.o]] | run --cases FILE.jsonl', load: async () => (await import('./cmd-run.js')).runCommand },
  oracle: { summary: 'oracle FILE.o [--prog NAME] [--log-level 1|2] | oracle --cases FILE.jsonl', load: async () => (await import('./cmd-oracle.js')).oracleCommand },
  'build-kfuncs': { summary: 'build-kfuncs SRC.c -o LIB.o [--pipeline emit-llvm|bpf]', load: async () => (await import('./cmd-build-kfuncs.js')).buildKfuncsCommand },
  explain: { summary: 'explain FILE.o [--prog NAME] [--policy auto|always|never]', load: async () => (await import('./cmd-explain.js')).explainCommand },
  report: { summary: 'report [--json | --md] [--repeat N]', load: async () => (await import('./cmd-report.js')).reportCommand },
  bench: { summary: 'bench dynptr-slice [FILE.o] [--repeat N] [--runs N] [--no-kernel]', load: async () => (await import('./cmd-bench.js')).benchCommand },
  btf: { summary: 'btf dump FILE | btf find NAME [--kind KIND] [--file FILE]', load: async () => (await import('./cmd-btf.js')).btfCommand },
};

function usage(io: Io): void {
  io.out('usage: kfinline COMMAND [ARGS] [--json]\n\ncommands:');
  for (const [, c] of Object.entries(commands)) io.out(`  kfinline ${c.summary}`);
}

export async function runCli(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    usage(io);
    return name ? 0 : 2;
  }
  const entry = commands[name];
  if (!entry) {
    io.err(`kfinline: unknown command "${name}" (try "kfinline help")`);
    return 2;
  }
  try {
    const cmd = await entry.load();
    return await cmd(rest, io);
  } catch (e) {
    if (e instanceof KfError) {
      io.err(`kfinline ${name}: ${e.message}`);
      return 1;
    }
    if (e instanceof Error && 'code' in e && typeof (e as NodeJS.ErrnoException).code === 'string') {
      // File system errors: say which file and why, no stack trace.
      io.err(`kfinline ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

