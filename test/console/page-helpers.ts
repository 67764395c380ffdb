/**
 * What the browser tests ask of a console page, shared by every test file: API reads beside the
 * page, navigation, screenshots, rows in on-screen order, and the "nothing from captured content
 * ran" check. The page and base URL exist only once beforeAll has run, hence the getter.
 */
import { join } from 'node:path';
import type { Page as PwPage } from 'playwright-core';
import { expect } from 'vitest';
import { repoRoot } from '../corpus.js';

export const ARTIFACTS = join(repoRoot, 'test-artifacts', 'console');

export interface BrowserSession {
  page: PwPage;
  base: string;
  /** Dialogs the page opened (alert/confirm from injected script would land here). */
  dialogs: string[];
}

export function pageHelpers(session: () => BrowserSession) {
  return {
    async api<T>(path: string): Promise<T> {
      const res = await fetch(`${session().base}/api/v1${path}`);
      expect(res.status, path).toBe(200);
      return (await res.json()) as T;
    },

    async open(path: string, ready: string): Promise<void> {
      const { page, base } = session();
      await page.goto(`${base}${path}`);
      await page.waitForSelector(ready);
    },

    async shot(name: string): Promise<void> {
      await session().page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    },

    /** Row ids of a virtualised table in the order they stand on screen. */
    async rowIds(testId: string): Promise<string[]> {
      return session().page.$$eval(`[data-testid="${testId}"] [data-row-id]`, (rows) =>
        rows
          .map((r) => ({ id: r.getAttribute('data-row-id') ?? '', top: r.getBoundingClientRect().top }))
          .sort((a, b) => a.top - b.top)
          .map((r) => r.id),
      );
    },

    async cell(rowId: string, col: string): Promise<string> {
      return (await session().page.textContent(`[data-row-id="${rowId}"] [data-col="${col}"]`)) ?? '';
    },

    /** The page's query string without "?". (page.waitForFunction polls with eval, which the
     * console's CSP forbids: it fails unless true at once; expect.poll asks from here instead.) */
    async search(): Promise<string> {
      return session().page.evaluate<string>('window.location.search.slice(1)');
    },

    async expectNothingRan(): Promise<void> {
      const { page, dialogs } = session();
      // Browser-side expressions are passed as strings: the tests are type-checked without the DOM library.
      expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
      expect(dialogs).toEqual([]);
      expect(await page.$$('img[src="x"], img[onerror]')).toHaveLength(0);
    },
  };
}
