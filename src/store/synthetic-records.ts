/**
 * Synthetic call, exchange and turn records for the store's tests and bench/store.ts:
 * deterministic (seeded), spread over providers, models, statuses, agents and servers so every
 * filter has something to select. Not used at run time.
 *
 * Agents: calls come in turns of TURN_CALLS consecutive calls, turns in sessions of
 * SESSION_TURNS consecutive turns; a session's agent is claude-code, codex or none (no turn).
 */
import type { AgentRole, AgentTurnRecord, LlmCallRecord, TurnStep } from '../core/record.js';
import { isoMicros, type Micros } from '../core/time.js';
import type { StoredExchange } from './types.js';
import { compareNames } from '../core/name-order.js';

/** mulberry32: tiny, fast, good enough to spread test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROVIDERS = [
  { provider: 'openai', api: 'openai.chat_completions', models: ['gpt-4o', 'gpt-4o-mini'], host: 'api.openai.com' },
  { provider: 'anthropic', api: 'anthropic.messages', models: ['claude-sonnet-4-5', 'claude-haiku-4-5'], host: 'api.anthropic.com' },
  { provider: 'google', api: 'gemini.generate_content', models: ['gemini-2.5-pro'], host: 'generativelanguage.googleapis.com' },
] as const;
const AGENTS = ['claude-code', 'codex', null] as const;
/** Calls per synthetic turn (the bench: one turn per 8 calls). */
export const TURN_CALLS = 8;
/** Turns per synthetic session. */
export const SESSION_TURNS = 5;
/** Turn ids: syntheticId's index space above any call index. */
const TURN_ID_BASE = 16 ** 11;
const STATUSES = [200, 200, 200, 200, 200, 200, 200, 200, 429, 500, 503, 400] as const;

