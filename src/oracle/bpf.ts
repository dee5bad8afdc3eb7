// Typed bpf() commands. Each builds the command's part of `union bpf_attr`
// (include/uapi/linux/bpf.h) by hand in a zeroed Buffer; the offsets below are
// uapi and never change. Pointer fields are __aligned_u64 addresses of Buffers
// that stay referenced until the syscall returns.

import { encodeInsns } from '../isa/codec.js';
import type { Insn } from '../isa/insn.js';
import { KfError } from '../util/errors.js';
import { EACCES, ENOENT, ENOSPC, EPERM, errnoName } from './errno.js';
import { bpfError, getSys, sysOrReason, type Sys } from './sys.js';

// enum bpf_cmd
export const BPF_MAP_CREATE = 0;
export const BPF_MAP_LOOKUP_ELEM = 1;
export const BPF_MAP_UPDATE_ELEM = 2;
export const BPF_PROG_LOAD = 5;
export const BPF_PROG_TEST_RUN = 10;
export const BPF_OBJ_GET_INFO_BY_FD = 15;
export const BPF_BTF_LOAD = 18;
export const BPF_MAP_FREEZE = 22;

/** log_level bits: BPF_LOG_LEVEL1, BPF_LOG_LEVEL2, BPF_LOG_STATS. */
export const BPF_LOG_LEVEL1 = 1;
export const BPF_LOG_LEVEL2 = 2;
export const BPF_LOG_STATS = 4;

/** The kernel caps log_size at UINT_MAX >> 2; we grow up to 16 MiB. */
export const MAX_LOG_SIZE = 16 << 20;
const BPF_OBJ_NAME_LEN = 16;

function objName(name: string | undefined, attr: Buffer, off: number): void {
  if (!name) return;
  // The kernel accepts [A-Za-z0-9_.] only (bpf_obj_name_cpy()), at most 15 bytes.
  const clean = name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, BPF_OBJ_NAME_LEN - 1);
  attr.write(clean, off, 'latin1');
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new KfError(`${what}: ${v} is not a u32`);
  return v;
}

// ---------------------------------------------------------------- maps

export interface MapCreateAttr {
  readonly mapType: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly mapFlags?: number;
  readonly innerMapFd?: number;
  readonly numaNode?: number;
  readonly name?: string;
  readonly btfFd?: number;
  readonly btfKeyTypeId?: number;
  readonly btfValueTypeId?: number;
  readonly mapExtra?: bigint;
}

/** BPF_MAP_CREATE; returns the map fd, throws KfError naming the errno. */
export async function mapCreate(a: MapCreateAttr): Promise<number> {
  const sys = await getSys();
  // struct { map_type @0, key_size @4, value_size @8, max_entries @12, map_flags @16,
  //   inner_map_fd @20, numa_node @24, map_name[16] @28, map_ifindex @44, btf_fd @48,
  //   btf_key_type_id @52, btf_value_type_id @56, btf_vmlinux_value_type_id @60, map_extra @64 }
  const attr = Buffer.alloc(72);
  attr.writeUInt32LE(checkU32(a.mapType, 'map_type'), 0);
  attr.writeUInt32LE(checkU32(a.keySize, 'key_size'), 4);
  attr.writeUInt32LE(checkU32(a.valueSize, 'value_size'), 8);
  attr.writeUInt32LE(checkU32(a.maxEntries, 'max_entries'), 12);
  attr.writeUInt32LE(checkU32(a.mapFlags ?? 0, 'map_flags'), 16);
  attr.writeUInt32LE(checkU32(a.innerMapFd ?? 0, 'inner_map_fd'), 20);
  attr.writeUInt32LE(checkU32(a.numaNode ?? 0, 'numa_node'), 24);
  objName(a.name, attr, 28);
  if (a.btfFd !== undefined && a.btfFd >= 0) {
    attr.writeUInt32LE(a.btfFd, 48);
    attr.writeUInt32LE(checkU32(a.btfKeyTypeId ?? 0, 'btf_key_type_id'), 52);
    attr.writeUInt32LE(checkU32(a.btfValueTypeId ?? 0, 'btf_value_type_id'), 56);
  }
  attr.writeBigUInt64LE(BigInt.asUintN(64, a.mapExtra ?? 0n), 64);
  const r = sys.bpf(BPF_MAP_CREATE, attr);
  if (r.ret < 0) throw bpfError('BPF_MAP_CREATE', r.errno, `map "${a.name ?? ''}" type ${a.mapType} key ${a.keySize} value ${a.valueSize} max_entries ${a.maxEntries} flags 0x${(a.mapFlags ?? 0).toString(16)}`);
  return r.ret;
}

