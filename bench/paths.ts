import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** examples/build, from bench/ (vitest) or dist/bench/ (compiled). */
export function examplesDir(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const c = join(d, 'examples', 'build');
    if (existsSync(c)) return c;
    d = dirname(d);
  }
  return join(process.cwd(), 'examples', 'build');
}
