import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/corpus.js';
import { compareNames } from './name-order.js';

/** Names from the characters compared without ICU, mixed case, and a few that go to it. */
const name = (extra: string[]): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom('a', 'A', 'b', 'B', 'z', 'Z', 'y', '0', '9', '5', '_', ...extra), { maxLength: 7 }).map((c) => c.join(''));

describe('name order', () => {
  const english = new Intl.Collator('en');

  it('is the English collation, with and without the shortcut', () => {
    fc.assert(
      fc.property(name(['-', '.', 'é', ' ']), name(['-', 'Ä']), (a, b) => {
        expect(Math.sign(compareNames(a, b))).toBe(Math.sign(english.compare(a, b)));
      }),
      { numRuns: 20_000 },
    );
    const tools = ['mcp__github__create_issue', 'Read', 'read', 'WebFetch', 'Task', 'task_1', 'Task_1', 'TodoWrite', 'todo', 'a_b', 'aB', 'ab', 'Ab', '9x', '_x', 'aa', 'z'];
    expect([...tools].sort(compareNames)).toEqual([...tools].sort((a, b) => english.compare(a, b)));
  });

  it('does not depend on the machine’s locale (under Danish, localeCompare puts "aa" after "z")', () => {
    // The compiled module (npm test builds first), run under a Danish locale.
    const mod = pathToFileURL(join(repoRoot, 'dist', 'src', 'core', 'name-order.js')).href;
    const sorted = (lang: string): string =>
      spawnSync(process.execPath, ['--input-type=module', '-e', `import { compareNames } from ${JSON.stringify(mod)}; console.log(['z', 'aa', 'Y', 'y', 'iz', 'äb', 'ab', 'x-y'].sort(compareNames).join(' '))`], {
        env: { ...process.env, LANG: lang, LC_ALL: lang },
        encoding: 'utf8',
      }).stdout.trim();
    expect(spawnSync(process.execPath, ['-e', "console.log(['z','aa'].sort((a,b)=>a.localeCompare(b)).join(' '))"], { env: { ...process.env, LC_ALL: 'da_DK.UTF-8' }, encoding: 'utf8' }).stdout.trim()).toBe('z aa');
    expect(sorted('da_DK.UTF-8')).toBe('aa ab äb iz x-y y Y z');
    expect(sorted('lt_LT.UTF-8')).toBe(sorted('C'));
  });
});
