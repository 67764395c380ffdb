/**
 * Live capture with worker threads: `llmtap capture -i lo --workers 2` while the official SDKs
 * talk to a local LLM server; after Ctrl-C every call is in the JSONL, the summary counts no
 * pipeline drops, and the health API named the source's drop counters while it ran.
 *
 * Needs root and tcpdump; skipped with the reason otherwise (fails instead under CI=true).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { HealthInfo } from '../../src/api/types.js';
import { CliProcess } from '../cli/cli-process.js';
import { startLlmServer, type LlmServer } from '../e2e/llm-server.js';
import { ensureBuilt } from '../e2e/replay-cli.js';
import { OPENAI_TEST_KEY, runAnthropicCalls, runOpenAiCalls } from '../e2e/sdk-calls.js';
import { commandExists } from '../e2e/tcpdump.js';

const inCi = process.env['CI'] === 'true';
const skip = process.getuid?.() !== 0 ? 'needs root (packet capture)' : !commandExists('tcpdump') ? 'missing tcpdump (apt-get install tcpdump)' : null;
if (skip !== null && !inCi) process.stderr.write(`live workers test skipped: ${skip}\n`);

describe.skipIf(skip !== null && !inCi)(`live capture with workers${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let dir = '';
  let server: LlmServer | null = null;
  let cli: CliProcess | null = null;

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'llmtap-live-workers-'));
    server = await startLlmServer({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await cli?.kill();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('every SDK call is decoded on the workers and written; Ctrl-C exits 0', async () => {
    const port = server!.port;
    const jsonl = join(dir, 'live.jsonl');
    cli = new CliProcess(['capture', '-i', 'lo', '--bpf-filter', `tcp port ${port}`, '--jsonl', jsonl, '--listen', '127.0.0.1:0', '--workers', '2']);
    const base = (await cli.waitFor(/serving (http:\/\/\S+)/))[1]!;
    await cli.waitFor(/capturing on lo/);
    const views = [...(await runOpenAiCalls(`http://127.0.0.1:${port}/v1`)), ...(await runAnthropicCalls(`http://127.0.0.1:${port}`))];
    const health = (await (await fetch(`${base}/api/v1/health`)).json()) as HealthInfo;
    expect(health.sources[0]).toMatchObject({ id: 'lo', kind: 'interface', drops: { pipeline: 0 } });
    const code = await cli.interrupt();
    expect(code, cli.stderr).toBe(0);
    expect(cli.stderr).toContain(`${views.length} LLM calls`);
    expect(cli.stderr).toMatch(/llmtap 0 \((tcpdump|llmtap-capture)/);
    const text = readFileSync(jsonl, 'utf8');
    const calls = text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { kind: string; response_id: string | null })
      .filter((r) => r.kind === 'llm_call');
    expect(calls.map((c) => c.response_id).sort()).toEqual(views.map((v) => v.id).sort());
    expect(text).not.toContain(OPENAI_TEST_KEY);
  }, 120_000);
});
