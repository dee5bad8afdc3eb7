// What the inliner needs from the verifier, per instruction: whether any
// verification path reached it, and for a conditional jump which of its two
// successors any path took. The verifier records these while exploring
// (src/verifier: Env.reached / Env.edges); the inliner reads them and never
// calls back into the verifier.

/** Bit of `edges[i]`: the fall-through successor of the jump at i was taken. */
export const EDGE_FALLTHROUGH = 1;
/** Bit of `edges[i]`: the jump target of the jump at i was taken. */
export const EDGE_TARGET = 2;

export interface InsnFacts {
  /** Non-zero where some path reached the instruction. */
  readonly reached: Uint8Array;
  /** EDGE_* bits per conditional jump. */
  readonly edges: Uint8Array;
}

/** The facts of slots [start, start+len) of a larger program, re-based at 0. */
export function sliceFacts(f: InsnFacts, start: number, len: number): InsnFacts {
  return { reached: f.reached.subarray(start, start + len), edges: f.edges.subarray(start, start + len) };
}
