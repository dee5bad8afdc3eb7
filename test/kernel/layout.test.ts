import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_BPFTOOL, HAVE_CLANG, hasTool } from '../elf/tools.js';
import { modelBtfFromObject, modelLayout, StructLayouts } from '../../src/kernel/layout.js';
import { modelObject } from '../../src/kernel/model-blob.js';
import { kfuncIds } from '../../src/kernel/catalogue.js';
import { KfError } from '../../src/util/errors.js';

const root = join(__dirname, '..', '..');
const objPath = join(root, 'kernel', 'build', 'model.o');
const HAS_CLANG_OBJCOPY = HAVE_CLANG && hasTool('llvm-objcopy-19');
const HAS_VMLINUX = existsSync('/sys/kernel/btf/vmlinux');

/** struct name → member → bit offset, from `bpftool btf dump file X` (raw format). */
function bpftoolMembers(file: string): Map<string, Map<string, number>> {
  const out = execFileSync('bpftool', ['btf', 'dump', 'file', file], { maxBuffer: 1 << 30 }).toString();
  const res = new Map<string, Map<string, number>>();
  let cur: Map<string, number> | undefined;
  for (const line of out.split('\n')) {
    const s = /^\[\d+\] (STRUCT|UNION) '([^']*)'/.exec(line);
    if (s) {
      cur = s[2] && !res.has(s[2]) ? new Map() : undefined;
      if (cur) res.set(s[2], cur);
      if (cur) cur.set('#size', Number(/size=(\d+)/.exec(line)![1]));
      continue;
    }
    if (!line.startsWith('\t')) {
      cur = undefined;
      continue;
    }
    const m = /^\t'([^']*)' type_id=\d+ bits_offset=(\d+)/.exec(line);
    if (m && cur && m[1] && m[1] !== '(anon)') cur.set(m[1], Number(m[2]));
  }
  return res;
}

describe('model layout from BTF', () => {
  it('the embedded blob is kernel/build/model.o', () => {
    expect(Buffer.from(modelObject()).equals(readFileSync(objPath))).toBe(true);
  });

  it.skipIf(!HAVE_BPFTOOL)('member offsets equal bpftool btf dump (needs bpftool)', () => {
    const bt = bpftoolMembers(objPath);
    const s = modelLayout().structs;
    let checked = 0;
    for (const st of ['sk_buff', 'skb_shared_info', 'skb_frag', 'xdp_buff', 'xdp_rxq_info', 'bpf_dynptr_kern', 'bpf_iter_num_kern', '__sk_buff', 'xdp_md', 'bpf_htab', 'bpf_array', 'bpf_map', 'bpf_skb_data_end', 'net_device']) {
      const members = bt.get(st);
      expect(members, st).toBeDefined();
      for (const [name, bits] of members!) {
      if (name === '#size') continue;
        const f = s.btf.memberOffset(s.structId(st), name);
        expect(f.bitOffset, `${st}.${name}`).toBe(bits);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('derived layout values are consistent', () => {
    const L = modelLayout();
    expect(L.dynptr).toEqual({ size: 16, data: 0, sizeField: 8, offset: 12 });
    expect(L.iterNum).toMatchObject({ size: 8, cur: 0, end: 4 });
    expect(L.skb.pkt_type.bitSize).toBe(3);
    expect(L.shinfo.maxFrags).toBeGreaterThanOrEqual(4);
    expect(L.skb.vlan_all).toBe(L.skb.vlan_proto);
  });

  it.skipIf(!HAVE_BPFTOOL || !HAS_VMLINUX)('uapi __sk_buff and xdp_md match the running kernel (needs bpftool, /sys/kernel/btf/vmlinux)', () => {
    const real = bpftoolMembers('/sys/kernel/btf/vmlinux');
    const s = modelLayout().structs;
    for (const st of ['__sk_buff', 'xdp_md', 'bpf_dynptr_kern', 'bpf_iter_num_kern', 'xdp_buff', 'bpf_skb_data_end']) {
      const want = real.get(st)!;
      for (const [name, bits] of want) {
        if (name === '#size') continue;
        if (st === 'xdp_buff' && (name === 'frame_sz' || name === 'flags')) continue; // anonymous union in the kernel
        expect(s.btf.memberOffset(s.structId(st), name).bitOffset, `${st}.${name}`).toBe(bits);
      }
      expect(s.sizeof(st), st).toBe(want.get('#size'));
    }
  });

  it('every catalogue kfunc has a FUNC with the kernel parameter names', () => {
    const s = modelLayout().structs;
    const ids = kfuncIds(s);
    expect(ids.size).toBe(21);
    const p = s.btf.funcProto(ids.get('bpf_dynptr_slice')!).params.map((x) => x.name);
    expect(p).toEqual(['p', 'offset', 'buffer__opt', 'buffer__szk']);
    expect(s.btf.funcProto(ids.get('bpf_dynptr_from_skb')!).params[2].name).toBe('ptr__uninit');
  });

  it('bad objects raise KfError', () => {
    expect(() => modelBtfFromObject(new Uint8Array(10))).toThrow(KfError);
    expect(() => new StructLayouts(modelLayout().structs.btf).field('sk_buff', 'nope')).toThrow(KfError);
    expect(() => modelLayout().structs.structId('no_such_struct')).toThrow(KfError);
  });

  it.skipIf(!HAS_CLANG_OBJCOPY)('a fresh clang-19 build has the same .BTF (needs clang-19)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kfmodel-'));
    const out = join(dir, 'model.o');
    execFileSync('node', [join(root, 'scripts', 'build-kernel.mjs'), '--out', out], { stdio: 'pipe' });
    const sec = (f: string): Buffer => {
      const p = join(dir, `${Math.random()}.btf`);
      execFileSync('llvm-objcopy-19', ['--dump-section', `.BTF=${p}`, f, join(dir, 'junk.o')]);
      return readFileSync(p);
    };
    expect(sec(out).equals(sec(objPath))).toBe(true);
  });
});
