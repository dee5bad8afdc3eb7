// The verifier's working environment: mirrors struct bpf_verifier_env.
import type { Insn } from '../isa/insn.js';
import { VLog, Scratch, frameStateStr } from './log.js';
import { Backtrack } from './precision.js';
import { curFrame, type HistEntry, type VerifierState } from './state/frame.js';
import type { MapDesc, RegState } from './state/reg.js';
import { RegType } from './state/types.js';

/** A verification failure: the program is rejected (not a KfError: the input is well-formed). */
export class Reject extends Error {
  constructor(readonly line: string) {
    super(line);
    this.name = 'Reject';
  }
}

export interface SubprogInfo {
  start: number;
  stackDepth: number;
  hasLdAbs: boolean;
}

export interface InsnAux {
  /** Pointer type seen by this load/store (insn_aux_data.ptr_type); -1 unset. */
  ptrType: number;
  prunePoint: boolean;
  forceCheckpoint: boolean;
  jmpPoint: boolean;
  /** Registers live before this instruction (bit per register). */
  liveRegs: number;
  seen: boolean;
  /** A helper call that calls a callback synchronously (bpf_loop...): mirrors calls_callback. */
  callsCallback: boolean;
}

export interface Checkpoint {
  state: VerifierState;
  hit: number;
  miss: number;
}

export const BPF_F_STRICT_ALIGNMENT = 1;
export const BPF_F_TEST_STATE_FREQ = 8;

export class Env {
  readonly log: VLog;
  readonly scratch = new Scratch();
  subprogs: SubprogInfo[] = [];
  aux: InsnAux[];
  cur!: VerifierState;
  insnIdx = 0;
  prevInsnIdx = -1;
  idGen = 0;
  insnProcessed = 0;
  jmpsProcessed = 0;
  prevJmpsProcessed = 0;
  prevInsnProcessed = 0;
  totalStates = 0;
  peakStates = 0;
  exploredSize = 0;
  maxStatesPerInsn = 0;
  explored: Checkpoint[][];
  readonly reached: Uint8Array;
  readonly edges: Uint8Array;
  /** env->prev_log_pos / prev_insn_print_pos for print_insn_state() */
  prevLogPos = 0;
  prevInsnPrintPos = 0;
  /** expected_attach_type (return-code rules) and whether BTF func_info came with the program. */
  expectedAttachType = 0;
  /** nr_cpu_ids (bpf_get_smp_processor_id's range); the model kernel has one CPU. */
  nrCpuIds = 1;
  btfFuncInfo = true;
  readonly strictAlignment: boolean;
  readonly testStateFreq: boolean;
  /** Precision backtracking (env->bt) and the history entry of the current instruction (env->cur_hist_ent). */
  readonly bt = new Backtrack();
  curHistEnt: HistEntry | null = null;

  constructor(
    readonly insns: readonly Insn[],
    readonly progType: number,
    readonly maps: ReadonlyMap<number, MapDesc>,
    logLevel: number,
    readonly flags: number,
  ) {
    this.log = new VLog(logLevel);
    this.aux = insns.map(() => ({ ptrType: -1, prunePoint: false, forceCheckpoint: false, jmpPoint: false, liveRegs: 0x7ff, seen: false, callsCallback: false }));
    this.explored = insns.map(() => []);
    this.reached = new Uint8Array(insns.length);
    this.edges = new Uint8Array(insns.length);
    this.strictAlignment = (flags & BPF_F_STRICT_ALIGNMENT) !== 0;
    this.testStateFreq = (flags & BPF_F_TEST_STATE_FREQ) !== 0;
  }

  verbose(s: string): void {
    this.log.write(s);
  }

  /** Log the message lines and reject the program. */
  reject(...lines: string[]): never {
    for (const l of lines) this.log.write(l + '\n');
    throw new Reject(lines[lines.length - 1]);
  }

  get regs(): RegState[] {
    return curFrame(this.cur).regs;
  }

  nextId(): number {
    return ++this.idGen;
  }

  /** mirrors print_verifier_state() for frame `frameno` of `vs`, with newline. */
  printState(vs: VerifierState, frameno: number, all: boolean): void {
    if (!this.log.level) return;
    this.verbose(frameStateStr(vs, vs.frames[frameno], all ? null : this.scratch) + '\n');
    if (!all) this.scratch.clean();
  }

  /** mirrors print_insn_state() */
  printInsnState(vs: VerifierState): void {
    if (!this.log.level) return;
    if (this.prevLogPos && this.prevLogPos === this.log.pos) {
      this.log.reset(this.prevLogPos - 1);
      const pad = alignment(this.prevInsnPrintPos);
      this.verbose(' '.repeat(pad) + ';');
    } else {
      this.verbose(`${this.insnIdx}:`);
    }
    this.printState(vs, vs.curframe, false);
  }
}

function alignment(pos: number): number {
  return Math.ceil(Math.max(pos + 4, 40) / 8) * 8 - pos - 1;
}

export const isCtxType = (t: RegType): boolean => t === RegType.PTR_TO_CTX;
