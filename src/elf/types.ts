// The parsed shape of an ELF64 file (see reader.ts) and the input of the
// writer (see writer.ts).
//
// Offsets and sizes of things that live inside the file (sections, entries)
// are numbers: they were checked against the file length. Addresses, symbol
// values and sizes, section flags and relocation offsets/addends are bigint,
// as the file stores them (64-bit values at module boundaries are bigint).

export interface ElfHeader {
  readonly littleEndian: boolean;
  readonly osabi: number;
  readonly abiVersion: number;
  /** e_type (ET_REL = 1 for BPF objects). */
  readonly type: number;
  /** e_machine (EM_BPF = 247). */
  readonly machine: number;
  readonly version: number;
  readonly entry: bigint;
  readonly flags: number;
  /** Index of the section that holds section names. */
  readonly shstrndx: number;
}

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: bigint;
  readonly addr: bigint;
  /** File offset (meaningless for SHT_NOBITS). */
  readonly offset: number;
  /** sh_size: for SHT_NOBITS the memory size, which has no bytes in the file. */
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** A view into the file's bytes; empty for SHT_NOBITS and SHT_NULL. */
  readonly data: Uint8Array;
}

export interface ElfSymbol {
  /** Index in the symbol table (0 is the null symbol). */
  readonly index: number;
  readonly name: string;
  readonly value: bigint;
  readonly size: bigint;
  /** STT_* (st_info & 0xf). */
  readonly type: number;
  /** STB_* (st_info >> 4). */
  readonly bind: number;
  /** STV_* (st_other & 3). */
  readonly visibility: number;
  /** The whole st_other byte. */
  readonly other: number;
  /** Section index, resolved through SHT_SYMTAB_SHNDX when st_shndx is SHN_XINDEX. */
  readonly shndx: number;
}

export interface ElfReloc {
  readonly offset: bigint;
  /** ELF64_R_TYPE: low 32 bits of r_info. */
  readonly type: number;
  /** ELF64_R_SYM: index into the linked symbol table. */
  readonly symbol: number;
  /** Only for SHT_RELA. */
  readonly addend?: bigint;
}

export interface ElfRelocSection {
  /** Index of the SHT_REL/SHT_RELA section itself. */
  readonly section: number;
  /** Index of the section the relocations apply to (sh_info). */
  readonly target: number;
  /** Index of the symbol table they refer to (sh_link). */
  readonly symtab: number;
  readonly rela: boolean;
  readonly entries: readonly ElfReloc[];
}

export interface ElfFile {
  readonly bytes: Uint8Array;
  readonly header: ElfHeader;
  /** All sections by index; sections[0] is the null section. */
  readonly sections: readonly ElfSection[];
  /** Index of the (first) SHT_SYMTAB section, 0 if none. */
  readonly symtabIndex: number;
  /** Entries of that symbol table; symbols[0] is the null symbol (empty if no symtab). */
  readonly symbols: readonly ElfSymbol[];
  readonly relocations: readonly ElfRelocSection[];
  /** First section with this name. */
  sectionByName(name: string): ElfSection | undefined;
  /** Relocation sections that apply to section `target`. */
  relocsFor(target: number): readonly ElfRelocSection[];
}

// ---- writer input ----

export interface WriteSymbol {
  readonly name: string;
  readonly value: bigint;
  readonly size: bigint;
  readonly type: number;
  readonly bind: number;
  /** st_other (visibility in the low 2 bits); default 0. */
  readonly other?: number;
  /** Section index in the written file (or SHN_ABS, SHN_COMMON, 0 for undefined). */
  readonly shndx: number;
}

export interface WriteReloc {
  readonly offset: bigint;
  readonly type: number;
  /** Index into the linked symbol table, counting the null symbol as 0. */
  readonly symbol: number;
  readonly addend?: bigint;
}

/**
 * One section to write. Section i of the array becomes section i + 1 of the
 * file (index 0 is the null section, implicit).
 * - SHT_SYMTAB: give `symbols` (without the null symbol); the writer encodes
 *   them and fills the names into the string table named by `link`.
 * - SHT_REL/SHT_RELA: give `relocs`; `link` is the symtab, `info` the target.
 * - SHT_STRTAB: content is generated when the section is a symtab's `link` or
 *   the header's shstrndx; otherwise `data` is copied.
 * - SHT_NOBITS: give `size`.
 * - anything else: `data` is copied.
 */
export interface WriteSection {
  readonly name: string;
  readonly type: number;
  readonly flags?: bigint;
  readonly addr?: bigint;
  readonly addralign?: number;
  readonly entsize?: number;
  readonly link?: number;
  readonly info?: number;
  readonly data?: Uint8Array;
  readonly size?: number;
  readonly symbols?: readonly WriteSymbol[];
  readonly relocs?: readonly WriteReloc[];
}

export interface ElfWriteInput {
  /** Default true. */
  readonly littleEndian?: boolean;
  /** Default ET_REL. */
  readonly type?: number;
  /** Default EM_BPF. */
  readonly machine?: number;
  readonly flags?: number;
  readonly osabi?: number;
  readonly sections: readonly WriteSection[];
  /**
   * Index (in the written file) of the STRTAB section that receives section
   * names. Default: the section named ".shstrtab", else ".strtab"; if there is
   * none, a ".shstrtab" is appended.
   */
  readonly shstrndx?: number;
}
