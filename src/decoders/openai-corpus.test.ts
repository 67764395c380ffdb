/**
 * Corpus conformance (DESIGN §8 "every decoder is run over recorded real traffic"): every recorded
 * OpenAI Chat Completions / Responses body in ../shared/corpus is decoded, and what the decoder
 * reports is checked against what the recording itself states (the final usage chunk, the
 * terminal response, the JSON body). Expectations are read from the payloads with a plain
 * line-split here, independently of the decoder's SSE and JSON paths.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { corpusDir } from '../../test/corpus.js';
import type { HeaderList, HttpExchange } from '../http/types.js';
import { openaiChatDecoder } from './openai-chat.js';
import { openaiResponsesDecoder } from './openai-responses.js';
import { decodeExchange } from './registry.js';
import { makeExchange, T0, type ChunkSpec } from './test-helpers.test-support.js';
import type { DecodedCall } from './types.js';

type Json = Record<string, unknown>;
type Kind = 'chat' | 'responses';

interface Case {
  name: string;
  kind: Kind;
  ex: HttpExchange;
  /** Response body text, for the expectations. */
  body: string;
  stream: boolean;
  /** Decode through the registry (true for cassettes, which carry the real path and headers). */
  viaRegistry: boolean;
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asStr = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const asNum = (v: unknown): number | null => (typeof v === 'number' ? v : null);

function tryJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

/** `data:` payloads of an SSE text, by plain line split (no multi-line events in this corpus). */
function dataPayloads(text: string): Json[] {
  const out: Json[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('data:')) continue;
    const v = tryJson(line.slice(5).trim());
    if (isObj(v)) out.push(v);
  }
  return out;
}

/** Body pieces, one per SSE event, 1 ms apart: decoding must not depend on how bytes arrive, and
 * the timing fields get something to measure. */
function eventChunks(text: string): ChunkSpec[] {
  const parts = text.split(/(?<=\n\n)/);
  return parts.map((p, i) => ({ data: p, ts: T0 + 200_000 + i * 1000 }));
}

function kindOfText(text: string): Kind {
  return /"type"\s*:\s*"response\./.test(text) || /"object"\s*:\s*"response"/.test(text) ? 'responses' : 'chat';
}

// ---------------------------------------------------------------------------------------------
// Expectations read from the recording.

function checkChatStream(call: DecodedCall, body: string, name: string): void {
  const chunks = dataPayloads(body);
  let usage: Json | null = null;
  let model: string | null = null;
  let finish: string | null = null;
  let text = '';
  let textIsString = true;
  let error = false;
  const names = new Map<number, string>();
  for (const c of chunks) {
    if (c['error'] !== undefined) error = true;
    const u = c['usage'] ?? (isObj(c['x_groq']) ? c['x_groq']['usage'] : undefined);
    if (isObj(u)) usage = u;
    const m = asStr(c['model']);
    if (model === null && m !== null && m !== '') model = m;
    for (const ch of Array.isArray(c['choices']) ? c['choices'] : []) {
      if (!isObj(ch) || (asNum(ch['index']) ?? 0) !== 0) continue;
      const fr = asStr(ch['finish_reason']);
      if (fr !== null && fr !== '') finish = fr;
      const d = isObj(ch['delta']) ? ch['delta'] : null;
      if (d === null) continue;
      if (typeof d['content'] === 'string') text += d['content'];
      else if (d['content'] !== undefined && d['content'] !== null) textIsString = false;
      if (typeof d['refusal'] === 'string') text += d['refusal'];
      for (const tc of Array.isArray(d['tool_calls']) ? d['tool_calls'] : []) {
        if (!isObj(tc)) continue;
        const fn = isObj(tc['function']) ? tc['function'] : {};
        const n = asStr(fn['name']);
        const idx = asNum(tc['index']) ?? names.size;
        if (n !== null && n !== '' && !names.has(idx)) names.set(idx, n);
      }
    }
  }
  expect(call.stream, name).toBe(true);
  expect(call.response_model, name).toBe(model);
  if (error) {
    expect(call.error, name).not.toBeNull();
    expect(call.finish_reason, name).toBe('error');
  } else {
    expect(call.finish_reason_raw, name).toBe(finish);
  }
  if (textIsString) expect(call.output_text, name).toBe(text);
  expect(call.tool_calls.map((t) => t.name), name).toEqual([...names.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n));
  checkOpenAiUsage(call, usage, name);
  if (call.output_text !== '' || call.tool_calls.length > 0) {
    expect(call.first_token, name).not.toBeNull();
    expect(call.last_token! >= call.first_token!, name).toBe(true);
  }
}

