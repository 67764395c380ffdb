/**
 * Real clients, real wire (issue acceptance check): the official `openai` and `@anthropic-ai/sdk`
 * Node clients talk to a local server that answers in those APIs' wire formats; tcpdump captures
 * the traffic; `llmtap replay` turns the capture into records; every record must agree with what
 * the SDK itself returned (id, model, usage, finish reason, tool calls, text), and the dummy API
 * keys, present in the capture, must appear nowhere in the output.
 *
 * Then the same calls again through a 1500-MTU veth path with a router that drops 5% of packets
 * at random: the capture now holds TCP retransmissions, duplicates and out-of-order segments, and
 * the records must be the same as over loopback.
 *
 * Needs root, tcpdump, ip (iproute2) and iptables; skipped with the reason otherwise, except
 * under CI (CI=true), where a missing prerequisite fails the test instead of hiding it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LlmCallRecord } from '../../src/core/record.js';
import { repoRoot } from '../corpus.js';
import { startLlmServer, type LlmServer } from './llm-server.js';
import { addRandomDrops, createVethLab, dropCounts, LAB_MTU, pidAlive, spawnInNamespace, type NsProcess, type VethLab } from './netns.js';
import { ensureBuilt, replayCapture, type ReplayOutput } from './replay-cli.js';
import { ANTHROPIC_TEST_KEY, OPENAI_TEST_KEY, runAnthropicCalls, runOpenAiCalls, type SdkView } from './sdk-calls.js';
import { commandExists, pcapStats, startTcpdump, type TcpdumpCapture } from './tcpdump.js';

/** Chance that the router drops a packet, each direction: enough for a few dozen losses over the
 * ~600 packets of the run, little enough that connections still finish in seconds. */
const DROP_PROBABILITY = 0.05;
/** Whole test bound: the loopback run takes ~3 s, the lossy one ~10 s (SYN losses cost 1 s
 * each: the initial RTO, RFC 6298 §2.1). */
const TEST_TIMEOUT_MS = 180_000;
/** Ethernet header (14) + MTU: no captured frame may be larger when the path segments. */
const MAX_FRAME = 14 + LAB_MTU;

const inCi = process.env['CI'] === 'true';
const keep = process.env['LLMTAP_E2E_KEEP'] === '1';

function missing(cmds: string[]): string | null {
  if (process.getuid?.() !== 0) return 'needs root (packet capture, network namespaces)';
  const absent = cmds.filter((c) => !commandExists(c));
  return absent.length > 0 ? `missing ${absent.join(', ')} (apt-get install tcpdump iproute2 iptables)` : null;
}
const loopbackSkip = missing(['tcpdump']);
const labSkip = missing(['tcpdump', 'ip', 'iptables']);
const title = (name: string, skip: string | null): string => (skip ? `${name} [skipped: ${skip}]` : name);
for (const [part, skip] of [
  ['loopback', loopbackSkip],
  ['lossy veth', labSkip],
] as const) {
  if (skip !== null && !inCi) process.stderr.write(`real-clients e2e (${part}) skipped: ${skip}\n`);
}

function expectedFinish(raw: string): string {
  switch (raw) {
    case 'stop':
    case 'end_turn':
      return 'stop';
    case 'length':
    case 'max_tokens':
      return 'length';
    case 'tool_calls':
    case 'tool_use':
      return 'tool_call';
    default:
      return 'other';
  }
}

