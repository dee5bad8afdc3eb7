// kfinline btf dump FILE [format raw|c] [--base FILE]
// kfinline btf find NAME [--kind KIND] [--file FILE] [--base FILE]
// bpftool's grammar is accepted too: `btf dump file FILE`.

import { BTF_KIND_NUM, dumpRaw, dumpRawType, formatC, type BtfKind } from '../btf/index.js';
import { KfError } from '../util/errors.js';
import { parseArgs } from './args.js';
import { loadBtf, toJson, VMLINUX_BTF } from './files.js';
import type { Io } from './io.js';

const KIND_ALIASES: Record<string, BtfKind> = Object.fromEntries(
  Object.keys(BTF_KIND_NUM).map((k) => [k.toLowerCase(), k as BtfKind]),
);

function parseKind(s: string): BtfKind {
  const k = KIND_ALIASES[s.toLowerCase()];
  if (!k) throw new KfError(`unknown BTF kind "${s}" (one of ${Object.keys(KIND_ALIASES).join(', ')})`);
  return k;
}

export async function btfCommand(argv: string[], io: Io): Promise<number> {
  const args = parseArgs(argv, { values: ['kind', 'file', 'base', 'format'] });
  const [sub, ...pos] = args.positional;
  const json = args.has('json');
  switch (sub) {
    case 'dump': {
      let p = pos;
      if (p[0] === 'file') p = p.slice(1);
      let format = args.get('format') ?? 'raw';
      let basePath = args.get('base');
      const path = p[0];
      if (!path) throw new KfError('btf dump: missing FILE');
      for (let i = 1; i < p.length; i += 2) {
        if (p[i] === 'format' && p[i + 1]) format = p[i + 1];
        else if (p[i] === 'base' && p[i + 1]) basePath = p[i + 1];
        else throw new KfError(`btf dump: unexpected argument "${p[i]}"`);
      }
      const btf = loadBtf(path, basePath);
      if (json) {
        const types = [];
        for (const id of btf.ids()) types.push(btf.typeById(id));
        io.out(toJson({ types }));
        return 0;
      }
      if (format === 'c') {
        const out: string[] = [];
        for (const id of btf.ids()) {
          const k = btf.kindOf(id);
          if ((k === 'STRUCT' || k === 'UNION' || k === 'ENUM' || k === 'ENUM64' || k === 'TYPEDEF') && btf.nameOf(id) !== '') {
            out.push(formatC(btf, id));
          }
        }
        io.out(out.join('\n'));
        return 0;
      }
      if (format !== 'raw') throw new KfError(`btf dump: unknown format "${format}" (raw or c)`);
      // Print in chunks: vmlinux has ~300k lines.
      let chunk: string[] = [];
      for (const line of dumpRaw(btf)) {
        chunk.push(line);
        if (chunk.length >= 8192) {
          io.out(chunk.join('\n'));
          chunk = [];
        }
      }
      if (chunk.length) io.out(chunk.join('\n'));
      return 0;
    }
    case 'find': {
      const name = pos[0];
      if (!name) throw new KfError('btf find: missing NAME');
      const btf = loadBtf(args.get('file') ?? VMLINUX_BTF, args.get('base'));
      const kinds: BtfKind[] = args.get('kind') ? [parseKind(args.get('kind')!)] : (Object.keys(BTF_KIND_NUM) as BtfKind[]);
      const found: number[] = [];
      for (const k of kinds) {
        const id = btf.findByNameKind(name, k);
        if (id >= 0) found.push(id);
      }
      found.sort((a, b) => a - b);
      if (json) {
        io.out(toJson(found.map((id) => btf.typeById(id))));
      } else {
        for (const id of found) io.out(dumpRawType(btf, btf.typeById(id)).join('\n'));
      }
      if (found.length === 0) {
        io.err(`btf find: no type named "${name}"${args.get('kind') ? ` of kind ${args.get('kind')}` : ''}`);
        return 1;
      }
      return 0;
    }
    default:
      throw new KfError(`btf: unknown subcommand "${sub ?? ''}" (dump or find)`);
  }
}
