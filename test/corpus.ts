import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is test/corpus.ts). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The third-party corpus beside the checkout (`../shared/corpus`), or null on a fresh clone
 * without it: tests that read it use `describe.skipIf(!corpusDir)`. */
export const corpusDir: string | null = (() => {
  const dir = process.env['LLMTAP_CORPUS'] ?? resolve(repoRoot, '../shared/corpus');
  return existsSync(dir) ? dir : null;
})();
