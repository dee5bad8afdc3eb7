// Loading object programs for the commands that verify or run them: the
// object is read, each selected program linked against the model kernel.

import { basename } from 'node:path';
import type { Btf } from '../btf/index.js';
import { modelBtfFromObject } from '../kernel/layout.js';
import { createMaps, linkProgram, type LinkedProgram } from '../kernel/link.js';
import { modelObject } from '../kernel/model-blob.js';
import { ModelKernel } from '../kernel/model.js';
import { loadObject, type BpfObject, type BpfProgram } from '../object/index.js';
import { AddressSpace } from '../vm/memory.js';
import { withContext } from '../util/errors.js';
import type { VerifyProgram } from '../verifier/verify.js';
import { selectPrograms } from './cmd-disasm.js';
import { loadBtf, readInput } from './files.js';

export interface ObjectPrograms {
  readonly path: string;
  readonly obj: BpfObject;
  readonly programs: { prog: BpfProgram; linked: LinkedProgram }[];
}

export function objectName(path: string): string {
  return basename(path).replace(/\.(bpf\.)?o$/, '');
}

/** Kfunc name → model BTF id, from a throwaway model kernel. */
let kfuncIdsCache: ReadonlyMap<string, number> | undefined;
export function modelKfuncIds(): ReadonlyMap<string, number> {
  if (!kfuncIdsCache) kfuncIdsCache = new ModelKernel(new AddressSpace()).kfuncIds;
  return kfuncIdsCache;
}

/**
 * The target BTF of CO-RE relocations for `--btf SPEC`: 'model' (the
 * default: programs run on the model kernel), 'none' (leave the compile-time
 * values), or a file (raw BTF such as /sys/kernel/btf/vmlinux, or an ELF
 * object's .BTF). Loaded only when an object has CO-RE records.
 */
export function coreTarget(spec = 'model'): (() => Btf) | undefined {
  if (spec === 'none') return undefined;
  if (spec === 'model') return () => modelBtfFromObject(modelObject());
  return () => loadBtf(spec);
}

/**
 * Loads an object and links its programs against the model kernel; `extraKfunc`
 * names kfuncs the model does not have (a test library's) by the id their
 * calls should carry.
 */
export function loadPrograms(
  path: string,
  progName?: string,
  extraKfunc?: (name: string) => number | undefined,
  coreBtf?: string,
): ObjectPrograms {
  const targetBtf = coreTarget(coreBtf);
  const obj = withContext(path, () => loadObject(readInput(path), { objectName: objectName(path), ...(targetBtf && { targetBtf }) }));
  const ids = modelKfuncIds();
  const programs = selectPrograms(obj, progName).map((prog) => ({
    prog,
    linked: withContext(path, () => linkProgram(obj, prog, (n) => ids.get(n) ?? extraKfunc?.(n))),
  }));
  return { path, obj, programs };
}

/** A fresh model kernel with the linked program's maps created. */
export function kernelFor(linked: LinkedProgram): ModelKernel {
  const k = new ModelKernel(new AddressSpace());
  createMaps(k, linked.maps);
  return k;
}

/**
 * What verify() and inlineProgram() take for a linked program of an object:
 * with the object's BTF, func_info and line_info, as the kernel gets them
 * (global functions verified on their own, source lines in the log).
 */
export function verifyInput(obj: BpfObject, prog: BpfProgram, linked: LinkedProgram): VerifyProgram {
  return { insns: linked.insns, progType: linked.progType, maps: linked.maps, ...(obj.btf && { btf: obj.btf, funcInfo: prog.funcInfo, lineInfo: prog.lineInfo }) };
}
