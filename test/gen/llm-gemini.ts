/**
 * Gemini API wire format (https://ai.google.dev/api/generate-content): `:generateContent`,
 * `:streamGenerateContent?alt=sse` (SSE, CRLF line ends as Google's servers send them) and
 * `:streamGenerateContent` without alt (one JSON array streamed element by element).
 * `usageMetadata.promptTokenCount` includes `cachedContentTokenCount`; `thoughtsTokenCount` is on
 * top of `candidatesTokenCount`. Shaped like Gemini CLI's calls.
 */
import type { Header } from './http-wire.js';
import { type ExchangeOptions, type GeneratedExchange, type UsageCounts, type WireEvent, demoKey, finish, generationUs, makePlan, sseEvent, usageCounts } from './llm-common.js';
import { TOOL_SETS } from './llm-text.js';
import type { Rng } from './rng.js';

function usageMetadata(u: UsageCounts): Record<string, unknown> {
  const candidates = u.output - u.reasoning;
  return {
    promptTokenCount: u.input,
    candidatesTokenCount: candidates,
    totalTokenCount: u.input + u.output,
    ...(u.cacheRead ? { cachedContentTokenCount: u.cacheRead } : {}),
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: u.input }],
    ...(u.reasoning ? { thoughtsTokenCount: u.reasoning } : {}),
  };
}

