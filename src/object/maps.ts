// Map definitions of a BPF object: BTF-defined maps in ".maps" (mirrors
// libbpf's parse_btf_map_def()), legacy struct bpf_map_def in "maps"
// (bpf_object__init_user_maps()), and the internal array maps of global data
// sections (bpf_object__init_global_data_maps()).

import type { Btf } from '../btf/index.js';
import { SHF_ALLOC, SHT_NOBITS, SHT_PROGBITS, STT_SECTION, type ElfFile, type ElfSection } from '../elf/index.js';
import { KfError, withContext } from '../util/errors.js';
import type { BpfMap } from './types.js';

export const BPF_MAP_TYPE_ARRAY = 2;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_MMAPABLE = 1 << 10;

/** Value N of a `__uint(name, N)` field: a pointer to an array of N elements (get_map_field_int()). */
function mapFieldInt(btf: Btf, typeId: number, what: string): number {
  const p = btf.typeById(btf.skipModsAndTypedefs(typeId));
  if (p.kind !== 'PTR') throw new KfError(`${what}: expected PTR, got ${p.kind}`);
  const a = btf.typeById(btf.skipModsAndTypedefs(p.type));
  if (a.kind !== 'ARRAY') throw new KfError(`${what}: expected pointer to ARRAY, got pointer to ${a.kind}`);
  return a.nelems;
}

/** Pointee type of a `__type(name, T)` field. */
function mapFieldType(btf: Btf, typeId: number, what: string): number {
  const p = btf.typeById(btf.skipModsAndTypedefs(typeId));
  if (p.kind !== 'PTR') throw new KfError(`${what}: expected PTR, got ${p.kind}`);
  return p.type;
}

/** Mirrors parse_btf_map_def() for one VAR of the .maps DATASEC. */
function btfMapDef(btf: Btf, varId: number, offset: number): BpfMap {
  const v = btf.typeById(varId);
  if (v.kind !== 'VAR') throw new KfError(`type [${varId}] is ${v.kind}, not VAR`);
  return withContext(`map "${v.name}"`, () => {
    const st = btf.typeById(btf.skipModsAndTypedefs(v.type));
    if (st.kind !== 'STRUCT') throw new KfError(`definition is ${st.kind}, not a struct`);
    let type = 0, maxEntries = 0, flags = 0, keySize = 0, valueSize = 0;
    let keyType: number | undefined, valueType: number | undefined;
    let numaNode: number | undefined, pinning: number | undefined, mapExtra: bigint | undefined;
    for (const m of st.members) {
      const what = `field "${m.name}"`;
      switch (m.name) {
        case 'type': type = mapFieldInt(btf, m.type, what); break;
        case 'max_entries': maxEntries = mapFieldInt(btf, m.type, what); break;
        case 'map_flags': flags = mapFieldInt(btf, m.type, what); break;
        case 'numa_node': numaNode = mapFieldInt(btf, m.type, what); break;
        case 'pinning': pinning = mapFieldInt(btf, m.type, what); break;
        case 'map_extra': mapExtra = BigInt(mapFieldInt(btf, m.type, what)); break;
        case 'key_size': {
          const n = mapFieldInt(btf, m.type, what);
          if (keySize && keySize !== n) throw new KfError(`conflicting key size ${keySize} != ${n}`);
          keySize = n;
          break;
        }
        case 'value_size': {
          const n = mapFieldInt(btf, m.type, what);
          if (valueSize && valueSize !== n) throw new KfError(`conflicting value size ${valueSize} != ${n}`);
          valueSize = n;
          break;
        }
        case 'key': {
          keyType = mapFieldType(btf, m.type, what);
          const n = btf.resolveSize(keyType);
          if (keySize && keySize !== n) throw new KfError(`conflicting key size ${keySize} != ${n}`);
          keySize = n;
          break;
        }
        case 'value': {
          valueType = mapFieldType(btf, m.type, what);
          const n = btf.resolveSize(valueType);
          if (valueSize && valueSize !== n) throw new KfError(`conflicting value size ${valueSize} != ${n}`);
          valueSize = n;
          break;
        }
        case 'values':
          // Map-in-map / prog-array initialisers: the slots are filled by
          // relocations in .rel.maps; kept out of scope here.
          break;
        default:
          // libbpf warns and ignores unknown fields only in non-strict mode; be strict.
          throw new KfError(`unknown field "${m.name}"`);
      }
    }
    const m: BpfMap = { name: v.name, section: '.maps', kind: 'btf', type, keySize, valueSize, maxEntries, flags, offset, btfVarId: varId };
    return {
      ...m,
      ...(keyType !== undefined && { keyType }),
      ...(valueType !== undefined && { valueType }),
      ...(numaNode !== undefined && { numaNode }),
      ...(pinning !== undefined && { pinning }),
      ...(mapExtra !== undefined && { mapExtra }),
    };
  });
}

