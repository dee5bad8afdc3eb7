// The verifier's numeric domains: tnums, scalar bounds, branch logic, log text.
export * from './u64.js';
export * from './tnum.js';
export * from './scalar.js';
