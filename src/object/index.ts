// BPF object loading: programs, maps, externs, relocations, func/line info.
export { loadObject, loadElf } from './load.js';
export type * from './types.js';
export { SECTION_DEFS, PROG_TYPES, ATTACH_TYPES, findSecDef, secDefMatches, progTypeNum, attachTypeNum } from './sections.js';
export type { SecDef, ProgTypeName, AttachTypeName } from './sections.js';
export { BPF_MAP_TYPE_ARRAY, BPF_F_RDONLY_PROG, BPF_F_MMAPABLE, internalMapName } from './maps.js';
export { decodeSection, encodeSection } from './funcs.js';
export { applyCoreRelosToSection, patchCoreInsn, coreContext, formatCoreOutcome, isCorePoison, CORE_POISON_IMM } from './core-relo.js';
export type { CoreReloOutcome, CoreFunc, CoreContext } from './core-relo.js';
export { calcCoreRelo } from './core-calc.js';
export type { CoreReloResult, CoreCandCache } from './core-calc.js';
