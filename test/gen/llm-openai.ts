/**
 * OpenAI wire formats: Chat Completions (https://platform.openai.com/docs/api-reference/chat, the
 * streaming chunk object, `stream_options.include_usage` → a final chunk with `choices: []`) and
 * Responses (https://platform.openai.com/docs/api-reference/responses-streaming, `response.*`
 * events, usage in `response.completed`).
 */
import type { Header } from './http-wire.js';
import {
  type ExchangeOptions,
  type GeneratedExchange,
  type UsageCounts,
  type WireEvent,
  demoKey,
  finish,
  fragments,
  generationUs,
  makePlan,
  sseEvent,
  tokenGroups,
  usageCounts,
  uuidish,
} from './llm-common.js';
import { TOOL_SETS } from './llm-text.js';
import type { Rng } from './rng.js';

function openaiHeaders(rng: Rng, reqId: string): Header[] {
  return [
    ['Connection', 'keep-alive'],
    ['openai-organization', 'demo-org'],
    ['openai-processing-ms', String(rng.int(80, 900))],
    ['openai-version', '2020-10-01'],
    ['x-request-id', reqId],
    ['x-ratelimit-remaining-requests', String(rng.int(100, 9999))],
    // A cookie the redactor must remove.
    ['Set-Cookie', `__cf_bm=demo${rng.alnum(40)}; path=/; HttpOnly; Secure`],
    ['Server', 'cloudflare'],
  ];
}

function rateLimit(model: string): { status: number; reason: string; body: string; error: { type: string; code: string; message: string } } {
  const message = `Rate limit reached for ${model} in organization org-demo on tokens per min (TPM): Limit 30000, Used 29760, Requested 1744. Please try again in 3.008s.`;
  const error = { message, type: 'tokens', param: null, code: 'rate_limit_exceeded' };
  return { status: 429, reason: 'Too Many Requests', body: JSON.stringify({ error }), error: { type: 'tokens', code: 'rate_limit_exceeded', message } };
}

function serverError(status: number): { status: number; reason: string; body: string; error: { type: string; code: string | null; message: string } } {
  const message = 'The server had an error while processing your request. Sorry about that!';
  return { status, reason: status === 503 ? 'Service Unavailable' : 'Internal Server Error', body: JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } }), error: { type: 'server_error', code: null, message } };
}

function errorFor(status: number, model: string) {
  return status === 429 ? rateLimit(model) : serverError(status);
}

