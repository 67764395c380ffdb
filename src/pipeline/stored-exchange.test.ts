import { describe, expect, it } from 'vitest';
import { isoMicros } from '../core/time.js';
import { makeExchange, T0 } from '../decoders/test-helpers.test-support.js';
import { chunk, EVENTSTREAM, frames } from '../decoders/bedrock-test-helpers.test-support.js';
import { decodeExchange } from '../decoders/registry.js';
import type { HttpExchange } from '../http/types.js';
import { buildCallRecord } from './call-record.js';
import { buildStoredExchange } from './stored-exchange.js';

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