/** The usage object as recorded must be the one we report, and the counts must follow it
 * (Chat names; Responses names; Anthropic names behind an OpenAI path). */
function checkOpenAiUsage(call: DecodedCall, usage: Json | null, name: string): void {
  if (usage === null || (asNum(usage['prompt_tokens']) === null && asNum(usage['input_tokens']) === null)) {
    if (call.usage.raw === null && (call.output_text !== '' || call.tool_calls.length > 0)) expect(call.usage.estimated, name).toBe(true);
    return;
  }
  expect(call.usage.raw, name).toEqual(usage);
  expect(call.usage.estimated, name).toBe(false);
  const prompt = asNum(usage['prompt_tokens']);
  if (prompt !== null) {
    expect(call.usage.input_tokens, name).toBe(prompt);
    const completion = asNum(usage['completion_tokens']);
    const details = isObj(usage['completion_tokens_details']) ? usage['completion_tokens_details'] : {};
    const reasoning = asNum(details['reasoning_tokens']) ?? 0;
    const total = asNum(usage['total_tokens']);
    // xAI's reasoning is outside completion_tokens (total proves it); everyone else's is inside.
    const xaiStyle = completion !== null && reasoning > completion && total === prompt + completion + reasoning;
    expect(call.usage.output_tokens, name).toBe(xaiStyle ? completion + reasoning : completion);
    const pd = isObj(usage['prompt_tokens_details']) ? usage['prompt_tokens_details'] : {};
    if (asNum(pd['cached_tokens']) !== null) expect(call.usage.cache_read_tokens, name).toBe(pd['cached_tokens']);
    return;
  }
  const input = asNum(usage['input_tokens'])!;
  const idt = isObj(usage['input_tokens_details']) ? usage['input_tokens_details'] : null;
  const read = asNum(usage['cache_read_input_tokens']);
  const write = asNum(usage['cache_creation_input_tokens']);
  expect(call.usage.input_tokens, name).toBe(idt === null ? input + (read ?? 0) + (write ?? 0) : input);
  expect(call.usage.output_tokens, name).toBe(asNum(usage['output_tokens']));
  if (idt !== null && asNum(idt['cached_tokens']) !== null) expect(call.usage.cache_read_tokens, name).toBe(idt['cached_tokens']);
}

function checkChatJson(call: DecodedCall, body: string, status: number, name: string): void {
  const j = tryJson(body);
  if (status >= 400 || !isObj(j) || (j['error'] !== undefined && j['choices'] === undefined)) {
    if (status >= 400 || (isObj(j) && j['error'] !== undefined)) expect(call.error, name).not.toBeNull();
    return;
  }
  expect(call.response_id, name).toBe(asStr(j['id']) || null);
  expect(call.response_model, name).toBe(asStr(j['model']) || null);
  const choice = Array.isArray(j['choices']) && isObj(j['choices'][0]) ? j['choices'][0] : {};
  expect(call.finish_reason_raw, name).toBe(asStr(choice['finish_reason']));
  const msg = isObj(choice['message']) ? choice['message'] : {};
  const names = (Array.isArray(msg['tool_calls']) ? msg['tool_calls'] : []).map((t) => (isObj(t) && isObj(t['function']) ? t['function']['name'] : null));
  expect(call.tool_calls.map((t) => t.name), name).toEqual(names);
  if (typeof msg['content'] === 'string') expect(call.output_text.startsWith(msg['content']), name).toBe(true);
  checkOpenAiUsage(call, isObj(j['usage']) ? j['usage'] : null, name);
}

