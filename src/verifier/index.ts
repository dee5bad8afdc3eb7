// The verifier: a model of the Linux 6.18 verifier (kernel/bpf/verifier.c).
export { verify, type VerifyProgram, type VerifyOptions, type VerifyResult } from './verify.js';
export type { MapDesc, RegState } from './state/reg.js';
export type { VerifierState, FuncState } from './state/frame.js';
export { RegType, SlotType } from './state/types.js';
export { ProgType, ctxAccess } from '../kernel/ctx-access.js';
export { helperProto, helperName } from './helpers-proto.js';
