// The verifier log text of a scalar register: mirrors print_reg_state() for
// SCALAR_VALUE and print_scalar_ranges() of kernel/bpf/log.c (6.18).

import { type Scalar } from './scalar.js';
import { tnumIsUnknown, tnumStr } from './tnum.js';
import { S64_MAX, S64_MIN, U64_MAX, S32_MIN, S32_MAX, U32_MAX } from './u64.js';

// mirrors is_unum_decimal() / is_snum_decimal(): decimal within 16 bits
const isUnumDecimal = (n: bigint): boolean => n <= 0xffffn;
const isSnumDecimal = (n: bigint): boolean => n >= -32768n && n <= 32767n;

/** mirrors verbose_unum(): decimal up to U16_MAX, else %#llx. */
export function fmtUnum(n: bigint): string {
  const u = BigInt.asUintN(64, n);
  return isUnumDecimal(u) ? u.toString() : `0x${u.toString(16)}`;
}

/** mirrors verbose_snum(): decimal in [S16_MIN, S16_MAX], else %#llx of the u64. */
export function fmtSnum(n: bigint): string {
  const s = BigInt.asIntN(64, n);
  return isSnumDecimal(s) ? s.toString() : `0x${BigInt.asUintN(64, n).toString(16)}`;
}

interface MinMax {
  name: string;
  val: bigint; // the u64 the kernel keeps in the table
  omit: boolean;
}

/**
 * The comma-separated bounds and var_off the kernel prints inside
 * "scalar(...)" for a non-constant scalar, e.g.
 * "smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)".
 * Empty for a completely unknown scalar.
 */
export function formatScalarRanges(s: Scalar): string {
  const s32v = (v: number): bigint => (isSnumDecimal(BigInt(v)) ? BigInt.asUintN(64, BigInt(v)) : BigInt(v >>> 0));
  const m: MinMax[] = [
    { name: 'smin', val: BigInt.asUintN(64, s.smin), omit: s.smin === S64_MIN },
    { name: 'smax', val: BigInt.asUintN(64, s.smax), omit: s.smax === S64_MAX },
    { name: 'umin', val: s.umin, omit: s.umin === 0n },
    { name: 'umax', val: s.umax, omit: s.umax === U64_MAX },
    { name: 'smin32', val: s32v(s.s32min), omit: s.s32min === S32_MIN },
    { name: 'smax32', val: s32v(s.s32max), omit: s.s32max === S32_MAX },
    { name: 'umin32', val: BigInt(s.u32min), omit: s.u32min === 0 },
    { name: 'umax32', val: BigInt(s.u32max), omit: s.u32max === U32_MAX },
  ];
  const parts: string[] = [];
  for (let i = 0; i < m.length; i++) {
    const m1 = m[i]!;
    if (m1.omit) continue;
    const neg1 = m1.name[0] === 's' && BigInt.asIntN(64, m1.val) < 0n;
    let text = `${m1.name}=`;
    for (let j = i + 2; j < m.length; j += 2) {
      const m2 = m[j]!;
      if (m2.omit || m2.val !== m1.val) continue;
      const neg2 = m2.name[0] === 's' && BigInt.asIntN(64, m2.val) < 0n;
      if (neg2 !== neg1) continue;
      m2.omit = true;
      text += `${m2.name}=`;
    }
    text += m1.name[0] === 's' ? fmtSnum(m1.val) : fmtUnum(m1.val);
    parts.push(text);
  }
  if (!tnumIsUnknown(s.varOff)) parts.push(`var_off=${tnumStr(s.varOff)}`);
  return parts.join(',');
}

export interface ScalarFormatExtra {
  /** Print the "P" precision mark. */
  precise?: boolean;
  /** Text printed first inside the parentheses, e.g. "id=2". */
  id?: string;
}

/**
 * The verifier log text of a scalar register value, as print_reg_state()
 * prints it in 6.18: "0", "-1", "0x10000" for constants (P-prefixed if
 * precise), else "scalar(...)" with the merged bounds and var_off.
 */
export function formatScalar(s: Scalar, extra?: ScalarFormatExtra): string {
  const p = extra?.precise ? 'P' : '';
  if (s.varOff.mask === 0n) return p + fmtSnum(s.varOff.value);
  const inner: string[] = [];
  if (extra?.id) inner.push(extra.id);
  const ranges = formatScalarRanges(s);
  if (ranges) inner.push(ranges);
  return `${p}scalar(${inner.join(',')})`;
}
