// Per-frame and whole-path verifier state: mirrors struct bpf_func_state and
// struct bpf_verifier_state (include/linux/bpf_verifier.h).
import { MAX_BPF_REG } from '../../isa/opcode.js';
import { copyReg, regNotInit, type RegState } from './reg.js';
import { BPF_REG_SIZE, SlotType } from './types.js';

/** mirrors struct bpf_stack_state: slotType[j] is the byte at fp-8*(spi+1)+(7-j). */
export interface StackSlot {
  slotType: SlotType[];
  spilled: RegState;
  /**
   * kfinline, non-isolated verification: the physical bytes of a stack
   * object's slot as inlined kfunc bodies wrote them (src/verifier/inlined/physical.ts),
   * for the object with id `objId`; the logical view stays in slotType/spilled.
   */
  phys?: { slotType: SlotType[]; spilled: RegState; objId: number };
}

export interface FuncState {
  regs: RegState[];
  /** stack[spi] covers fp-8*(spi+1) .. fp-8*spi-1 */
  stack: StackSlot[];
  frameno: number;
  /** Instruction index of the call that created this frame (-1 for frame 0). */
  callsite: number;
  subprogno: number;
  /** mirrors bpf_func_state.in_callback_fn / callback_ret_range / callback_depth */
  inCallbackFn?: boolean;
  callbackRet?: [bigint, bigint];
  callbackDepth?: number;
}

export interface RefState {
  id: number;
  insnIdx: number;
}

/** mirrors struct linked_reg: a scalar sharing an id, recorded at a conditional jump. */
export interface LinkedReg {
  frameno: number;
  /** register number, or stack slot index (spi) when !isReg */
  no: number;
  isReg: boolean;
}

/** mirrors struct bpf_insn_hist_entry */
export interface HistEntry {
  idx: number;
  prevIdx: number;
  /** INSN_F_STACK_ACCESS | spi << 3 | frameno (precision.ts) */
  flags: number;
  linked: LinkedReg[] | null;
}

export interface VerifierState {
  frames: FuncState[];
  curframe: number;
  refs: RefState[];
  /** The checkpoint this path descends from (kernel: parent). */
  parent: VerifierState | null;
  /** Live paths descending from this checkpoint (kernel: branches). */
  branches: number;
  insnIdx: number;
  mayGotoDepth: number;
  /** First and last instruction this state's own path segment covers (first_insn_idx, last_insn_idx). */
  firstInsnIdx: number;
  lastInsnIdx: number;
  /** Non-sequential steps and stack accesses since firstInsnIdx (the kernel's insn_hist range). */
  history: HistEntry[];
  /** bpf_loop and friends: callbacks entered on this path (callback_unroll_depth). */
  callbackUnrollDepth: number;
  /** kfinline: set on paths through an inlined region's kernel code (src/verifier/inlined); shared, immutable. */
  region?: object;
}

export function newSlot(): StackSlot {
  return { slotType: new Array<SlotType>(BPF_REG_SIZE).fill(SlotType.INVALID), spilled: regNotInit() };
}

export function newFrame(frameno: number, callsite: number, subprogno: number): FuncState {
  const regs: RegState[] = [];
  for (let i = 0; i < MAX_BPF_REG; i++) regs.push(regNotInit());
  return { regs, stack: [], frameno, callsite, subprogno };
}

export function copyFrame(f: FuncState): FuncState {
  // explicit loops and literals, no spreads: this runs at every checkpoint and branch
  const regs = new Array<RegState>(f.regs.length);
  for (let i = 0; i < regs.length; i++) regs[i] = copyReg(f.regs[i]);
  const stack = new Array<StackSlot>(f.stack.length);
  for (let i = 0; i < stack.length; i++) {
    const s = f.stack[i];
    const c: StackSlot = { slotType: s.slotType.slice(), spilled: copyReg(s.spilled) };
    if (s.phys) c.phys = { slotType: s.phys.slotType.slice(), spilled: copyReg(s.phys.spilled), objId: s.phys.objId };
    stack[i] = c;
  }
  const c: FuncState = { regs, stack, frameno: f.frameno, callsite: f.callsite, subprogno: f.subprogno };
  if (f.inCallbackFn) {
    c.inCallbackFn = true;
    c.callbackRet = f.callbackRet;
  }
  if (f.callbackDepth) c.callbackDepth = f.callbackDepth;
  return c;
}

/** mirrors copy_verifier_state(); parent/branches are copied as they are. */
export function copyState(s: VerifierState): VerifierState {
  const frames = new Array<FuncState>(s.frames.length);
  for (let i = 0; i < frames.length; i++) frames[i] = copyFrame(s.frames[i]);
  const refs = new Array<RefState>(s.refs.length);
  for (let i = 0; i < refs.length; i++) refs[i] = { ...s.refs[i] };
  const c: VerifierState = {
    frames,
    curframe: s.curframe,
    refs,
    parent: s.parent,
    branches: s.branches,
    insnIdx: s.insnIdx,
    mayGotoDepth: s.mayGotoDepth,
    firstInsnIdx: s.firstInsnIdx,
    lastInsnIdx: s.lastInsnIdx,
    history: s.history.slice(),
    callbackUnrollDepth: s.callbackUnrollDepth,
  };
  if (s.region) c.region = s.region;
  return c;
}

export const curFrame = (s: VerifierState): FuncState => s.frames[s.curframe];

/** mirrors grow_stack_state(): make sure slots exist for `size` bytes below fp. */
export function growStack(f: FuncState, size: number): void {
  const n = Math.ceil(size / BPF_REG_SIZE);
  while (f.stack.length < n) f.stack.push(newSlot());
}