function chatUsage(u: UsageCounts): Record<string, unknown> {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cacheRead, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** OpenAI Chat Completions. */
export function chatCompletions(rng: Rng, o: ExchangeOptions): GeneratedExchange {
  const p = makePlan(rng, o, TOOL_SETS.generic, 'call_');
  const requestModel = o.model ?? 'gpt-4o';
  const responseModel = requestModel === 'gpt-4o' ? 'gpt-4o-2024-08-06' : requestModel;
  const includeUsage = o.includeUsage ?? true;
  const messages: unknown[] = [{ role: 'system', content: p.conv.system }];
  for (const t of p.conv.turns) {
    if (t.role === 'user') messages.push({ role: 'user', content: t.text });
    else if (t.role === 'assistant')
      messages.push({
        role: 'assistant',
        content: t.text || null,
        ...(t.toolCalls.length ? { tool_calls: t.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.args) } })) } : {}),
      });
    else messages.push({ role: 'tool', tool_call_id: t.callId, content: t.result });
  }
  const req = {
    model: requestModel,
    messages,
    tools: p.conv.tools.map((t) => ({ type: 'function', function: t })),
    tool_choice: 'auto',
    temperature: 0.2,
    ...(p.stream ? { stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}) } : {}),
  };
  const body = JSON.stringify(req);
  const u = usageCounts(p, body);
  const id = `chatcmpl-${rng.alnum(29)}`;
  const created = Math.floor(o.at / 1e6);
  const fp = `fp_${rng.hex(10)}`;
  const callIds = p.calls.map(() => `call_${rng.alnum(24)}`);
  const finishRaw = p.finish === 'length' ? 'length' : p.finish === 'tool' ? 'tool_calls' : 'stop';
  const gap = o.tokenGapUs ?? 25_000;
  const base = (choices: unknown[], usage: unknown = null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: responseModel,
    service_tier: 'default',
    system_fingerprint: fp,
    choices,
    ...(includeUsage ? { usage } : {}),
  });
  const choice = (delta: unknown, finishReason: string | null = null) => [{ index: 0, delta, logprobs: null, finish_reason: finishReason }];
  const events: WireEvent[] = [];
  const apiKey = o.apiKey ?? demoKey(rng, 'sk-', 32);
  if (p.stream) {
    events.push({ text: sseEvent(null, base(choice({ role: 'assistant', content: '', refusal: null }))), content: false, gapUs: 0 });
    for (const g of tokenGroups(rng, p.reasoning, gap)) events.push({ text: sseEvent(null, base(choice({ reasoning_content: g.text }))), content: true, gapUs: g.gapUs, reasoning: g.text });
    for (const g of tokenGroups(rng, p.text, gap)) events.push({ text: sseEvent(null, base(choice({ content: g.text }))), content: true, gapUs: g.gapUs, outText: g.text });
    p.calls.forEach((c, index) => {
      events.push({ text: sseEvent(null, base(choice({ tool_calls: [{ index, id: callIds[index], type: 'function', function: { name: c.name, arguments: '' } }] }))), content: true, gapUs: rng.around(gap * 3), toolCall: { id: callIds[index]!, name: c.name } });
      for (const a of fragments(c.args, rng.int(3, 8))) events.push({ text: sseEvent(null, base(choice({ tool_calls: [{ index, function: { arguments: a } }] }))), content: true, gapUs: rng.around(gap) });
    });
    events.push({ text: sseEvent(null, base(choice({}, finishRaw))), content: false, gapUs: rng.around(gap) });
    if (includeUsage) events.push({ text: sseEvent(null, base([], chatUsage(u))), content: false, gapUs: 300 });
    events.push({ text: sseEvent(null, '[DONE]'), content: false, gapUs: 100 });
  } else {
    const text = p.text.join('');
    const message = {
      role: 'assistant',
      content: p.calls.length && !text ? null : text,
      ...(p.calls.length ? { tool_calls: p.calls.map((c, i) => ({ id: callIds[i], type: 'function', function: { name: c.name, arguments: c.args } })) } : {}),
      refusal: null,
      annotations: [],
    };
    const res = { id, object: 'chat.completion', created, model: responseModel, choices: [{ index: 0, message, logprobs: null, finish_reason: finishRaw }], usage: chatUsage(u), service_tier: 'default', system_fingerprint: fp };
    events.push({ text: JSON.stringify(res, null, 2), content: true, gapUs: generationUs(rng, u, gap), outText: text });
  }
  const err = o.errorStatus ? errorFor(o.errorStatus, responseModel) : null;
  return finish(p, {
    host: o.host ?? 'api.openai.com',
    target: '/v1/chat/completions',
    headers: [
      ['Authorization', `Bearer ${apiKey}`],
      ['Content-Type', 'application/json'],
      ['Accept', p.stream ? 'text/event-stream' : 'application/json'],
      ['User-Agent', 'OpenAI/Python 1.99.1'],
      ['X-Stainless-Lang', 'python'],
    ],
    body,
    status: err?.status ?? 200,
    reason: err?.reason ?? 'OK',
    responseHeaders: openaiHeaders(rng, `req_${rng.hex(32)}`),
    events: err ? [{ text: err.body, content: false, gapUs: 0 }] : events,
    contentType: err || !p.stream ? 'application/json' : 'text/event-stream; charset=utf-8',
    apiKey,
    facts: {
      api: 'openai.chat_completions',
      provider: 'openai',
      requestModel,
      responseModel: err ? null : responseModel,
      responseId: err ? null : id,
      usageWire: err || (p.stream && !includeUsage) ? null : chatUsage(u),
      usage: err || (p.stream && !includeUsage) ? null : { input_tokens: u.input, output_tokens: u.output, cache_read_tokens: u.cacheRead, cache_write_tokens: null, reasoning_tokens: u.reasoning },
      finishReasonRaw: err ? null : finishRaw,
      toolCalls: err ? [] : p.calls.map((c, i) => ({ id: callIds[i]!, name: c.name })),
      toolsOffered: p.conv.tools.map((t) => t.name),
      error: err ? err.error : null,
    },
    interruptedFacts: { usageWire: null, usage: null, finishReasonRaw: null },
  });
}

