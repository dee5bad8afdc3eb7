// BTF and .BTF.ext: parsing, lookups, bpftool's raw dump and C-like formatting.

export { Btf } from './btf.js';
export { parseBtf, BTF_MAGIC } from './parse.js';
export { parseBtfExt, CORE_RELO_KIND_NAMES } from './ext.js';
export type { BtfExt, BtfFuncInfo, BtfLineInfo, BtfCoreRelo } from './ext.js';
export { dumpRaw, dumpRawType } from './dump-raw.js';
export { formatC, typeName, declare } from './cdecl.js';
export { MAX_RESOLVE_DEPTH, skipQualifiers } from './resolve.js';
export type { MemberLocation, FuncSignature } from './resolve.js';
export * from './types.js';
export { CoreKind, coreKindName, essentialName, essentialNameLen, parseCoreSpec, formatCoreSpec, CORE_SPEC_MAX_LEN } from './core-spec.js';
export type { CoreSpec, CoreAccessor } from './core-spec.js';
export { typesAreCompat, fieldsAreCompat, typesMatch } from './core-compat.js';
export { matchCoreSpec, findCoreCandidates } from './core-match.js';
