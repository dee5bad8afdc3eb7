// The state of the model kernel bound to one AddressSpace: layouts, skb/xdp
// operations, maps, trace output, the clock and the random generator that
// native helpers and kfuncs use.

import type { AddressSpace } from '../vm/memory.js';
import { modelLayout, type ModelLayout } from './layout.js';
import { MapTable } from './maps.js';
import { SkbOps } from './skb.js';
import { XdpOps } from './xdp.js';

export interface RuntimeOptions {
  /** Model BTF layout (default: the embedded model.o). */
  layout?: ModelLayout;
  /** bpf_ktime_get_ns(); default performance.now() in ns. */
  clockNs?: () => bigint;
  /** Seed of bpf_get_prandom_u32() (default 1). */
  seed?: number;
}

export class KernelRuntime {
  readonly L: ModelLayout;
  readonly skb: SkbOps;
  readonly xdp: XdpOps;
  readonly maps: MapTable;
  /** Lines written by bpf_trace_printk(). */
  readonly trace: string[] = [];
  readonly clockNs: () => bigint;
  /**
   * clockNs() as a number, when the clock is known to stay below 2^53 (the
   * default clock: ns since the process started); undefined for a clock of
   * RuntimeOptions, whose values may not fit (bpf_ktime_get_ns() then has no fast form).
   */
  readonly clockNsNumber: (() => number) | undefined;
  /**
   * Whether bpf_dynptr_from_skb() yields read-only dynptrs: the verifier's
   * fixup uses bpf_dynptr_from_skb_rdonly() where the program type may not
   * write packet data (socket filter, cgroup_skb).
   */
  skbDynptrRdonly = false;
  private rnd: number;

  constructor(readonly mem: AddressSpace, opts: RuntimeOptions = {}) {
    this.L = opts.layout ?? modelLayout();
    this.skb = new SkbOps(mem, this.L);
    this.xdp = new XdpOps(mem, this.L);
    this.maps = new MapTable(mem, this.L);
    if (opts.clockNs) {
      this.clockNs = opts.clockNs;
      this.clockNsNumber = undefined;
    } else {
      const now = (): number => Math.round(performance.now() * 1e6);
      this.clockNsNumber = now;
      this.clockNs = () => BigInt(now());
    }
    this.rnd = (opts.seed ?? 1) >>> 0 || 1;
  }

  /** bpf_user_rnd_u32(): a xorshift32 stream (the kernel uses a per-cpu prandom state). */
  nextRandom(): number {
    let x = this.rnd;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.rnd = x;
    return x;
  }
}