function responsesUsage(u: UsageCounts): Record<string, unknown> {
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cacheRead },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoning },
    total_tokens: u.input + u.output,
  };
}

/** OpenAI Responses API, shaped like Codex CLI's calls. */
export function responses(rng: Rng, o: ExchangeOptions): GeneratedExchange {
  const p = makePlan(rng, o, TOOL_SETS.codex, 'call_');
  const model = o.model ?? 'gpt-5-codex';
  const input: unknown[] = [];
  for (const t of p.conv.turns) {
    if (t.role === 'user') input.push({ type: 'message', role: 'user', content: [{ type: 'input_text', text: t.text }] });
    else if (t.role === 'assistant') {
      if (t.text) input.push({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: t.text }] });
      for (const c of t.toolCalls) input.push({ type: 'function_call', name: c.name, arguments: JSON.stringify(c.args), call_id: c.id });
    } else input.push({ type: 'function_call_output', call_id: t.callId, output: t.result });
  }
  const sessionId = uuidish(rng);
  const req = {
    model,
    instructions: p.conv.system,
    input,
    tools: p.conv.tools.map((t) => ({ type: 'function', name: t.name, description: t.description, strict: false, parameters: t.parameters })),
    tool_choice: 'auto',
    parallel_tool_calls: false,
    reasoning: { effort: 'medium', summary: 'auto' },
    store: false,
    stream: p.stream,
    include: ['reasoning.encrypted_content'],
    prompt_cache_key: sessionId,
  };
  const body = JSON.stringify(req);
  const u = usageCounts(p, body);
  const id = `resp_${rng.hex(48)}`;
  const created = Math.floor(o.at / 1e6);
  const gap = o.tokenGapUs ?? 25_000;
  const status = p.finish === 'length' ? 'incomplete' : 'completed';
  const incomplete = p.finish === 'length' ? { reason: 'max_output_tokens' } : null;
  const finishRaw = incomplete ? incomplete.reason : status;
  const resp = (st: string, output: unknown[], usage: unknown) => ({
    id,
    object: 'response',
    created_at: created,
    status: st,
    background: false,
    error: null,
    incomplete_details: st === 'in_progress' ? null : incomplete,
    instructions: p.conv.system.slice(0, 64),
    model,
    output,
    parallel_tool_calls: false,
    reasoning: { effort: 'medium', summary: 'auto' },
    store: false,
    tool_choice: 'auto',
    usage,
  });
  // Output items and their events.
  const items: unknown[] = [];
  const events: WireEvent[] = [];
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>, content: boolean, gapUs: number, extra: Partial<WireEvent> = {}) =>
    events.push({ text: sseEvent(type, { type, sequence_number: seq++, ...data }), content, gapUs, ...extra });
  ev('response.created', { response: resp('in_progress', [], null) }, false, 0);
  ev('response.in_progress', { response: resp('in_progress', [], null) }, false, 0);
  let oi = 0;
  if (p.reasoning.length) {
    const rid = `rs_${rng.hex(48)}`;
    const text = p.reasoning.join('');
    ev('response.output_item.added', { output_index: oi, item: { id: rid, type: 'reasoning', summary: [] } }, false, 0);
    for (const g of tokenGroups(rng, p.reasoning, gap)) ev('response.reasoning_summary_text.delta', { item_id: rid, output_index: oi, summary_index: 0, delta: g.text }, true, g.gapUs, { reasoning: g.text });
    const item = { id: rid, type: 'reasoning', summary: [{ type: 'summary_text', text }], encrypted_content: `gAAAAA${rng.alnum(120)}` };
    ev('response.output_item.done', { output_index: oi, item }, false, 200);
    items.push(item);
    oi++;
  }
  if (p.text.length) {
    const mid = `msg_${rng.hex(48)}`;
    const text = p.text.join('');
    ev('response.output_item.added', { output_index: oi, item: { id: mid, type: 'message', status: 'in_progress', content: [], role: 'assistant' } }, false, 0);
    ev('response.content_part.added', { item_id: mid, output_index: oi, content_index: 0, part: { type: 'output_text', annotations: [], logprobs: [], text: '' } }, false, 0);
    for (const g of tokenGroups(rng, p.text, gap)) ev('response.output_text.delta', { item_id: mid, output_index: oi, content_index: 0, delta: g.text, logprobs: [] }, true, g.gapUs, { outText: g.text });
    const part = { type: 'output_text', annotations: [], logprobs: [], text };
    ev('response.output_text.done', { item_id: mid, output_index: oi, content_index: 0, text, logprobs: [] }, false, 200);
    ev('response.content_part.done', { item_id: mid, output_index: oi, content_index: 0, part }, false, 0);
    const item = { id: mid, type: 'message', status: 'completed', content: [part], role: 'assistant' };
    ev('response.output_item.done', { output_index: oi, item }, false, 0);
    items.push(item);
    oi++;
  }
  const callIds: string[] = [];
  for (const c of p.calls) {
    const fid = `fc_${rng.hex(48)}`;
    const callId = `call_${rng.alnum(24)}`;
    callIds.push(callId);
    ev('response.output_item.added', { output_index: oi, item: { id: fid, type: 'function_call', status: 'in_progress', arguments: '', call_id: callId, name: c.name } }, true, rng.around(gap * 3), {
      toolCall: { id: callId, name: c.name },
    });
    for (const a of fragments(c.args, rng.int(3, 8))) ev('response.function_call_arguments.delta', { item_id: fid, output_index: oi, delta: a }, true, rng.around(gap));
    ev('response.function_call_arguments.done', { item_id: fid, output_index: oi, arguments: c.args }, false, 200);
    const item = { id: fid, type: 'function_call', status: 'completed', arguments: c.args, call_id: callId, name: c.name };
    ev('response.output_item.done', { output_index: oi, item }, false, 0);
    items.push(item);
    oi++;
  }
  const finalType = status === 'completed' ? 'response.completed' : 'response.incomplete';
  ev(finalType, { response: resp(status, o.emptyCompletedOutput ? [] : items, responsesUsage(u)) }, false, rng.around(gap));
  const apiKey = o.apiKey ?? demoKey(rng, 'sk-proj-', 40);
  const nonStream: WireEvent[] = [{ text: JSON.stringify(resp(status, items, responsesUsage(u)), null, 2), content: true, gapUs: generationUs(rng, u, gap), outText: p.text.join('') }];
  const err = o.errorStatus ? errorFor(o.errorStatus, model) : null;
  return finish(p, {
    host: o.host ?? 'api.openai.com',
    target: '/v1/responses',
    headers: [
      ['Authorization', `Bearer ${apiKey}`],
      ['Content-Type', 'application/json'],
      ['Accept', p.stream ? 'text/event-stream' : 'application/json'],
      ['originator', 'codex_cli_rs'],
      ['User-Agent', 'codex_cli_rs/0.46.0 (Ubuntu 24.4.0; x86_64) xterm-256color'],
      ['session_id', sessionId],
      ['version', '0.46.0'],
    ],
    body,
    status: err?.status ?? 200,
    reason: err?.reason ?? 'OK',
    responseHeaders: openaiHeaders(rng, `req_${rng.hex(32)}`),
    events: err ? [{ text: err.body, content: false, gapUs: 0 }] : p.stream ? events : nonStream,
    contentType: err || !p.stream ? 'application/json' : 'text/event-stream; charset=utf-8',
    apiKey,
    facts: {
      api: 'openai.responses',
      provider: 'openai',
      requestModel: model,
      responseModel: err ? null : model,
      responseId: err ? null : id,
      usageWire: err ? null : responsesUsage(u),
      usage: err ? null : { input_tokens: u.input, output_tokens: u.output, cache_read_tokens: u.cacheRead, cache_write_tokens: null, reasoning_tokens: u.reasoning },
      finishReasonRaw: err ? null : finishRaw,
      toolCalls: err ? [] : p.calls.map((c, i) => ({ id: callIds[i]!, name: c.name })),
      toolsOffered: p.conv.tools.map((t) => t.name),
      error: err ? err.error : null,
    },
    interruptedFacts: { usageWire: null, usage: null, finishReasonRaw: null },
  });
}
