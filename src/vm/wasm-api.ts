// The slice of the WebAssembly JS API that kfinline uses.
//
// The project compiles with lib ES2022 and @types/node 20, neither of which
// declares the `WebAssembly` namespace, so the few types we need are declared
// here and the global object is picked up from `globalThis` at run time.

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(deltaPages: number): number;
}

export interface WasmGlobal {
  value: number | bigint;
}

export interface WasmModule {
  readonly __wasmModule?: never;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmApi {
  Memory: new (desc: { initial: number; maximum?: number }) => WasmMemory;
  Global: new (desc: { value: 'i32' | 'i64'; mutable?: boolean }, v?: number | bigint) => WasmGlobal;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => WasmInstance;
  validate(bytes: Uint8Array): boolean;
  RuntimeError: new (...a: unknown[]) => Error;
  CompileError: new (...a: unknown[]) => Error;
}

import { KfError } from '../util/errors.js';

const g = globalThis as unknown as { WebAssembly?: WasmApi };

/** The host's WebAssembly object; throws a clear error where there is none. */
export function wasmApi(): WasmApi {
  if (!g.WebAssembly) throw new KfError('this JavaScript host has no WebAssembly support');
  return g.WebAssembly;
}
