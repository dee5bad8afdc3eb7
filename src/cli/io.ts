// Output sinks for commands, so tests can run a command in-process and read
// what it printed.

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (t) => {
    process.stdout.write(t.endsWith('\n') ? t : t + '\n');
  },
  err: (t) => {
    process.stderr.write(t.endsWith('\n') ? t : t + '\n');
  },
};

export function captureIo(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (t) => stdout.push(t.endsWith('\n') ? t.slice(0, -1) : t),
    err: (t) => stderr.push(t.endsWith('\n') ? t.slice(0, -1) : t),
  };
}

export type Command = (argv: string[], io: Io) => Promise<number>;
