#!/usr/bin/env node
// Emits a complete, compilable C header from the .BTF of an object (or a raw
// BTF file such as /sys/kernel/btf/vmlinux), like
// `bpftool btf dump file X format c`: every named struct, union, enum and
// typedef, in dependency order (a type used by value is defined before its
// user; pointers only need the forward declarations emitted first), with
// explicit padding members wherever the BTF offsets differ from what a C
// compiler would lay out by itself (BTF keeps offsets, not __aligned()).
// Beyond bpftool:
//   --funcs     also declare every FUNC (bpftool prints no prototypes)
//   --asserts   add _Static_assert()s of every struct size and member offset,
//               so that compiling the header proves the layouts equal the BTF
//   -o FILE     write there instead of stdout
//
//   node scripts/btf-header.mjs kernel/build/model.o --funcs --asserts -o model_btf.h
//
// Uses src/btf and src/elf (formatC, declare), compiled on the fly with tsc.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h') || args.length === 0) {
  console.log('usage: node scripts/btf-header.mjs FILE [--funcs] [--asserts] [-o OUT]');
  process.exit(args.length === 0 ? 1 : 0);
}
const outIdx = args.indexOf('-o');
const outPath = outIdx >= 0 ? args[outIdx + 1] : undefined;
const file = args.find((a, i) => !a.startsWith('-') && (outIdx < 0 || i !== outIdx + 1));
const withFuncs = args.includes('--funcs');
const withAsserts = args.includes('--asserts');

async function loadModules() {
  const out = mkdtempSync(join(tmpdir(), 'kfinline-btfh-'));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const entries = [join(root, 'src', 'btf', 'index.ts'), join(root, 'src', 'elf', 'index.ts')];
  try {
    execFileSync(process.execPath, [tsc, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
      '--skipLibCheck', '--strict', '--outDir', out, '--rootDir', root, ...entries], { stdio: 'pipe' });
  } catch (e) {
    if (!existsSync(join(out, 'src', 'btf', 'index.js'))) {
      process.stderr.write(String(e.stdout ?? '') + String(e.stderr ?? ''));
      throw new Error('tsc could not compile src/btf');
    }
  }
  const btf = await import(pathToFileURL(join(out, 'src', 'btf', 'index.js')).href);
  const elf = await import(pathToFileURL(join(out, 'src', 'elf', 'index.js')).href);
  rmSync(out, { recursive: true, force: true });
  return { btfMod: btf, elfMod: elf };
}

