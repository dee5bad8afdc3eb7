// Rewrites ctx field accesses into loads/stores of the model's kernel structs,
// like the kernel's convert_ctx_accesses() with bpf_convert_ctx_access() /
// xdp_convert_ctx_access(): the program's r1 is really a struct sk_buff * or
// struct xdp_buff *, and each __sk_buff / xdp_md access becomes one or more
// instructions on that struct. Jumps, pseudo calls and ld_imm64 FUNC offsets
// are adjusted like bpf_patch_insn_data() → adjust_jmp_off() does.

import { insn, type Insn } from '../isa/insn.js';
import { AluOp, Class, JmpOp, LD_IMM64, Mode, PseudoCall, PseudoLd, Size, sizeBytes } from '../isa/opcode.js';
import { KfError, withContext } from '../util/errors.js';
import { BPF_PROG_TYPE_XDP, ctxAccess, ctxProgType, uapiFields } from './ctx-access.js';
import { modelLayout, type ModelLayout } from './layout.js';

const SZ: Record<number, Size> = { 1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW };
const ldx = (size: number, dst: number, src: number, off: number): Insn => insn(Class.LDX | Mode.MEM | SZ[size], dst, src, off, 0);
const stx = (size: number, dst: number, src: number, off: number): Insn => insn(Class.STX | Mode.MEM | SZ[size], dst, src, off, 0);
const alu32k = (op: AluOp, dst: number, imm: number): Insn => insn(Class.ALU | op, dst, 0, 0, imm);
const jmpk = (op: JmpOp, dst: number, imm: number, off: number): Insn => insn(Class.JMP | op, dst, 0, off, imm);
const NO_QUEUE_MAPPING = 0xffff;

interface Conv {
  insns: Insn[];
  /** Bytes the conversion loads (for narrow-load shifting); 0: no narrowing applies. */
  targetSize: number;
}

/** mirrors bpf_convert_ctx_access() (sk_buff programs) */
function convertSkb(L: ModelLayout, field: string, fieldOff: number, off: number, size: number, write: boolean, dst: number, src: number): Conv {
  const S = L.skb;
  const cb = S.cb;
  const rw = (sz: number, o: number): Conv => ({ insns: [write ? stx(sz, dst, src, o) : ldx(sz, dst, src, o)], targetSize: sz });
  const ro = (...xs: Insn[]): Conv => ({ insns: xs, targetSize: 4 });
  switch (field) {
    case 'len': return rw(4, S.len);
    case 'mark': return rw(4, S.mark);
    case 'priority': return rw(4, S.priority);
    case 'hash': return rw(4, S.hash);
    case 'ingress_ifindex': return rw(4, S.skb_iif);
    case 'napi_id': return rw(4, S.napi_id);
    case 'protocol': return rw(2, S.protocol);
    case 'vlan_tci': return rw(2, S.vlan_tci);
    case 'vlan_proto': return rw(2, S.vlan_proto);
    case 'tc_index': return rw(2, S.tc_index);
    case 'tstamp': return rw(8, S.tstamp);
    case 'queue_mapping':
      if (write) return { insns: [jmpk(JmpOp.JGE, src, NO_QUEUE_MAPPING, 1), stx(2, dst, src, S.queue_mapping)], targetSize: 2 };
      return rw(2, S.queue_mapping);
    case 'tc_classid': return rw(2, cb + L.qdiscCb.tc_classid);
    // bpf_convert_shinfo_access(): skb->end is a pointer in the model, so no BPF_REG_AX is needed
    case 'gso_segs': return { insns: [ldx(8, dst, src, S.end), ldx(2, dst, dst, L.shinfo.gso_segs)], targetSize: 2 };
    case 'gso_size': return { insns: [ldx(8, dst, src, S.end), ldx(2, dst, dst, L.shinfo.gso_size)], targetSize: 2 };
    // skb_shinfo(skb)->hwtstamps.hwtstamp (read-only, 8 bytes: ctxAccess() refuses anything else)
    case 'hwtstamp': return { insns: [ldx(8, dst, src, S.end), ldx(8, dst, dst, L.shinfo.hwtstamp)], targetSize: 8 };
    case 'wire_len': return rw(4, cb + L.qdiscCb.pkt_len); // qdisc_skb_cb(skb)->pkt_len
    case 'cb': {
      const o = cb + L.qdiscCb.data + (off - fieldOff);
      return { insns: [write ? stx(size, dst, src, o) : ldx(size, dst, src, o)], targetSize: size };
    }
    case 'pkt_type': {
      const pt = S.pkt_type;
      const xs = [ldx(pt.size, dst, src, pt.off)];
      if (pt.bitShift) xs.push(alu32k(AluOp.RSH, dst, pt.bitShift));
      xs.push(alu32k(AluOp.AND, dst, (1 << pt.bitSize) - 1));
      return ro(...xs);
    }
    case 'vlan_present':
      return ro(ldx(4, dst, src, S.vlan_all), jmpk(JmpOp.JEQ, dst, 0, 1), alu32k(AluOp.MOV, dst, 1));
    case 'ifindex':
      return ro(ldx(8, dst, src, S.dev), jmpk(JmpOp.JEQ, dst, 0, 1), ldx(4, dst, dst, L.dev.ifindex));
    case 'data': return { insns: [ldx(8, dst, src, S.data)], targetSize: 0 };
    case 'data_meta': return { insns: [ldx(8, dst, src, cb + L.skbDataEnd.data_meta)], targetSize: 0 };
    case 'data_end': return { insns: [ldx(8, dst, src, cb + L.skbDataEnd.data_end)], targetSize: 0 };
    default:
      throw new KfError(`__sk_buff field ${field} is not modelled`);
  }
}