/** Every call the SDKs made has exactly one record, and it says what the SDK saw. */
function expectRecordsMatchSdk(calls: LlmCallRecord[], views: SdkView[]): void {
  expect(calls.map((c) => c.response_id).sort(), 'one record per SDK call, no more').toEqual(views.map((v) => v.id).sort());
  for (const v of views) {
    const r = calls.find((c) => c.response_id === v.id)!;
    const names = r.tool_calls.map((t) => t.name);
    expect(
      {
        provider: r.provider,
        api: r.api,
        stream: r.stream,
        method: r.http.method,
        path: r.http.path,
        status_code: r.status_code,
        error: r.error,
        request_model: r.request_model,
        response_model: r.response_model,
        response_id: r.response_id,
        input_tokens: r.usage.input_tokens,
        output_tokens: r.usage.output_tokens,
        estimated: r.usage.estimated,
        finish_reason: r.finish_reason,
        finish_reason_raw: r.finish_reason_raw,
        tool_calls: names,
        output_text: names.length === 0 ? r.content.output_text : '(tool turn)',
      },
      v.label,
    ).toEqual({
      provider: v.api === 'anthropic.messages' ? 'anthropic' : 'openai',
      api: v.api,
      stream: v.stream,
      method: 'POST',
      path: v.api === 'anthropic.messages' ? '/v1/messages' : '/v1/chat/completions',
      status_code: 200,
      error: null,
      request_model: v.requestModel,
      response_model: v.model,
      response_id: v.id,
      input_tokens: v.inputTokens,
      output_tokens: v.outputTokens,
      estimated: false,
      finish_reason: expectedFinish(v.finishReasonRaw),
      finish_reason_raw: v.finishReasonRaw,
      tool_calls: v.toolNames,
      output_text: v.toolNames.length === 0 ? v.text : '(tool turn)',
    });
    // Orderings only (no durations: those depend on the machine). ISO strings of one format
    // compare like the instants they name.
    const t = r.timing;
    expect(t.response_start, `${v.label}: response_start`).not.toBeNull();
    expect(t.request_start <= t.response_start! && t.response_start! <= t.response_end!, `${v.label}: timing order`).toBe(true);
    if (v.stream) {
      expect(t.first_token !== null && t.first_token <= t.last_token!, `${v.label}: first/last token`).toBe(true);
    }
  }
}

/** The dummy keys went over the wire (so the check means something) and came out nowhere. */
function expectNoSecrets(pcap: string, out: ReplayOutput): void {
  const wire = readFileSync(pcap);
  for (const key of [OPENAI_TEST_KEY, ANTHROPIC_TEST_KEY]) {
    expect(wire.includes(key), `${key} is in the capture`).toBe(true);
    expect(out.text.includes(key), `${key} leaked into the JSONL`).toBe(false);
  }
  // Nor any long piece of them (a redaction that keeps a prefix and a tail is still a leak).
  expect(out.text).not.toContain('0123456789abcdefghijKLMNOP');
}

/** What must not change when the same calls cross a lossy, segmenting path instead of loopback:
 * everything but addresses, ports, byte counts of the request (the Host header differs) and
 * times. */
function wireIndependent(r: LlmCallRecord): unknown {
  return {
    response_id: r.response_id,
    provider: r.provider,
    api: r.api,
    operation: r.operation,
    stream: r.stream,
    request_model: r.request_model,
    response_model: r.response_model,
    status_code: r.status_code,
    error: r.error,
    finish_reason: r.finish_reason,
    finish_reason_raw: r.finish_reason_raw,
    usage: r.usage,
    tool_calls: r.tool_calls,
    tools_offered: r.tools_offered,
    content: r.content,
    method: r.http.method,
    path: r.http.path,
    response_bytes: r.http.response_bytes,
    content_encoding: r.http.content_encoding,
    user_agent: r.user_agent,
    api_key_fingerprint: r.api_key_fingerprint,
  };
}

async function runAllCalls(openAiBase: string, anthropicBase: string): Promise<SdkView[]> {
  return [...(await runOpenAiCalls(openAiBase)), ...(await runAnthropicCalls(anthropicBase))];
}

/** Work directories are named after the test process's pid; remove those of runs that were
 * killed before their cleanup (pid gone), then make this run's. */
function makeWorkDir(): string {
  for (const name of readdirSync(tmpdir())) {
    const m = /^llmtap-e2e-(\d+)-/.exec(name);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(tmpdir(), `llmtap-e2e-${process.pid}-`));
  if (keep) process.stderr.write(`real-clients e2e: keeping ${dir}\n`);
  return dir;
}

/** The loopback run's result, which the lossy run must reproduce. */
let loopback: { views: SdkView[]; calls: LlmCallRecord[] } | null = null;

