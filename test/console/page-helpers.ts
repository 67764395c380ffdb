/**
 * What the browser tests ask of a console page, shared by every test file: API reads beside the
 * page, navigation, screenshots, rows in on-screen order, and the "nothing from captured content
 * ran" check. The page and base URL exist only once beforeAll has run, hence the getter.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page as PwPage } from 'playwright-core';
import { expect } from 'vitest';
import { repoRoot } from '../corpus.js';

export const ARTIFACTS = join(repoRoot, 'test-artifacts', 'console');
/** Debian's chromium (`.ci/run` installs it); without it the browser tests skip, except in CI. */
export const CHROMIUM = '/usr/bin/chromium';
export const browserTestsRun = existsSync(CHROMIUM) || process.env['CI'] === 'true';

/** The console as `npm run build` makes it, built into `dir`/console; returns that directory. */
export async function buildConsoleInto(dir: string): Promise<string> {
  const { build } = await import('vite');
  const consoleDir = join(dir, 'console');
  await build({ configFile: join(repoRoot, 'console', 'vite.config.ts'), logLevel: 'error', build: { outDir: consoleDir, emptyOutDir: true } });
  return consoleDir;
}

/** Headless Chromium at 1440×900 with a profile in `dir`, recording what the page reports. */
export async function launchBrowser(
  dir: string,
  seen: { dialogs: string[]; pageErrors: string[]; consoleErrors?: string[] },
): Promise<{ context: BrowserContext; page: PwPage }> {
  const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    // Playwright adds --headless itself; the rest keeps the browser from reaching the network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-quic', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1440, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('dialog', (d) => {
    seen.dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => seen.pageErrors.push(e.message));
  const consoleErrors = seen.consoleErrors;
  if (consoleErrors) {
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
  }
  return { context, page };
}

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
