// The running kernel through bpf(): typed commands (koffi, loaded lazily),
// loading kfinline objects the way libbpf does, test runs, log statistics.
export {
  bpfAvailable,
  mapCreate,
  mapUpdateElem,
  mapLookupElem,
  mapFreeze,
  btfLoad,
  progLoad,
  progTestRun,
  progInfo,
  closeFd,
  BPF_LOG_LEVEL1,
  BPF_LOG_LEVEL2,
  BPF_LOG_STATS,
  MAX_LOG_SIZE,
} from './bpf.js';
export type { ProgInfo, MapCreateAttr, ProgLoadAttr, ProgLoadResult, LoadResult, TestRunAttr, TestRunResult, FuncInfoRec, LineInfoRec } from './bpf.js';
export { loadObjectProgram, loadRawProgram, testRun, vmlinuxBtf, kernelVersionCode, VMLINUX_BTF_PATH } from './load.js';
export type { KernelLoadOptions, KernelLoadResult, KernelMap } from './load.js';
export { parseLogStats, errorLine } from './log.js';
export type { LogStats } from './log.js';
export { errnoName } from './errno.js';
export { parseVerifierCases, loadVerifierCase, testVerifierProgFlags, caseProgType } from './cases.js';
export type { VerifierCase } from './cases.js';