/** Function calls named in a list of Responses output items: each must be among our tool calls. */
function expectFunctionCalls(call: DecodedCall, items: unknown[], name: string): void {
  for (const it of items) {
    if (!isObj(it) || it['type'] !== 'function_call') continue;
    expect(call.tool_calls, name).toContainEqual(expect.objectContaining({ id: it['call_id'], name: it['name'] }));
  }
}

function checkResponsesStream(call: DecodedCall, body: string, name: string): void {
  const events = dataPayloads(body);
  let terminal: Json | null = null;
  let text = '';
  let error = false;
  const doneItems: unknown[] = [];
  for (const e of events) {
    const t = asStr(e['type']);
    if (t === 'response.completed' || t === 'response.incomplete' || t === 'response.failed') terminal = isObj(e['response']) ? e['response'] : null;
    if (t === 'response.output_text.delta' && typeof e['delta'] === 'string') text += e['delta'];
    if (t === 'response.output_item.done') doneItems.push(e['item']);
    if (t === 'error') error = true;
  }
  expect(call.stream, name).toBe(true);
  expect(call.output_text, name).toBe(text);
  expectFunctionCalls(call, doneItems, name);
  if (error || terminal?.['status'] === 'failed') {
    expect(call.error, name).not.toBeNull();
    expect(call.finish_reason, name).toBe('error');
  }
  if (terminal === null) {
    if (!error) expect(call.anomalies, name).toContain('openai_stream_interrupted');
    return;
  }
  expect(call.response_id, name).toBe(terminal['id']);
  expect(call.response_model, name).toBe(asStr(terminal['model']) || null);
  const status = asStr(terminal['status']);
  const reason = isObj(terminal['incomplete_details']) ? asStr(terminal['incomplete_details']['reason']) : null;
  expect(call.finish_reason_raw, name).toBe(status === 'incomplete' ? (reason ?? status) : status);
  if (status === 'completed') {
    const hasFn = doneItems.some((i) => isObj(i) && i['type'] === 'function_call');
    if (hasFn) expect(call.finish_reason, name).toBe('tool_call');
  }
  checkOpenAiUsage(call, isObj(terminal['usage']) ? terminal['usage'] : null, name);
  if (text !== '') {
    expect(call.first_token, name).not.toBeNull();
    expect(call.last_token! >= call.first_token!, name).toBe(true);
  }
}

function checkResponsesJson(call: DecodedCall, body: string, status: number, name: string): void {
  const j = tryJson(body);
  if (status >= 400 || !isObj(j) || (j['output'] === undefined && j['error'] !== undefined)) {
    expect(call.error, name).not.toBeNull();
    return;
  }
  expect(call.response_id, name).toBe(asStr(j['id']) || null);
  expect(call.response_model, name).toBe(asStr(j['model']) || null);
  const items = Array.isArray(j['output']) ? j['output'] : [];
  expectFunctionCalls(call, items, name);
  let text = '';
  for (const it of items) {
    if (!isObj(it) || it['type'] !== 'message') continue;
    for (const p of Array.isArray(it['content']) ? it['content'] : []) if (isObj(p) && typeof p['text'] === 'string') text += p['text'];
  }
  expect(call.output_text, name).toBe(text);
  if (j['status'] === 'failed') expect(call.error, name).not.toBeNull();
  else if (asStr(j['status']) !== null) expect(call.finish_reason, name).not.toBeNull();
  checkOpenAiUsage(call, isObj(j['usage']) ? j['usage'] : null, name);
}

