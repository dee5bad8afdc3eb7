// A small WebAssembly binary encoder: LEB128, value types, sections, imports,
// functions, globals, exports and code. Just what the BPF JIT needs.

export const I32 = 0x7f;
export const I64 = 0x7e;
export const EMPTY_BLOCK = 0x40;

/** Opcodes used by the JIT (WebAssembly core spec 2.0). */
export const enum Op {
  unreachable = 0x00,
  block = 0x02,
  loop = 0x03,
  if_ = 0x04,
  else_ = 0x05,
  end = 0x0b,
  br = 0x0c,
  br_if = 0x0d,
  br_table = 0x0e,
  return_ = 0x0f,
  call = 0x10,
  drop = 0x1a,
  select = 0x1b,
  local_get = 0x20,
  local_set = 0x21,
  local_tee = 0x22,
  global_get = 0x23,
  global_set = 0x24,
  i32_load = 0x28,
  i64_load = 0x29,
  i64_load8_s = 0x30,
  i64_load8_u = 0x31,
  i64_load16_s = 0x32,
  i64_load16_u = 0x33,
  i64_load32_s = 0x34,
  i64_load32_u = 0x35,
  i64_store = 0x37,
  i64_store8 = 0x3c,
  i64_store16 = 0x3d,
  i64_store32 = 0x3e,
  i32_const = 0x41,
  i64_const = 0x42,
  i32_eqz = 0x45,
  i32_eq = 0x46,
  i32_ne = 0x47,
  i32_lt_s = 0x48,
  i32_lt_u = 0x49,
  i32_gt_s = 0x4a,
  i32_gt_u = 0x4b,
  i32_le_s = 0x4c,
  i32_le_u = 0x4d,
  i32_ge_s = 0x4e,
  i32_ge_u = 0x4f,
  i64_eqz = 0x50,
  i64_eq = 0x51,
  i64_ne = 0x52,
  i64_lt_s = 0x53,
  i64_lt_u = 0x54,
  i64_gt_s = 0x55,
  i64_gt_u = 0x56,
  i64_le_s = 0x57,
  i64_le_u = 0x58,
  i64_ge_s = 0x59,
  i64_ge_u = 0x5a,
  i32_add = 0x6a,
  i32_sub = 0x6b,
  i32_mul = 0x6c,
  i32_div_s = 0x6d,
  i32_div_u = 0x6e,
  i32_rem_s = 0x6f,
  i32_rem_u = 0x70,
  i32_and = 0x71,
  i32_or = 0x72,
  i32_xor = 0x73,
  i32_shl = 0x74,
  i32_shr_s = 0x75,
  i32_shr_u = 0x76,
  i32_rotl = 0x77,
  i32_rotr = 0x78,
  i64_add = 0x7c,
  i64_sub = 0x7d,
  i64_mul = 0x7e,
  i64_div_s = 0x7f,
  i64_div_u = 0x80,
  i64_rem_s = 0x81,
  i64_rem_u = 0x82,
  i64_and = 0x83,
  i64_or = 0x84,
  i64_xor = 0x85,
  i64_shl = 0x86,
  i64_shr_s = 0x87,
  i64_shr_u = 0x88,
  i64_rotl = 0x89,
  i64_rotr = 0x8a,
  i32_wrap_i64 = 0xa7,
  i64_extend_i32_s = 0xac,
  i64_extend_i32_u = 0xad,
  i32_extend8_s = 0xc0,
  i32_extend16_s = 0xc1,
  i64_extend8_s = 0xc2,
  i64_extend16_s = 0xc3,
  i64_extend32_s = 0xc4,
}

