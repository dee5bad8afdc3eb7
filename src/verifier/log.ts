// The verifier log: mirrors struct bpf_verifier_log and the state printers of
// kernel/bpf/log.c (print_verifier_state, print_reg_state, print_insn_state).
import { fmtSnum, fmtUnum, formatScalar } from './num/format.js';
import { formatScalarRanges } from './num/format.js';
import { tnumIsConst } from './num/tnum.js';
import type { FuncState, VerifierState } from './state/frame.js';
import { isPktPointer, regTypeStr, type RegState } from './state/reg.js';
import { BPF_REG_SIZE, RegType, SLOT_CHAR, SlotType } from './state/types.js';
import { stackObjStr } from './kfunc/slots.js';

export const BPF_LOG_LEVEL1 = 1;
export const BPF_LOG_LEVEL2 = 2;

export class VLog {
  // The text as chunks: reset() drops or trims chunks from the end instead of
  // slicing one ever-growing string, which made level-2 logs of long loops
  // quadratic (every instruction resets to the start of its line).
  private chunks: string[] = [];
  private len = 0;
  constructor(readonly level: number) {}
  get pos(): number {
    return this.len;
  }
  write(s: string): void {
    if (!this.level || !s) return;
    this.chunks.push(s);
    this.len += s.length;
  }
  /** mirrors bpf_vlog_reset() */
  reset(pos: number): void {
    while (this.len > pos) {
      const last = this.chunks[this.chunks.length - 1];
      const over = this.len - pos;
      if (last.length <= over) {
        this.chunks.pop();
        this.len -= last.length;
      } else {
        this.chunks[this.chunks.length - 1] = last.slice(0, last.length - over);
        this.len = pos;
      }
    }
  }
  toString(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks[0] ?? '';
  }
}

/** Which registers/slots the current instruction touched (env->scratched_*). */
export class Scratch {
  regs = 0;
  stack = new Set<number>();
  reg(r: number): void {
    this.regs |= 1 << r;
  }
  slot(spi: number): void {
    this.stack.add(spi);
  }
  any(): boolean {
    return this.regs !== 0 || this.stack.size > 0;
  }
  clean(): void {
    this.regs = 0;
    this.stack.clear();
  }
  all(): void {
    this.regs = 0x7ff;
    for (let i = 0; i < 64; i++) this.stack.add(i);
  }
}

/** mirrors print_reg_state() */
export function regStateStr(reg: RegState, frameno: number): string {
  const t = reg.type;
  if (t === RegType.SCALAR_VALUE) {
    // linked with a constant delta (check/alu.ts BPF_ADD_CONST): "id=N+off", "%+d"
    const id = reg.id ? `id=${reg.id & 0x3fffffff}${reg.id & 0xc0000000 ? (reg.off < 0 ? '' : '+') + reg.off : ''}` : undefined;
    return formatScalar(reg.s, { precise: reg.precise, id });
  }
  let out = regTypeStr(reg);
  if (t === RegType.PTR_TO_STACK) {
    if (frameno !== reg.frameno) out += `[${reg.frameno}]`;
    if (tnumIsConst(reg.s.varOff)) return out + fmtSnum(reg.s.varOff.value + BigInt(reg.off));
  }
  const a: string[] = [];
  if (reg.id) a.push(`id=${reg.id}`);
  if (reg.refObjId) a.push(`ref_obj_id=${reg.refObjId}`);
  if ((t === RegType.CONST_PTR_TO_MAP || t === RegType.PTR_TO_MAP_VALUE || t === RegType.PTR_TO_MAP_KEY) && reg.map) {
    if (reg.map.name) a.push(`map=${reg.map.name}`);
    a.push(`ks=${reg.map.keySize},vs=${reg.map.valueSize}`);
  }
  if (reg.off) a.push(`off=${fmtSnum(BigInt(reg.off))}`);
  if (isPktPointer(reg)) a.push(`r=${fmtUnum(BigInt(reg.range))}`);
  if (t === RegType.PTR_TO_MEM) a.push(`sz=${fmtUnum(BigInt(reg.memSize))}`);
  // the running kernel's slice buffer (state/reg.ts bufLen): frame, lowest offset, length
  if (reg.bufLen) a.push(`buf=fp[${reg.bufFrame}]${fmtSnum(BigInt(reg.bufOff))}+${reg.bufLen}`);
  if (tnumIsConst(reg.s.varOff)) {
    if (reg.s.varOff.value) a.push(`imm=${fmtSnum(reg.s.varOff.value)}`);
  } else {
    const r = formatScalarRanges(reg.s);
    if (r) a.push(r);
  }
  return `${out}(${a.join(',')})`;
}

/** mirrors print_verifier_state() for one frame (without the trailing newline). */
export function frameStateStr(vs: VerifierState, f: FuncState, scratch: Scratch | null): string {
  let out = f.frameno ? ` frame${f.frameno}:` : '';
  for (let i = 0; i < f.regs.length; i++) {
    const reg = f.regs[i];
    if (reg.type === RegType.NOT_INIT) continue;
    if (scratch && !(scratch.regs & (1 << i))) continue;
    out += ` R${i}=${regStateStr(reg, f.frameno)}`;
  }
  for (let spi = 0; spi < f.stack.length; spi++) {
    if (scratch && !scratch.stack.has(spi)) continue;
    const slot = f.stack[spi];
    if (slot.slotType.every((t) => t === SlotType.INVALID)) continue;
    let types = slot.slotType.map((t) => SLOT_CHAR[t]).join('');
    const fp = ` fp${-(spi + 1) * BPF_REG_SIZE}`;
    if (slot.slotType[BPF_REG_SIZE - 1] === SlotType.SPILL) {
      let j = 0;
      while (j < BPF_REG_SIZE && slot.slotType[j] !== SlotType.SPILL) j++;
      types = types.slice(0, j);
      out += `${fp}=${types}${regStateStr(slot.spilled, f.frameno)}`;
    } else if (slot.slotType[BPF_REG_SIZE - 1] === SlotType.DYNPTR || slot.slotType[BPF_REG_SIZE - 1] === SlotType.ITER) {
      const o = stackObjStr(f, spi);
      if (o) out += o.text;
      spi += o?.skip ?? 0;
    } else {
      out += `${fp}=${types}`;
    }
  }
  if (vs.refs.length) out += ` refs=${vs.refs.map((r) => r.id).join(',')}`;
  return out;
}

/** mirrors vlog_alignment() */
export function vlogAlignment(pos: number): number {
  const BPF_LOG_ALIGNMENT = 40;
  const MIN = 8;
  return Math.ceil(Math.max(pos + MIN / 2, BPF_LOG_ALIGNMENT) / MIN) * MIN - pos - 1;
}
