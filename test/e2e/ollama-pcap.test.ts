/**
 * Pcap in, records out (DESIGN §8) for Ollama's native API: an `/api/chat` NDJSON stream served
 * chunked from 127.0.0.1:11434, one line per chunk 40 ms apart (the lines and counts of a real
 * Ollama stream in the corpus, openllmetry's test_ollama_streaming_chat), and an `/api/embed`
 * call on the same keep-alive connection, written as a capture by test/gen and replayed by the
 * project's pipeline. The records must carry Ollama's counts and durations, the text, the finish
 * reason, and first/last token times from the packets that carried the lines.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LlmCallRecord } from '../../src/core/record.js';
import { isoMicros, type Micros } from '../../src/core/time.js';
import { replayFile } from '../../src/pipeline/replay.js';
import { requestPiece, responsePieces, utf8 } from '../gen/http-wire.js';
import { pcapBytes } from '../gen/pcap-writer.js';
import { buildConnection, type TimedPiece } from '../gen/tcp-conversation.js';

const T0: Micros = Date.UTC(2026, 0, 20, 12, 0, 0) * 1000;
const STEP: Micros = 40_000;
const dir = mkdtempSync(join(tmpdir(), 'llmtap-ollama-pcap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const WORDS = ['Why', ' did', ' the', ' scarecrow', ' win', '?'];
const FINAL = { done: true, done_reason: 'stop', total_duration: 2_612_000_000, load_duration: 1_207_000_000, prompt_eval_count: 17, prompt_eval_duration: 160_000_000, eval_count: 6, eval_duration: 1_201_000_000 };

function chatExchange(start: Micros): { request: TimedPiece[]; response: TimedPiece[]; lineTimes: Micros[] } {
  const body = utf8(JSON.stringify({ model: 'llama3', messages: [{ role: 'user', content: 'Tell me a joke' }] }));
  const req = requestPiece(start, 'POST', '/api/chat', [['Host', '127.0.0.1:11434'], ['User-Agent', 'ollama-python/0.4.7'], ['Content-Type', 'application/json']], body);
  const lines = WORDS.map((w) => ({ model: 'llama3', created_at: '2026-01-20T12:00:00Z', message: { role: 'assistant', content: w }, done: false }));
  lines.push({ model: 'llama3', created_at: '2026-01-20T12:00:01Z', message: { role: 'assistant', content: '' }, ...FINAL });
  const lineTimes = lines.map((_, i) => start + 150_000 + i * STEP);
  const res = responsePieces({
    status: 200,
    reason: 'OK',
    headers: [['Content-Type', 'application/x-ndjson'], ['Date', 'Tue, 20 Jan 2026 12:00:00 GMT']],
    body: lines.map((l, i) => ({ at: lineTimes[i]!, data: utf8(`${JSON.stringify(l)}\n`) })),
    framing: 'chunked',
  });
  return { request: [req], response: res.pieces, lineTimes };
}

function embedExchange(start: Micros): { request: TimedPiece[]; response: TimedPiece[] } {
  const body = utf8(JSON.stringify({ model: 'all-minilm', input: ['a', 'b'] }));
  const req = requestPiece(start, 'POST', '/api/embed', [['Host', '127.0.0.1:11434'], ['Content-Type', 'application/json']], body);
  const vec = Array.from({ length: 384 }, (_, i) => i / 384);
  const res = responsePieces({
    status: 200,
    reason: 'OK',
    headers: [['Content-Type', 'application/json; charset=utf-8']],
    body: [{ at: start + 30_000, data: utf8(JSON.stringify({ model: 'all-minilm', embeddings: [vec, vec], total_duration: 14_143_917, load_duration: 1_019_500, prompt_eval_count: 4 })) }],
    framing: 'content-length',
  });
  return { request: [req], response: res.pieces };
}

describe('Ollama NDJSON over the wire: pcap in, records out', () => {
  it('decodes the stream with Ollama counts, durations and token times, then an embed call', async () => {
    const chat = chatExchange(T0 + 50_000);
    const embed = embedExchange(T0 + 1_000_000);
    const conn = buildConnection({
      client: { ip: '127.0.0.1', port: 51234 },
      server: { ip: '127.0.0.1', port: 11434 },
      start: T0,
      rttUs: 100,
      exchanges: [
        { request: chat.request, response: chat.response },
        { request: embed.request, response: embed.response },
      ],
    });
    const pcap = join(dir, 'ollama.pcap');
    writeFileSync(pcap, pcapBytes(conn.packets.map((p) => ({ ts: p.ts, data: p.data }))));
    const calls: LlmCallRecord[] = [];
    await replayFile(pcap, { source: 'ollama-test', fingerprintSalt: 's', onCall: (r) => calls.push(r) });

    expect(calls.map((c) => c.api)).toEqual(['ollama.chat', 'embeddings']);
    const c = calls[0]!;
    expect(c).toMatchObject({
      provider: 'ollama',
      operation: 'chat',
      stream: true,
      request_model: 'llama3',
      response_model: 'llama3',
      status_code: 200,
      finish_reason: 'stop',
      error: null,
      content: { output_text: WORDS.join('') },
      cost_status: 'unpriced',
    });
    expect(c.usage).toMatchObject({ input_tokens: 17, output_tokens: 6, estimated: false });
    expect(c.usage.raw).toMatchObject({ total_duration: 2_612_000_000, load_duration: 1_207_000_000, eval_duration: 1_201_000_000 });
    // Token times are the capture times of the packets that completed the first and last lines
    // that carried text (the final `done` line carries none).
    const times = conn.exchanges[0]!.responsePieceDone;
    expect(c.timing.first_token).toBe(isoMicros(times[0]!));
    expect(c.timing.last_token).toBe(isoMicros(times[WORDS.length - 1]!));
    expect(c.tpot_ms).toBeCloseTo((times[WORDS.length - 1]! - times[0]!) / 1000 / (6 - 1), 3);
    expect(c.anomalies).toEqual([]);

    const e = calls[1]!;
    expect(e).toMatchObject({ provider: 'ollama', operation: 'embeddings', request_model: 'all-minilm', stream: false });
    expect(e.usage).toMatchObject({ input_tokens: 4, output_tokens: 0 });
    expect(e.usage.raw).toMatchObject({ embedding_count: 2, embedding_dimensions: 384 });
  });
});
