// Kfunc calls in the verifier (BTF prototypes, dynptrs, iterators) and the
// isolated verification of inlinable kfunc instances.
export { checkKfuncCall } from './call.js';
export { attachKfuncEnv, kfuncEnv, KfuncEnv, type InstancesOption, type InstanceDesc, type KfuncOptions, type BtfKfunc } from './context.js';
export { metaFromBtf, metaFromDescriptor, type KfuncMeta, type KfArg, type KfRet, type KfuncDescriptor } from './proto.js';
export { checkProgramAndInstances, isInstanceSlot, DYNPTR_TYPE_SHIFT } from './instance.js';
export { iterLoopCheck, markIterNextCheckpoints, isIterNextInsn } from './iter.js';
export { checkDynptrHelper, isDynptrHelper } from './helpers.js';
export { stackObjStr, stackObjSafe, DynptrType, IterState } from './slots.js';
