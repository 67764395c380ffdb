/**
 * Finding a program to run (like `command -v`, without a shell): the capture processes, bpftrace,
 * getcap.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first `cmd` on PATH that is an executable file, else null; a `cmd` with a slash is checked as such. */
export function findOnPath(cmd: string, path: string | undefined = process.env['PATH']): string | null {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : null;
  for (const dir of (path ?? '').split(delimiter)) {
    if (dir === '') continue;
    const full = join(dir, cmd);
    if (isExecutable(full)) return full;
  }
  return null;
}
