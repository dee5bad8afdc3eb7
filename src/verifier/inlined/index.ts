// Re-verification of inlined programs: regions of kernel code standing for kfunc calls.
export { prepareInlined, inlinedEnv, checkRegionList } from './prepare.js';
export { enterRegion, regionPathDone, regionInsn, regionInsnText, regionMemAccess, checkRegionCall, inRegion, regionSkipsPrune, regionStartingHere } from './region.js';
export { niEnter, niExit, niPrepare, niPush, inNonIsolatedBody } from './nonisolated.js';
export { physSafe, physOf } from './physical.js';
export type { InlinedRegion, RegionInfo, RegionPath, StackObjRange } from './types.js';
