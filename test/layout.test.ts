// The layout is a contract: everything but the CLI and the kernel oracle is
// free of Node I/O (so the library runs in a browser), and dependencies point
// down the pipeline (CONTRIBUTING.md).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(__dirname, '../src');
// The engine's address space and its call interface are the machine the model
// kernel lives in, so they sit below the kernel; the engines sit below the
// inliner. The rule that matters most: the VM knows nothing of the verifier.
const ORDER = ['util', 'isa', 'elf', 'btf', 'object', 'machine', 'kernel', 'verifier', 'inline', 'vm', 'oracle', 'cli'];
const MACHINE = new Set(['vm/memory.ts', 'vm/env.ts', 'vm/wasm-api.ts', 'vm/i64.ts', 'vm/bodies.ts']);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const all = files(SRC).map((p) => ({ path: relative(SRC, p), text: readFileSync(p, 'utf8') }));
const area = (path: string): string => (MACHINE.has(path.replace(/\.js$/, '.ts')) ? 'machine' : path.split('/')[0]);
const imports = (text: string): string[] => [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/g)].map((m) => m[1]);

describe('layout', () => {
  it('only src/cli and src/oracle import node: modules', () => {
    const bad = all.filter((f) => !['cli', 'oracle'].includes(area(f.path)) && imports(f.text).some((i) => i.startsWith('node:') || i === 'fs' || i === 'path'));
    expect(bad.map((f) => f.path)).toEqual([]);
  });
  it('dependencies point down the pipeline', () => {
    const bad: string[] = [];
    for (const f of all) {
      const from = ORDER.indexOf(area(f.path));
      if (from < 0) continue;
      for (const i of imports(f.text)) {
        if (!i.startsWith('.')) continue;
        const target = relative(SRC, join(SRC, f.path, '..', i));
        const to = ORDER.indexOf(area(target));
        if (to > from) bad.push(`${f.path} -> ${target}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