/** mirrors xdp_convert_ctx_access() */
function convertXdp(L: ModelLayout, field: string, dst: number, src: number): Insn[] {
  const X = L.xdp;
  switch (field) {
    case 'data': return [ldx(8, dst, src, X.data)];
    case 'data_meta': return [ldx(8, dst, src, X.data_meta)];
    case 'data_end': return [ldx(8, dst, src, X.data_end)];
    case 'ingress_ifindex': return [ldx(8, dst, src, X.rxq), ldx(8, dst, dst, L.rxq.dev), ldx(4, dst, dst, L.dev.ifindex)];
    case 'rx_queue_index': return [ldx(8, dst, src, X.rxq), ldx(4, dst, dst, L.rxq.queue_index)];
    case 'egress_ifindex': return [ldx(8, dst, src, X.txq), ldx(8, dst, dst, L.txq.dev), ldx(4, dst, dst, L.dev.ifindex)];
    default:
      throw new KfError(`xdp_md field ${field} is not modelled`);
  }
}

/** The replacement for one ctx access instruction. */
export function convertCtxInsn(progType: number, x: Insn, L: ModelLayout = modelLayout()): Insn[] {
  const cls = x.code & 0x07;
  if (cls === Class.ST) throw new KfError(`BPF_ST stores into R${x.dst} ctx is not allowed`);
  const isLoad = cls === Class.LDX && (x.code & 0xe0) === Mode.MEM;
  const isStore = cls === Class.STX && (x.code & 0xe0) === Mode.MEM;
  if (!isLoad && !isStore) throw new KfError(`unsupported ctx access opcode 0x${x.code.toString(16)}`);
  const size = sizeBytes((x.code & 0x18) as Size);
  const off = x.off;
  const ctx = ctxProgType(progType)?.ctx;
  if (ctx !== '__sk_buff' && ctx !== 'xdp_md') throw new KfError(`ctx conversion for program type ${progType} (${ctx ?? 'not modelled'}) is not modelled`);
  const res = ctxAccess(progType, off, size, isStore, L.structs);
  if (!res.ok) throw new KfError(`invalid bpf_context access off=${off} size=${size}${res.reason ? ` (${res.reason})` : ''}`);
  const base = isLoad ? x.src : x.dst;
  const val = isLoad ? x.dst : x.src;
  const u = uapiFields(L.structs);
  if (progType === BPF_PROG_TYPE_XDP) return convertXdp(L, res.field, val, base);
  const f = u.skb.find((g) => g.name === res.field)!;
  // for stores the kernel passes (dst = ctx, src = value); for loads (dst = value, src = ctx)
  const conv = isLoad ? convertSkb(L, res.field, f.off, off, size, false, val, base) : convertSkb(L, res.field, f.off, off, size, true, base, val);
  const out = conv.insns;
  // narrow loads (convert_ctx_accesses(): shift and mask the full field)
  if (isLoad && conv.targetSize && size < conv.targetSize && res.field !== 'cb') {
    const shift = (off - f.off) * 8;
    if (shift) out.push(alu32k(AluOp.RSH, val, shift));
    out.push(alu32k(AluOp.AND, val, size === 4 ? -1 : (1 << (size * 8)) - 1));
  }
  return out;
}

