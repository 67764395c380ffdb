import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import type { AttributeRule } from '../config/types.js';
import { configurePricing } from '../cost/call-pricer.js';
import { decodeExchange } from '../decoders/registry.js';
import { makeExchange } from '../decoders/test-helpers.test-support.js';
import type { HeaderList, HttpExchange } from '../http/types.js';
import { REDACTED } from '../redact/secrets.js';
import { buildCallRecord, exchangeId, readAttributes, type RecordOptions } from './call-record.js';

const OPENAI_KEY = 'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789';

/** A non-streamed Chat Completions exchange with the given request headers. */
function chatExchange(headers: HeaderList, target = '/v1/chat/completions', model = 'gpt-4o'): HttpExchange {
  return makeExchange({
    target,
    reqHeaders: [['host', 'api.openai.com'], ['content-type', 'application/json'], ...headers],
    reqBody: { model, messages: [{ role: 'user', content: 'hi' }] },
    resBody: {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1_000_000, completion_tokens: 100_000, total_tokens: 1_100_000 },
    },
  });
}

function build(ex: HttpExchange, opts: Partial<RecordOptions> = {}): ReturnType<typeof buildCallRecord> {
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return buildCallRecord(ex, r.call, { source: 'test', fingerprintSalt: 'salt-a', ...opts });
}

const TEAM: AttributeRule = { name: 'team', header: 'X-Team', default: 'unassigned' };
const ENV: AttributeRule = { name: 'env', header: null, default: 'prod' };
const USER: AttributeRule = { name: 'user', header: 'x-user', default: null };

describe('attributes from request headers', () => {
  it('reads each rule’s header, else its default; a fixed attribute always has its default', () => {
    const rec = build(chatExchange([['x-team', 'infra'], ['x-user', 'ada']]), { attributes: [TEAM, ENV, USER] });
    expect(rec.attributes).toEqual({ team: 'infra', env: 'prod', user: 'ada' });
    const bare = build(chatExchange([]), { attributes: [TEAM, ENV, USER] });
    // No header and no default: the attribute is absent, not an empty string.
    expect(bare.attributes).toEqual({ team: 'unassigned', env: 'prod' });
  });

  it('without rules, attributes stay empty', () => {
    expect(build(chatExchange([['x-team', 'infra']])).attributes).toEqual({});
  });

  it('takes the first value, trimmed, without control characters, redacted and capped at 128 characters', () => {
    expect(readAttributes([['x-team', '  infra\u0007 '], ['x-team', 'second']], [TEAM])).toEqual({ team: 'infra' });
    expect(readAttributes([['x-team', '   ']], [TEAM])).toEqual({ team: 'unassigned' });
    expect(readAttributes([['x-team', 'y'.repeat(1_000)]], [TEAM])['team']).toHaveLength(128);
    const rec = build(chatExchange([['x-team', `infra ${OPENAI_KEY}`]]), { attributes: [TEAM] });
    expect(rec.attributes).toEqual({ team: `infra ${REDACTED}` });
    expect(JSON.stringify(rec)).not.toContain(OPENAI_KEY);
  });
});

describe('key fingerprint', () => {
  const reference = (key: string, salt: string): string => `fp_${createHash('sha256').update(salt).update('\0').update(key).digest('hex').slice(0, 12)}`;

  it('is a short salted hash of the key, wherever the request carries it', () => {
    const bearer = build(chatExchange([['authorization', `Bearer ${OPENAI_KEY}`]]));
    expect(bearer.api_key_fingerprint).toBe(reference(OPENAI_KEY, 'salt-a'));
    expect(bearer.api_key_fingerprint).toMatch(/^fp_[0-9a-f]{12}$/);
    const header = build(chatExchange([['api-key', OPENAI_KEY]]));
    expect(header.api_key_fingerprint).toBe(bearer.api_key_fingerprint);
    const query = build(chatExchange([], `/v1/chat/completions?key=${OPENAI_KEY}`));
    expect(query.api_key_fingerprint).toBe(bearer.api_key_fingerprint);
    expect(query.http.path).not.toContain(OPENAI_KEY);
  });

  it('differs by key and by salt; no key, no fingerprint; the key itself is in no field', () => {
    const a = build(chatExchange([['authorization', `Bearer ${OPENAI_KEY}`]]));
    const otherKey = build(chatExchange([['authorization', `Bearer ${OPENAI_KEY}x`]]));
    const otherSalt = build(chatExchange([['authorization', `Bearer ${OPENAI_KEY}`]]), { fingerprintSalt: 'salt-b' });
    expect(new Set([a.api_key_fingerprint, otherKey.api_key_fingerprint, otherSalt.api_key_fingerprint]).size).toBe(3);
    expect(build(chatExchange([])).api_key_fingerprint).toBeNull();
    for (const r of [a, otherKey, otherSalt]) expect(JSON.stringify(r)).not.toContain(OPENAI_KEY.slice(8));
  });
});

describe('endpoints and ids', () => {
  it('the client address is the connection’s client side', () => {
    const ex = chatExchange([]);
    ex.connection.client = { ip: '192.0.2.7', port: 51234 };
    expect(build(ex).client).toEqual({ ip: '192.0.2.7', port: 51234 });
  });

  it('ids are unchanged: a UUIDv7 at the request time whose random bits are the exchange’s SHA-256', () => {
    const ex = chatExchange([]);
    ex.seq = 3;
    const c = ex.connection;
    // The construction before the one-shot hash, byte for byte.
    const digest = createHash('sha256').update(`src|${c.client.ip}|${c.client.port}|${c.server.ip}|${c.server.port}|${ex.request.start}|3`).digest();
    const before = uuidv7({ msecs: Math.floor(ex.request.start / 1000), random: digest.subarray(0, 16) });
    expect(exchangeId(ex, 'src')).toBe(before);
    expect(before.slice(0, 13).replace('-', '')).toBe(Math.floor(ex.request.start / 1000).toString(16).padStart(12, '0'));
    expect(build(ex).id).toBe(exchangeId(ex, 'test'));
  });
});

describe('pricing', () => {
  it('uses the configured pricer when given ($2.50 in / $10 out per M from the table otherwise)', () => {
    expect(build(chatExchange([])).cost_usd).toBeCloseTo(2.5 + 1, 9);
    const pricer = configurePricing({ models: [{ model: 'gpt-4o', provider: 'openai', input_per_mtok: 1, output_per_mtok: 2, cache_read_per_mtok: null, cache_write_per_mtok: null }] });
    const rec = build(chatExchange([]), { pricer });
    expect(rec.cost_usd).toBeCloseTo(1 + 0.2, 9);
    expect(rec.cost_status).toBe('priced');
  });
});
