/**
 * Real clients over HTTPS, end to end (issue 7, "How we will know"): a local HTTPS server with a
 * self-signed certificate answers the OpenAI and Anthropic wire formats over HTTP/1.1 and HTTP/2
 * (ALPN); the official Node SDKs (`node --tls-keylog`) and `curl --http2` (SSLKEYLOGFILE) call it
 * while tcpdump captures loopback; `llmtap replay --tls-keylog` must turn the encrypted capture
 * into the same records as the same calls made in plaintext (the SDKs over HTTP/1.1, curl over
 * h2c with prior knowledge), captured and replayed the same way. Without the key log the capture
 * gives no call, and the summary names the server as not decrypted.
 *
 * Needs root, tcpdump and curl; skipped with the reason otherwise, except under CI (CI=true),
 * where a missing prerequisite fails the test instead of hiding it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LlmCallRecord } from '../../src/core/record.js';
import { repoRoot } from '../corpus.js';
import { CURL_REQUESTS, firstId, prepareSdkRunner, runCurlH2, runSdkChild } from './keylog-clients.js';
import { startLlmServer, type LlmServer } from './llm-server.js';
import { startLlmH2cServer, startLlmHttpsServer, TEST_CERT, type VersionedLlmServer } from './llm-tls-server.js';
import { pidAlive } from './netns.js';
import { ensureBuilt } from './replay-cli.js';
import { ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, type SdkView } from './sdk-calls.js';
import { commandExists, startTcpdump, type TcpdumpCapture } from './tcpdump.js';
import { userView } from './user-view.js';

/** Each run (SDKs ~3 s, curl ~1 s, replay < 1 s) is far below this; it bounds a hang. */
const TEST_TIMEOUT_MS = 180_000;
/** A replay of a few hundred KB takes well under a second; a minute means it hangs. */
const REPLAY_TIMEOUT_MS = 60_000;

const inCi = process.env['CI'] === 'true';
const keep = process.env['LLMTAP_E2E_KEEP'] === '1';

const skip = ((): string | null => {
  if (process.getuid?.() !== 0) return 'needs root (packet capture)';
  const absent = ['tcpdump', 'curl'].filter((c) => !commandExists(c));
  return absent.length > 0 ? `missing ${absent.join(', ')} (apt-get install tcpdump curl)` : null;
})();
if (skip !== null && !inCi) process.stderr.write(`tls-clients e2e skipped: ${skip}\n`);

interface Replayed {
  /** The JSONL as written: the secrets checks read this text. */
  text: string;
  calls: LlmCallRecord[];
  /** The replay summary (stderr). */
  stderr: string;
}

/** `llmtap replay PCAP --jsonl OUT [extra…]` with the built CLI, as a user runs it. */
function replay(pcap: string, out: string, extra: string[] = []): Replayed {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'llmtap.js'), 'replay', pcap, '--jsonl', out, ...extra], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: REPLAY_TIMEOUT_MS,
  });
  if (r.status !== 0) throw new Error(`llmtap replay ${pcap} exited ${r.status} (${r.signal ?? ''}): ${r.stderr}`);
  const text = readFileSync(out, 'utf8');
  const calls = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { kind?: unknown })
    .filter((rec): rec is LlmCallRecord => rec.kind === 'llm_call');
  return { text, calls, stderr: r.stderr };
}


const byId = (a: LlmCallRecord, b: LlmCallRecord): number => (a.response_id ?? '').localeCompare(b.response_id ?? '');

/** Every time a user reads is there and in order (durations depend on the machine: none is
 * compared). ISO strings of one format compare like the instants they name. */
function expectTimings(calls: LlmCallRecord[]): void {
  for (const r of calls) {
    const t = r.timing;
    const label = `${r.response_id ?? '?'} timing`;
    expect(t.request_start, label).toBeTruthy();
    expect(t.response_start !== null && t.response_end !== null && t.request_end !== null, label).toBe(true);
    expect(t.request_start <= t.response_start! && t.response_start! <= t.response_end!, label).toBe(true);
    expect(r.ttfb_ms !== null && r.e2e_ms !== null, label).toBe(true);
    if (r.stream && r.usage.output_tokens !== null && r.usage.output_tokens > 0) {
      expect(t.first_token !== null && t.last_token !== null && t.first_token <= t.last_token, label).toBe(true);
      expect(r.ttft_ms, label).not.toBeNull();
    }
  }
}

