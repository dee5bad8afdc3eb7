// Helper calls whose implementation has an inlinable BPF body
// (src/verifier/inlined/helper-bodies.ts), found per call site before
// verification:
//   - `call bpf_map_lookup_elem` whose r1 is, on every path, the ld_imm64 map
//     reference (BPF_PSEUDO_MAP_FD) of a BPF_MAP_TYPE_HASH map: the body of
//     __htab_map_lookup_elem() (which returns the htab_elem) followed by the
//     value offset htab_map_gen_lookup() emits:
//         if r0 == 0 goto +1; r0 += offsetof(struct htab_elem, key) + round_up(key_size, 8)
//   - `call bpf_dynptr_read` / `call bpf_dynptr_write`: the bodies of the same
//     name (same argument order as the helpers).
import { insn, type Insn } from '../isa/insn.js';
import { AluOp, Class, JmpOp, LD_IMM64, Source } from '../isa/opcode.js';
import { isLdImm64Hi, jumpTarget, writesMask } from '../isa/view.js';
import { modelLayout } from '../kernel/layout.js';
import type { MapDesc } from '../verifier/state/reg.js';
import { BPF_FUNC_map_lookup_elem, HELPER_BODIES, isInlinableHelperCall } from '../verifier/inlined/helper-bodies.js';
import type { KfuncLibrary } from './library.js';

const BPF_PSEUDO_MAP_FD = 1;
const EXIT = Class.JMP | JmpOp.EXIT;
const CALL = Class.JMP | JmpOp.CALL;

export interface HelperSiteBody {
  /** The helper's id (the call's imm). */
  readonly helper: number;
  /** Name of the body (and of the instance). */
  readonly name: string;
  /** BTF id of the body's FUNC in the model BTF (what its region's `btfId` carries). */
  readonly btfId: number;
  /** The instance's instructions (for a hash lookup: the body with its exits jumping to the value offset). */
  readonly insns: Insn[];
  /** For a hash lookup: the map (by fd) and the value offset added to a non-NULL element. */
  readonly map?: { fd: number; name: string; keySize: number; valueOff: number };
}

const roundUp8 = (n: number): number => (n + 7) & ~7;

/** Slots some jump or call targets (block starts other than by fall-through). */
function jumpTargets(insns: readonly Insn[]): Uint8Array {
  const t = new Uint8Array(insns.length + 1);
  for (let i = 0; i < insns.length; i++) {
    if (isLdImm64Hi(insns, i)) continue;
    const x = insns[i];
    if (x.code === CALL && x.src === 1) {
      const c = i + x.imm + 1;
      if (c >= 0 && c < insns.length) t[c] = 1;
      continue;
    }
    if (x.code === LD_IMM64 && x.src === 4) {
      const c = i + x.imm + 1;
      if (c >= 0 && c < insns.length) t[c] = 1;
      continue;
    }
    const j = jumpTarget(insns, i);
    if (j !== undefined && j >= 0 && j <= insns.length) t[j] = 1;
  }
  return t;
}

/**
 * The map fd that reaches r1 at `site` on every path: walks back through the
 * straight-line code before the call (no jump lands in it) to the ld_imm64
 * that defines r1, through register moves. undefined when not that simple.
 */
export function mapFdReachingR1(insns: readonly Insn[], site: number, targets = jumpTargets(insns)): number | undefined {
  let reg = 1;
  for (let i = site - 1; i >= 0; i--) {
    if (targets[i + 1]) return undefined; // another path joins between i and the use
    if (isLdImm64Hi(insns, i)) continue;
    const x = insns[i];
    const cls = x.code & 7;
    if (cls === Class.JMP || cls === Class.JMP32) {
      // an unconditional transfer before the use means i+1 was reached by a jump (handled above) or not at all
      if (x.code === CALL || x.code === EXIT || x.code === (Class.JMP | JmpOp.JA) || x.code === (Class.JMP32 | JmpOp.JA)) return undefined;
      continue; // a conditional jump falls through to i+1 keeping registers
    }
    if (!(writesMask(insns, i) & (1 << reg))) continue;
    if (x.code === LD_IMM64 && x.dst === reg) return x.src === BPF_PSEUDO_MAP_FD ? x.imm : undefined;
    if (x.code === (Class.ALU64 | AluOp.MOV | Source.X) && x.dst === reg && x.off === 0 && x.src !== 10) {
      reg = x.src;
      continue;
    }
    return undefined;
  }
  return undefined;
}

/** The lookup body as an instance: each `exit` jumps to the value-offset tail, which ends with the one exit. */
export function hashLookupInstance(body: readonly Insn[], valueOff: number): Insn[] {
  const n = body.length;
  const out = body.map((x, i) => (x.code === EXIT && !isLdImm64Hi(body, i) ? insn(Class.JMP | JmpOp.JA, 0, 0, n - (i + 1), 0) : x));
  out.push(
    insn(Class.JMP | JmpOp.JEQ | Source.K, 0, 0, 1, 0), // if r0 == 0 goto +1
    insn(Class.ALU64 | AluOp.ADD | Source.K, 0, 0, 0, valueOff), // r0 += offsetof(htab_elem, key) + round_up(key_size, 8)
    insn(EXIT, 0, 0, 0, 0),
  );
  return out;
}

/**
 * The helper call sites of `insns` that get an instance, with their bodies.
 * `maps`: the program's maps (by fd). Sites whose body the library lacks,
 * lookups on maps other than hash maps or whose map is not known statically,
 * are left out (they stay helper calls).
 */
export function findHelperSites(insns: readonly Insn[], maps: readonly MapDesc[] | ReadonlyMap<number, MapDesc> | undefined, lib: KfuncLibrary): Map<number, HelperSiteBody> {
  const out = new Map<number, HelperSiteBody>();
  const byFd = new Map<number, MapDesc>();
  if (maps) for (const m of Array.isArray(maps) ? (maps as readonly MapDesc[]) : [...(maps as ReadonlyMap<number, MapDesc>).values()]) byFd.set(m.fd, m);
  let targets: Uint8Array | undefined;
  for (let i = 0; i < insns.length; i++) {
    if (isLdImm64Hi(insns, i) || !isInlinableHelperCall(insns[i])) continue;
    const h = HELPER_BODIES.get(insns[i].imm)!;
    const body = lib.bodies.get(h.body);
    // the body's prototype must be the model kernel's (its region's btfId names a FUNC there)
    if (!body || body.protoSource !== 'kernel') continue;
    if (h.helper !== BPF_FUNC_map_lookup_elem) {
      out.set(i, { helper: h.helper, name: h.body, btfId: body.btfId, insns: body.insns });
      continue;
    }
    targets ??= jumpTargets(insns);
    const fd = mapFdReachingR1(insns, i, targets);
    const m = fd === undefined ? undefined : byFd.get(fd);
    if (!m || m.type !== h.mapType) continue;
    const valueOff = modelLayout().htabElem.key + roundUp8(m.keySize);
    out.set(i, { helper: h.helper, name: h.body, btfId: body.btfId, insns: hashLookupInstance(body.insns, valueOff), map: { fd: m.fd, name: m.name, keySize: m.keySize, valueOff } });
  }
  return out;
}
