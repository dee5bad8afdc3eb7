// ELF64 read/write for BPF objects.
export * from './consts.js';
export type * from './types.js';
export { parseElf, readCString } from './reader.js';
export { writeElf, toWriteInput } from './writer.js';