/** One record per SDK call, saying what the SDK itself returned. */
function expectSdkViews(calls: LlmCallRecord[], views: SdkView[]): void {
  for (const v of views) {
    const r = calls.find((c) => c.response_id === v.id);
    expect(r, `${v.label}: a record`).toBeDefined();
    expect(
      [r!.api, r!.stream, r!.response_model, r!.usage.input_tokens, r!.usage.output_tokens, r!.finish_reason_raw, r!.tool_calls.map((t) => t.name)],
      v.label,
    ).toEqual([v.api, v.stream, v.model, v.inputTokens, v.outputTokens, v.finishReasonRaw, v.toolNames]);
    if (v.toolNames.length === 0) expect(r!.content.output_text, v.label).toBe(v.text);
  }
}

/** The dummy API keys and the key log's secrets appear nowhere in what llmtap wrote. */
function expectNoSecrets(out: Replayed, keylog: string): void {
  const secrets = readFileSync(keylog, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[2] ?? '')
    .filter((s) => s.length >= 32);
  expect(secrets.length, 'secrets in the key log').toBeGreaterThan(0);
  for (const s of [OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY, ...secrets]) {
    expect(out.text.includes(s) || out.stderr.includes(s), 'a secret in the output').toBe(false);
  }
  expect(out.text).not.toContain('0123456789abcdefghijKLMNOP');
}

/** Work directories carry the test process's pid; those of killed runs (pid gone) are removed. */
function makeWorkDir(): string {
  for (const name of readdirSync(tmpdir())) {
    const m = /^llmtap-e2e-tls-(\d+)-/.exec(name);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(tmpdir(), `llmtap-e2e-tls-${process.pid}-`));
  if (keep) process.stderr.write(`tls-clients e2e: keeping ${dir}\n`);
  return dir;
}

interface Run {
  sdk: SdkView[];
  curl: string[];
  calls: LlmCallRecord[];
}

