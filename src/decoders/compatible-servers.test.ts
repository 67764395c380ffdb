import { describe, expect, it } from 'vitest';
import { priceCall } from '../cost/call-pricer.js';
import { MARKER_SCAN_BYTES, OPENAI_COMPATIBLE } from './compatible-servers.js';
import { decodeExchange } from './registry.js';
import { makeExchange, sse, T0, type ExchangeSpec } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

const chatReq = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const chatRes = (extra: object = {}): object => ({
  id: 'c1',
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
  ...extra,
});

function decode(spec: ExchangeSpec): DecodedCall {
  const r = decodeExchange(makeExchange(spec));
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

function providerOf(host: string | null, extra: Partial<ExchangeSpec> = {}): string {
  const reqHeaders: Record<string, string> = { 'content-type': 'application/json' };
  if (host !== null) reqHeaders['host'] = host;
  return decode({ target: '/v1/chat/completions', reqHeaders, reqBody: chatReq, resBody: chatRes(), ...extra }).provider;
}

describe('compatible servers: provider of OpenAI-shaped calls', () => {
  it('by host', () => {
    expect(providerOf('api.openai.com')).toBe('openai');
    expect(providerOf('api.mistral.ai')).toBe('mistral');
    expect(providerOf('api.groq.com')).toBe('groq');
    expect(providerOf('api.together.xyz')).toBe('together');
    expect(providerOf('api.voyageai.com')).toBe('voyage');
    expect(providerOf('myres.openai.azure.com')).toBe('azure');
  });

  it("by OpenAI's own response headers behind any host (a gateway relaying OpenAI)", () => {
    expect(providerOf('llm-gw.internal:8080', { resHeaders: { 'content-type': 'application/json', 'openai-organization': 'org-x' } })).toBe('openai');
    expect(providerOf('llm-gw.internal:8080', { resHeaders: { 'content-type': 'application/json', 'x-groq-id': 'req_1' } })).toBe('groq');
  });

  it('by body features of self-hosted servers', () => {
    expect(providerOf('10.0.0.5:8080', { resBody: chatRes({ timings: { prompt_n: 10, predicted_n: 2 } }) })).toBe('llamacpp');
    expect(providerOf('10.0.0.5:8000', { resBody: chatRes({ prompt_logprobs: null, kv_transfer_params: null }) })).toBe('vllm');
    expect(providerOf('gpu-box:9000', { resBody: chatRes({ system_fingerprint: 'fp_ollama' }) })).toBe('ollama');
    expect(providerOf('proxy.local', { resBody: chatRes({ provider: 'OpenAI' }) })).toBe('openrouter');
    // Groq's x_groq rides the stream's chunks.
    const stream = sse({ id: 'c', model: 'llama-3.1-8b-instant', choices: [{ index: 0, delta: { content: 'hi' } }], x_groq: { id: 'req_1' } }, { id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }, '[DONE]');
    expect(providerOf('gw.local', { reqBody: { ...chatReq, stream: true }, resBody: stream })).toBe('groq');
  });

  it("by Ollama's and LM Studio's default ports when nothing else tells", () => {
    expect(providerOf('localhost:11434')).toBe('ollama');
    expect(providerOf('127.0.0.1:1234')).toBe('lmstudio');
  });

  it('an unknown server is openai_compatible and unpriced, even with an OpenAI model name', () => {
    const call = decode({ target: '/v1/chat/completions', reqHeaders: { host: '192.168.1.20:8000' }, reqBody: chatReq, resBody: chatRes() });
    expect(call.provider).toBe(OPENAI_COMPATIBLE);
    const cost = priceCall({ provider: call.provider, response_model: call.response_model, request_model: call.request_model, usage: call.usage, atMs: T0 / 1000 });
    expect(cost.cost_status).toBe('unpriced');
    // The same call answered by OpenAI is priced.
    const openai = decode({ target: '/v1/chat/completions', reqHeaders: { host: 'api.openai.com' }, reqBody: chatReq, resBody: chatRes() });
    expect(priceCall({ provider: openai.provider, response_model: openai.response_model, request_model: openai.request_model, usage: openai.usage, atMs: T0 / 1000 }).cost_status).toBe('priced');
  });

  it('without any host (HTTP/2 headers lost) keeps the decoder guess', () => {
    expect(providerOf(null)).toBe('openai');
  });

  it('does not search a long body past its head and tail', () => {
    const filler = 'x'.repeat(MARKER_SCAN_BYTES * 2);
    const hidden = chatRes({ padding: filler, timings: { prompt_n: 1 }, padding2: filler });
    expect(providerOf('10.0.0.5:8080', { resBody: hidden })).toBe(OPENAI_COMPATIBLE);
  });

  it('leaves other APIs alone', () => {
    const call = decode({
      target: '/v1/messages',
      reqHeaders: { host: '10.0.0.5:8080', 'anthropic-version': '2023-06-01' },
      reqBody: { model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] },
      resBody: { id: 'm', type: 'message', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'yo' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } },
    });
    expect(call.provider).toBe('anthropic');
  });
});