describe.skipIf(loopbackSkip !== null && !inCi)(title('official SDK clients over loopback', loopbackSkip), () => {
  let dir = '';
  let server: LlmServer | null = null;
  let capture: TcpdumpCapture | null = null;

  beforeAll(async () => {
    if (loopbackSkip !== null) throw new Error(`CI must provide the e2e prerequisites: ${loopbackSkip}`);
    ensureBuilt();
    dir = makeWorkDir();
    server = await startLlmServer({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    capture?.kill();
    await server?.close();
    if (dir && !keep) rmSync(dir, { recursive: true, force: true });
  });

  test(
    'records from the capture agree with what the SDKs returned; keys never appear',
    async () => {
      const port = server!.port;
      const pcap = join(dir, 'loopback.pcap');
      capture = await startTcpdump('lo', `tcp port ${port}`, pcap);
      const views = await runAllCalls(`http://127.0.0.1:${port}/v1`, `http://127.0.0.1:${port}`);
      const captured = await capture.stop();
      expect(captured.droppedByKernel, `the capture is whole: ${captured.stderr}`).toBe(0);

      const out = replayCapture(pcap, join(dir, 'loopback.jsonl'));
      expectRecordsMatchSdk(out.calls, views);
      expectNoSecrets(pcap, out);
      loopback = { views, calls: out.calls };
    },
    TEST_TIMEOUT_MS,
  );
});

describe.skipIf(labSkip !== null && !inCi)(title('official SDK clients through a 1500-MTU path with random drops', labSkip), () => {
  let dir = '';
  let lab: VethLab | null = null;
  let server: NsProcess | null = null;
  let capture: TcpdumpCapture | null = null;
  let port = 0;

  beforeAll(async () => {
    if (labSkip !== null) throw new Error(`CI must provide the e2e prerequisites: ${labSkip}`);
    ensureBuilt();
    dir = makeWorkDir();
    // The server runs with plain node inside the namespace: transpile its one file (it imports
    // only node built-ins) instead of depending on a TypeScript loader.
    const script = join(dir, 'llm-server.mjs');
    const source = readFileSync(join(repoRoot, 'test', 'e2e', 'llm-server.ts'), 'utf8');
    writeFileSync(
      script,
      ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText,
    );
    lab = createVethLab();
    server = await spawnInNamespace(lab.serverNs, script, ['--host', lab.serverIp, '--port', '0']);
    port = (JSON.parse(server.firstLine) as { listening: { port: number } }).listening.port;
    addRandomDrops(lab, port, DROP_PROBABILITY);
  });

  afterAll(async () => {
    capture?.kill();
    await server?.stop();
    lab?.destroy();
    if (dir && !keep) rmSync(dir, { recursive: true, force: true });
  });

  test(
    'retransmitted, reordered, MTU-sized segments give the same records as loopback',
    async () => {
      const l = lab!;
      const pcap = join(dir, 'lossy.pcap');
      capture = await startTcpdump(l.hostIf, `tcp port ${port}`, pcap);
      const base = `http://${l.serverIp}:${port}`;
      const views = await runAllCalls(`${base}/v1`, base);
      const captured = await capture.stop();
      // Packets lost by the capture itself (not by the path) would make the records differ for a
      // reason that is not llmtap's: the file must hold everything that crossed hostIf.
      expect(captured.droppedByKernel, `the capture is whole: ${captured.stderr}`).toBe(0);

      // The path really was lossy and segmenting, or this test proves nothing.
      const [toServer, toClient] = dropCounts(l);
      expect(toServer + toClient, 'packets the router dropped').toBeGreaterThan(0);
      const stats = pcapStats(pcap);
      if (l.segmented) expect(stats.maxFrame, 'largest captured frame').toBeLessThanOrEqual(MAX_FRAME);

      const out = replayCapture(pcap, join(dir, 'lossy.jsonl'));
      expectRecordsMatchSdk(out.calls, views);
      expectNoSecrets(pcap, out);

      // Same requests, same answers: the SDKs saw the same thing both times …
      expect(loopback, 'the loopback run must have passed first').not.toBeNull();
      expect(views).toEqual(loopback!.views);
      // … and so must llmtap, whatever TCP had to do to deliver it.
      const byId = (a: LlmCallRecord, b: LlmCallRecord): number => (a.response_id ?? '').localeCompare(b.response_id ?? '');
      expect(out.calls.sort(byId).map(wireIndependent)).toEqual(loopback!.calls.sort(byId).map(wireIndependent));
    },
    TEST_TIMEOUT_MS,
  );
});
