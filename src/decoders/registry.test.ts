import { describe, expect, it } from 'vitest';
import { classifyExchange, decodeExchange } from './registry.js';
import { makeExchange, type ExchangeSpec } from './test-helpers.test-support.js';

const chatBody = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] };
const anthropicHeaders = { host: 'api.anthropic.com', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };

function api(spec: ExchangeSpec): string {
  const c = classifyExchange(makeExchange(spec));
  return 'decoder' in c ? c.decoder.api : `notLlm:${c.notLlm}`;
}

describe('classifyExchange: pass 1 (route)', () => {
  it('routes by path, ignoring the query', () => {
    expect(api({ target: '/v1/chat/completions', reqBody: chatBody })).toBe('openai.chat_completions');
    expect(api({ target: '/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21', reqBody: { messages: [] } })).toBe('openai.chat_completions');
    expect(api({ target: '/openai/v1/chat/completions', reqBody: chatBody })).toBe('openai.chat_completions');
    expect(api({ target: '/v1/responses', reqBody: { model: 'gpt-5', input: 'hi' } })).toBe('openai.responses');
    expect(api({ target: '/openai/v1/responses?api-version=preview', reqBody: { model: 'gpt-5', input: 'hi' } })).toBe('openai.responses');
    expect(api({ target: '/backend-api/codex/responses', reqBody: { model: 'gpt-5', input: [] } })).toBe('openai.responses');
    expect(api({ target: '/v1/messages?beta=true', reqHeaders: anthropicHeaders, reqBody: { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [] } })).toBe('anthropic.messages');
    expect(api({ target: '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', reqBody: { contents: [] } })).toBe('gemini.generate_content');
  });

  it('names provider endpoints that are not calls', () => {
    expect(api({ target: '/v1/messages/count_tokens?beta=true', reqHeaders: anthropicHeaders, reqBody: { model: 'c', messages: [] } })).toBe('notLlm:count_tokens');
    expect(api({ target: '/v1beta/models/gemini-2.5-flash:countTokens', reqBody: { contents: [] } })).toBe('notLlm:count_tokens');
    expect(api({ target: '/v1/responses/input_tokens', reqBody: { model: 'gpt-5', input: 'hi' } })).toBe('notLlm:count_tokens');
    expect(api({ method: 'GET', target: '/v1/models' })).toBe('notLlm:models_list');
    expect(api({ method: 'GET', target: '/v1beta/models/gemini-2.5-pro' })).toBe('notLlm:models_list');
    expect(api({ target: '/v1/batches', reqBody: { input_file_id: 'f' } })).toBe('notLlm:batch');
    expect(api({ target: '/v1/messages/batches', reqHeaders: anthropicHeaders, reqBody: { requests: [] } })).toBe('notLlm:batch');
    expect(api({ target: '/v1/files', reqBody: 'multipart' })).toBe('notLlm:files');
    expect(api({ target: '/api/event_logging/batch', reqBody: { events: [] } })).toBe('notLlm:telemetry');
    expect(api({ target: '/v1/traces', reqBody: { resourceSpans: [] } })).toBe('notLlm:telemetry');
    expect(api({ method: 'GET', target: '/v1/responses/resp_123' })).toBe('notLlm:not_llm_route');
  });
});

describe('classifyExchange: pass 2 (body shape)', () => {
  it('an HTTP/2 stream whose headers were lost (no method, no path) is told by its body', () => {
    expect(api({ method: '', target: '', reqBody: chatBody })).toBe('openai.chat_completions');
    expect(api({ method: '', target: '', reqBody: { hello: 'world' } })).toBe('notLlm:not_llm_route');
  });

  const gw = '/gateway/route-7';
  it('tells Anthropic from OpenAI Chat by Anthropic-only fields', () => {
    expect(api({ target: gw, reqBody: { model: 'claude-x', max_tokens: 100, system: 'be nice', messages: [{ role: 'user', content: 'hi' }] } })).toBe('anthropic.messages');
    expect(api({ target: gw, reqBody: { anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, messages: [] } })).toBe('anthropic.messages');
    expect(api({ target: gw, reqBody: { model: 'claude-x', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'ok' }] }] } })).toBe('anthropic.messages');
    expect(api({ target: gw, reqBody: chatBody })).toBe('openai.chat_completions');
    expect(api({ target: gw, reqBody: { ...chatBody, max_tokens: 100 } })).toBe('openai.chat_completions');
  });

  it('recognises Responses (input without messages) and Gemini (contents)', () => {
    expect(api({ target: gw, reqBody: { model: 'gpt-5', input: 'hi' } })).toBe('openai.responses');
    expect(api({ target: gw, reqBody: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] } })).toBe('gemini.generate_content');
  });

  it('leaves other bodies alone', () => {
    // Issue 8: embeddings bodies and JSON-RPC (MCP) bodies have their own decoders now.
    expect(api({ target: gw, reqBody: { model: 'text-embedding-3-small', input: 'hi', encoding_format: 'float' } })).toBe('embeddings');
    expect(api({ target: gw, reqBody: { jsonrpc: '2.0', method: 'tools/list', id: 1 } })).toBe('mcp');
    expect(api({ target: gw, reqBody: { jsonrpc: '2.0', result: {}, id: 1 } })).toBe('notLlm:not_llm_route');
    expect(api({ target: gw, reqBody: 'not json at all', reqHeaders: { 'content-type': 'text/plain' } })).toBe('notLlm:not_llm_route');
    expect(api({ target: gw, reqBody: '{"model": "cut', reqHeaders: { 'content-type': 'application/json' } })).toBe('notLlm:not_llm_route');
    expect(api({ target: gw })).toBe('notLlm:not_llm_route');
  });
});

describe('decodeExchange', () => {
  it('decodes a call with the chosen decoder', () => {
    const r = decodeExchange(
      makeExchange({ target: '/v1/chat/completions', reqBody: chatBody, resBody: { id: 'c', model: 'gpt-4o', choices: [{ message: { content: 'yo' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1 } } }),
    );
    expect('call' in r && r.call.output_text).toBe('yo');
  });

  it('passes through the reason for non-calls', () => {
    expect(decodeExchange(makeExchange({ method: 'GET', target: '/v1/models' }))).toEqual({ notLlm: 'models_list' });
  });
});
