import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest directory above `from` holding llmtap's package.json (the
 * generators and the bench run both from their sources and from dist/). */
export function findRepoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(from);
  while (true) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'llmtap') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the llmtap repository root');
    dir = up;
  }
}
