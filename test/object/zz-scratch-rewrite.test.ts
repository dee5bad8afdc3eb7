import { it } from 'vitest';
it('probe', async () => { await import('/tmp/probe.ts'); });