/** struct { map_fd @0, key @8, value @16, flags @24 } */
function elemAttr(sys: Sys, fd: number, key: Buffer, value: Buffer, flags: bigint): Buffer {
  const attr = Buffer.alloc(32);
  attr.writeUInt32LE(fd, 0);
  attr.writeBigUInt64LE(sys.address(key), 8);
  attr.writeBigUInt64LE(sys.address(value), 16);
  attr.writeBigUInt64LE(BigInt.asUintN(64, flags), 24);
  return attr;
}

/** BPF_MAP_UPDATE_ELEM (flags: BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2). */
export async function mapUpdateElem(fd: number, key: Uint8Array, value: Uint8Array, flags = 0n): Promise<void> {
  const sys = await getSys();
  const k = Buffer.from(key);
  const v = Buffer.from(value);
  const r = sys.bpf(BPF_MAP_UPDATE_ELEM, elemAttr(sys, fd, k, v, flags));
  if (r.ret < 0) throw bpfError('BPF_MAP_UPDATE_ELEM', r.errno, `map fd ${fd}${r.errno === EPERM ? ' (frozen?)' : ''}`, false);
}

/** BPF_MAP_LOOKUP_ELEM: the value (valueSize bytes; per-CPU maps need valueSize*ncpus), undefined when absent. */
export async function mapLookupElem(fd: number, key: Uint8Array, valueSize: number): Promise<Uint8Array | undefined> {
  const sys = await getSys();
  const k = Buffer.from(key);
  const v = Buffer.alloc(checkU32(valueSize, 'value size'));
  const r = sys.bpf(BPF_MAP_LOOKUP_ELEM, elemAttr(sys, fd, k, v, 0n));
  if (r.ret < 0) {
    if (r.errno === ENOENT) return undefined;
    throw bpfError('BPF_MAP_LOOKUP_ELEM', r.errno, `map fd ${fd}`);
  }
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** BPF_MAP_FREEZE: no more writes from user space (what libbpf does to .rodata). */
export async function mapFreeze(fd: number): Promise<void> {
  const sys = await getSys();
  const attr = Buffer.alloc(8);
  attr.writeUInt32LE(fd, 0);
  const r = sys.bpf(BPF_MAP_FREEZE, attr);
  if (r.ret < 0) throw bpfError('BPF_MAP_FREEZE', r.errno, `map fd ${fd}`, false);
}

// ---------------------------------------------------------------- BTF

export interface LoadResult {
  /** fd when the kernel accepted the object, else -1. */
  readonly fd: number;
  readonly errno: number;
  /** The verifier's (or BTF checker's) log; empty at log level 0. */
  readonly log: string;
}

function logText(buf: Buffer): string {
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}

/** BPF_BTF_LOAD of raw BTF bytes. A rejection returns fd -1 with the log; permission problems throw. */
export async function btfLoad(bytes: Uint8Array, opts: { logLevel?: number } = {}): Promise<LoadResult> {
  const sys = await getSys();
  const data = Buffer.from(bytes);
  const level = opts.logLevel ?? 1;
  const log = Buffer.alloc(level ? 1 << 20 : 0);
  // struct { btf @0, btf_log_buf @8, btf_size @16, btf_log_size @20, btf_log_level @24, btf_log_true_size @28 }
  const attr = Buffer.alloc(32);
  attr.writeBigUInt64LE(sys.address(data), 0);
  attr.writeBigUInt64LE(sys.address(log), 8);
  attr.writeUInt32LE(data.length, 16);
  attr.writeUInt32LE(log.length, 20);
  attr.writeUInt32LE(level, 24);
  const r = sys.bpf(BPF_BTF_LOAD, attr);
  if (r.ret < 0 && r.errno === EPERM) throw bpfError('BPF_BTF_LOAD', r.errno);
  return { fd: r.ret, errno: r.errno, log: logText(log) };
}

// ---------------------------------------------------------------- programs

/** struct bpf_func_info (8 bytes). */
export interface FuncInfoRec {
  readonly insnOff: number;
  readonly typeId: number;
}

/** struct bpf_line_info (16 bytes): string offsets into the program's BTF. */
export interface LineInfoRec {
  readonly insnOff: number;
  readonly fileNameOff: number;
  readonly lineOff: number;
  /** line_num << 10 | column, as stored. */
  readonly lineCol: number;
}

export interface ProgLoadAttr {
  readonly progType: number;
  readonly insns: readonly Insn[];
  readonly license?: string;
  /** BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS; 0 = no log. */
  readonly logLevel?: number;
  /** Initial log buffer size; grown on ENOSPC up to MAX_LOG_SIZE. */
  readonly logSize?: number;
  readonly progFlags?: number;
  readonly progName?: string;
  readonly expectedAttachType?: number;
  readonly kernVersion?: number;
  readonly progBtfFd?: number;
  readonly funcInfo?: readonly FuncInfoRec[];
  readonly lineInfo?: readonly LineInfoRec[];
  readonly attachBtfId?: number;
  readonly attachBtfObjFd?: number;
  readonly fdArray?: readonly number[];
}

export interface ProgLoadResult extends LoadResult {
  /** Size of the whole log (log_true_size), even when the buffer was too small. */
  readonly logTrueSize: number;
}

/**
 * BPF_PROG_LOAD. A rejection is a result (fd -1, errno, log), not an
 * exception; only "bpf() unavailable" (no koffi, EPERM) throws.
 */
export async function progLoad(a: ProgLoadAttr): Promise<ProgLoadResult> {
  const sys = await getSys();
  const code = Buffer.from(encodeInsns(a.insns));
  const license = Buffer.from(`${a.license ?? 'GPL'}\0`, 'latin1');
  const level = a.logLevel ?? 0;
  let size = level ? Math.min(Math.max(a.logSize ?? 1 << 20, 128), MAX_LOG_SIZE) : 0;
  const fi = Buffer.alloc((a.funcInfo?.length ?? 0) * 8);
  a.funcInfo?.forEach((f, i) => {
    fi.writeUInt32LE(checkU32(f.insnOff, 'func_info insn_off'), i * 8);
    fi.writeUInt32LE(checkU32(f.typeId, 'func_info type_id'), i * 8 + 4);
  });
  const li = Buffer.alloc((a.lineInfo?.length ?? 0) * 16);
  a.lineInfo?.forEach((l, i) => {
    li.writeUInt32LE(checkU32(l.insnOff, 'line_info insn_off'), i * 16);
    li.writeUInt32LE(checkU32(l.fileNameOff, 'line_info file_name_off'), i * 16 + 4);
    li.writeUInt32LE(checkU32(l.lineOff, 'line_info line_off'), i * 16 + 8);
    li.writeUInt32LE(checkU32(l.lineCol, 'line_info line_col'), i * 16 + 12);
  });
  const fds = Buffer.alloc((a.fdArray?.length ?? 0) * 4);
  a.fdArray?.forEach((fd, i) => fds.writeInt32LE(fd, i * 4));
  for (;;) {
    const log = Buffer.alloc(size);
    // struct { prog_type @0, insn_cnt @4, insns @8, license @16, log_level @24, log_size @28,
    //   log_buf @32, kern_version @40, prog_flags @44, prog_name[16] @48, prog_ifindex @64,
    //   expected_attach_type @68, prog_btf_fd @72, func_info_rec_size @76, func_info @80,
    //   func_info_cnt @88, line_info_rec_size @92, line_info @96, line_info_cnt @104,
    //   attach_btf_id @108, attach_prog_fd/attach_btf_obj_fd @112, core_relo_cnt @116,
    //   fd_array @120, core_relos @128, core_relo_rec_size @136, log_true_size @140 }
    const attr = Buffer.alloc(144);
    attr.writeUInt32LE(checkU32(a.progType, 'prog_type'), 0);
    attr.writeUInt32LE(a.insns.length, 4);
    attr.writeBigUInt64LE(sys.address(code), 8);
    attr.writeBigUInt64LE(sys.address(license), 16);
    attr.writeUInt32LE(checkU32(level, 'log_level'), 24);
    attr.writeUInt32LE(size, 28);
    attr.writeBigUInt64LE(sys.address(log), 32);
    attr.writeUInt32LE(checkU32(a.kernVersion ?? 0, 'kern_version'), 40);
    attr.writeUInt32LE(checkU32(a.progFlags ?? 0, 'prog_flags'), 44);
    objName(a.progName, attr, 48);
    attr.writeUInt32LE(checkU32(a.expectedAttachType ?? 0, 'expected_attach_type'), 68);
    if (a.progBtfFd !== undefined && a.progBtfFd >= 0) {
      attr.writeUInt32LE(a.progBtfFd, 72);
      if (fi.length) {
        attr.writeUInt32LE(8, 76);
        attr.writeBigUInt64LE(sys.address(fi), 80);
        attr.writeUInt32LE(a.funcInfo!.length, 88);
      }
      if (li.length) {
        attr.writeUInt32LE(16, 92);
        attr.writeBigUInt64LE(sys.address(li), 96);
        attr.writeUInt32LE(a.lineInfo!.length, 104);
      }
    }
    attr.writeUInt32LE(checkU32(a.attachBtfId ?? 0, 'attach_btf_id'), 108);
    attr.writeUInt32LE(checkU32(a.attachBtfObjFd ?? 0, 'attach_btf_obj_fd'), 112);
    if (fds.length) attr.writeBigUInt64LE(sys.address(fds), 120);
    const r = sys.bpf(BPF_PROG_LOAD, attr);
    const trueSize = attr.readUInt32LE(140);
    if (r.ret < 0 && r.errno === ENOSPC && level && size < MAX_LOG_SIZE) {
      // The log did not fit (bpf_vlog_finalize()): retry with room for all of it.
      size = Math.min(MAX_LOG_SIZE, Math.max(size * 4, trueSize + 1));
      continue;
    }
    if (r.ret < 0 && r.errno === EPERM) throw bpfError('BPF_PROG_LOAD', r.errno);
    return { fd: r.ret, errno: r.errno, log: logText(log), logTrueSize: trueSize };
  }
}

export interface TestRunAttr {
  /** Packet (data_in). */
  readonly data?: Uint8Array;
  /** Room for data_out; default data.length + 256 (the kernel may grow the packet). */
  readonly dataSizeOut?: number;
  /** Context (ctx_in), e.g. a struct __sk_buff. */
  readonly ctx?: Uint8Array;
  readonly ctxSizeOut?: number;
  readonly repeat?: number;
  readonly flags?: number;
  readonly cpu?: number;
}

export interface TestRunResult {
  readonly retval: number;
  /** Average ns per run over `repeat` runs, as the kernel measures it. */
  readonly durationNs: number;
  readonly dataOut: Uint8Array;
  readonly ctxOut: Uint8Array;
}

/** BPF_PROG_TEST_RUN; throws KfError naming the errno when the kernel refuses. */
export async function progTestRun(progFd: number, a: TestRunAttr = {}): Promise<TestRunResult> {
  const sys = await getSys();
  const dataIn = Buffer.from(a.data ?? new Uint8Array(0));
  const dataOut = Buffer.alloc(a.dataSizeOut ?? (a.data ? a.data.length + 256 : 0));
  const ctxIn = Buffer.from(a.ctx ?? new Uint8Array(0));
  const ctxOut = Buffer.alloc(a.ctxSizeOut ?? (a.ctx ? a.ctx.length : 0));
  // struct { prog_fd @0, retval @4, data_size_in @8, data_size_out @12, data_in @16, data_out @24,
  //   repeat @32, duration @36, ctx_size_in @40, ctx_size_out @44, ctx_in @48, ctx_out @56,
  //   flags @64, cpu @68, batch_size @72 }
  const attr = Buffer.alloc(80);
  attr.writeUInt32LE(progFd, 0);
  attr.writeUInt32LE(dataIn.length, 8);
  attr.writeUInt32LE(dataOut.length, 12);
  attr.writeBigUInt64LE(sys.address(dataIn), 16);
  attr.writeBigUInt64LE(sys.address(dataOut), 24);
  attr.writeUInt32LE(checkU32(a.repeat ?? 1, 'repeat'), 32);
  attr.writeUInt32LE(ctxIn.length, 40);
  attr.writeUInt32LE(ctxOut.length, 44);
  attr.writeBigUInt64LE(sys.address(ctxIn), 48);
  attr.writeBigUInt64LE(sys.address(ctxOut), 56);
  attr.writeUInt32LE(checkU32(a.flags ?? 0, 'flags'), 64);
  attr.writeUInt32LE(checkU32(a.cpu ?? 0, 'cpu'), 68);
  const r = sys.bpf(BPF_PROG_TEST_RUN, attr);
  if (r.ret < 0) throw bpfError('BPF_PROG_TEST_RUN', r.errno, `prog fd ${progFd}`);
  const outLen = Math.min(attr.readUInt32LE(12), dataOut.length);
  const ctxLen = Math.min(attr.readUInt32LE(44), ctxOut.length);
  return {
    retval: attr.readUInt32LE(4),
    durationNs: attr.readUInt32LE(36),
    dataOut: new Uint8Array(dataOut.buffer, dataOut.byteOffset, outLen),
    ctxOut: new Uint8Array(ctxOut.buffer, ctxOut.byteOffset, ctxLen),
  };
}

export interface ProgInfo {
  readonly type: number;
  readonly id: number;
  /** bpf_prog_calc_tag(): 16 hex digits, as bpftool prints it. */
  readonly tag: string;
  readonly jitedLen: number;
  readonly xlatedLen: number;
  readonly name: string;
  readonly btfId: number;
  readonly nrFuncInfo: number;
  readonly nrLineInfo: number;
  readonly runTimeNs: bigint;
  readonly runCnt: bigint;
  /** env->insn_processed of the load (the log's `processed N insns`). */
  readonly verifiedInsns: number;
  /** The program after the verifier's rewrites (bpftool prog dump xlated), when asked for. */
  readonly xlated?: Uint8Array;
}

/** BPF_OBJ_GET_INFO_BY_FD on a program: struct bpf_prog_info, optionally with the xlated instructions. */
export async function progInfo(fd: number, opts: { xlated?: boolean } = {}): Promise<ProgInfo> {
  const sys = await getSys();
  const get = (info: Buffer): void => {
    // struct { bpf_fd @0, info_len @4, info @8 }
    const attr = Buffer.alloc(16);
    attr.writeUInt32LE(fd, 0);
    attr.writeUInt32LE(info.length, 4);
    attr.writeBigUInt64LE(sys.address(info), 8);
    const r = sys.bpf(BPF_OBJ_GET_INFO_BY_FD, attr);
    if (r.ret < 0) throw bpfError('BPF_OBJ_GET_INFO_BY_FD', r.errno, `fd ${fd}`);
  };
  // struct bpf_prog_info: type @0, id @4, tag[8] @8, jited_prog_len @16, xlated_prog_len @20,
  //   jited_prog_insns @24, xlated_prog_insns @32, name[16] @64, btf_id @128,
  //   nr_func_info @144, nr_line_info @148, run_time_ns @192, run_cnt @200, verified_insns @216
  const info = Buffer.alloc(232);
  get(info);
  let xlated: Uint8Array | undefined;
  if (opts.xlated) {
    const len = info.readUInt32LE(20);
    const buf = Buffer.alloc(len);
    const again = Buffer.alloc(232);
    again.writeUInt32LE(len, 20);
    again.writeBigUInt64LE(sys.address(buf), 32);
    get(again);
    xlated = new Uint8Array(buf.buffer, buf.byteOffset, Math.min(len, again.readUInt32LE(20)));
  }
  const nameEnd = info.indexOf(0, 64);
  return {
    type: info.readUInt32LE(0),
    id: info.readUInt32LE(4),
    tag: info.subarray(8, 16).toString('hex'),
    jitedLen: info.readUInt32LE(16),
    xlatedLen: info.readUInt32LE(20),
    name: info.subarray(64, nameEnd < 0 || nameEnd > 80 ? 80 : nameEnd).toString('latin1'),
    btfId: info.readUInt32LE(128),
    nrFuncInfo: info.readUInt32LE(144),
    nrLineInfo: info.readUInt32LE(148),
    runTimeNs: info.readBigUInt64LE(192),
    runCnt: info.readBigUInt64LE(200),
    verifiedInsns: info.readUInt32LE(216),
    ...(xlated && { xlated }),
  };
}

/** close(2) of an fd bpf() returned. */
export async function closeFd(fd: number): Promise<void> {
  if (fd < 0) return;
  (await getSys()).close(fd);
}

let availability: Promise<string | undefined> | undefined;

/**
 * undefined when bpf() is usable here, else the reason ("not Linux", "koffi
 * failed to load", "not permitted (EPERM)", ...). Loads `r0 = 0; exit` as a
 * socket filter to find out; cached.
 */
export function bpfAvailable(): Promise<string | undefined> {
  availability ??= (async () => {
    const s = await sysOrReason();
    if (typeof s === 'string') return s;
    const exit = [
      { code: 0xb7, dst: 0, src: 0, off: 0, imm: 0 },
      { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
    ];
    try {
      const r = await progLoad({ progType: 1, insns: exit });
      if (r.fd < 0) return `bpf(BPF_PROG_LOAD) of a trivial socket filter failed: ${errnoName(r.errno)} (${r.errno})${r.errno === EACCES ? ': unprivileged bpf disabled?' : ''}`;
      s.close(r.fd);
      return undefined;
    } catch (e) {
      return e instanceof KfError ? e.message.replace(/^bpf\(\) unavailable: /, '') : String(e);
    }
  })();
  return availability;
}
