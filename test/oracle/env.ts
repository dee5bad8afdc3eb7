// Shared by the oracle tests: is bpf() usable here, and why not.
import { bpfAvailable } from '../../src/oracle/index.js';

export const BPF_WHY: string | undefined = await bpfAvailable();
export const NO_BPF = BPF_WHY !== undefined;
/** Suffix for describe() titles naming why the block is skipped. */
export const bpfNote = NO_BPF ? ` [skipped: bpf() unavailable: ${BPF_WHY}]` : '';