function check(c: Case, call: DecodedCall): void {
  const status = c.ex.response?.status ?? 0;
  // A JSON answer is a streamed call only when the request asked for a stream (e.g. an HTTP 400
  // to a `stream: true` request).
  if (!c.stream) expect(call.stream, c.name).toBe(/"stream"\s*:\s*true/.test(new TextDecoder().decode(c.ex.request.body.chunks[0]?.data)));
  if (c.kind === 'chat') {
    if (c.stream) checkChatStream(call, c.body, c.name);
    else checkChatJson(call, c.body, status, c.name);
  } else if (c.stream) checkResponsesStream(call, c.body, c.name);
  else checkResponsesJson(call, c.body, status, c.name);
}

// ---------------------------------------------------------------------------------------------
// Loading the corpus.

interface ManifestRow {
  local: string;
  provider: string;
  api: string;
  streaming: string;
}

const OPENAI_GROUPS = new Set(['OpenAI Chat Completions', 'OpenAI Responses', 'OpenAI-compatible Chat (other vendors)', 'Other providers (Mistral, Groq)']);

function bodyCase(name: string, kind: Kind, text: string, stream: boolean): Case {
  const target = kind === 'chat' ? '/v1/chat/completions' : '/v1/responses';
  const ex = makeExchange({
    target,
    reqBody: '',
    resBody: stream ? eventChunks(text) : text,
    resHeaders: { 'content-type': stream ? 'text/event-stream' : 'application/json' },
  });
  return { name, kind, ex, body: text, stream, viaRegistry: false };
}

function headersOf(h: unknown): HeaderList {
  const out: HeaderList = [];
  if (!isObj(h)) return out;
  for (const [k, v] of Object.entries(h)) {
    for (const x of Array.isArray(v) ? v : [v]) out.push([k.toLowerCase(), String(x)]);
  }
  return out;
}

function decompress(bytes: Buffer, encoding: string | undefined): Buffer {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return gunzipSync(bytes);
  if (encoding === 'br') return brotliDecompressSync(bytes);
  if (encoding === 'deflate') return inflateSync(bytes);
  return bytes;
}

/** VCR cassette interactions to chat/responses paths (openllmetry: `body` strings, gzip as
 * `!!binary`; pydantic-ai: `parsed_body` objects). */
function cassetteCases(file: string, local: string, excluded: string[]): Case[] {
  const doc: unknown = parseYaml(readFileSync(file, 'utf8'), { schema: 'yaml-1.1' });
  const interactions = isObj(doc) && Array.isArray(doc['interactions']) ? doc['interactions'] : [];
  const out: Case[] = [];
  interactions.forEach((raw, i) => {
    if (!isObj(raw) || !isObj(raw['request']) || !isObj(raw['response'])) return;
    const rq = raw['request'];
    const rs = raw['response'];
    const url = new URL(String(rq['uri']));
    const kind: Kind | null = url.pathname.endsWith('/chat/completions') ? 'chat' : url.pathname.endsWith('/responses') ? 'responses' : null;
    if (kind === null) {
      excluded.push(`${local}#${i}: ${url.pathname} is not a Chat/Responses path`);
      return;
    }
    const reqBody = rq['parsed_body'] !== undefined ? JSON.stringify(rq['parsed_body']) : typeof rq['body'] === 'string' ? rq['body'] : '';
    const resHeaders = headersOf(rs['headers']);
    const rb = isObj(rs['body']) ? rs['body'] : {};
    let text: string;
    const s = rb['string'];
    if (rs['parsed_body'] !== undefined) text = JSON.stringify(rs['parsed_body']);
    else if (rb['parsed_body'] !== undefined) text = JSON.stringify(rb['parsed_body']);
    else if (typeof s === 'string') text = s;
    else if (s instanceof Uint8Array) {
      const enc = resHeaders.find(([k]) => k === 'content-encoding')?.[1];
      try {
        text = decompress(Buffer.from(s), enc).toString('utf8');
      } catch {
        excluded.push(`${local}#${i}: response body does not decompress`);
        return;
      }
    } else text = '';
    // The recorded bytes are decoded: drop the encoding so the headers describe them.
    const headers = resHeaders.filter(([k]) => k !== 'content-encoding' && k !== 'content-length');
    const ct = headers.find(([k]) => k === 'content-type')?.[1] ?? '';
    const stream = ct.includes('text/event-stream') || /^\s*(data|event):/.test(text);
    const status = isObj(rs['status']) ? (asNum(rs['status']['code']) ?? 200) : 200;
    const reqHeaders = headersOf(rq['headers']);
    if (!reqHeaders.some(([k]) => k === 'host')) reqHeaders.push(['host', url.host]);
    const ex = makeExchange({
      method: String(rq['method'] ?? 'POST'),
      target: url.pathname + url.search,
      reqHeaders,
      reqBody,
      status,
      resHeaders: headers,
      resBody: stream ? eventChunks(text) : text,
    });
    out.push({ name: `${local}#${i}`, kind, ex, body: text, stream, viaRegistry: true });
  });
  return out;
}

