/**
 * `llmtap proxy` as a user runs it (the built CLI, its forwarding thread included): the
 * `--allow-host` rules at start and per request, its help, and its end-of-run summary, which
 * counts bytes proxied and exchanges, not packets.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../../test/cli/cli-process.js';
import { repoRoot } from '../../test/corpus.js';

let dir = '';
let upstream: http.Server;
let upPort = 0;
const running: CliProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmtap-proxy-cli-'));
  // The CLI runs from dist/: `npm test` builds first; a bare vitest run compiles here.
  const tsc = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: repoRoot, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
  upstream = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upPort = (upstream.address() as AddressInfo).port;
}, 180_000);

afterEach(async () => {
  for (const p of running.splice(0)) await p.kill();
});

afterAll(async () => {
  await new Promise<void>((r) => upstream.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

function post(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] }));
  });
}

async function startProxy(args: string[]): Promise<{ p: CliProcess; port: number }> {
  const p = new CliProcess(['proxy', ...args]);
  running.push(p);
  const m = await p.waitFor(/proxying http:\/\/[^\s]+?:(\d+)/);
  return { p, port: Number(m[1]) };
}

describe('llmtap proxy', () => {
  it('--help offers --allow-host and no --tls-keylog (the proxy sees plaintext)', () => {
    const r = runCli(['proxy', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--allow-host <pattern>');
    expect(r.stdout).toContain('the proxy listens on [HOST:]PORT');
    expect(r.stdout).not.toContain('--tls-keylog');
    // The other commands keep it.
    expect(runCli(['capture', '--help']).stdout).toContain('--tls-keylog');
  });

  it('refuses to start off loopback without --allow-host, naming the flag; starts with --allow-host', async () => {
    const refused = runCli(['proxy', '--listen', '0.0.0.0:0', '--jsonl', join(dir, 'no.jsonl')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^llmtap: --listen 0\.0\.0\.0 is not loopback: .*--allow-host/);
    expect(refused.stderr).toContain("--allow-host '*'");
    expect(runCli(['proxy', '--upstream', 'http://127.0.0.1:1', '--allow-host', 'x', '--jsonl', join(dir, 'no.jsonl')]).code).toBe(2);

    const { p } = await startProxy(['--listen', '0.0.0.0:0', '--allow-host', `127.0.0.1:${upPort}`, '--jsonl', join(dir, 'open.jsonl')]);
    await p.waitFor(new RegExp(`forwards only to 127\\.0\\.0\\.1:${upPort} \\(--allow-host\\)`));
    const code = await p.interrupt();
    expect(code, `${String(p.child.signalCode)}\n${p.stderr}`).toBe(0);
  });

  it('forwards admitted hosts, refuses others with 403 (counted), and sums up in bytes proxied and exchanges/s', async () => {
    const jsonl = join(dir, 'calls.jsonl');
    const { p, port } = await startProxy(['--listen', '127.0.0.1:0', '--allow-host', `127.0.0.1:${upPort}`, '--jsonl', jsonl]);
    const ok = await post(port, `/proxy/test/http/127.0.0.1:${upPort}/v1/chat/completions`);
    expect(ok.status).toBe(200);
    const refused = await post(port, '/proxy/test/http/10.1.2.3/v1/chat/completions');
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ type: 'error', error: { type: 'proxy_host_not_allowed' } });
    expect(await p.interrupt()).toBe(0);

    const summary = p.stderr.slice(p.stderr.indexOf(`llmtap proxy http://127.0.0.1:${port} (proxy)`));
    expect(summary).toMatch(/\n {2}[\d.]+ MB proxied, 1 HTTP exchanges\n/);
    expect(summary).toMatch(/\n {2}[\d.]+ s, [\d.]+ MB\/s, [\d,]+ exchanges\/s\n/);
    expect(summary).not.toContain('packets');
    expect(summary).toMatch(/2 requests: 1 answered by the upstream, .* 1 refused/);
    expect(summary).toMatch(/anomalies: .*proxy_host_not_allowed 1/);
    const calls = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; attributes: Record<string, string> });
    expect(calls.filter((c) => c.kind === 'llm_call').map((c) => c.attributes['env'])).toEqual(['test']);
  });
});
