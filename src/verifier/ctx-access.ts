// The ctx access rules live in the model kernel (src/kernel/ctx-access.ts,
// the *_is_valid_access() callbacks with offsets from the model BTF); this
// re-export keeps the verifier's old import path working.
export { ctxAccess, ctxProgType, mayAccessDirectPktData, mayAccessSkb, mayWritePkt, ProgType, type CtxAccessResult } from '../kernel/ctx-access.js';
