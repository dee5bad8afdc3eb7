// One error type for bad input everywhere in kfinline.
//
// Errors carry a context path that grows as they propagate outwards, like
// cilium/ebpf's wrapped errors:
//   section "xdp": instruction 12: unknown opcode 0xff
// Callers add context with `withContext()`; the CLI prints `message`.

export class KfError extends Error {
  /** Outermost context first. */
  readonly context: readonly string[];
  /** The innermost reason, without context. */
  readonly reason: string;

  constructor(reason: string, context: readonly string[] = []) {
    super(context.length ? `${context.join(': ')}: ${reason}` : reason);
    this.name = 'KfError';
    this.reason = reason;
    this.context = context;
  }

  /** A copy of this error with `ctx` prepended to its context. */
  wrap(ctx: string): KfError {
    const e = new KfError(this.reason, [ctx, ...this.context]);
    return e;
  }
}

/** Runs `fn`, prefixing any KfError it throws with `ctx`. */
export function withContext<T>(ctx: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof KfError) throw e.wrap(ctx);
    throw e;
  }
}

export function fail(reason: string): never {
  throw new KfError(reason);
}

export const hex = (n: number | bigint): string => `0x${n.toString(16)}`;
