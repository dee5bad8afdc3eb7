import { describe, expect, it } from 'vitest';
import { SHT_SYMTAB, parseElf, toWriteInput, writeElf, type ElfWriteInput, type WriteSection } from '../../src/elf/index.js';
import { loadObject } from '../../src/object/index.js';
import { KfError } from '../../src/util/errors.js';
import { readExample } from '../elf/tools.js';

/** Rewrites an example with `edit` applied to its symbols. */
function withSymbols(name: string, edit: (syms: NonNullable<WriteSection['symbols']>) => WriteSection['symbols']): Uint8Array {
  const inp: ElfWriteInput = toWriteInput(parseElf(readExample(name)));
  return writeElf({ ...inp, sections: inp.sections.map((s) => (s.type === SHT_SYMTAB ? { ...s, symbols: edit(s.symbols!) } : s)) });
}

describe('loader errors carry context', () => {
  it('relocation against an undefined symbol', () => {
    const bytes = withSymbols('global_data.bpf.o', (syms) => syms.map((y) => (y.name === 'calls' ? { ...y, name: 'foo', shndx: 0 } : y)));
    let err: unknown;
    try {
      loadObject(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KfError);
    expect((err as KfError).message).toBe('section "kprobe/do_nanosleep": relocation 0: reference to "foo": symbol is undefined');
  });

  it('static programs are rejected as libbpf does', () => {
    const bytes = withSymbols('subprogs.bpf.o', (syms) => {
      const prog = syms.find((y) => y.name === 'xdp_hash')!;
      return [{ ...prog, bind: 0 }, ...syms.filter((y) => y !== prog)];
    });
    // Moving the symbol changes indices: rebuild relocations' symbol numbers is not needed here
    // because xdp_hash has none. The loader must name the program.
    expect(() => loadObject(bytes)).toThrow(/program "xdp_hash" is static and not supported/);
  });

  it('truncated input', () => {
    expect(() => loadObject(readExample('tc_counters.bpf.o').slice(0, 100))).toThrow(KfError);
  });
});