/** The header text for one BTF. */
export function btfHeader(btf, { declare, formatC }, opts = {}) {
  const kind = (id) => btf.kindOf(id);
  const T = (id) => btf.typeById(id);
  const isMod = (k) => k === 'CONST' || k === 'VOLATILE' || k === 'RESTRICT' || k === 'TYPE_TAG';
  const lines = [];
  const done = new Set();
  const busy = new Set();

  // Natural alignment in bytes (what the compiler assumes without attributes).
  const alignOf = (id, d = 0) => {
    if (d > 64) return 1;
    const t = T(id);
    switch (t.kind) {
      case 'INT': return Math.min(Math.max(t.size, 1), 8);
      case 'PTR': return 8;
      case 'ENUM': case 'ENUM64': return t.size;
      case 'ARRAY': return alignOf(t.elemType, d + 1);
      case 'STRUCT': case 'UNION': return t.members.reduce((a, m) => Math.max(a, alignOf(m.type, d + 1)), 1);
      case 'TYPEDEF': case 'CONST': case 'VOLATILE': case 'RESTRICT': case 'TYPE_TAG': return alignOf(t.type, d + 1);
      default: return 1;
    }
  };
  const up = (x, a) => Math.ceil(x / a) * a;
  let padNo = 0;

  // A member: anonymous structs, unions and enums (behind const or arrays too) are spelled inline.
  const memberDecl = (id, name, indent) => {
    let quals = '';
    let dims = '';
    let b = id;
    for (let d = 0; d < 64; d++) {
      const t = T(b);
      if (t.kind === 'CONST' || t.kind === 'VOLATILE') quals += `${t.kind === 'CONST' ? 'const' : 'volatile'} `;
      else if (t.kind === 'ARRAY') dims += `[${t.nelems}]`;
      else break;
      b = t.kind === 'ARRAY' ? t.elemType : t.type;
    }
    const bt = T(b);
    if ((bt.kind === 'STRUCT' || bt.kind === 'UNION') && !bt.name) return `${quals}${body(bt, indent)}${name ? ` ${name}` : ''}${dims}`;
    if ((bt.kind === 'ENUM' || bt.kind === 'ENUM64') && !bt.name) return `${quals}${formatC(btf, b).replace(/;$/, '').replace(/\n/g, `\n${indent}`)}${name ? ` ${name}` : ''}${dims}`;
    return declare(btf, id, name);
  };

  // A struct/union body with padding where the BTF offsets need it.
  const body = (t, indent) => {
    const kw = `${t.kind === 'STRUCT' ? 'struct' : 'union'}${t.name ? ` ${t.name}` : ''}`;
    const out = [`${kw} {`];
    let cur = 0; // bits
    let packed = false;
    for (const m of t.members) {
      const mt = T(m.type);
      const a = alignOf(m.type) * 8;
      if (t.kind === 'STRUCT' && !m.bitSize) {
        if (m.bitOffset < up(cur, a)) packed = true;
        else if (m.bitOffset > up(cur, a) && m.bitOffset % 8 === 0 && cur % 8 === 0) {
          out.push(`${indent}\tchar __pad${padNo++}[${(m.bitOffset - cur) / 8}];`);
        }
      }
      out.push(`${indent}\t${memberDecl(m.type, m.name, `${indent}\t`)}${m.bitSize ? `: ${m.bitSize}` : ''};`);
      const sz = m.bitSize || btf.resolveSize(m.type) * 8;
      cur = t.kind === 'STRUCT' ? m.bitOffset + sz : Math.max(cur, sz);
    }
    const sa = t.members.reduce((x, m) => Math.max(x, alignOf(m.type)), 1) * 8;
    if (!packed && up(cur, sa) !== t.size * 8 && t.size * 8 > cur && cur % 8 === 0) out.push(`${indent}\tchar __pad${padNo++}[${t.size - cur / 8}];`);
    out.push(`${indent}}${packed ? ' __attribute__((packed))' : ''}`);
    return out.join('\n');
  };

  // Dependencies: `strong` when the type is needed complete (by value).
  const need = (id, strong, d = 0) => {
    if (d > 64 || id === 0) return;
    const t = T(id);
    if (isMod(t.kind)) return need(t.type, strong, d + 1);
    switch (t.kind) {
      case 'PTR': return need(t.type, false, d + 1);
      case 'ARRAY': return need(t.elemType, true, d + 1);
      case 'TYPEDEF': emitTypedef(id); return need(t.type, strong, d + 1);
      case 'ENUM': case 'ENUM64': if (t.name) emitNamed(id); return;
      case 'FUNC_PROTO': need(t.type, false, d + 1); for (const p of t.params) if (p.type) need(p.type, false, d + 1); return;
      case 'STRUCT': case 'UNION':
        if (!t.name) { for (const m of t.members) need(m.type, true, d + 1); return; }
        if (strong) emitNamed(id);
        return;
      default: return;
    }
  };
  const emitTypedef = (id) => {
    if (done.has(id)) return;
    done.add(id);
    const t = T(id);
    const target = T(t.type);
    if ((target.kind === 'STRUCT' || target.kind === 'UNION') && !target.name) {
      for (const m of target.members) need(m.type, true);
      lines.push(`typedef ${body(target, '')} ${t.name};`, '');
    } else if ((target.kind === 'ENUM' || target.kind === 'ENUM64') && !target.name) {
      lines.push(`typedef ${formatC(btf, t.type).replace(/;$/, '')} ${t.name};`, '');
    } else {
      need(t.type, false);
      lines.push(formatC(btf, id), '');
    }
  };
  const emitNamed = (id) => {
    if (done.has(id) || busy.has(id)) return;
    const t = T(id);
    if (t.kind === 'TYPEDEF') return emitTypedef(id);
    busy.add(id);
    if (t.kind === 'STRUCT' || t.kind === 'UNION') for (const m of t.members) need(m.type, true);
    busy.delete(id);
    done.add(id);
    lines.push(t.kind === 'STRUCT' || t.kind === 'UNION' ? `${body(t, '')};` : formatC(btf, id), '');
  };

  const ids = [...btf.ids()];
  const guard = opts.guard ?? '__KF_BTF_HEADER_H';
  const head = [`/* Generated by scripts/btf-header.mjs${opts.source ? ` from ${opts.source}` : ''}: do not edit. */`, `#ifndef ${guard}`, `#define ${guard}`, ''];
  const fwd = ids.filter((id) => (kind(id) === 'STRUCT' || kind(id) === 'UNION') && btf.nameOf(id)).map((id) => `${kind(id) === 'STRUCT' ? 'struct' : 'union'} ${btf.nameOf(id)};`);
  for (const id of ids) {
    const k = kind(id);
    if ((k === 'STRUCT' || k === 'UNION' || k === 'ENUM' || k === 'ENUM64' || k === 'TYPEDEF') && btf.nameOf(id)) emitNamed(id);
  }
  if (opts.funcs) {
    const protos = [];
    for (const id of ids) {
      if (kind(id) !== 'FUNC') continue;
      need(T(id).type, false);
      protos.push(`${formatC(btf, id).replace(/^static /, '')}`);
    }
    lines.push(...protos, '');
  }
  if (opts.asserts) {
    for (const id of ids) {
      const t = T(id);
      if ((t.kind !== 'STRUCT' && t.kind !== 'UNION') || !t.name) continue;
      const kw = `${t.kind === 'STRUCT' ? 'struct' : 'union'} ${t.name}`;
      lines.push(`_Static_assert(sizeof(${kw}) == ${t.size}, "sizeof(${kw})");`);
      for (const m of t.members) {
        if (!m.name || m.bitSize || m.bitOffset % 8) continue;
        lines.push(`_Static_assert(__builtin_offsetof(${kw}, ${m.name}) == ${m.bitOffset / 8}, "offsetof(${kw}, ${m.name})");`);
      }
    }
    lines.push('');
  }
  return [...head, ...fwd, '', ...lines, `#endif /* ${guard} */`, ''].join('\n');
}

if (file) {
  const { btfMod, elfMod } = await loadModules();
  const bytes = new Uint8Array(readFileSync(file));
  let raw = bytes;
  if (bytes[0] === 0x7f && bytes[1] === 0x45) {
    const sec = elfMod.parseElf(bytes).sectionByName('.BTF');
    if (!sec) {
      console.error(`btf-header: ${file} has no .BTF section`);
      process.exit(1);
    }
    raw = sec.data;
  }
  const btf = btfMod.parseBtf(raw);
  const text = btfHeader(btf, btfMod, { funcs: withFuncs, asserts: withAsserts, source: basename(file) });
  if (outPath) writeFileSync(outPath, text);
  else process.stdout.write(text);
}