describe.skipIf(skip !== null && !inCi)(`official SDKs and curl over HTTPS with key logs${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir = '';
  let runner = '';
  let plainH1: LlmServer | null = null;
  let h2c: VersionedLlmServer | null = null;
  let https: VersionedLlmServer | null = null;
  let capture: TcpdumpCapture | null = null;
  let plain: Run | null = null;
  let tlsPcap = '';

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    ensureBuilt();
    dir = makeWorkDir();
    runner = prepareSdkRunner(dir);
    plainH1 = await startLlmServer({ host: '127.0.0.1', port: 0 });
    h2c = await startLlmH2cServer('127.0.0.1');
    https = await startLlmHttpsServer('127.0.0.1');
  });

  afterAll(async () => {
    capture?.kill();
    await Promise.all([plainH1?.close(), h2c?.close(), https?.close()]);
    if (dir && !keep) rmSync(dir, { recursive: true, force: true });
  });

  test(
    'plaintext: the SDKs over HTTP/1.1 and curl over h2c give one record per call',
    async () => {
      const pcap = join(dir, 'plain.pcap');
      capture = await startTcpdump('lo', `tcp port ${plainH1!.port} or tcp port ${h2c!.port}`, pcap);
      const base = `http://localhost:${plainH1!.port}`;
      const sdk = await runSdkChild(runner, `${base}/v1`, base);
      const curl = (await runCurlH2(dir, 'h2c', { port: h2c!.port, tls: null })).bodies;
      const captured = await capture.stop();
      expect(captured.droppedByKernel, `the capture is whole: ${captured.stderr}`).toBe(0);
      expect(h2c!.versions(), 'curl spoke HTTP/2').toEqual(CURL_REQUESTS.map(() => '2.0'));

      const out = replay(pcap, join(dir, 'plain.jsonl'));
      expect(out.calls).toHaveLength(sdk.length + CURL_REQUESTS.length);
      expectSdkViews(out.calls, sdk);
      plain = { sdk, curl, calls: out.calls };
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'HTTPS (HTTP/1.1 and h2 by ALPN) replayed with --tls-keylog: the same records as in plaintext',
    async () => {
      expect(plain, 'the plaintext run must have passed first').not.toBeNull();
      tlsPcap = join(dir, 'tls.pcap');
      const keylog = join(dir, 'keys.log');
      capture = await startTcpdump('lo', `tcp port ${https!.port}`, tlsPcap);
      const base = `https://localhost:${https!.port}`;
      const sdk = await runSdkChild(runner, `${base}/v1`, base, { keylog, caCert: TEST_CERT });
      const curl = (await runCurlH2(dir, 'tls', { port: https!.port, tls: { caCert: TEST_CERT, keylog } })).bodies;
      const captured = await capture.stop();
      expect(captured.droppedByKernel, `the capture is whole: ${captured.stderr}`).toBe(0);

      // The clients chose what the test means to prove: the SDKs (undici) HTTP/1.1, curl h2.
      const versions = https!.versions();
      expect(versions.filter((v) => v === '1.1')).toHaveLength(sdk.length);
      expect(versions.filter((v) => v === '2.0')).toHaveLength(CURL_REQUESTS.length);
      // The clients saw the same answers as in plaintext (the server answers by request) …
      expect(sdk).toEqual(plain!.sdk);
      expect(curl.map(firstId)).toEqual(plain!.curl.map(firstId));
      // … and the wire really was encrypted: no API key in clear in the capture.
      const wire = readFileSync(tlsPcap);
      expect(wire.includes(OPENAI_TEST_KEY) || wire.includes(ANTHROPIC_TEST_KEY), 'an API key in clear on the TLS wire').toBe(false);

      const out = replay(tlsPcap, join(dir, 'tls.jsonl'), ['--tls-keylog', keylog]);
      expect(out.calls.map(userView).length).toBe(plain!.calls.length);
      expect(out.calls.sort(byId).map(userView)).toEqual(plain!.calls.sort(byId).map(userView));
      expectSdkViews(out.calls, sdk);
      for (const id of curl.map(firstId)) expect(out.calls.some((c) => c.response_id === id), `curl's ${id ?? 'null'}`).toBe(true);
      expectTimings(out.calls);
      // HTTP/2 reached the records as such: curl's calls came over h2 streams of one connection.
      const curlCalls = out.calls.filter((c) => curl.map(firstId).includes(c.response_id));
      expect(new Set(curlCalls.map((c) => c.client.port)).size, 'curl multiplexed its calls on one connection').toBe(1);
      expect(out.stderr).not.toMatch(/not decrypted/);
      expect(out.stderr).not.toMatch(/tls_(no_keys|decrypt_failed|mid_stream|bad_record|gap)/);
      expectNoSecrets(out, keylog);
    },
    TEST_TIMEOUT_MS,
  );

  test(
    'the same capture without the key log: no call, and the summary names the server not decrypted',
    () => {
      expect(tlsPcap, 'the HTTPS run must have passed first').not.toBe('');
      const out = replay(tlsPcap, join(dir, 'nokeys.jsonl'));
      expect(out.calls).toEqual([]);
      // "  N TLS connections not decrypted (…): localhost N" (SNI names the server), and the
      // anomaly that says why.
      const line = /(\d+) TLS connections? not decrypted[^:]*: (.*)/.exec(out.stderr);
      expect(line, out.stderr).not.toBeNull();
      const total = Number(line![1]);
      expect(total).toBeGreaterThanOrEqual(2);
      expect(line![2]).toBe(`localhost ${total}`);
      expect(out.stderr).toMatch(new RegExp(`tls_no_keys ${total}\\b`));
    },
    TEST_TIMEOUT_MS,
  );
});
