// The execution engine: one address space, the strict reference interpreter and the wasm JIT.
export { AddressSpace, VmFault, accessFault, CALL_SCRATCH, GUARD_GAP, LOW_RESERVED, WASM_PAGE } from './memory.js';
export type { Region, RegionKind } from './memory.js';
export {
  emptyEnv,
  funcAddr,
  funcIndex,
  FUNC_ADDR_TAG,
  MAX_CALL_FRAMES,
  MAY_GOTO_BUDGET,
  STACK_FRAME_SIZE,
} from './env.js';
export type { CallContext, Engine, Env, Executable, LoadedProgram, LoadOptions, NativeFn } from './env.js';
export { interpreter, DEFAULT_MAX_BACK_EDGES, type InterpOptions } from './interp.js';
export { jit, compileProgram } from './jit/jit.js';
export type { WasmMemory } from './wasm-api.js';
