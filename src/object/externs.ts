// Extern symbols of a BPF object (mirrors libbpf's bpf_object__collect_externs()):
// kfuncs and kernel variables in ".ksyms", kernel config values in ".kconfig".
// kconfig externs are laid out in one read-only ".kconfig" array map, as
// libbpf does; their values are left zero (no kernel config is read here).

import type { Btf } from '../btf/index.js';
import { STB_WEAK, STT_FILE, STT_FUNC, STT_SECTION, type ElfFile } from '../elf/index.js';
import { KfError, withContext } from '../util/errors.js';
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE_ARRAY, internalMapName } from './maps.js';
import type { BpfMap, Extern } from './types.js';

interface BtfExtern {
  kind: 'kfunc' | 'ksym' | 'kconfig';
  btfId: number;
  size?: number;
}

/** Extern names found in the ".kconfig" / ".ksyms" DATASECs of the object's BTF. */
function btfExterns(btf: Btf): Map<string, BtfExtern> {
  const out = new Map<string, BtfExtern>();
  for (const [sec, kind] of [['.kconfig', 'kconfig'], ['.ksyms', 'ksym']] as const) {
    const id = btf.findByNameKind(sec, 'DATASEC');
    if (id < 0) continue;
    const ds = btf.typeById(id);
    if (ds.kind !== 'DATASEC') continue;
    for (const vi of ds.vars) {
      const t = btf.typeById(vi.type);
      if (t.kind === 'FUNC') out.set(t.name, { kind: 'kfunc', btfId: t.id });
      else if (t.kind === 'VAR') {
        let size: number | undefined;
        try {
          size = btf.resolveSize(t.type);
        } catch {
          size = undefined; // e.g. `extern const void x __ksym;`
        }
        out.set(t.name, { kind, btfId: t.id, ...(size !== undefined && { size }) });
      }
    }
  }
  return out;
}

export interface ExternTable {
  readonly externs: Extern[];
  readonly byName: Map<string, Extern>;
  /** The ".kconfig" map, when there are kconfig externs. */
  readonly kconfigMap?: BpfMap;
}

export function collectExterns(elf: ElfFile, btf: Btf | undefined, objName: string | undefined): ExternTable {
  const fromBtf = btf ? btfExterns(btf) : new Map<string, BtfExtern>();
  const found: Extern[] = [];
  const seen = new Set<string>();
  for (const s of elf.symbols) {
    if (s.index === 0 || s.shndx !== 0 || s.name === '' || s.type === STT_SECTION || s.type === STT_FILE) continue;
    if (seen.has(s.name)) continue;
    seen.add(s.name);
    const b = fromBtf.get(s.name);
    let kind: Extern['kind'];
    if (b) kind = b.kind;
    else if (btf) {
      // A FUNC with extern linkage outside any DATASEC (older LLVM) is a kfunc.
      // Anything else without BTF is no extern libbpf knows: references to it
      // fail later as "symbol is undefined".
      const f = btf.findByNameKind(s.name, 'FUNC');
      if (f < 0) continue;
      const t = btf.typeById(f);
      if (t.kind !== 'FUNC' || t.linkage !== 'extern') continue;
      kind = 'kfunc';
    } else kind = s.type === STT_FUNC ? 'kfunc' : /^(CONFIG_|LINUX_)/.test(s.name) ? 'kconfig' : 'ksym';
    const btfId = b?.btfId ?? (btf && kind === 'kfunc' ? btf.findByNameKind(s.name, 'FUNC') : -1);
    found.push({
      name: s.name,
      kind,
      weak: s.bind === STB_WEAK,
      ...(btfId !== undefined && btfId >= 0 && { btfId }),
      ...(b?.size !== undefined && { size: b.size }),
    });
  }

  // Lay out kconfig externs: larger alignment first, then by name (cmp_externs()).
  const kc = found.filter((e) => e.kind === 'kconfig');
  const alignOf = (e: Extern): number => Math.min(8, Math.max(1, e.size ?? 8));
  kc.sort((a, b) => alignOf(b) - alignOf(a) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let off = 0;
  const placed = new Map<string, Extern>();
  withContext('section ".kconfig"', () => {
    for (const e of kc) {
      const size = e.size ?? 8;
      if (size > 4096) throw new KfError(`extern "${e.name}": size ${size} too large`);
      const a = alignOf(e);
      off = Math.ceil(off / a) * a;
      placed.set(e.name, { ...e, offset: off, size });
      off += size;
    }
  });
  const externs = found.map((e) => placed.get(e.name) ?? e);
  const byName = new Map(externs.map((e) => [e.name, e]));
  if (!kc.length) return { externs, byName };
  const size = Math.ceil(off / 8) * 8;
  const kconfigMap: BpfMap = {
    name: internalMapName(objName, '.kconfig'),
    section: '.kconfig',
    kind: 'kconfig',
    type: BPF_MAP_TYPE_ARRAY,
    keySize: 4,
    valueSize: size,
    maxEntries: 1,
    flags: BPF_F_RDONLY_PROG | BPF_F_MMAPABLE,
    offset: 0,
    initialValue: new Uint8Array(size),
  };
  return { externs, byName, kconfigMap };
}
