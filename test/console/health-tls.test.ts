/**
 * The Health page names the TLS servers llmtap could not decrypt (issue 7): server, connections,
 * why, and what to do (a key log with --tls-keylog), as /api/v1/health reports them from the
 * pipeline's counters. Debian's chromium through playwright-core, like the other console tests.
 *
 * Skipped when /usr/bin/chromium is missing, except under CI=true where that is a failure.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page as PwPage } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeStore } from '../../src/api/fake-store.test-support.js';
import { LiveFeed } from '../../src/api/live-feed.js';
import { createServer, type ApiServer } from '../../src/api/server.js';
import type { HealthResponse } from '../../src/api/types.js';
import { healthOf, type FileSourceState } from '../../src/cli/health.js';
import { PipelineStats } from '../../src/pipeline/stats.js';
import { int } from '../../console/src/format.js';
import { ARTIFACTS, browserTestsRun, buildConsoleInto, launchBrowser, pageHelpers } from './page-helpers.js';

describe.skipIf(!browserTestsRun)('console Health page: TLS not decrypted', () => {
  let dir: string;
  let server: ApiServer;
  let base: string;
  let context: BrowserContext;
  let page: PwPage;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  const stats = new PipelineStats();
  const source: FileSourceState = { id: 'https.pcapng', stats, state: 'drained', error: null };

  const { api, open, shot } = pageHelpers(() => ({ page, base, dialogs }));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmtap-console-tls-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const consoleDir = await buildConsoleInto(dir);
    server = createServer({ store: new FakeStore(), liveFeed: new LiveFeed({ heartbeatMs: 0 }), health: () => healthOf(source, null), consoleDir });
    base = await server.listen({ port: 0 });
    ({ context, page } = await launchBrowser(dir, { dialogs, pageErrors }));
  });

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has no TLS panel while every connection was read', async () => {
    await open('/health', '[data-testid="count-calls-value"]');
    expect(await page.$('[data-testid="tls-undecrypted"]')).toBeNull();
  });

  it('lists each server with its connections and why, and says to add a key log', async () => {
    for (let i = 0; i < 1234; i++) stats.noteUndecryptedTls('api.anthropic.com', 'no_keys');
    stats.noteUndecryptedTls('api.anthropic.com', 'mid_stream');
    stats.noteUndecryptedTls('10.0.0.7:443', 'decrypt_failed');
    // A hostile SNI is shown as text, never as markup.
    stats.noteUndecryptedTls('<img src=x onerror=alert(1)>', 'no_keys');
    await open('/health', '[data-testid="tls-undecrypted"]');
    const want = (await api<HealthResponse>('/health')).tls_undecrypted;
    expect(want.map((s) => s.server)).toEqual(['api.anthropic.com', '10.0.0.7:443', '<img src=x onerror=alert(1)>']);

    const rows = await page.$$eval('[data-testid="tls-undecrypted"] tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(rows.map((r) => [r[0], r[1]])).toEqual(want.map((s) => [s.server, int(s.connections)]));
    expect(rows[0]![2]).toBe(`${int(1234)} no keys — add a key log with --tls-keylog; 1 handshake not captured — start the capture before the client connects`);
    expect(rows[1]![2]).toContain('the key log does not fit');
    expect(await page.textContent('.panel:has([data-testid="tls-undecrypted"])')).toContain('--tls-keylog');
    expect(await page.$$('img[src="x"]')).toHaveLength(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
    await shot('health-tls-undecrypted');
  });
});
