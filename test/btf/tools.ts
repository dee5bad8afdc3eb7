// Detecting the external tools the BTF tests compare against.

import { execFileSync } from 'node:child_process';

export function haveTool(cmd: string, args: string[] = ['--version']): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