export function btfMaps(elf: ElfFile, btf: Btf | undefined): BpfMap[] {
  const sec = elf.sectionByName('.maps');
  if (!sec) return [];
  return withContext('section ".maps"', () => {
    if (!btf) throw new KfError('BTF-defined maps need a .BTF section');
    const id = btf.findByNameKind('.maps', 'DATASEC');
    if (id < 0) throw new KfError('no DATASEC ".maps" in BTF');
    const ds = btf.typeById(id);
    if (ds.kind !== 'DATASEC') throw new KfError('".maps" is not a DATASEC');
    // LLVM leaves DATASEC offsets at 0; like btf_fixup_datasec(), take each
    // variable's offset from its ELF symbol.
    return ds.vars.map((vi) => {
      const name = btf.nameOf(vi.type);
      const sym = elf.symbols.find((y) => y.shndx === sec.index && y.name === name && y.type !== STT_SECTION);
      if (!sym) throw new KfError(`map "${name}": no ELF symbol in section ".maps"`);
      if (sym.value + BigInt(vi.size) > BigInt(sec.size)) {
        throw new KfError(`map "${name}": offset ${sym.value} + size ${vi.size} beyond section size ${sec.size}`);
      }
      return btfMapDef(btf, vi.type, Number(sym.value));
    });
  });
}

/** Mirrors bpf_object__init_user_maps(): struct bpf_map_def records in "maps". */
export function legacyMaps(elf: ElfFile): BpfMap[] {
  const sec = elf.sectionByName('maps');
  if (!sec) return [];
  return withContext('section "maps"', () => {
    const syms = elf.symbols.filter((s) => s.index > 0 && s.shndx === sec.index && s.type !== STT_SECTION);
    if (syms.length === 0) return [];
    const defSize = Math.floor(sec.data.length / syms.length);
    if (sec.data.length % syms.length !== 0 || defSize < 20) {
      throw new KfError(`section size ${sec.data.length} is not ${syms.length} map definitions of at least 20 bytes`);
    }
    const dv = new DataView(sec.data.buffer, sec.data.byteOffset, sec.data.byteLength);
    const le = elf.header.littleEndian;
    return syms
      .slice()
      .sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
      .map((s) => {
        const off = s.value;
        if (off % BigInt(defSize) !== 0n || off + BigInt(defSize) > BigInt(sec.data.length)) {
          throw new KfError(`map "${s.name}": offset ${off} is not a definition boundary (definition size ${defSize})`);
        }
        const o = Number(off);
        return {
          name: s.name,
          section: 'maps',
          kind: 'legacy' as const,
          type: dv.getUint32(o, le),
          keySize: dv.getUint32(o + 4, le),
          valueSize: dv.getUint32(o + 8, le),
          maxEntries: dv.getUint32(o + 12, le),
          flags: dv.getUint32(o + 16, le),
          offset: o,
        };
      });
  });
}

/** Largest global data section accepted (the kernel's array value limit is lower still). */
const MAX_DATA_MAP = 1 << 28;

const DATA_PREFIXES = ['.data', '.rodata', '.bss'];

/** Is this a global data section libbpf turns into an internal map? */
export function isDataSection(s: ElfSection): boolean {
  if (s.type !== SHT_PROGBITS && s.type !== SHT_NOBITS) return false;
  if ((s.flags & SHF_ALLOC) === 0n) return false;
  return DATA_PREFIXES.some((p) => s.name === p || s.name.startsWith(p + '.'));
}

/**
 * Mirrors internal_map_name(): "<obj prefix><section>" in at most 15
 * characters (checked against libbpf by test/object/kernel.test.ts); the
 * object name is the file name up to its first dot.
 */
export function internalMapName(objName: string | undefined, sec: string): string {
  if (!objName) return sec;
  const obj = (objName.split('/').pop() ?? '').split('.')[0];
  const sfxLen = Math.max(7, sec.length);
  // Names with a second dot (".rodata.str1.1", ".data.foo") get no prefix.
  const pfxLen = sec.indexOf('.', 1) >= 0 ? 0 : Math.max(0, Math.min(16 - sfxLen - 1, obj.length));
  return (obj.slice(0, pfxLen) + sec).slice(0, 15).replace(/[^A-Za-z0-9_.]/g, '_');
}

/** Mirrors bpf_object__init_global_data_maps(). */
export function dataMaps(elf: ElfFile, btf: Btf | undefined, objName: string | undefined): BpfMap[] {
  const out: BpfMap[] = [];
  for (const s of elf.sections) {
    if (!isDataSection(s) || s.size === 0) continue;
    if (s.size > MAX_DATA_MAP) throw new KfError(`section "${s.name}": size ${s.size} too large for a data map (limit ${MAX_DATA_MAP})`);
    const readonly = s.name.startsWith('.rodata');
    const init = s.type === SHT_NOBITS ? new Uint8Array(s.size) : s.data.slice();
    let btfVarId: number | undefined;
    if (btf) {
      const id = btf.findByNameKind(s.name, 'DATASEC');
      if (id >= 0) btfVarId = id;
    }
    out.push({
      name: internalMapName(objName, s.name),
      section: s.name,
      kind: 'data',
      type: BPF_MAP_TYPE_ARRAY,
      keySize: 4,
      valueSize: s.size,
      maxEntries: 1,
      flags: (readonly ? BPF_F_RDONLY_PROG : 0) | BPF_F_MMAPABLE,
      offset: 0,
      initialValue: init,
      ...(btfVarId !== undefined && { btfVarId }),
    });
  }
  return out;
}
