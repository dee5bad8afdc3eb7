// Lookups on the running kernel's BTF against clang: bpftool writes vmlinux.h,
// clang-19 computes offsetof/sizeof over it, and our memberOffset() and
// resolveSize() must agree. formatC() is compared with bpftool's `format c`.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatC, parseBtf } from '../../src/btf/index.js';
import { haveTool } from './tools.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const ok = existsSync(VMLINUX) && haveTool('bpftool', ['version']) && haveTool('clang-19');
if (!ok) console.warn('skipping vmlinux layout tests: need /sys/kernel/btf/vmlinux, bpftool and clang-19');

const tmp = mkdtempSync(join(tmpdir(), 'kfbtf-layout-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const OFFSETS: [string, string][] = [
  ['sk_buff', 'len'], ['sk_buff', 'data'], ['sk_buff', 'head'], ['sk_buff', 'cb'], ['sk_buff', 'cb[5]'],
  ['sk_buff', 'protocol'], ['sk_buff', 'headers.protocol'], ['sk_buff', 'dev'], ['sk_buff', 'tstamp'],
  ['sk_buff', 'data_len'], ['sk_buff', 'users'], ['xdp_buff', 'data_end'], ['xdp_buff', 'rxq'],
  ['xdp_buff', 'frame_sz'], ['xdp_buff', 'flags'], ['bpf_dynptr_kern', 'size'], ['bpf_dynptr_kern', 'offset'],
  ['task_struct', 'pid'], ['task_struct', 'comm'], ['task_struct', 'se.vruntime'], ['task_struct', 'thread_info'],
  ['__sk_buff', 'cb[2]'], ['__sk_buff', 'data_end'], ['xdp_md', 'ingress_ifindex'], ['bpf_map', 'max_entries'],
  ['file', 'f_mode'], ['inode', 'i_sb'], ['net_device', 'ifindex'], ['sock', '__sk_common.skc_family'],
];
// Not 'inode': BTF says 616 bytes but bpftool's C rendering of it lays out to 624 under clang.
const SIZES = ['sk_buff', 'xdp_buff', 'bpf_dynptr_kern', 'task_struct', '__sk_buff', 'bpf_map', 'net_device', 'page', 'file'];

describe.skipIf(!ok)('vmlinux layouts against clang', () => {
  const btf = ok ? parseBtf(readFileSync(VMLINUX)) : undefined!;
  const header = join(tmp, 'vmlinux.h');
  if (ok) writeFileSync(header, execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c'], { maxBuffer: 1 << 30 }));

  it('memberOffset and resolveSize equal clang offsetof and sizeof', () => {
    const c = [
      '#include "vmlinux.h"',
      ...OFFSETS.map(([s, p], i) => `unsigned long off_${i} = __builtin_offsetof(struct ${s}, ${p});`),
      ...SIZES.map((s, i) => `unsigned long size_${i} = sizeof(struct ${s});`),
    ].join('\n');
    writeFileSync(join(tmp, 'off.c'), c);
    const ir = execFileSync('clang-19', ['-target', 'bpf', '-S', '-emit-llvm', '-o', '-', join(tmp, 'off.c')], { encoding: 'utf8', maxBuffer: 1 << 28 });
    const val = (name: string): number => {
      const m = new RegExp(`^@${name} = .*global i64 (\\d+)`, 'm').exec(ir);
      if (!m) throw new Error(`no ${name} in clang output`);
      return Number(m[1]);
    };
    OFFSETS.forEach(([s, p], i) => {
      const loc = btf.memberOffset(btf.findByNameKind(s, 'STRUCT'), p);
      expect([s, p, loc.bitOffset / 8]).toEqual([s, p, val(`off_${i}`)]);
      expect(loc.bitSize).toBe(0);
    });
    SIZES.forEach((s, i) => expect([s, btf.resolveSize(btf.findByNameKind(s, 'STRUCT'))]).toEqual([s, val(`size_${i}`)]));
  });

  it('formatC equals bpftool format c for structs without padding or packing', () => {
    const h = readFileSync(header, 'utf8');
    const blocks = new Map<string, string>();
    for (const m of h.matchAll(/^((struct|union|enum) (\w+) \{\n[\s\S]*?\n\}[^;\n]*;)$/gm)) blocks.set(`${m[2]} ${m[3]}`, m[1]);
    for (const s of ['bpf_dynptr_kern', 'xdp_buff', 'sk_buff', 'bpf_map']) {
      expect(formatC(btf, btf.findByNameKind(s, 'STRUCT'))).toBe(blocks.get(`struct ${s}`));
    }
    let same = 0;
    let total = 0;
    for (const id of btf.ids()) {
      const t = btf.typeById(id);
      if (!t.name || (t.kind !== 'STRUCT' && t.kind !== 'UNION' && t.kind !== 'ENUM' && t.kind !== 'ENUM64')) continue;
      const want = blocks.get(`${t.kind === 'STRUCT' ? 'struct' : t.kind === 'UNION' ? 'union' : 'enum'} ${t.name}`);
      if (!want) continue;
      total++;
      if (formatC(btf, id) === want) same++;
    }
    // The rest differ by bpftool's explicit padding ('long: 64;') and packed/aligned attributes.
    expect(same / total).toBeGreaterThan(0.9);
  });

  it('typeName and funcProto spell kfunc prototypes as the kernel declares them', () => {
    const slice = btf.findByNameKind('bpf_dynptr_slice', 'FUNC');
    const sig = btf.funcProto(slice);
    // kernel/bpf/helpers.c: void *bpf_dynptr_slice(const struct bpf_dynptr *p, uN offset, void *buffer__opt, uN buffer__szk)
    // with uN read from bpftool's raw dump (u32 on 6.18, u64 on some other kernels).
    const raw = execFileSync('bpftool', ['btf', 'dump', 'file', VMLINUX], { encoding: 'utf8', maxBuffer: 1 << 30 });
    const uN = new RegExp(`^\\[${sig.params[1].type}\\] TYPEDEF '(u\\d+)'`, 'm').exec(raw)![1];
    expect(btf.typeName(sig.returnType)).toBe('void *');
    expect(sig.params.map((p) => `${btf.typeName(p.type)} ${p.name}`)).toEqual([
      'const struct bpf_dynptr * p', `${uN} offset`, 'void * buffer__opt', `${uN} buffer__szk`,
    ]);
    expect(formatC(btf, slice)).toBe(
      `static void *bpf_dynptr_slice(const struct bpf_dynptr *p, ${uN} offset, void *buffer__opt, ${uN} buffer__szk);`,
    );
    expect(btf.typeName(btf.findByNameKind('bpf_dynptr_kern', 'STRUCT'))).toBe('struct bpf_dynptr_kern');
    expect(btf.typeName(btf.findByNameKind('int', 'INT'))).toBe('int');
  });
});
