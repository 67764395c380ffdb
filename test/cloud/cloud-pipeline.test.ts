/**
 * Issue 8: a Bedrock event stream and a Cohere v2 SSE stream written into a capture as HTTP
 * exchanges, replayed through the whole pipeline (TCP, HTTP, decoders, call records): the
 * records say what the generated traffic carried, with token times from the packets.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LlmCallRecord } from '../../src/core/record.js';
import { isoMicros, type Micros } from '../../src/core/time.js';
import { encodeEventMessage } from '../../src/http/eventstream.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { requestPiece, responsePieces, utf8 } from '../gen/http-wire.js';
import { pcapBytes } from '../gen/pcap-writer.js';
import { buildConnection, mergeConnections } from '../gen/tcp-conversation.js';

const dir = mkdtempSync(join(tmpdir(), 'llmtap-cloud-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T: Micros = 1_767_225_600_000_000;
const MS = 1000;

const bedrockEvents: [string, unknown][] = [
  ['messageStart', { role: 'assistant' }],
  ['contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'Sunny ' } }],
  ['contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'in Paris.' } }],
  ['contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 'tu_9', name: 'get_weather' } } }],
  ['contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"city":"Paris"}' } } }],
  ['messageStop', { stopReason: 'tool_use' }],
  ['metadata', { usage: { inputTokens: 40, outputTokens: 17, totalTokens: 57 }, metrics: { latencyMs: 420 } }],
];

const cohereEvents: object[] = [
  { id: 'co-1', type: 'message-start', delta: { message: { role: 'assistant' } } },
  { type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } },
  { type: 'content-delta', index: 0, delta: { message: { content: { text: 'Hello' } } } },
  { type: 'content-delta', index: 0, delta: { message: { content: { text: ' there' } } } },
  { type: 'content-end', index: 0 },
  { type: 'message-end', delta: { finish_reason: 'COMPLETE', usage: { billed_units: { input_tokens: 9, output_tokens: 2 }, tokens: { input_tokens: 200, output_tokens: 3 } } } },
];

/** One connection per exchange; body pieces 30 ms apart starting 200 ms after the request. */
/** SigV4 credentials as the AWS SDKs send them (made-up values of the real shapes). */
const ACCESS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const SIGNATURE = 'fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD6EXAMPLETOKEN';
const AWS_HEADERS: [string, string][] = [
  ['Authorization', `AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=${SIGNATURE}`],
  ['X-Amz-Security-Token', SESSION_TOKEN],
  ['X-Amz-Date', '20260101T000000Z'],
];

function connection(port: number, host: string, target: string, reqBody: object, contentType: string, pieces: Uint8Array[], extraHeaders: [string, string][] = []) {
  const reqAt = T + port * 10 * MS;
  const res = responsePieces({
    status: 200,
    reason: 'OK',
    headers: [['Content-Type', contentType]],
    body: pieces.map((data, i) => ({ at: reqAt + 200 * MS + i * 30 * MS, data })),
    framing: 'chunked',
  });
  return buildConnection({
    client: { ip: '10.1.0.2', port: 40000 + port },
    server: { ip: '10.1.0.9', port: 80 },
    start: reqAt - 5 * MS,
    exchanges: [
      {
        request: [requestPiece(reqAt, 'POST', target, [['Host', host], ['Content-Type', 'application/json'], ...extraHeaders], utf8(JSON.stringify(reqBody)))],
        response: res.pieces,
      },
    ],
  });
}

describe('cloud decoders through the whole pipeline', () => {
  it('turns a captured Bedrock ConverseStream and a Cohere v2 stream into call records', async () => {
    const bedrock = connection(
      1,
      'bedrock-runtime.us-east-1.amazonaws.com',
      '/model/us.anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream',
      { messages: [{ role: 'user', content: [{ text: 'Weather in Paris?' }] }] },
      'application/vnd.amazon.eventstream',
      bedrockEvents.map(([type, payload]) => encodeEventMessage(type, payload)),
      AWS_HEADERS,
    );
    const cohere = connection(
      2,
      'api.cohere.com',
      '/v2/chat',
      { model: 'command-r-plus-08-2024', messages: [{ role: 'user', content: 'Hi' }], stream: true },
      'text/event-stream',
      cohereEvents.map((e) => utf8(`event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`)),
    );
    const path = join(dir, 'cloud.pcap');
    writeFileSync(path, pcapBytes(mergeConnections([bedrock, cohere])));
    const calls: LlmCallRecord[] = [];
    await replayFile(path, { source: 'cloud-test', fingerprintSalt: 'cloud-test', onCall: (r) => calls.push(JSON.parse(JSON.stringify(r)) as LlmCallRecord) });
    expect(calls).toHaveLength(2);
    // The SigV4 credentials never reach a record.
    const all = JSON.stringify(calls);
    for (const secret of [ACCESS_KEY, SIGNATURE, SESSION_TOKEN]) expect(all).not.toContain(secret);

    const b = calls.find((c) => c.api === 'bedrock.converse')!;
    expect(b).toMatchObject({
      provider: 'aws',
      stream: true,
      request_model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
      finish_reason: 'tool_call',
      status_code: 200,
      usage: { input_tokens: 40, output_tokens: 17, estimated: false },
      tool_calls: [{ id: 'tu_9', name: 'get_weather' }],
      anomalies: [],
    });
    expect(b.content?.output_text).toBe('Sunny in Paris.');
    // First content: the 2nd frame (index 1), sent 230 ms after the request; the last content
    // (tool input) is frame 4. Capture times add the one-way delay and segment spacing: within 20 ms.
    const reqAt = T + 10 * MS;
    expect(Date.parse(b.timing.first_token!)).toBeGreaterThanOrEqual(Date.parse(isoMicros(reqAt + 230 * MS)));
    expect(Date.parse(b.timing.first_token!)).toBeLessThan(Date.parse(isoMicros(reqAt + 250 * MS)));
    expect(Date.parse(b.timing.last_token!)).toBeGreaterThanOrEqual(Date.parse(isoMicros(reqAt + 320 * MS)));
    expect(b.cost_status).toBe('priced');

    const c = calls.find((x) => x.api === 'cohere.chat')!;
    expect(c).toMatchObject({
      provider: 'cohere',
      stream: true,
      request_model: 'command-r-plus-08-2024',
      response_id: 'co-1',
      finish_reason: 'stop',
      usage: { input_tokens: 9, output_tokens: 2, estimated: false },
      anomalies: [],
    });
    expect(c.content?.output_text).toBe('Hello there');
  });
});
