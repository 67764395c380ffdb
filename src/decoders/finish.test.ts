import { describe, expect, it } from 'vitest';
import { normalizeFinishReason } from './finish.js';
import type { FinishReason } from './types.js';

type Row = [raw: string, want: FinishReason];

function check(api: string, rows: Row[]): void {
  for (const [raw, want] of rows) expect(normalizeFinishReason(api, raw), `${api} ${raw}`).toBe(want);
}

describe('normalizeFinishReason', () => {
  it('maps OpenAI Chat Completions finish_reason', () => {
    check('openai.chat_completions', [
      ['stop', 'stop'],
      ['length', 'length'],
      ['tool_calls', 'tool_call'],
      ['function_call', 'tool_call'],
      ['content_filter', 'content_filter'],
    ]);
  });

  it('maps OpenAI Responses status and incomplete reasons', () => {
    check('openai.responses', [
      ['completed', 'stop'],
      ['max_output_tokens', 'length'],
      ['content_filter', 'content_filter'],
      ['incomplete', 'other'],
      ['failed', 'error'],
      ['cancelled', 'cancelled'],
    ]);
    expect(normalizeFinishReason('openai.responses', 'completed', { hasToolCalls: true })).toBe('tool_call');
  });

  it('maps Anthropic stop_reason', () => {
    check('anthropic.messages', [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['tool_use', 'tool_call'],
      ['pause_turn', 'other'],
      ['refusal', 'content_filter'],
      ['model_context_window_exceeded', 'length'],
    ]);
  });

  it('maps Gemini finishReason, STOP with function calls being a tool call', () => {
    check('gemini.generate_content', [
      ['STOP', 'stop'],
      ['MAX_TOKENS', 'length'],
      ['SAFETY', 'content_filter'],
      ['RECITATION', 'content_filter'],
      ['BLOCKLIST', 'content_filter'],
      ['PROHIBITED_CONTENT', 'content_filter'],
      ['SPII', 'content_filter'],
      ['IMAGE_SAFETY', 'content_filter'],
      ['MALFORMED_FUNCTION_CALL', 'error'],
      ['OTHER', 'other'],
      ['FINISH_REASON_UNSPECIFIED', 'other'],
      ['LANGUAGE', 'other'],
    ]);
    expect(normalizeFinishReason('gemini.generate_content', 'STOP', { hasToolCalls: true })).toBe('tool_call');
    expect(normalizeFinishReason('gemini.generate_content', 'MAX_TOKENS', { hasToolCalls: true })).toBe('length');
  });

  it('maps Bedrock, Ollama and Cohere values', () => {
    check('bedrock.converse', [
      ['end_turn', 'stop'],
      ['tool_use', 'tool_call'],
      ['guardrail_intervened', 'content_filter'],
    ]);
    check('ollama.chat', [['stop', 'stop'], ['length', 'length']]);
    check('cohere.chat', [['COMPLETE', 'stop'], ['TOOL_CALL', 'tool_call'], ['MAX_TOKENS', 'length']]);
  });

  it('returns null when the wire said nothing, other for unknown values', () => {
    expect(normalizeFinishReason('openai.chat_completions', null)).toBeNull();
    expect(normalizeFinishReason('openai.chat_completions', undefined)).toBeNull();
    expect(normalizeFinishReason('openai.chat_completions', '')).toBeNull();
    expect(normalizeFinishReason('openai.chat_completions', 'something_new')).toBe('other');
  });

  it('tolerates case changes and provider values behind another API (proxies)', () => {
    expect(normalizeFinishReason('gemini.generate_content', 'stop')).toBe('stop');
    expect(normalizeFinishReason('openai.chat_completions', 'STOP')).toBe('stop');
    // An Anthropic stop_reason passed through an OpenAI-compatible proxy.
    expect(normalizeFinishReason('openai.chat_completions', 'end_turn')).toBe('stop');
    expect(normalizeFinishReason('openai.chat_completions', 'tool_use')).toBe('tool_call');
    // An api we have no table for uses the merged table.
    expect(normalizeFinishReason('someone.else', 'MAX_TOKENS')).toBe('length');
  });

  it('does not resolve prototype keys as reasons', () => {
    expect(normalizeFinishReason('openai.chat_completions', 'constructor')).toBe('other');
    expect(normalizeFinishReason('constructor', '__proto__')).toBe('other');
  });
});
