// Loading kfinline programs into the running kernel the way libbpf's
// bpf_object__load() does: create the maps a program uses (data maps filled
// and .rodata/.kconfig frozen, bpf_object__create_maps()), patch ld_imm64 map
// references with map fds (bpf_object__relocate_data()), resolve kfunc and
// ksym externs against /sys/kernel/btf/vmlinux (bpf_object__resolve_ksyms()),
// then BPF_PROG_LOAD with the object's BTF and func/line info when the kernel
// takes them (bpf_object__load_progs()).

import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { parseBtf, type Btf } from '../btf/index.js';
import type { Insn } from '../isa/insn.js';
import type { BpfMap, BpfObject, BpfProgram } from '../object/index.js';
import { KfError, withContext } from '../util/errors.js';
import {
  BPF_LOG_STATS,
  closeFd,
  mapCreate,
  mapFreeze,
  mapUpdateElem,
  progLoad,
  progTestRun,
  type FuncInfoRec,
  type LineInfoRec,
  type TestRunAttr,
} from './bpf.js';
import { objectBtfForKernel, type KernelBtf } from './btf-fixup.js';
import { errorLine, parseLogStats } from './log.js';

const BPF_PSEUDO_MAP_FD = 1;
const BPF_PSEUDO_MAP_VALUE = 2;
const BPF_PSEUDO_BTF_ID = 3;
const BPF_PSEUDO_KFUNC_CALL = 2;

export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux';

let vmlinux: Btf | undefined;

