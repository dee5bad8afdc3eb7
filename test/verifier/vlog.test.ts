// VLog keeps its text as chunks (reset() must not copy the whole log):
// writes and resets behave exactly like one string that is appended to and cut.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { VLog } from '../../src/verifier/log.js';

describe('VLog', () => {
  it('equals a plain string under any sequence of writes, resets and reads', () => {
    const op = fc.oneof(
      fc.record({ w: fc.string({ maxLength: 12 }) }),
      fc.record({ r: fc.nat({ max: 200 }) }),
      fc.constant({ s: true }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const log = new VLog(1);
        let model = '';
        for (const o of ops) {
          if ('w' in o) {
            log.write(o.w);
            model += o.w;
          } else if ('r' in o) {
            log.reset(o.r);
            if (o.r < model.length) model = model.slice(0, o.r);
          } else expect(log.toString()).toBe(model);
          expect(log.pos).toBe(model.length);
        }
        expect(log.toString()).toBe(model);
      }),
    );
  });
  it('writes nothing at level 0', () => {
    const log = new VLog(0);
    log.write('x');
    expect(log.pos).toBe(0);
    expect(log.toString()).toBe('');
  });
});