export interface ConvertedProgram {
  readonly insns: Insn[];
  /** newIndex[oldPc] = the first new slot of old instruction oldPc (length: old length + 1). */
  readonly newIndex: number[];
}

const isJmpClass = (c: number): boolean => (c & 7) === Class.JMP || (c & 7) === Class.JMP32;

/**
 * Rewrites the instructions at `ctxPcs` (accesses whose base register is the
 * ctx) and fixes every relative offset (mirrors convert_ctx_accesses() +
 * adjust_jmp_off()).
 */
export function convertCtxAccesses(insns: readonly Insn[], progType: number, ctxPcs: ReadonlySet<number>, L: ModelLayout = modelLayout()): ConvertedProgram {
  const patches = new Map<number, Insn[]>();
  for (const pc of ctxPcs) {
    if (pc < 0 || pc >= insns.length) throw new KfError(`ctx access index ${pc} outside the program`);
    patches.set(pc, withContext(`instruction ${pc}`, () => convertCtxInsn(progType, insns[pc], L)));
  }
  const newIndex = new Array<number>(insns.length + 1);
  let n = 0;
  for (let i = 0; i < insns.length; i++) {
    newIndex[i] = n;
    n += patches.get(i)?.length ?? 1;
  }
  newIndex[insns.length] = n;
  const out: Insn[] = [];
  const retarget = (i: number, rel: number, what: string): number => {
    const t = i + 1 + rel;
    if (t < 0 || t > insns.length) throw new KfError(`instruction ${i}: ${what} target ${t} outside the program`);
    return newIndex[t] - newIndex[i] - 1;
  };
  for (let i = 0; i < insns.length; i++) {
    const p = patches.get(i);
    if (p) {
      out.push(...p);
      continue;
    }
    const x = insns[i];
    const op = x.code & 0xf0;
    if (x.code === LD_IMM64 && x.src === PseudoLd.FUNC) {
      out.push(insn(x.code, x.dst, x.src, x.off, retarget(i, x.imm, 'ld_imm64 func')));
    } else if (isJmpClass(x.code) && op === JmpOp.CALL && x.src === PseudoCall.CALL) {
      out.push(insn(x.code, x.dst, x.src, x.off, retarget(i, x.imm, 'call')));
    } else if (isJmpClass(x.code) && op !== JmpOp.CALL && op !== JmpOp.EXIT) {
      if ((x.code & 7) === Class.JMP32 && op === JmpOp.JA) {
        out.push(insn(x.code, x.dst, x.src, x.off, retarget(i, x.imm, 'gotol')));
      } else {
        const off = retarget(i, x.off, 'jump');
        if (off < -0x8000 || off > 0x7fff) throw new KfError(`instruction ${i}: jump offset ${off} does not fit in 16 bits after ctx conversion`);
        out.push(insn(x.code, x.dst, x.src, off, x.imm));
      }
    } else {
      out.push(x);
    }
  }
  return { insns: out, newIndex };
}