/** The real Codex exchange annotated by TokenScope: request JSON (part 1) and the de-chunked
 * event stream (part 2). */
function codexExchangeCase(file: string): Case {
  const t = readFileSync(file, 'utf8');
  const reqStart = t.indexOf('{', t.indexOf('-- request body'));
  const part2 = t.indexOf('== 2. SSE RESPONSE');
  const reqJson = t.slice(reqStart, t.lastIndexOf('}', part2) + 1);
  const evStart = t.indexOf('\n', t.indexOf('-- decoded event stream')) + 1;
  const evEnd = t.lastIndexOf('\n', t.indexOf('== 3.') - 1);
  const sseText = `${t.slice(evStart, t.lastIndexOf('\n', evEnd - 1))}\n\n`;
  const ex = makeExchange({
    target: '/v1/responses',
    reqHeaders: { host: '127.0.0.1:8317', originator: 'codex-tui', 'content-type': 'application/json' },
    reqBody: reqJson,
    resBody: eventChunks(sseText),
    resHeaders: { 'content-type': 'text/event-stream' },
  });
  return { name: 'tokenscope/exchanges/codex-cli-responses-exchange.txt', kind: 'responses', ex, body: sseText, stream: true, viaRegistry: true };
}

function loadCases(root: string): { cases: Case[]; files: number; excluded: string[] } {
  const excluded: string[] = [];
  const cases: Case[] = [];
  let files = 0;
  const rows = readFileSync(join(root, 'MANIFEST-real.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ManifestRow);
  for (const row of rows) {
    if (!OPENAI_GROUPS.has(row.provider)) continue;
    const local = row.local;
    if (row.streaming.startsWith('n/a')) {
      excluded.push(`${local}: a request body only`);
      continue;
    }
    if (row.api.includes('/v1/completions')) {
      excluded.push(`${local}: legacy Completions API (choices[].text), not Chat`);
      continue;
    }
    files++;
    const path = join(root, local);
    if (local.endsWith('.yaml')) {
      cases.push(...cassetteCases(path, local, excluded));
      continue;
    }
    const text = readFileSync(path, 'utf8');
    if (local.endsWith('.chunks.txt')) {
      // The Vercel recorder appends the streams of a multi-step run to one file: one response
      // per `response.created`.
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      const streams: string[][] = [];
      for (const l of lines) {
        if (streams.length === 0 || /^\{"type":"response\.created"/.test(l)) streams.push([]);
        streams[streams.length - 1]!.push(`data: ${l}\n\n`);
      }
      streams.forEach((st, k) => cases.push(bodyCase(streams.length > 1 ? `${local}#${k}` : local, kindOfText(text), st.join(''), true)));
    } else if (local.endsWith('.sse')) {
      cases.push(bodyCase(local, kindOfText(text), text, true));
    } else if (local.endsWith('.json')) {
      cases.push(bodyCase(local, kindOfText(text), text, false));
    } else {
      excluded.push(`${local}: unknown format`);
      files--;
    }
  }
  // TokenScope's single bodies per wire API (spec examples) and the real Codex exchange.
  const ts = join(root, 'tokenscope');
  const wire: [string, Kind, boolean][] = [
    ['wire/openai-chat/response-default.json', 'chat', false],
    ['wire/openai-chat/response-functions.json', 'chat', false],
    ['wire/openai-chat/response-image-input.json', 'chat', false],
    ['wire/openai-chat/response-logprobs.json', 'chat', false],
    ['wire/openai-responses/response-file-search.json', 'responses', false],
    ['wire/openai-responses/response-functions.json', 'responses', false],
    ['wire/openai-responses/response-image-input.json', 'responses', false],
    ['wire/openai-responses/response-reasoning.json', 'responses', false],
    ['wire/openai-responses/response-text-input.json', 'responses', false],
    ['wire/openai-responses/response-web-search.json', 'responses', false],
    ['wire/openai-responses/response-streaming.sse', 'responses', true],
    ['wire/bodies/openai_chat_output_text.json', 'chat', false],
    ['wire/bodies/openai_chat_output_tool_calls.json', 'chat', false],
    ['wire/bodies/openai_responses_output_function_call.json', 'responses', false],
    ['wire/bodies/openai_responses_output_message.json', 'responses', false],
  ];
  for (const [rel, kind, stream] of wire) {
    files++;
    cases.push(bodyCase(`tokenscope/${rel}`, kind, readFileSync(join(ts, rel), 'utf8'), stream));
  }
  // The chat streaming example is NDJSON with a literal `....` elision line: wrapped as SSE, the
  // elision is one invalid event, which the decoder must count and skip.
  files++;
  const chatStream = readFileSync(join(ts, 'wire/openai-chat/response-streaming.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `data: ${l}\n\n`)
    .join('');
  cases.push(bodyCase('tokenscope/wire/openai-chat/response-streaming.txt', 'chat', chatStream, true));
  files++;
  cases.push(codexExchangeCase(join(ts, 'exchanges/codex-cli-responses-exchange.txt')));
  return { cases, files, excluded };
}

describe.skipIf(!corpusDir)('OpenAI decoders over the recorded corpus', () => {
  const { cases, files, excluded } = corpusDir ? loadCases(corpusDir) : { cases: [], files: 0, excluded: [] };

  it('finds the recordings', () => {
    // Counts as of the corpus snapshot (MANIFEST-real.md): fewer means files went missing.
    expect(files).toBeGreaterThanOrEqual(200);
    expect(cases.length).toBeGreaterThanOrEqual(files);
    console.info(`openai corpus: ${files} files, ${cases.length} exchanges; excluded: ${excluded.length}\n  ${excluded.join('\n  ')}`);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let call: DecodedCall | null;
    if (c.viaRegistry) {
      const r = decodeExchange(c.ex);
      expect(r, `${c.name} classified`).toHaveProperty('call');
      call = 'call' in r ? r.call : null;
      expect(call?.api, c.name).toBe(c.kind === 'chat' ? 'openai.chat_completions' : 'openai.responses');
    } else {
      call = (c.kind === 'chat' ? openaiChatDecoder : openaiResponsesDecoder).decode(c.ex);
    }
    expect(call).not.toBeNull();
    expect(call!.anomalies, c.name).not.toContain('openai_decoder_failed');
    check(c, call!);
  });

  it('reads the real Codex exchange: model, tool call, usage from response.completed', () => {
    const c = cases.find((x) => x.name.endsWith('codex-cli-responses-exchange.txt'))!;
    const r = decodeExchange(c.ex);
    const call = 'call' in r ? r.call : null;
    expect(call).toMatchObject({ request_model: 'gpt-5.4', response_model: 'gpt-5.4', finish_reason: 'tool_call' });
    expect(call?.tool_calls.map((t) => t.name)).toContain('exec_command');
    expect(call?.usage.estimated).toBe(false);
  });
});
