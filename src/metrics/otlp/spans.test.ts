import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import type { AgentTurnRecord, LlmCallRecord } from '../../core/record.js';
import { isoMicros } from '../../core/time.js';
import { syntheticCall } from '../../store/synthetic-records.js';
import { callSpanId, callTraceId, turnSpanId, turnTraceId } from './ids.js';
import { providerName, serverAddress, systemName } from './semconv.js';
import { callSpan, MAX_ATTRIBUTE_CHARS, microsToHrTime, turnSpan } from './spans.js';

const origin = { resource: resourceFromAttributes({ 'service.name': 't' }), scope: { name: 'llmtap' } };
const T0 = 1_768_471_200_021_007; // 2026-01-15T10:00:00.021007Z

function call(over: Partial<LlmCallRecord> = {}): LlmCallRecord {
  return { ...syntheticCall(0, { start: T0, stepUs: 1000 }), ...over };
}

describe('microsToHrTime', () => {
  it('is exact to the nanosecond for capture times', () => {
    for (const us of [0, 1, 999_999, 1_000_000, T0, 2 ** 53 - 1]) {
      const [s, ns] = microsToHrTime(us);
      expect(BigInt(s) * 1_000_000_000n + BigInt(ns)).toBe(BigInt(us) * 1000n);
      expect(ns).toBeGreaterThanOrEqual(0);
      expect(ns).toBeLessThan(1e9);
    }
  });
});

describe('ids', () => {
  it('are W3C-sized lowercase hex, deterministic, and differ between turn and call', () => {
    expect(turnTraceId('a')).toMatch(/^[0-9a-f]{32}$/);
    expect(turnSpanId('a')).toMatch(/^[0-9a-f]{16}$/);
    expect(turnTraceId('a')).toBe(turnTraceId('a'));
    expect(turnSpanId('a')).not.toBe(callSpanId('a'));
    expect(turnTraceId('a')).not.toBe(callTraceId('a'));
    expect(callSpanId('a')).not.toBe(callSpanId('b'));
  });
});

describe('semconv mapping', () => {
  it('names providers with the registry values, Google by the endpoint called', () => {
    const g = (host: string | null) => ({ provider: 'google', server: { ip: '10.0.0.1', port: 443, host } });
    expect(providerName(g('generativelanguage.googleapis.com'))).toBe('gcp.gemini');
    expect(providerName(g('us-central1-aiplatform.googleapis.com'))).toBe('gcp.vertex_ai');
    expect(providerName(g('proxy.internal'))).toBe('gcp.gen_ai');
    expect(systemName(g('generativelanguage.googleapis.com'))).toBe('gemini');
    const p = (provider: string) => ({ provider, server: { ip: '1.2.3.4', port: 443, host: null } });
    expect(providerName(p('aws'))).toBe('aws.bedrock');
    expect(providerName(p('azure'))).toBe('azure.ai.openai');
    expect(systemName(p('azure'))).toBe('az.ai.openai');
    expect(providerName(p('xai'))).toBe('x_ai');
    expect(providerName(p('ollama'))).toBe('ollama');
  });

  it('takes server.address from Host without its port, else the IP', () => {
    expect(serverAddress({ ip: '1.2.3.4', port: 8080, host: 'llm.local:8080' })).toBe('llm.local');
    expect(serverAddress({ ip: '::1', port: 8080, host: '[::1]:8080' })).toBe('::1');
    expect(serverAddress({ ip: '1.2.3.4', port: 443, host: null })).toBe('1.2.3.4');
  });
});

describe('callSpan', () => {
  it('carries the error type, never the error message, and marks the span as an error', () => {
    const s = callSpan(call({ status_code: 529, error: { type: 'overloaded_error', message: 'secret prompt text' } }), origin)!;
    expect(s.kind).toBe(SpanKind.CLIENT);
    expect(s.attributes['error.type']).toBe('overloaded_error');
    expect(s.status).toEqual({ code: SpanStatusCode.ERROR, message: 'overloaded_error' });
    expect(JSON.stringify(s.attributes)).not.toContain('secret prompt text');
    const noType = callSpan(call({ status_code: 502, error: null }), origin)!;
    expect(noType.attributes['error.type']).toBe('502');
  });

  it('clips giant strings, redacts keys in header attributes, and sends no content', () => {
    const c = call({
      request_model: 'm'.repeat(10_000),
      attributes: { team: 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123' },
      content: { output_text: 'the generated answer', reasoning_text: 'private thoughts' },
    });
    const s = callSpan(c, origin)!;
    expect((s.attributes['gen_ai.request.model'] as string).length).toBe(MAX_ATTRIBUTE_CHARS);
    expect(s.attributes['llmtap.attr.team']).not.toContain('abcdefghijklmnop');
    const all = JSON.stringify(s);
    expect(all).not.toContain('generated answer');
    expect(all).not.toContain('private thoughts');
  });

  it('ends an interrupted call at the last time it has, and skips a record without a start', () => {
    const start = isoMicros(T0);
    const lastToken = isoMicros(T0 + 2500);
    const c = call({ timing: { request_start: start, request_end: null, response_start: null, first_token: null, last_token: lastToken, response_end: null } });
    expect(callSpan(c, origin)!.endTime).toEqual(microsToHrTime(T0 + 2500));
    expect(callSpan(call({ timing: { ...c.timing, request_start: 'garbage' } }), origin)).toBeNull();
  });
});

describe('turnSpan', () => {
  it('is the invoke_agent span with the ids its calls name as parent', () => {
    const c = call({ turn_id: 'turn-1' });
    const cs = callSpan(c, origin)!;
    const turn: AgentTurnRecord = {
      kind: 'agent_turn', id: 'turn-1', source: 's', agent: 'claude-code', session_id: 'sess', status: 'complete',
      start: isoMicros(T0), end: isoMicros(T0 + 5_000_000), duration_ms: 5000, call_count: 1, steps: [], models: ['claude-sonnet-4-5'],
      usage: { input_tokens: 10, output_tokens: 5, cache_read_tokens: null, cache_write_tokens: null, reasoning_tokens: null, estimated: false },
      cost_usd: 0.01, tool_call_count: 0, tools_used: [], subagents: [], user_preview: 'typed by the user', final_preview: 'answer',
      final_finish_reason: 'stop', stalls: [], loops: [], anomalies: [],
    };
    const ts = turnSpan(turn, 'anthropic', origin)!;
    expect(ts.name).toBe('invoke_agent claude-code');
    expect(ts.kind).toBe(SpanKind.INTERNAL);
    expect(cs.parentSpanContext?.spanId).toBe(ts.spanContext().spanId);
    expect(cs.spanContext().traceId).toBe(ts.spanContext().traceId);
    expect(ts.attributes['gen_ai.provider.name']).toBe('anthropic');
    expect(ts.attributes['gen_ai.conversation.id']).toBe('sess');
    expect(JSON.stringify(ts.attributes)).not.toContain('typed by the user');
  });
});
