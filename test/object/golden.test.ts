// Golden disassembly of the example objects: examples/build/<name>.objdump.txt
// is what `llvm-objdump-19 -d --no-show-raw-insn` printed (regenerate with
// `node scripts/build-examples.mjs`, or UPDATE_GOLDEN=1 to refresh from the
// committed objects). Our decoder + LLVM-syntax disassembler must print the
// same text for every instruction of every code section.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../src/elf/index.js';
import { disasmLlvm } from '../../src/isa/disasm-llvm.js';
import { decodeSection } from '../../src/object/index.js';
import { BUILD, HAVE_OBJDUMP, exampleObjects, needs, readExample, run } from '../elf/tools.js';

const goldenPath = (obj: string) => join(BUILD, obj.replace(/\.bpf\.o$/, '.objdump.txt'));

/** section name → [slot, text] from objdump output. */
function parseObjdump(text: string): Map<string, [number, string][]> {
  const out = new Map<string, [number, string][]>();
  let cur: [number, string][] | undefined;
  for (const line of text.split('\n')) {
    const sec = /^Disassembly of section (.*):$/.exec(line);
    if (sec) {
      out.set(sec[1], (cur = []));
      continue;
    }
    const m = /^\s+(\d+):\t(.*)$/.exec(line);
    if (m && cur) cur.push([Number(m[1]), m[2].replace(/ <[^<> ]*>$/, '')]);
  }
  return out;
}

describe('golden llvm-objdump-19 output', () => {
  for (const obj of exampleObjects()) {
    it.skipIf(!HAVE_OBJDUMP)(`${obj}: llvm-objdump-19 still prints the golden text${needs('llvm-objdump-19', HAVE_OBJDUMP)}`, () => {
      const now = run('llvm-objdump-19', ['-d', '--no-show-raw-insn', obj], BUILD);
      if (process.env.UPDATE_GOLDEN) writeFileSync(goldenPath(obj), now);
      expect(now).toBe(readFileSync(goldenPath(obj), 'utf8'));
    });

    it(`${obj}: our disassembly equals the golden text instruction by instruction`, () => {
      const golden = parseObjdump(readFileSync(goldenPath(obj), 'utf8'));
      const f = parseElf(readExample(obj));
      let checked = 0;
      for (const [secName, lines] of golden) {
        const sec = f.sectionByName(secName)!;
        const insns = decodeSection(sec.data, f.header.littleEndian);
        const ours = lines.map(([slot]) => [slot, disasmLlvm(insns, slot)] as [number, string]);
        expect(ours).toEqual(lines);
        checked += lines.length;
      }
      expect(checked).toBeGreaterThan(0);
    });
  }
});
