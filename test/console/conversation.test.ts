import { describe, expect, it } from 'vitest';
import { outputMessage, parseConversation } from '../../console/src/conversation.js';

const roles = (api: string, body: unknown) => parseConversation(api, JSON.stringify(body))?.map((m) => [m.role, m.parts.map((p) => p.kind).join('+')]);

describe('parseConversation', () => {
  it('OpenAI chat: system, user, assistant tool call, tool result', () => {
    expect(
      roles('openai.chat_completions', {
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'x' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'out' },
        ],
      }),
    ).toEqual([['system', 'text'], ['user', 'text+media'], ['assistant', 'tool_call'], ['tool', 'tool_result']]);
  });

  it('OpenAI Responses: instructions, messages, reasoning, function call and output', () => {
    expect(
      roles('openai.responses', {
        instructions: 'be brief',
        input: [
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'q' }] },
          { type: 'reasoning', summary: [{ type: 'summary_text', text: 'thinking' }] },
          { type: 'function_call', name: 'shell', arguments: '{}', call_id: 'c' },
          { type: 'function_call_output', call_id: 'c', output: 'ok' },
        ],
      }),
    ).toEqual([['system', 'text'], ['user', 'text'], ['assistant', 'reasoning'], ['assistant', 'tool_call'], ['tool', 'tool_result']]);
  });

  it('Anthropic: system blocks, thinking, tool_use and tool_result', () => {
    const msgs = parseConversation(
      'anthropic.messages',
      JSON.stringify({
        system: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }],
        messages: [
          { role: 'user', content: 'hello' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm' }, { type: 'tool_use', id: 't', name: 'Bash', input: { cmd: 'ls' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'file' }], is_error: true }] },
        ],
      }),
    );
    expect(msgs?.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(msgs?.[2]?.parts[1]).toEqual({ kind: 'tool_call', name: 'Bash', id: 't', args: '{\n  "cmd": "ls"\n}' });
    expect(msgs?.[3]?.parts[0]).toEqual({ kind: 'tool_result', id: 't', name: null, text: 'file', isError: true });
  });

  it('Gemini: systemInstruction, thoughts, functionCall and functionResponse', () => {
    expect(
      roles('gemini.generate_content', {
        systemInstruction: { parts: [{ text: 's' }] },
        contents: [
          { role: 'user', parts: [{ text: 'q' }] },
          { role: 'model', parts: [{ text: 't', thought: true }, { functionCall: { name: 'f', args: {} } }] },
          { role: 'user', parts: [{ functionResponse: { name: 'f', response: { output: 1 } } }] },
        ],
      }),
    ).toEqual([['system', 'text'], ['user', 'text'], ['assistant', 'reasoning+tool_call'], ['tool', 'tool_result']]);
  });

  it('returns null for bodies that are not whole JSON of the expected shape', () => {
    expect(parseConversation('openai.chat_completions', null)).toBeNull();
    expect(parseConversation('openai.chat_completions', '{"messages": [ …truncated')).toBeNull();
    expect(parseConversation('anthropic.messages', '[1,2]')).toBeNull();
    expect(parseConversation('gemini.generate_content', '{"model":"x"}')).toBeNull();
  });

  it('keeps markup as plain text', () => {
    const payload = '<img src=x onerror=alert(1)>';
    expect(parseConversation('openai.chat_completions', JSON.stringify({ messages: [{ role: 'user', content: payload }] }))).toEqual([
      { role: 'user', parts: [{ kind: 'text', text: payload }] },
    ]);
  });

  it('outputMessage: reasoning, text and tool calls of the record', () => {
    expect(outputMessage({ output_text: 'a', reasoning_text: 'r' }, [{ id: null, name: 'f', arguments: '{}' }])?.parts.map((p) => p.kind)).toEqual(['reasoning', 'text', 'tool_call']);
    expect(outputMessage({ output_text: '', reasoning_text: '' }, [])).toBeNull();
  });
});