export function generateContent(rng: Rng, o: ExchangeOptions): GeneratedExchange {
  const p = makePlan(rng, o, TOOL_SETS.gemini, 'gem_');
  const model = o.model ?? 'gemini-2.5-flash';
  const contents: { role: string; parts: unknown[] }[] = [];
  const add = (role: string, part: unknown) => {
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(part);
    else contents.push({ role, parts: [part] });
  };
  for (const t of p.conv.turns) {
    if (t.role === 'user') add('user', { text: t.text });
    else if (t.role === 'tool') add('user', { functionResponse: { name: t.name, response: { output: t.result } } });
    else {
      if (t.text) add('model', { text: t.text });
      for (const c of t.toolCalls) add('model', { functionCall: { name: c.name, args: c.args } });
      if (!t.text && t.toolCalls.length === 0) add('model', { text: '.' });
    }
  }
  const req = {
    contents,
    systemInstruction: { role: 'user', parts: [{ text: p.conv.system }] },
    tools: [{ functionDeclarations: p.conv.tools.map((t) => ({ name: t.name, description: t.description, parametersJsonSchema: t.parameters })) }],
    generationConfig: { temperature: 0, topP: 1, ...(o.thinking ? { thinkingConfig: { includeThoughts: true, thinkingBudget: -1 } } : {}) },
  };
  const body = JSON.stringify(req);
  const u = usageCounts(p, body);
  const responseId = rng.alnum(23);
  const gap = o.tokenGapUs ?? 25_000;
  const finishRaw = p.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
  const sse = (o.geminiStream ?? 'sse') === 'sse';
  const chunk = (parts: unknown[], last: boolean) => ({
    candidates: [{ content: { parts, role: 'model' }, ...(last ? { finishReason: finishRaw } : {}), index: 0 }],
    ...(last ? { usageMetadata: usageMetadata(u) } : {}),
    modelVersion: model,
    responseId,
  });
  // Gemini streams in larger pieces than OpenAI/Anthropic: several tokens per chunk.
  const groups: { parts: unknown[]; gapUs: number; outText?: string; reasoning?: string; toolCall?: { id: null; name: string } }[] = [];
  for (let i = 0; i < p.reasoning.length; ) {
    const n = rng.int(8, 30);
    const text = p.reasoning.slice(i, i + n).join('');
    groups.push({ parts: [{ text, thought: true }], gapUs: rng.around(gap * n, 0.3), reasoning: text });
    i += n;
  }
  for (let i = 0; i < p.text.length; ) {
    const n = rng.int(4, 20);
    const text = p.text.slice(i, i + n).join('');
    groups.push({ parts: [{ text }], gapUs: rng.around(gap * n, 0.3), outText: text });
    i += n;
  }
  for (const c of p.calls) groups.push({ parts: [{ functionCall: { name: c.name, args: JSON.parse(c.args) as unknown } }], gapUs: rng.around(gap * 8), toolCall: { id: null, name: c.name } });
  if (groups.length === 0) groups.push({ parts: [{ text: '' }], gapUs: gap });
  const events: WireEvent[] = groups.map((g, i) => {
    const json = JSON.stringify(chunk(g.parts, i === groups.length - 1));
    const text = sse ? sseEvent(null, json, '\r\n') : (i === 0 ? '[' : ',\r\n') + json + (i === groups.length - 1 ? ']' : '');
    const content = !!g.outText || !!g.reasoning || g.toolCall !== undefined;
    return { text, content, gapUs: g.gapUs, ...(g.outText !== undefined ? { outText: g.outText } : {}), ...(g.reasoning ? { reasoning: g.reasoning } : {}), ...(g.toolCall ? { toolCall: g.toolCall } : {}) };
  });
  const fullParts: unknown[] = [];
  if (p.reasoning.length) fullParts.push({ text: p.reasoning.join(''), thought: true });
  if (p.text.length) fullParts.push({ text: p.text.join('') });
  for (const c of p.calls) fullParts.push({ functionCall: { name: c.name, args: JSON.parse(c.args) as unknown } });
  const nonStream: WireEvent[] = [{ text: JSON.stringify(chunk(fullParts, true), null, 2), content: true, gapUs: generationUs(rng, u, gap), outText: p.text.join(''), reasoning: p.reasoning.join('') }];
  const apiKey = o.apiKey ?? demoKey(rng, 'AIzaSy', 27);
  const verb = p.stream ? 'streamGenerateContent' : 'generateContent';
  const target = `/v1beta/models/${model}:${verb}${p.stream && sse ? '?alt=sse' : ''}`;
  const status = o.errorStatus ?? 200;
  const errStatus = status === 429 ? 'RESOURCE_EXHAUSTED' : status === 503 ? 'UNAVAILABLE' : 'INTERNAL';
  const errMsg = status === 429 ? 'Resource has been exhausted (e.g. check quota).' : status === 503 ? 'The model is overloaded. Please try again later.' : 'An internal error has occurred.';
  const responseHeaders: Header[] = [
    ['Vary', 'Origin, X-Origin, Referer'],
    ['Server', 'scaffolding on HTTPServer2'],
    ['X-XSS-Protection', '0'],
    ['X-Frame-Options', 'SAMEORIGIN'],
    ['X-Content-Type-Options', 'nosniff'],
    ['Server-Timing', `gfet4t7; dur=${rng.int(200, 9000)}`],
    ['Alt-Svc', 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'],
  ];
  const normalised = { input_tokens: u.input, output_tokens: u.output, cache_read_tokens: u.cacheRead || null, cache_write_tokens: null, reasoning_tokens: u.reasoning || null };
  return finish(p, {
    host: o.host ?? 'generativelanguage.googleapis.com',
    target,
    headers: [
      ['Content-Type', 'application/json'],
      ['User-Agent', 'GeminiCLI/0.9.0 (linux; x64) google-genai-sdk/1.16.0 gl-node/v20.19.0'],
      ['x-goog-api-client', 'google-genai-sdk/1.16.0 gl-node/v20.19.0'],
      ['x-goog-api-key', apiKey],
      ['Accept', '*/*'],
    ],
    body,
    status,
    reason: status === 200 ? 'OK' : status === 429 ? 'Too Many Requests' : status === 503 ? 'Service Unavailable' : 'Internal Server Error',
    responseHeaders,
    events: status !== 200 ? [{ text: JSON.stringify({ error: { code: status, message: errMsg, status: errStatus } }, null, 2), content: false, gapUs: 0 }] : p.stream ? events : nonStream,
    contentType: status !== 200 ? 'application/json; charset=UTF-8' : p.stream && sse ? 'text/event-stream' : 'application/json; charset=UTF-8',
    apiKey,
    facts: {
      api: 'gemini.generate_content',
      provider: 'google',
      requestModel: model,
      responseModel: status !== 200 ? null : model,
      responseId: status !== 200 ? null : responseId,
      usageWire: status !== 200 ? null : usageMetadata(u),
      usage: status !== 200 ? null : normalised,
      finishReasonRaw: status !== 200 ? null : finishRaw,
      toolCalls: status !== 200 ? [] : p.calls.map((c) => ({ id: null, name: c.name })),
      toolsOffered: p.conv.tools.map((t) => t.name),
      error: status !== 200 ? { type: errStatus, code: String(status), message: errMsg } : null,
    },
    interruptedFacts: { usageWire: null, usage: null, finishReasonRaw: null },
  });
}
