import { describe, expect, it } from 'vitest';
import { decodeExchange } from './registry.js';
import { isVertexRequest } from './cloud-routes.js';
import { makeExchange, sse } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';
import type { HttpExchange } from '../http/types.js';

function decoded(ex: HttpExchange): DecodedCall {
  const r = decodeExchange(ex);
  if (!('call' in r)) throw new Error(`not decoded: ${r.notLlm}`);
  return r.call;
}

const CHAT_RES = {
  id: 'chatcmpl-1',
  model: 'gpt-4.1-mini-2025-04-14',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
};

describe('Azure OpenAI routes', () => {
  it('names the deployment as the request model and the provider azure, behind any host', () => {
    const call = decoded(
      makeExchange({
        target: '/openai/deployments/my-gpt/chat/completions?api-version=2024-02-01',
        reqHeaders: { host: 'llm-gateway.internal', 'content-type': 'application/json' },
        reqBody: { messages: [{ role: 'user', content: 'hi' }] },
        resBody: CHAT_RES,
      }),
    );
    expect(call).toMatchObject({ provider: 'azure', api: 'openai.chat_completions', request_model: 'my-gpt', response_model: 'gpt-4.1-mini-2025-04-14', finish_reason: 'stop' });
  });

  it('reports a prompt blocked by the content filter as finish reason content_filter', () => {
    const call = decoded(
      makeExchange({
        target: '/openai/deployments/my-gpt/chat/completions?api-version=2024-02-01',
        reqBody: { messages: [{ role: 'user', content: 'bad' }] },
        status: 400,
        resBody: { error: { message: 'The response was filtered', type: null, param: 'prompt', code: 'content_filter', status: 400 } },
      }),
    );
    expect(call.error?.type).toBe('content_filter');
    expect(call.finish_reason).toBe('content_filter');
  });

  it('takes a completion the filter cut as content_filter from the stream', () => {
    const call = decoded(
      makeExchange({
        target: '/openai/deployments/d/chat/completions?api-version=2024-10-21',
        reqBody: { messages: [{ role: 'user', content: 'x' }], stream: true },
        resBody: sse({ id: 'c', model: 'gpt-4o', choices: [{ index: 0, delta: { content: 'Hel' }, finish_reason: 'content_filter' }] }, '[DONE]'),
      }),
    );
    expect(call).toMatchObject({ provider: 'azure', finish_reason: 'content_filter', output_text: 'Hel' });
  });

  it('claims /openai/v1/responses on an Azure host, not /openai/responses behind another gateway', () => {
    const body = { model: 'gpt-4.1', input: 'hi' };
    const res = { id: 'resp_1', object: 'response', status: 'completed', model: 'gpt-4.1', output: [], usage: { input_tokens: 1, output_tokens: 0 } };
    const azure = decoded(makeExchange({ target: '/openai/v1/responses', reqHeaders: { host: 'acme.openai.azure.com' }, reqBody: body, resBody: res }));
    expect(azure).toMatchObject({ provider: 'azure', api: 'openai.responses' });
    const other = decoded(makeExchange({ target: '/v1/acct/gw/openai/responses', reqHeaders: { host: 'gateway.ai.cloudflare.com' }, reqBody: body, resBody: res }));
    expect(other.api).toBe('openai.responses');
    expect(other.provider).not.toBe('azure');
  });
});

describe('Vertex AI routes', () => {
  it('decodes Gemini on Vertex with the model from the path (provider google: same prices)', () => {
    const ex = makeExchange({
      target: '/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent',
      reqHeaders: { host: 'us-central1-aiplatform.googleapis.com' },
      reqBody: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] },
      resBody: { candidates: [{ content: { parts: [{ text: 'Hello' }] }, finishReason: 'STOP' }], usageMetadata: { promptTokenCount: 1, candidatesTokenCount: 1 } },
    });
    expect(isVertexRequest(ex.request)).toBe(true);
    expect(decoded(ex)).toMatchObject({ provider: 'google', api: 'gemini.generate_content', request_model: 'gemini-2.0-flash', output_text: 'Hello' });
  });

  it('decodes Anthropic on Vertex (rawPredict, model only in the path)', () => {
    const call = decoded(
      makeExchange({
        target: '/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict',
        reqBody: { anthropic_version: 'vertex-2023-10-16', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] },
        resBody: { id: 'msg_vrtx_1', type: 'message', model: 'claude-3-5-haiku-20241022', content: [{ type: 'text', text: 'Hey' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 2 } },
      }),
    );
    expect(call).toMatchObject({ provider: 'anthropic', request_model: 'claude-3-5-haiku@20241022', output_text: 'Hey', finish_reason: 'stop' });
  });

  it('does not take a plain Gemini API call for Vertex', () => {
    const ex = makeExchange({ target: '/v1beta/models/gemini-2.0-flash:generateContent', reqHeaders: { host: 'generativelanguage.googleapis.com' }, reqBody: {} });
    expect(isVertexRequest(ex.request)).toBe(false);
  });
});

describe('pass 2: Bedrock Converse and Cohere v1 bodies behind a gateway path', () => {
  it('takes a Converse body by its Converse-only members', () => {
    const call = decoded(
      makeExchange({
        target: '/gateway/bedrock-chat',
        reqBody: { messages: [{ role: 'user', content: [{ text: 'hi' }] }], inferenceConfig: { maxTokens: 10 } },
        resBody: { output: { message: { content: [{ text: 'Hello' }] } }, stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1 } },
      }),
    );
    expect(call).toMatchObject({ provider: 'aws', api: 'bedrock.converse', output_text: 'Hello', request_model: null });
  });

  it('takes a Cohere v1 body by chat_history, not a bare {message}', () => {
    const res = { text: 'Hi', generation_id: 'g', finish_reason: 'COMPLETE', meta: { billed_units: { input_tokens: 1, output_tokens: 1 } } };
    const call = decoded(makeExchange({ target: '/gw/cohere', reqBody: { message: 'hi', chat_history: [], model: 'command-r' }, resBody: res }));
    expect(call).toMatchObject({ provider: 'cohere', api: 'cohere.chat', output_text: 'Hi' });
    const bare = decodeExchange(makeExchange({ target: '/gw/other', reqBody: { message: 'hi' }, resBody: res }));
    expect('call' in bare).toBe(false);
  });

  it('leaves OpenAI Chat bodies to the Chat decoder', () => {
    const call = decoded(makeExchange({ target: '/gw/x', reqBody: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }, resBody: CHAT_RES }));
    expect(call.api).toBe('openai.chat_completions');
  });
});
