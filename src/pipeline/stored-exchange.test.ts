import { describe, expect, it } from 'vitest';
import { isoMicros } from '../core/time.js';
import { makeBody, makeExchange, T0 } from '../decoders/test-helpers.test-support.js';
import { chunk, EVENTSTREAM, frames } from '../decoders/bedrock-test-helpers.test-support.js';
import { decodeExchange } from '../decoders/registry.js';
import type { HttpExchange } from '../http/types.js';
import { buildCallRecord } from './call-record.js';
import { buildStoredExchange, buildStoredExchangeInput } from './stored-exchange.js';

function stored(ex: HttpExchange) {
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(r.notLlm);
  return buildStoredExchange(ex, buildCallRecord(ex, r.call, { source: 't', fingerprintSalt: 's' }));
}

describe('stored AWS event stream events', () => {
  it('keeps each ConverseStream frame as an event with its type, JSON payload and capture time', () => {
    const ex = makeExchange({
      target: '/model/m/converse-stream',
      reqBody: { messages: [] },
      resHeaders: EVENTSTREAM,
      resBody: frames(T0 + 1000, 500, ['messageStart', { role: 'assistant' }], ['messageStop', { stopReason: 'end_turn' }]),
    });
    expect(stored(ex).response_events).toEqual([
      { ts: isoMicros(T0 + 1000), event: 'messageStart', data: '{"role":"assistant"}' },
      { ts: isoMicros(T0 + 1500), event: 'messageStop', data: '{"stopReason":"end_turn"}' },
    ]);
  });

  it('stores an invoke stream chunk’s base64 bytes decoded, and redacts secrets in it', () => {
    const ex = makeExchange({
      target: '/model/meta.llama3-8b-instruct-v1%3A0/invoke-with-response-stream',
      reqBody: { prompt: 'x' },
      resHeaders: EVENTSTREAM,
      resBody: frames(T0, 1, chunk({ generation: 'key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789', stop_reason: 'stop' })),
    });
    const events = stored(ex).response_events!;
    expect(events).toHaveLength(1);
    expect(events[0]!.event).toBe('chunk');
    expect(events[0]!.data).toContain('"stop_reason":"stop"');
    expect(events[0]!.data).not.toContain('abcdefghijklmnopqrstuvwxyz0123456789');
  });
});

describe('stored SSE events', () => {
  const chat = (sse: string) =>
    makeExchange({ target: '/v1/chat/completions', reqBody: { model: 'gpt-4o', stream: true, messages: [] }, resBody: sse });
  const delta = (text: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })}\n\n`;
  const KEY = 'sk-proj-abcdefghijklmnopqrstuvwx';

  it('redacts a key in an event and in the body', () => {
    const x = stored(chat(`${delta('hello')}${delta(`my key ${KEY}`)}data: [DONE]\n\n`));
    expect(x.response_events!.map((e) => e.data).join('\n')).toContain('[REDACTED]');
    expect(JSON.stringify(x)).not.toContain(KEY);
  });

  it('redacts a key that only data lines joined by LF make (no key in the body text itself)', () => {
    // In the body the token follows "Bearer\ndata: ", which the key pattern does not take; the
    // event's data joins the lines as "Bearer\n<token>", which it does.
    const token = 'abcdefghijklmnop1234567890';
    const x = stored(chat(`${delta('hi')}data: Bearer\ndata: ${token}\n\ndata: [DONE]\n\n`));
    expect(x.response_body).toContain(token);
    const joined = x.response_events!.find((e) => e.data.startsWith('Bearer'));
    expect(joined?.data).toBe('Bearer\n[REDACTED]');
  });

  it('keeps single-line event data as it was when nothing in the body is a key', () => {
    const x = stored(chat(`${delta('a task_id and an AI zone')}data: [DONE]\n\n`));
    expect(x.response_events!.map((e) => e.data)).toEqual([
      JSON.stringify({ choices: [{ index: 0, delta: { content: 'a task_id and an AI zone' } }] }),
      '[DONE]',
    ]);
  });
});

describe('bodies kept as bytes (buildStoredExchangeInput)', () => {
  const KEY = 'sk-proj-abcdefghijklmnopqrstuvwx';
  const text = (b: string | Uint8Array | null): string | null => (b === null || typeof b === 'string' ? b : Buffer.from(b).toString('utf8'));
  /** The exchange built both ways, request body given as raw bytes in two chunks. */
  function both(body: Uint8Array) {
    const ex = makeExchange({ target: '/v1/chat/completions', reqBody: { model: 'gpt-4o', messages: [] }, resBody: { id: 'r', choices: [] } });
    const r = decodeExchange(ex);
    if (!('call' in r)) throw new Error(r.notLlm);
    const record = buildCallRecord(ex, r.call, { source: 't', fingerprintSalt: 's' });
    // The body stored is the exchange's, whatever the record says.
    const half = body.length >> 1;
    ex.request.body = makeBody([{ data: body.subarray(0, half), ts: T0 }, { data: body.subarray(half), ts: T0 }], T0);
    return { asText: buildStoredExchange(ex, record), asBytes: buildStoredExchangeInput(ex, record) };
  }
  const cases: [string, Uint8Array][] = [
    ['plain UTF-8', Buffer.from('{"content":"héllo 🦆 wörld"}')],
    ['a key, redacted', Buffer.from(`{"content":"my key ${KEY} é"}`)],
    ['invalid UTF-8, decoded with replacement', Buffer.from([0x7b, 0x22, 0xff, 0xc3, 0x22, 0x7d])],
    ['a byte order mark, dropped', Buffer.from('\uFEFF{"a":"b"}')],
    ['over the cap, head and tail kept', Buffer.from(`{"a":"${'é'.repeat(200_000)}${KEY}"}`)],
    // Each invalid byte decodes to U+FFFD, 3 bytes: cut as bytes, head and tail would differ.
    ['invalid UTF-8 over the cap', Buffer.concat([Buffer.alloc(200_000, 0xff), Buffer.alloc(200_000, 0x61)])],
  ];
  it.each(cases)('stores the same text as the text path: %s', (_name, body) => {
    const { asText, asBytes } = both(body);
    expect(text(asBytes.request_body)).toBe(asText.request_body);
    expect(text(asBytes.response_body)).toBe(asText.response_body);
    expect({ ...asBytes, request_body: null, response_body: null }).toEqual({ ...asText, request_body: null, response_body: null });
  });

  it('keeps a body with no key as bytes of its own (no view of a larger buffer), and never a key', () => {
    const big = Buffer.from(`xx{"content":"héllo"}xx`);
    const { asBytes } = both(big.subarray(2, big.length - 2));
    expect(asBytes.request_body).toBeInstanceOf(Uint8Array);
    const b = asBytes.request_body as Uint8Array;
    expect(b.byteLength).toBe(b.buffer.byteLength);
    expect(text(b)).toBe('{"content":"héllo"}');
    expect(text(both(Buffer.from(`{"k":"${KEY}"}`)).asBytes.request_body)).not.toContain(KEY);
  });
});