/** A UUIDv7-shaped id whose prefix sorts by time (like exchangeId), unique per (t, i). */
export function syntheticId(t: Micros, i: number): string {
  const ms = Math.floor(t / 1000).toString(16).padStart(12, '0');
  const r = i.toString(16).padStart(20, '0');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${r.slice(0, 3)}-8${r.slice(3, 6)}-${r.slice(8, 20)}`;
}

export interface SyntheticOptions {
  /** First request_start, µs. */
  start: Micros;
  /** Gap between consecutive calls, µs. */
  stepUs: number;
  seed?: number;
}

/** Call number `i` of a synthetic stream. */
export function syntheticCall(i: number, opts: SyntheticOptions, rand: () => number = rng((opts.seed ?? 1) + i)): LlmCallRecord {
  const t0 = opts.start + i * opts.stepUs;
  const p = PROVIDERS[i % PROVIDERS.length]!;
  const model = p.models[Math.floor(rand() * p.models.length)]!;
  const status = STATUSES[Math.floor(rand() * STATUSES.length)]!;
  const ok = status < 400;
  const stream = rand() < 0.8;
  const ttft = ok && stream ? Math.round(200 + rand() * 2000) * 1000 : null;
  const out = ok ? 10 + Math.floor(rand() * 1000) : 0;
  const gen = ttft !== null ? out * Math.round(5 + rand() * 40) * 1000 : 0;
  const e2e = (ttft ?? 0) + gen + Math.round(100 + rand() * 500) * 1000;
  const input = 100 + Math.floor(rand() * 50_000);
  const cacheRead = Math.floor(input * rand() * 0.9);
  const turn = Math.floor(i / TURN_CALLS);
  const session = Math.floor(turn / SESSION_TURNS);
  const agent = AGENTS[session % AGENTS.length]!;
  const finish = ok ? (rand() < 0.3 ? 'tool_call' : 'stop') : 'error';
  // One call of each claude-code turn works for a sub-agent.
  const role: AgentRole | null = agent === null ? null : agent === 'claude-code' && i % TURN_CALLS === 6 ? 'subagent' : 'main';
  const serverIp = `10.0.${i % 3}.${1 + (i % 7)}`;
  return {
    kind: 'llm_call',
    id: syntheticId(t0, i),
    source: 'synthetic.pcap',
    provider: p.provider,
    api: p.api,
    operation: 'chat',
    stream,
    request_model: model,
    response_model: ok ? `${model}-2025` : null,
    response_id: ok ? `resp_${i}` : null,
    status_code: status,
    error: ok ? null : { type: status === 429 ? 'rate_limit_error' : status >= 500 ? 'overloaded_error' : 'invalid_request_error', message: `synthetic ${status}` },
    finish_reason: finish,
    finish_reason_raw: ok ? 'end_turn' : null,
    usage: {
      input_tokens: input,
      output_tokens: out,
      cache_read_tokens: cacheRead,
      cache_write_tokens: 0,
      reasoning_tokens: 0,
      estimated: false,
      raw: { input_tokens: input - cacheRead, output_tokens: out },
    },
    cost_usd: null,
    cost_status: 'unpriced',
    timing: {
      request_start: isoMicros(t0),
      request_end: isoMicros(t0 + 1000),
      response_start: isoMicros(t0 + (ttft ?? e2e) - 1000),
      first_token: ttft !== null ? isoMicros(t0 + ttft) : null,
      last_token: ttft !== null ? isoMicros(t0 + ttft + gen) : null,
      response_end: isoMicros(t0 + e2e),
    },
    ttfb_ms: ((ttft ?? e2e) - 1000) / 1000,
    ttft_ms: ttft !== null ? ttft / 1000 : null,
    tpot_ms: ttft !== null && out >= 2 ? gen / 1000 / (out - 1) : null,
    e2e_ms: e2e / 1000,
    output_tokens_per_second: ttft !== null && gen > 0 ? out / (gen / 1e6) : null,
    tool_calls: finish === 'tool_call' ? [{ id: `toolu_${i}`, name: i % 2 ? 'Bash' : 'Read', arguments: '{"command":"ls"}' }] : [],
    tools_offered: ['Bash', 'Read'],
    client: { ip: `192.168.1.${1 + (i % 5)}`, port: 40000 + (i % 20000) },
    server: { ip: serverIp, port: 443, host: p.host },
    http: { method: 'POST', path: '/v1/messages', request_bytes: 2000, response_bytes: 3000, content_encoding: null },
    user_agent: 'synthetic/1.0',
    agent,
    session_id: agent ? `sess-${session}` : null,
    turn_id: agent ? syntheticTurnId(turn, opts) : null,
    agent_role: role,
    api_key_fingerprint: `fp${i % 4}`,
    attributes: {},
    content: { output_text: `answer number ${i}: the quick brown fox`, reasoning_text: i % 10 === 0 ? `thinking about ${i}` : '' },
    anomalies: [],
  };
}

/** The exchange an LLM call was decoded from (same id), with small bodies and stream events. */
export function syntheticExchange(call: LlmCallRecord): StoredExchange {
  return {
    id: call.id,
    call_id: call.id,
    kind: 'llm_call',
    reason: null,
    source: call.source,
    connection_id: `conn-${call.client.port}`,
    client: call.client,
    server: call.server,
    method: call.http.method,
    target: call.http.path,
    status_code: call.status_code,
    request_headers: [
      ['host', call.server.host ?? ''],
      ['content-type', 'application/json'],
      ['x-api-key', '[REDACTED]'],
    ],
    response_headers: [['content-type', call.stream ? 'text/event-stream' : 'application/json']],
    request_bytes: call.http.request_bytes,
    response_bytes: call.http.response_bytes,
    request_body: JSON.stringify({ model: call.request_model, messages: [{ role: 'user', content: `question for ${call.id}` }] }),
    response_body: call.stream ? 'event: message_start\ndata: {}\n\n' : '{"ok":true}',
    request_body_size: 100,
    response_body_size: 30,
    request_body_truncated: false,
    response_body_truncated: false,
    response_events: call.stream ? [{ ts: call.timing.first_token ?? call.timing.request_start, event: 'message_start', data: '{}' }] : null,
    response_events_total: call.stream ? 1 : 0,
    response_events_truncated: false,
    bodies_expired: false,
    request_start: call.timing.request_start,
    request_end: call.timing.request_end,
    response_start: call.timing.response_start,
    response_end: call.timing.response_end,
    anomalies: [],
  };
}

/** The id of synthetic turn `k` (the turn of calls k·TURN_CALLS …). */
export function syntheticTurnId(k: number, opts: SyntheticOptions): string {
  return syntheticId(opts.start + k * TURN_CALLS * opts.stepUs, TURN_ID_BASE + k);
}

/** Synthetic turn `k`, or null when its session has no agent. */
export function syntheticTurnOf(k: number, opts: SyntheticOptions, overrides: Partial<AgentTurnRecord> = {}): AgentTurnRecord | null {
  const calls = Array.from({ length: TURN_CALLS }, (_, j) => syntheticCall(k * TURN_CALLS + j, opts));
  return syntheticTurn(k, calls, overrides);
}

function sum(values: (number | null)[]): number | null {
  return values.some((v) => v !== null) ? values.reduce<number>((a, v) => a + (v ?? 0), 0) : null;
}

/**
 * The turn record of synthetic turn `k` from its calls (as the turn tracker would make it), or null
 * when they have no agent. Every 17th turn is incomplete, every 11th has a stall, every 13th a loop.
 */
export function syntheticTurn(k: number, calls: LlmCallRecord[], overrides: Partial<AgentTurnRecord> = {}): AgentTurnRecord | null {
  const first = calls[0];
  if (!first || first.agent === null || first.session_id === null || first.turn_id === null) return null;
  const steps: TurnStep[] = calls.map((c) => ({
    call_id: c.id,
    role: c.agent_role ?? 'main',
    subagent_id: c.agent_role === 'subagent' ? `sub-${k}` : null,
    model: c.response_model ?? c.request_model,
    request_start: c.timing.request_start,
    response_end: c.timing.response_end,
    finish_reason: c.finish_reason,
    status_code: c.status_code,
    tool_calls: c.tool_calls.map((t) => t.name),
  }));
  const tools = new Map<string, number>();
  for (const c of calls) for (const t of c.tool_calls) tools.set(t.name, (tools.get(t.name) ?? 0) + 1);
  const ends = calls.map((c) => c.timing.response_end).filter((e): e is string => e !== null).sort();
  const end = ends[ends.length - 1] ?? null;
  const last = calls[calls.length - 1]!;
  const sub = calls.filter((c) => c.agent_role === 'subagent');
  const duration = end === null ? null : (Date.parse(end) - Date.parse(first.timing.request_start)) / 1000;
  return {
    kind: 'agent_turn',
    id: first.turn_id,
    source: first.source,
    agent: first.agent,
    session_id: first.session_id,
    status: k % 17 === 16 ? 'incomplete' : 'complete',
    start: first.timing.request_start,
    end,
    // ISO strings hold µs; Date.parse drops them: good enough for synthetic data.
    duration_ms: duration === null ? null : Math.round(duration * 1000),
    call_count: calls.length,
    steps,
    models: [...new Set(steps.map((s) => s.model).filter((m): m is string => m !== null))],
    usage: {
      input_tokens: sum(calls.map((c) => c.usage.input_tokens)),
      output_tokens: sum(calls.map((c) => c.usage.output_tokens)),
      cache_read_tokens: sum(calls.map((c) => c.usage.cache_read_tokens)),
      cache_write_tokens: sum(calls.map((c) => c.usage.cache_write_tokens)),
      reasoning_tokens: sum(calls.map((c) => c.usage.reasoning_tokens)),
      estimated: calls.some((c) => c.usage.estimated),
    },
    cost_usd: sum(calls.map((c) => c.cost_usd)),
    tool_call_count: calls.reduce((a, c) => a + c.tool_calls.length, 0),
    tools_used: [...tools].map(([name, count]) => ({ name, count })).sort((a, b) => b.count - a.count || compareNames(a.name, b.name)),
    subagents: sub.length > 0 ? [{ id: `sub-${k}`, call_count: sub.length, first_call_id: sub[0]!.id }] : [],
    user_preview: `please do task number ${k}`,
    final_preview: last.content.output_text.slice(0, 200),
    final_finish_reason: last.finish_reason,
    stalls: k % 11 === 0 ? [{ after_call_id: calls[Math.min(1, calls.length - 1)]!.id, gap_ms: 45_000 }] : [],
    loops: k % 13 === 0 ? [{ tool: 'Bash', arguments_preview: '{"command":"ls"}', count: 4 }] : [],
    anomalies: [],
    ...overrides,
  };
}