/** A growable byte buffer with LEB128 writers. */
export class Bytes {
  private buf = new Uint8Array(256);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
  }
  u8(b: number): this {
    this.room(1);
    this.buf[this.length++] = b & 0xff;
    return this;
  }
  /** Unsigned LEB128 of a non-negative integer below 2^53. */
  uleb(v: number): this {
    do {
      let b = v % 128;
      v = Math.floor(v / 128);
      if (v > 0) b |= 0x80;
      this.u8(b);
    } while (v > 0);
    return this;
  }
  /** Signed LEB128 of a 32-bit integer. */
  sleb32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) {
        this.u8(b);
        return this;
      }
      this.u8(b | 0x80);
    }
  }
  /** Signed LEB128 of a 64-bit integer. */
  sleb64(v: bigint): this {
    v = BigInt.asIntN(64, v);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
        this.u8(b);
        return this;
      }
      this.u8(b | 0x80);
    }
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  name(s: string): this {
    const b = new TextEncoder().encode(s);
    return this.uleb(b.length).bytes(b);
  }
  /** A length-prefixed copy of another buffer. */
  vec(b: Bytes): this {
    return this.uleb(b.length).bytes(b.result());
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

interface FuncDef {
  type: number;
  locals: number[];
  body: Uint8Array;
}

/** Builds a module: imports first (functions, memory, globals), then defined functions and globals. */
export class ModuleBuilder {
  private types: FuncType[] = [];
  private imports = new Bytes();
  private nImports = 0;
  private nFuncImports = 0;
  private nGlobalImports = 0;
  private funcs: FuncDef[] = [];
  private globals = new Bytes();
  private nGlobals = 0;
  private exports = new Bytes();
  private nExports = 0;

  type(params: number[], results: number[]): number {
    const k = this.types.findIndex(
      (t) => t.params.join() === params.join() && t.results.join() === results.join(),
    );
    if (k >= 0) return k;
    this.types.push({ params, results });
    return this.types.length - 1;
  }

  /** Imports a function; must precede defineFunc. Returns its function index. */
  importFunc(mod: string, name: string, params: number[], results: number[]): number {
    const t = this.type(params, results);
    this.imports.name(mod).name(name).u8(0x00).uleb(t);
    this.nImports++;
    return this.nFuncImports++;
  }

  importMemory(mod: string, name: string, minPages: number, maxPages?: number): void {
    this.imports.name(mod).name(name).u8(0x02);
    if (maxPages === undefined) this.imports.u8(0x00).uleb(minPages);
    else this.imports.u8(0x01).uleb(minPages).uleb(maxPages);
    this.nImports++;
  }

  /** Imports an immutable global; returns its global index. */
  importGlobal(mod: string, name: string, valType: number): number {
    this.imports.name(mod).name(name).u8(0x03).u8(valType).u8(0x00);
    this.nImports++;
    return this.nGlobalImports++;
  }

  /** Defines a mutable i32/i64 global initialised to a constant; call after all imports. */
  defineGlobal(valType: number, init: number): number {
    this.globals.u8(valType).u8(0x01);
    if (valType === I32) this.globals.u8(Op.i32_const).sleb32(init);
    else this.globals.u8(Op.i64_const).sleb64(BigInt(init));
    this.globals.u8(Op.end);
    return this.nGlobalImports + this.nGlobals++;
  }

  /** Reserves a function index (body set later with setBody). */
  declareFunc(params: number[], results: number[]): number {
    this.funcs.push({ type: this.type(params, results), locals: [], body: new Uint8Array(0) });
    return this.nFuncImports + this.funcs.length - 1;
  }

  /** `body` is the instruction sequence without the final `end`. */
  setBody(index: number, locals: number[], body: Uint8Array): void {
    const f = this.funcs[index - this.nFuncImports];
    f.locals = locals;
    f.body = body;
  }

  exportFunc(name: string, index: number): void {
    this.exports.name(name).u8(0x00).uleb(index);
    this.nExports++;
  }

  private section(out: Bytes, id: number, content: Bytes): void {
    out.u8(id).vec(content);
  }

  finish(): Uint8Array {
    const out = new Bytes();
    out.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
    const ty = new Bytes().uleb(this.types.length);
    for (const t of this.types) {
      ty.u8(0x60).uleb(t.params.length);
      for (const p of t.params) ty.u8(p);
      ty.uleb(t.results.length);
      for (const r of t.results) ty.u8(r);
    }
    this.section(out, 1, ty);
    if (this.nImports) this.section(out, 2, new Bytes().uleb(this.nImports).bytes(this.imports.result()));
    const fn = new Bytes().uleb(this.funcs.length);
    for (const f of this.funcs) fn.uleb(f.type);
    this.section(out, 3, fn);
    if (this.nGlobals) this.section(out, 6, new Bytes().uleb(this.nGlobals).bytes(this.globals.result()));
    if (this.nExports) this.section(out, 7, new Bytes().uleb(this.nExports).bytes(this.exports.result()));
    const code = new Bytes().uleb(this.funcs.length);
    for (const f of this.funcs) {
      const body = new Bytes();
      // locals, run-length encoded
      const groups: [number, number][] = [];
      for (const l of f.locals) {
        const g = groups[groups.length - 1];
        if (g && g[1] === l) g[0]++;
        else groups.push([1, l]);
      }
      body.uleb(groups.length);
      for (const [n, t] of groups) body.uleb(n).u8(t);
      body.bytes(f.body).u8(Op.end);
      code.vec(body);
    }
    this.section(out, 10, code);
    return out.result();
  }
}
