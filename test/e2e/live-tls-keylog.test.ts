/**
 * Live capture of HTTPS with a key log that grows while llmtap runs (issue 7: "--tls-keylog PATH
 * (read, and followed as it grows during a live capture)"): `llmtap capture -i lo --tls-keylog K`
 * starts before K exists; the official SDKs, run by `node --tls-keylog=K`, then create it and
 * append each connection's secrets as they connect. Every call must be decrypted and reach the API.
 *
 * Needs root and tcpdump; skipped with the reason otherwise, except under CI (CI=true), where a
 * missing prerequisite fails instead of hiding the test.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CliProcess } from '../cli/cli-process.js';
import { prepareSdkRunner, runSdkChild } from './keylog-clients.js';
import { startLlmHttpsServer, TEST_CERT, type VersionedLlmServer } from './llm-tls-server.js';
import { ensureBuilt } from './replay-cli.js';
import { ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY } from './sdk-calls.js';
import { commandExists } from './tcpdump.js';

const TEST_TIMEOUT_MS = 120_000;
const POLL_MS = 100;
/** Far beyond the one-second target: only a call that never comes fails the test. */
const ARRIVAL_BOUND_MS = 30_000;

const inCi = process.env['CI'] === 'true';
const skip = process.getuid?.() !== 0 ? 'needs root (packet capture)' : !commandExists('tcpdump') ? 'missing tcpdump (apt-get install tcpdump)' : null;
if (skip !== null && !inCi) process.stderr.write(`live TLS key log e2e skipped: ${skip}\n`);

interface ListedCall {
  response_id: string | null;
  server: { host: string | null };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe.skipIf(skip !== null && !inCi)(`live capture of HTTPS, key log followed${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir = '';
  let server: VersionedLlmServer | null = null;
  let cli: CliProcess | null = null;

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'llmtap-live-tls-'));
    server = await startLlmHttpsServer('127.0.0.1');
  });

  afterAll(async () => {
    await cli?.kill();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test(
    'calls over TLS are decrypted with secrets written after the capture started',
    async () => {
      const port = server!.port;
      const keylog = join(dir, 'keys.log');
      const runner = prepareSdkRunner(dir);
      cli = new CliProcess(['capture', '-i', 'lo', '--bpf-filter', `tcp port ${port}`, '--tls-keylog', keylog, '--db', join(dir, 'd.duckdb'), '--listen', '127.0.0.1:0']);
      const base = (await cli.waitFor(/serving (http:\/\/\S+)/))[1]!;
      await cli.waitFor(/capturing on lo/);
      expect(existsSync(keylog), 'the key log does not exist when the capture starts').toBe(false);

      const origin = `https://localhost:${port}`;
      const views = await runSdkChild(runner, `${origin}/v1`, origin, { keylog, caCert: TEST_CERT });
      const want = views.map((v) => v.id).sort();
      let got: ListedCall[] = [];
      const deadline = Date.now() + ARRIVAL_BOUND_MS;
      while (Date.now() < deadline) {
        got = ((await (await fetch(`${base}/api/v1/calls?limit=500`)).json()) as { items: ListedCall[] }).items;
        if (got.length >= want.length) break;
        await sleep(POLL_MS);
      }
      expect(got.map((c) => c.response_id).sort(), 'every call, decrypted').toEqual(want);
      expect(new Set(got.map((c) => c.server.host))).toEqual(new Set([`localhost:${port}`]));

      const code = await cli.interrupt();
      expect(code, cli.stderr).toBe(0);
      expect(cli.stderr).not.toMatch(/not decrypted/);
      for (const key of [OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY]) expect(cli.stderr.includes(key)).toBe(false);
    },
    TEST_TIMEOUT_MS,
  );
});
