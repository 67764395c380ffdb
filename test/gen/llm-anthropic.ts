/**
 * Anthropic Messages wire format (https://docs.anthropic.com/en/api/messages-streaming):
 * message_start (usage with input and cache counts) → content_block_start/delta/stop per block,
 * keyed by `index` (thinking, text, parallel tool_use) → message_delta (stop_reason, output usage)
 * → message_stop; `ping` and in-stream `error` events. Shaped like Claude Code's calls.
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

/** Anthropic's `input_tokens` excludes cache reads and writes (they are counted beside it). */
function startUsage(u: UsageCounts): Record<string, unknown> {
  return {
    input_tokens: u.input - u.cacheRead - u.cacheWrite,
    cache_creation_input_tokens: u.cacheWrite,
    cache_read_input_tokens: u.cacheRead,
    output_tokens: 1,
    service_tier: 'standard',
  };
}

export function messages(rng: Rng, o: ExchangeOptions): GeneratedExchange {
  const p = makePlan(rng, o, TOOL_SETS.claude, 'toolu_01');
  const model = o.model ?? 'claude-sonnet-4-5-20250929';
  // Alternating roles: tool results travel in a user message, merged with any user text after.
  const msgs: { role: string; content: unknown[] }[] = [];
  const add = (role: string, block: unknown) => {
    const last = msgs[msgs.length - 1];
    if (last && last.role === role) last.content.push(block);
    else msgs.push({ role, content: [block] });
  };
  for (const t of p.conv.turns) {
    if (t.role === 'user') add('user', { type: 'text', text: t.text });
    else if (t.role === 'tool') add('user', { type: 'tool_result', tool_use_id: t.callId, content: t.result });
    else {
      if (t.text) add('assistant', { type: 'text', text: t.text });
      for (const c of t.toolCalls) add('assistant', { type: 'tool_use', id: c.id, name: c.name, input: c.args });
      if (!t.text && t.toolCalls.length === 0) add('assistant', { type: 'text', text: '.' });
    }
  }
  const sessionId = uuidish(rng);
  const req = {
    model,
    max_tokens: 32000,
    messages: msgs,
    system: [
      { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." },
      { type: 'text', text: p.conv.system, cache_control: { type: 'ephemeral' } },
    ],
    tools: p.conv.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters })),
    metadata: { user_id: `user_${rng.hex(64)}_account__session_${sessionId}` },
    ...(o.thinking ? { thinking: { type: 'enabled', budget_tokens: 10000 } } : { temperature: 1 }),
    ...(p.stream ? { stream: true } : {}),
  };
  const body = JSON.stringify(req);
  const u = usageCounts(p, body);
  const id = `msg_01${rng.alnum(22)}`;
  const gap = o.tokenGapUs ?? 25_000;
  const stopReason = p.finish === 'length' ? 'max_tokens' : p.finish === 'tool' ? 'tool_use' : 'end_turn';
  const toolIds = p.calls.map(() => `toolu_01${rng.alnum(22)}`);
  const signature = `Eq${rng.alnum(200)}==`;
  const events: WireEvent[] = [];
  const ev = (type: string, data: Record<string, unknown>, content: boolean, gapUs: number, extra: Partial<WireEvent> = {}) =>
    events.push({ text: sseEvent(type, { type, ...data }), content, gapUs, ...extra });
  const textGroups = tokenGroups(rng, p.text, gap);
  // In-stream error: the server gives up after some of the text deltas.
  const cutAt = o.inStreamError ? rng.int(1, Math.max(1, textGroups.length - 1)) : -1;
  ev('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: startUsage(u) } }, false, 0);
  let index = 0;
  if (p.reasoning.length) {
    ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '', signature: '' } }, false, 0);
    ev('ping', {}, false, 0);
    for (const g of tokenGroups(rng, p.reasoning, gap)) ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: g.text } }, true, g.gapUs, { reasoning: g.text });
    ev('content_block_delta', { index, delta: { type: 'signature_delta', signature } }, false, rng.around(gap));
    ev('content_block_stop', { index }, false, 100);
    index++;
  }
  let errored = false;
  if (p.text.length) {
    ev('content_block_start', { index, content_block: { type: 'text', text: '' } }, false, 0);
    if (index === 0) ev('ping', {}, false, 0);
    let n = 0;
    for (const g of textGroups) {
      ev('content_block_delta', { index, delta: { type: 'text_delta', text: g.text } }, true, g.gapUs, { outText: g.text });
      n++;
      if (n === cutAt) {
        errored = true;
        break;
      }
    }
    if (!errored) ev('content_block_stop', { index }, false, 100);
    index++;
  }
  if (errored) {
    ev('error', { error: { type: 'overloaded_error', message: 'Overloaded' } }, false, rng.around(gap * 4));
  } else {
    for (let k = 0; k < p.calls.length; k++) {
      const c = p.calls[k]!;
      ev('content_block_start', { index, content_block: { type: 'tool_use', id: toolIds[k], name: c.name, input: {} } }, true, rng.around(gap * 3), {
        toolCall: { id: toolIds[k]!, name: c.name },
      });
      ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } }, false, 0);
      for (const a of fragments(c.args, rng.int(3, 8))) ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: a } }, true, rng.around(gap));
      ev('content_block_stop', { index }, false, 100);
      index++;
    }
    ev('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: u.output } }, false, rng.around(gap));
    ev('message_stop', {}, false, 100);
  }
  // Non-streamed body.
  const content: unknown[] = [];
  if (p.reasoning.length) content.push({ type: 'thinking', thinking: p.reasoning.join(''), signature });
  if (p.text.length) content.push({ type: 'text', text: p.text.join('') });
  p.calls.forEach((c, k) => content.push({ type: 'tool_use', id: toolIds[k], name: c.name, input: JSON.parse(c.args) as unknown }));
  const fullUsage = { ...startUsage(u), output_tokens: u.output };
  const nonStream: WireEvent[] = [
    {
      text: JSON.stringify({ id, type: 'message', role: 'assistant', model, content, stop_reason: stopReason, stop_sequence: null, usage: fullUsage }),
      content: true,
      gapUs: generationUs(rng, u, gap),
      outText: p.text.join(''),
      reasoning: p.reasoning.join(''),
    },
  ];
  const apiKey = o.apiKey ?? demoKey(rng, 'sk-ant-api03-', 40);
  const status = o.errorStatus ?? 200;
  const errType = status === 429 ? 'rate_limit_error' : status === 529 ? 'overloaded_error' : 'api_error';
  const errMsg = status === 429 ? 'This request would exceed the rate limit for your organization of 400,000 input tokens per minute.' : status === 529 ? 'Overloaded' : 'Internal server error';
  const reqId = `req_011C${rng.alnum(20)}`;
  const responseHeaders: Header[] = [
    ['Connection', 'keep-alive'],
    ['Cache-Control', 'no-cache'],
    ['request-id', reqId],
    ['anthropic-organization-id', uuidish(rng)],
    ['via', '1.1 google'],
    ['cf-ray', `${rng.hex(16)}-SJC`],
    ['Server', 'cloudflare'],
    ...(status === 429 ? ([['retry-after', '12']] as Header[]) : []),
  ];
  return finish(p, {
    host: o.host ?? 'api.anthropic.com',
    target: '/v1/messages?beta=true',
    headers: [
      ['Accept', 'application/json'],
      ['Content-Type', 'application/json'],
      ['User-Agent', 'claude-cli/2.0.14 (external, cli)'],
      ['X-Api-Key', apiKey],
      ['anthropic-version', '2023-06-01'],
      ['anthropic-beta', 'claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14'],
      ['x-app', 'cli'],
      ['X-Claude-Code-Session-Id', sessionId],
      ['X-Stainless-Lang', 'js'],
    ],
    body,
    status,
    reason: status === 200 ? 'OK' : status === 429 ? 'Too Many Requests' : status === 529 ? '' : 'Internal Server Error',
    responseHeaders,
    events: status !== 200 ? [{ text: JSON.stringify({ type: 'error', error: { type: errType, message: errMsg }, request_id: reqId }), content: false, gapUs: 0 }] : p.stream ? events : nonStream,
    contentType: status !== 200 || !p.stream ? 'application/json' : 'text/event-stream; charset=utf-8',
    apiKey,
    facts: {
      api: 'anthropic.messages',
      provider: 'anthropic',
      requestModel: model,
      responseModel: status !== 200 ? null : model,
      responseId: status !== 200 ? null : id,
      usageWire: status !== 200 ? null : errored ? startUsage(u) : fullUsage,
      usage:
        status !== 200
          ? null
          : errored
            ? { input_tokens: u.input, output_tokens: 1, cache_read_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite, reasoning_tokens: null }
            : { input_tokens: u.input, output_tokens: u.output, cache_read_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite, reasoning_tokens: null },
      finishReasonRaw: status !== 200 || errored ? null : stopReason,
      toolCalls: status !== 200 || errored ? [] : p.calls.map((c, k) => ({ id: toolIds[k]!, name: c.name })),
      toolsOffered: p.conv.tools.map((t) => t.name),
      error: status !== 200 ? { type: errType, code: null, message: errMsg } : errored ? { type: 'overloaded_error', code: null, message: 'Overloaded' } : null,
    },
    // Cut mid-stream: only message_start's usage made it (output_tokens 1 is the wire's value).
    interruptedFacts: {
      usageWire: startUsage(u),
      usage: { input_tokens: u.input, output_tokens: 1, cache_read_tokens: u.cacheRead, cache_write_tokens: u.cacheWrite, reasoning_tokens: null },
      finishReasonRaw: null,
    },
  });
}
