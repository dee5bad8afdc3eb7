// The loaded shape of a BPF object file (what libbpf's bpf_object__open()
// builds before anything touches the kernel).

import type { Btf, BtfCoreRelo, BtfExt } from '../btf/index.js';
import type { ElfFile } from '../elf/index.js';
import type { Insn } from '../isa/insn.js';
import type { CoreReloOutcome } from './core-relo.js';

export type MapKind = 'btf' | 'legacy' | 'data' | 'kconfig';

export interface BpfMap {
  readonly name: string;
  /** ELF section the definition (or the data) lives in: '.maps', 'maps', '.data', ... */
  readonly section: string;
  readonly kind: MapKind;
  /** enum bpf_map_type. */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** BTF type ids of key and value when the definition names them (__type). */
  readonly keyType?: number;
  readonly valueType?: number;
  readonly numaNode?: number;
  readonly pinning?: number;
  readonly mapExtra?: bigint;
  /** Offset of the definition (or variable) inside its section. */
  readonly offset: number;
  /** Initial contents of data maps (.data, .rodata, zeros for .bss and .kconfig). */
  readonly initialValue?: Uint8Array;
  /** BTF DATASEC/VAR id the map was defined by, when known. */
  readonly btfVarId?: number;
}

export type ExternKind = 'kfunc' | 'ksym' | 'kconfig';

export interface Extern {
  readonly name: string;
  readonly kind: ExternKind;
  /** STB_WEAK extern. */
  readonly weak: boolean;
  /** BTF id of the extern's FUNC or VAR in the object's BTF, if any. */
  readonly btfId?: number;
  /** For kconfig: offset and size in the .kconfig map's value. */
  readonly offset?: number;
  readonly size?: number;
}

export interface MapRef {
  /** Slot of the ld_imm64. */
  readonly index: number;
  /** Index into BpfObject.maps. */
  readonly map: number;
  /** 'fd': BPF_PSEUDO_MAP_FD; 'value': BPF_PSEUDO_MAP_VALUE with `offset` into the value. */
  readonly kind: 'fd' | 'value';
  readonly offset: number;
}

export interface ExternRef {
  /** Slot of the call (kfunc) or ld_imm64 (var). */
  readonly index: number;
  readonly name: string;
  /** 'kfunc': call with src=BPF_PSEUDO_KFUNC_CALL, imm 0 until resolved; 'var': ld_imm64 with src=BPF_PSEUDO_BTF_ID. */
  readonly kind: 'kfunc' | 'var';
}

export interface FuncInfo {
  /** First slot of the function in the final program. */
  readonly insn: number;
  /** BTF FUNC id. */
  readonly typeId: number;
}

export interface LineInfo {
  readonly insn: number;
  readonly fileName: string;
  readonly line: string;
  readonly lineNum: number;
  readonly col: number;
}

export interface CoreRelo extends Omit<BtfCoreRelo, 'insnOff'> {
  /** Slot in the final program. */
  readonly insn: number;
}

export interface BpfProgram {
  /** Name of the entry function. */
  readonly name: string;
  /** ELF section name (SEC("...")). */
  readonly section: string;
  /** enum bpf_prog_type (0 when the section name is unknown). */
  readonly progType: number;
  readonly progTypeName: string;
  /** enum bpf_attach_type, when the section sets one. */
  readonly expectedAttachType?: number;
  readonly sleepable: boolean;
  /** Slot index of the entry function within its section. */
  readonly sectionOffset: number;
  /** Final program: entry function then appended subprograms, relocations applied. */
  readonly insns: Insn[];
  /** Entry (start 0) and each appended subprogram. */
  readonly subprogs: { readonly name: string; readonly start: number }[];
  readonly mapRefs: MapRef[];
  readonly externCalls: ExternRef[];
  readonly funcInfo: FuncInfo[];
  readonly lineInfo: LineInfo[];
  /** CO-RE relocation records, rebased; applied only when loadObject() was given a targetBtf. */
  readonly coreRelos: CoreRelo[];
}

export interface BpfObject {
  readonly programs: BpfProgram[];
  readonly maps: BpfMap[];
  readonly btf?: Btf;
  readonly btfExt?: BtfExt;
  readonly externs: Extern[];
  readonly license: string;
  /** Contents of the "version" section, if any. */
  readonly kernVersion?: number;
  readonly elf: ElfFile;
  /** What each CO-RE relocation did, when loadObject() was given a targetBtf (libbpf's order: by section, then record). */
  readonly coreOutcomes?: CoreReloOutcome[];
}

export interface LoadOptions {
  /** Name used as the prefix of data map names the way libbpf does ("<obj>.data"); default: none, maps are named by section. */
  readonly objectName?: string;
  /**
   * Apply the object's CO-RE relocations (.BTF.ext core_relo records) against
   * this BTF (the model kernel's, or /sys/kernel/btf/vmlinux) the way libbpf
   * does at load time. Default: not applied (records kept in coreRelos).
   * A function is called only when the object has CO-RE records.
   */
  readonly targetBtf?: Btf | (() => Btf);
}