/** The running kernel's BTF (parsed once). */
export function vmlinuxBtf(): Btf {
  if (vmlinux) return vmlinux;
  let bytes: Buffer;
  try {
    bytes = readFileSync(VMLINUX_BTF_PATH);
  } catch (e) {
    throw new KfError(`${VMLINUX_BTF_PATH}: cannot read (${e instanceof Error ? e.message : String(e)}): kernel built without CONFIG_DEBUG_INFO_BTF?`);
  }
  vmlinux = withContext(VMLINUX_BTF_PATH, () => parseBtf(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  return vmlinux;
}

export interface KernelLoadOptions {
  /** Verifier log level: 0, 1 (BPF_LOG_LEVEL1) or 2 (BPF_LOG_LEVEL2); default 1. */
  readonly logLevel?: number;
  /** Add BPF_LOG_STATS (verification time, stack depth); default true. */
  readonly stats?: boolean;
  /** prog_flags (BPF_F_STRICT_ALIGNMENT 1, BPF_F_ANY_ALIGNMENT 2, ...). */
  readonly progFlags?: number;
  readonly expectedAttachType?: number;
  /** Keep the program (and its maps) open for testRun(); then call close(). */
  readonly keep?: boolean;
  /** Initial log buffer size (grown on ENOSPC). */
  readonly logSize?: number;
  /** Object programs: load the object's BTF with func/line info (default true; falls back to none if the kernel refuses it). */
  readonly btf?: boolean;
}

export interface KernelMap {
  readonly name: string;
  readonly fd: number;
  readonly map: BpfMap;
}

export interface KernelLoadResult {
  readonly name: string;
  /** The program fd when `keep` was asked and the kernel accepted it, else -1. */
  readonly fd: number;
  readonly accepted: boolean;
  readonly errno: number;
  readonly log: string;
  /** The kernel's error line for a rejected program (last log line before the statistics). */
  readonly error?: string;
  /** `processed N insns`. */
  readonly processed?: number;
  readonly verificationTimeUs?: number;
  /** Stack depth per subprogram. */
  readonly stackDepth?: number[];
  readonly totalStates?: number;
  readonly peakStates?: number;
  /** Instruction slots passed to BPF_PROG_LOAD. */
  readonly insnsLoaded: number;
  /** The instructions as loaded (map fds and kfunc BTF ids patched in). */
  readonly insns: readonly Insn[];
  /** Whether the object's BTF (func/line info) went with the program. */
  readonly withBtf: boolean;
  /** Maps created for the program, open while kept. */
  readonly maps: readonly KernelMap[];
  /** Closes what is still open (prog, maps, BTF). Idempotent. */
  close(): Promise<void>;
}

function logLevelOf(o: KernelLoadOptions): number {
  const l = o.logLevel ?? 1;
  if (!Number.isInteger(l) || l < 0 || l > 2) throw new KfError(`log level ${l}: must be 0, 1 or 2`);
  return l === 0 ? 0 : l | (o.stats === false ? 0 : BPF_LOG_STATS);
}

function resultOf(
  name: string,
  r: { fd: number; errno: number; log: string },
  insns: readonly Insn[],
  keep: boolean,
  maps: KernelMap[],
  btfFd: number,
): KernelLoadResult {
  const st = parseLogStats(r.log);
  const accepted = r.fd >= 0;
  const open = new Set<number>([...maps.map((m) => m.fd), btfFd].filter((x) => x >= 0));
  if (accepted) open.add(r.fd);
  let fd = accepted ? r.fd : -1;
  const close = async (): Promise<void> => {
    for (const f of open) await closeFd(f);
    open.clear();
    fd = -1;
  };
  const res: KernelLoadResult = {
    name,
    get fd() {
      return fd;
    },
    accepted,
    errno: r.errno,
    log: r.log,
    error: accepted ? undefined : (errorLine(r.log) ?? `load failed: errno ${r.errno}`),
    processed: st.processed,
    verificationTimeUs: st.verificationTimeUs,
    stackDepth: st.stackDepth,
    totalStates: st.totalStates,
    peakStates: st.peakStates,
    insnsLoaded: insns.length,
    insns,
    withBtf: btfFd >= 0,
    maps: keep ? maps : [],
    close,
  };
  return res;
}

/**
 * Loads raw instructions (the JSONL cases: prog_type, prog_flags). Maps are
 * not created: ld_imm64 map references must already carry fds.
 */
export async function loadRawProgram(
  insns: readonly Insn[],
  progType: number,
  opts: KernelLoadOptions & { name?: string; license?: string } = {},
): Promise<KernelLoadResult> {
  const r = await progLoad({
    progType,
    insns,
    license: opts.license ?? 'GPL',
    logLevel: logLevelOf(opts),
    logSize: opts.logSize,
    progFlags: opts.progFlags,
    expectedAttachType: opts.expectedAttachType,
    progName: opts.name,
  });
  const res = resultOf(opts.name ?? '', r, insns, !!opts.keep, [], -1);
  if (!opts.keep) await res.close();
  return res;
}

/** KERNEL_VERSION(a, b, c) of the running kernel, as libbpf computes LINUX_KERNEL_VERSION. */
export function kernelVersionCode(rel = release()): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(rel);
  if (!m) return 0;
  return (Number(m[1]) << 16) + (Number(m[2]) << 8) + Math.min(Number(m[3] ?? 0), 255);
}

/** .kconfig contents: LINUX_KERNEL_VERSION set, everything else left 0 (as weak, unset). */
function kconfigValue(obj: BpfObject, map: BpfMap): Uint8Array {
  const v = new Uint8Array(map.initialValue ?? new Uint8Array(map.valueSize));
  for (const e of obj.externs) {
    if (e.kind !== 'kconfig' || e.offset === undefined) continue;
    if (e.name === 'LINUX_KERNEL_VERSION' && e.size === 4 && e.offset + 4 <= v.length) {
      new DataView(v.buffer).setUint32(e.offset, kernelVersionCode(), true);
    }
  }
  return v;
}

/** Mirrors bpf_object__create_map() + bpf_object__populate_internal_map(). */
async function createMap(obj: BpfObject, m: BpfMap, btf: KernelBtf | undefined): Promise<number> {
  const base = { mapType: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, mapFlags: m.flags, numaNode: m.numaNode, name: m.name, mapExtra: m.mapExtra };
  let fd = -1;
  if (btf && m.keyType !== undefined && m.valueType !== undefined) {
    try {
      fd = await mapCreate({ ...base, btfFd: btf.fd, btfKeyTypeId: m.keyType, btfValueTypeId: m.valueType });
    } catch {
      fd = -1; // retry without BTF, as libbpf does
    }
  }
  if (fd < 0) fd = await mapCreate(base);
  try {
    if (m.kind === 'data' || m.kind === 'kconfig') {
      const init = m.kind === 'kconfig' ? kconfigValue(obj, m) : m.initialValue;
      if (init && init.some((b) => b !== 0)) await mapUpdateElem(fd, new Uint8Array(4), init);
      if (m.kind === 'kconfig' || m.section.startsWith('.rodata')) await mapFreeze(fd);
    }
  } catch (e) {
    await closeFd(fd);
    throw e;
  }
  return fd;
}

const ATTACH_BY_BTF: readonly [RegExp, string, 'FUNC' | 'TYPEDEF'][] = [
  [/^(?:fentry|fexit|fmod_ret)(?:\.s)?\/(.+)$/, '', 'FUNC'],
  [/^tp_btf\/(.+)$/, 'btf_trace_', 'TYPEDEF'],
  [/^lsm(?:\.s)?\/(.+)$/, 'bpf_lsm_', 'FUNC'],
  [/^iter(?:\.s)?\/(.+)$/, 'bpf_iter_', 'FUNC'],
];

/** attach_btf_id for BTF-attached program types (libbpf_find_attach_btf_id()). */
function attachBtfId(section: string): number | undefined {
  for (const [re, prefix, kind] of ATTACH_BY_BTF) {
    const m = re.exec(section);
    if (!m) continue;
    const id = vmlinuxBtf().findByNameKind(prefix + m[1], kind);
    if (id < 0) throw new KfError(`attach target "${prefix + m[1]}" not found in ${VMLINUX_BTF_PATH}`);
    return id;
  }
  return undefined;
}

/** Patches map fds and extern BTF ids into a copy of the program (bpf_object__relocate()). */
function patchProgram(obj: BpfObject, p: BpfProgram, mapFd: Map<number, number>): Insn[] {
  const insns = p.insns.slice();
  const slot = (i: number, what: string): Insn => {
    const x = insns[i];
    if (!x) throw new KfError(`${what} at instruction ${i}: beyond the program (${insns.length} slots)`);
    return x;
  };
  for (const r of p.mapRefs) {
    const x = slot(r.index, 'map reference');
    if (x.code !== 0x18 || !insns[r.index + 1]) throw new KfError(`map reference at instruction ${r.index}: not an ld_imm64`);
    const fd = mapFd.get(r.map);
    if (fd === undefined) throw new KfError(`map reference at instruction ${r.index}: map #${r.map} not created`);
    insns[r.index] = { ...x, src: r.kind === 'fd' ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE, imm: fd };
    insns[r.index + 1] = { ...insns[r.index + 1], imm: r.kind === 'value' ? r.offset : 0 };
  }
  for (const e of p.externCalls) {
    const x = slot(e.index, `extern "${e.name}"`);
    const ext = obj.externs.find((y) => y.name === e.name);
    if (e.kind === 'kfunc') {
      const id = vmlinuxBtf().findByNameKind(e.name, 'FUNC');
      if (id < 0 && !ext?.weak) throw new KfError(`kfunc "${e.name}" (call at instruction ${e.index}) not found in ${VMLINUX_BTF_PATH}`);
      insns[e.index] = { ...x, src: BPF_PSEUDO_KFUNC_CALL, imm: Math.max(id, 0), off: 0 };
    } else {
      if (x.code !== 0x18 || !insns[e.index + 1]) throw new KfError(`ksym "${e.name}" at instruction ${e.index}: not an ld_imm64`);
      const id = vmlinuxBtf().findByNameKind(e.name, 'VAR');
      if (id < 0) throw new KfError(`ksym "${e.name}" (instruction ${e.index}) not found as a VAR in ${VMLINUX_BTF_PATH}`);
      insns[e.index] = { ...x, src: BPF_PSEUDO_BTF_ID, imm: id };
      insns[e.index + 1] = { ...insns[e.index + 1], imm: 0 };
    }
  }
  return insns;
}

/** func_info and line_info records for the program against the object's BTF. */
function extInfo(p: BpfProgram, kbtf: KernelBtf): { funcInfo: FuncInfoRec[]; lineInfo: LineInfoRec[] } {
  const funcInfo = p.funcInfo.map((f) => ({ insnOff: f.insn, typeId: f.typeId }));
  const lineInfo: LineInfoRec[] = [];
  for (const l of p.lineInfo) {
    const fileNameOff = kbtf.strOff(l.fileName);
    const lineOff = kbtf.strOff(l.line);
    if (fileNameOff === undefined || lineOff === undefined) return { funcInfo, lineInfo: [] };
    lineInfo.push({ insnOff: l.insn, fileNameOff, lineOff, lineCol: ((l.lineNum << 10) | (l.col & 0x3ff)) >>> 0 });
  }
  return { funcInfo, lineInfo };
}

/**
 * Loads one program of a kfinline object into the kernel. Creates the maps
 * it references, resolves externs, loads, and closes everything it created
 * unless `keep` is set (then close() does).
 */
export async function loadObjectProgram(obj: BpfObject, prog: BpfProgram | string, opts: KernelLoadOptions = {}): Promise<KernelLoadResult> {
  const p = typeof prog === 'string' ? obj.programs.find((x) => x.name === prog) : prog;
  if (!p) throw new KfError(`no program named "${String(prog)}" (programs: ${obj.programs.map((x) => x.name).join(', ')})`);
  return withContextAsync(`program "${p.name}"`, async () => {
    if (!p.progType) throw new KfError(`section "${p.section}": unknown program type`);
    const level = logLevelOf(opts);
    const attach = attachBtfId(p.section);
    let kbtf: KernelBtf | undefined;
    if (opts.btf !== false && obj.btf) kbtf = await objectBtfForKernel(obj);
    const maps: KernelMap[] = [];
    const mapFd = new Map<number, number>();
    let res: KernelLoadResult | undefined;
    try {
      for (const r of p.mapRefs) {
        if (mapFd.has(r.map)) continue;
        const m = obj.maps[r.map];
        if (!m) throw new KfError(`map reference at instruction ${r.index}: no map #${r.map}`);
        const fd = await withContext(`map "${m.name}"`, () => createMap(obj, m, kbtf));
        mapFd.set(r.map, fd);
        maps.push({ name: m.name, fd, map: m });
      }
      const insns = patchProgram(obj, p, mapFd);
      const common = {
        progType: p.progType,
        insns,
        license: obj.license || 'GPL',
        logLevel: level,
        logSize: opts.logSize,
        progFlags: (opts.progFlags ?? 0) | (p.sleepable ? 1 << 4 : 0),
        progName: p.name,
        expectedAttachType: opts.expectedAttachType ?? p.expectedAttachType,
        kernVersion: obj.kernVersion,
        attachBtfId: attach,
      };
      let r = kbtf ? await progLoad({ ...common, progBtfFd: kbtf.fd, ...extInfo(p, kbtf) }) : undefined;
      let btfFd = kbtf?.fd ?? -1;
      if (r && r.fd < 0 && /func_info|line_info|BTF|btf/.test(errorLine(r.log) ?? '') && !/R\d/.test(errorLine(r.log) ?? '')) {
        // The kernel refused the object's BTF info (not the program): load without it, as libbpf retries.
        r = undefined;
      }
      if (!r) {
        if (kbtf) await closeFd(kbtf.fd);
        btfFd = -1;
        kbtf = undefined;
        r = await progLoad(common);
      }
      res = resultOf(p.name, r, insns, !!opts.keep, maps, btfFd);
      if (opts.keep) {
        // Maps and BTF stay open for test runs; res.close() releases them.
        return res;
      }
      await res.close();
      return res;
    } finally {
      if (!res) {
        for (const m of maps) await closeFd(m.fd);
        if (kbtf) await closeFd(kbtf.fd);
      }
    }
  });
}

/** withContext() for async work. */
async function withContextAsync<T>(ctx: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof KfError) throw e.wrap(ctx);
    throw e;
  }
}

/** Runs a loaded program with BPF_PROG_TEST_RUN: { retval, durationNs (per run), dataOut }. */
export async function testRun(fd: number, opts: TestRunAttr = {}): Promise<{ retval: number; durationNs: number; dataOut: Uint8Array; ctxOut: Uint8Array }> {
  if (!Number.isInteger(fd) || fd < 0) throw new KfError(`test run: ${fd} is not an open program fd (load with keep: true)`);
  return progTestRun(fd, opts);
}
