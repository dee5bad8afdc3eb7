// The BTF type model: one plain readonly object per type id, discriminated by
// `kind` (the names bpftool prints). Mirrors include/uapi/linux/btf.h.

export type BtfKind =
  | 'INT'
  | 'PTR'
  | 'ARRAY'
  | 'STRUCT'
  | 'UNION'
  | 'ENUM'
  | 'FWD'
  | 'TYPEDEF'
  | 'VOLATILE'
  | 'CONST'
  | 'RESTRICT'
  | 'FUNC'
  | 'FUNC_PROTO'
  | 'VAR'
  | 'DATASEC'
  | 'FLOAT'
  | 'DECL_TAG'
  | 'TYPE_TAG'
  | 'ENUM64';

/** Kind numbers of BTF_INFO_KIND(); index 0 is BTF_KIND_UNKN (void). */
export const BTF_KIND_NAMES: readonly (BtfKind | 'UNKNOWN')[] = [
  'UNKNOWN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE',
  'CONST', 'RESTRICT', 'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG',
  'ENUM64',
];

export const BTF_KIND_NUM: Readonly<Record<BtfKind, number>> = Object.fromEntries(
  BTF_KIND_NAMES.map((k, i) => [k, i]).filter(([k]) => k !== 'UNKNOWN'),
) as Record<BtfKind, number>;

export const BTF_KIND_MAX = 19;

/** INT encoding bits (BTF_INT_ENCODING). */
export const BTF_INT_SIGNED = 1;
export const BTF_INT_CHAR = 2;
export const BTF_INT_BOOL = 4;

export type BtfLinkage = 'static' | 'global' | 'extern';

interface Named {
  readonly id: number;
  /** '' for anonymous types. */
  readonly name: string;
}

/** Type id 0: `void`. Not a BTF kind; returned by typeById(0). */
export interface BtfVoid extends Named { readonly kind: 'VOID' }

export interface BtfInt extends Named {
  readonly kind: 'INT';
  readonly size: number;
  /** BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL bits. */
  readonly encoding: number;
  readonly offset: number;
  readonly bits: number;
}

/** PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG: a reference to `type`. */
export interface BtfRef extends Named {
  readonly kind: 'PTR' | 'TYPEDEF' | 'VOLATILE' | 'CONST' | 'RESTRICT' | 'TYPE_TAG';
  readonly type: number;
}

export interface BtfArray extends Named {
  readonly kind: 'ARRAY';
  readonly elemType: number;
  readonly indexType: number;
  readonly nelems: number;
}

export interface BtfMember {
  /** '' for anonymous members. */
  readonly name: string;
  readonly type: number;
  readonly bitOffset: number;
  /** 0 when not a bitfield. */
  readonly bitSize: number;
}

export interface BtfComposite extends Named {
  readonly kind: 'STRUCT' | 'UNION';
  readonly size: number;
  /** kind_flag: member offsets carry bitfield sizes. */
  readonly kindFlag: boolean;
  readonly members: readonly BtfMember[];
}

export interface BtfEnum extends Named {
  readonly kind: 'ENUM';
  readonly size: number;
  readonly signed: boolean;
  /** Values as signed (signed enum) or unsigned 32-bit numbers. */
  readonly values: readonly { readonly name: string; readonly value: number }[];
}

export interface BtfEnum64 extends Named {
  readonly kind: 'ENUM64';
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly { readonly name: string; readonly value: bigint }[];
}

export interface BtfFwd extends Named {
  readonly kind: 'FWD';
  readonly fwdKind: 'struct' | 'union';
}

export interface BtfFunc extends Named {
  readonly kind: 'FUNC';
  /** The FUNC_PROTO. */
  readonly type: number;
  readonly linkage: BtfLinkage;
}

export interface BtfParam {
  readonly name: string;
  /** 0 for the `...` of a variadic prototype. */
  readonly type: number;
}

export interface BtfFuncProto extends Named {
  readonly kind: 'FUNC_PROTO';
  /** The return type (0: void). */
  readonly type: number;
  readonly params: readonly BtfParam[];
}

export interface BtfVar extends Named {
  readonly kind: 'VAR';
  readonly type: number;
  readonly linkage: BtfLinkage;
}

export interface BtfVarSecinfo {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
}

export interface BtfDatasec extends Named {
  readonly kind: 'DATASEC';
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

export interface BtfFloat extends Named {
  readonly kind: 'FLOAT';
  readonly size: number;
}

export interface BtfDeclTag extends Named {
  readonly kind: 'DECL_TAG';
  readonly type: number;
  /** -1: the tag is on the type itself; otherwise a member/param index. */
  readonly componentIdx: number;
}

export type BtfType =
  | BtfVoid
  | BtfInt
  | BtfRef
  | BtfArray
  | BtfComposite
  | BtfEnum
  | BtfEnum64
  | BtfFwd
  | BtfFunc
  | BtfFuncProto
  | BtfVar
  | BtfDatasec
  | BtfFloat
  | BtfDeclTag;
