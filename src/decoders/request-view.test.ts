import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { decodeExchange } from './registry.js';
import { createHash } from 'node:crypto';
import { openingHashOf, preview, PREVIEW_CHARS, requestViewOf, stripInjected, textsHashHex } from './request-view.js';
import { makeExchange } from './test-helpers.test-support.js';
import { AGENT_TYPES_MESSAGE, agentLaunchedResult, ENVIRONMENT_MESSAGE, PROMPT_MESSAGE, SUBAGENT_ID, taskNotification } from '../../test/agents/fixtures/claude-code-2.1.331.js';

const reminder = '<system-reminder>\nThe following skills are available…\n</system-reminder>';

describe('request view: Anthropic Messages', () => {
  const opening = [
    { role: 'user', content: [{ type: 'text', text: reminder }, { type: 'text', text: 'Fix the failing test' }] },
    { role: 'assistant', content: [{ type: 'text', text: 'Looking.' }, { type: 'tool_use', id: 'toolu_A', name: 'Read', input: { path: 'a.ts' } }] },
  ];

  it('sees a typed prompt under injected reminders', () => {
    const v = requestViewOf('anthropic.messages', {
      model: 'claude',
      max_tokens: 32000,
      system: [{ type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude." }],
      metadata: { user_id: 'user_abc_account__session_5f0c' },
      messages: [opening[0]],
    })!;
    expect(v.messageCount).toBe(1);
    expect(v.lastIsUserPrompt).toBe(true);
    expect(v.userPreview).toBe('Fix the failing test');
    expect(v.openingUserHash).toMatch(/^[0-9a-f]{16}$/);
    expect(v.openingHash).toBeNull();
    expect(v.anchorToolCallId).toBeNull();
    expect(v.metadataUserId).toBe('user_abc_account__session_5f0c');
    expect(v.systemPreview).toBe("You are Claude Code, Anthropic's official CLI for Claude.");
    expect(v.maxTokens).toBe(32000);
  });

  it('tells tool results and reminder-only messages from prompts', () => {
    const results = requestViewOf('anthropic.messages', {
      messages: [
        ...opening,
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_A', content: 'x' }, { type: 'text', text: reminder }] },
      ],
    })!;
    expect(results.lastIsUserPrompt).toBe(false);
    expect(results.userPreview).toBeNull();
    expect(results.toolResultIds).toEqual(['toolu_A']);
    expect(results.anchorToolCallId).toBe('toolu_A');
    expect(results.historyHasTools).toBe(true);

    const onlyReminder = requestViewOf('anthropic.messages', { messages: [...opening, { role: 'user', content: reminder }] })!;
    expect(onlyReminder.lastIsUserPrompt).toBe(false);
  });

  it('computes the same opening hash from the history as from the first answer', () => {
    const first = requestViewOf('anthropic.messages', { messages: [opening[0]] })!;
    const later = requestViewOf('anthropic.messages', { messages: [...opening, { role: 'user', content: 'next' }] })!;
    expect(later.openingUserHash).toBe(first.openingUserHash);
    expect(later.openingHash).toBe(openingHashOf(first.openingUserHash!, 'Looking.', ['Read']));
    // Another first message is another conversation.
    const other = requestViewOf('anthropic.messages', { messages: [{ role: 'user', content: 'Something else' }] })!;
    expect(other.openingUserHash).not.toBe(first.openingUserHash);
  });

  it('caps the preview', () => {
    const v = requestViewOf('anthropic.messages', { messages: [{ role: 'user', content: 'word '.repeat(500) }] })!;
    expect(v.userPreview!.length).toBe(PREVIEW_CHARS + 1);
    expect(v.userPreview!.endsWith('…')).toBe(true);
  });
});

describe('preview', () => {
  /** The definition preview() implements without a regex over the whole head. */
  const reference = (s: string): string | null => {
    const t = s.slice(0, PREVIEW_CHARS * 4).replace(/\s+/g, ' ').trim();
    if (t === '') return null;
    return t.length > PREVIEW_CHARS ? `${t.slice(0, PREVIEW_CHARS)}…` : t;
  };
  // Every character JavaScript's \s matches, ASCII controls it does not, surrogates and words.
  const pieces = [' ', '\t', '\n', '\v', '\f', '\r', '\u0085', '\u00a0', '\u1680', '\u2000', '\u200a', '\u200b', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u0001', '\u001f', 'a', 'word', 'é', '😀', '\ud83d', 'x'.repeat(97)];

  it('equals collapse-trim-cap of the first 1,200 characters, on any text', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 400 }), (a) => {
        const s = a.join('');
        expect(preview(s)).toBe(reference(s));
      }),
      { numRuns: 500 },
    );
  });

  it('cuts at the cap, including inside a word or a surrogate pair', () => {
    for (const s of ['a'.repeat(2000), ` ${'b'.repeat(299)}😀 tail`, `${' x'.repeat(150)} y`, '\n\n  \t', '']) expect(preview(s)).toBe(reference(s));
  });
});

describe('request view: OpenAI Chat', () => {
  it('reads system, prompt, tool calls and tool results', () => {
    const history = [
      { role: 'system', content: 'You are a helpful agent.' },
      { role: 'user', content: 'What is in README?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'read', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '# readme' },
    ];
    const v = requestViewOf('openai.chat_completions', { model: 'gpt-4o', max_completion_tokens: 5, messages: history })!;
    expect(v.systemPreview).toBe('You are a helpful agent.');
    expect(v.lastIsUserPrompt).toBe(false);
    expect(v.toolResultIds).toEqual(['call_1']);
    expect(v.anchorToolCallId).toBe('call_1');
    expect(v.maxTokens).toBe(5);
    const next = requestViewOf('openai.chat_completions', { messages: [...history, { role: 'assistant', content: 'A readme.' }, { role: 'user', content: [{ type: 'text', text: 'Thanks' }] }] })!;
    expect(next.lastIsUserPrompt).toBe(true);
    expect(next.userPreview).toBe('Thanks');
    expect(next.openingHash).toBe(v.openingHash);
  });
});

describe('request view: OpenAI Responses', () => {
  it('reads Codex-shaped input: context items, then the prompt', () => {
    const v = requestViewOf('openai.responses', {
      instructions: 'You are Codex, a coding agent.',
      input: [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions instructions>…' }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: '<environment_context>\n<cwd>/w</cwd>\n</environment_context>' }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Review the capture module' }] },
      ],
    })!;
    expect(v.messageCount).toBe(3);
    expect(v.lastIsUserPrompt).toBe(true);
    expect(v.userPreview).toBe('Review the capture module');
    expect(v.systemPreview).toBe('You are Codex, a coding agent.');
  });

  it('treats a trailing run of tool outputs as the last message', () => {
    const v = requestViewOf('openai.responses', {
      input: [
        { role: 'user', content: 'go' },
        { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{}' },
        { type: 'function_call', call_id: 'c2', name: 'shell', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c1', output: 'a' },
        { type: 'function_call_output', call_id: 'c2', output: 'b' },
      ],
      previous_response_id: 'resp_1',
    })!;
    expect(v.lastIsUserPrompt).toBe(false);
    expect(v.toolResultIds).toEqual(['c1', 'c2']);
    expect(v.anchorToolCallId).toBe('c1');
    expect(v.previousResponseId).toBe('resp_1');
  });

  it('takes a string input as the user prompt', () => {
    const v = requestViewOf('openai.responses', { input: 'hello', max_output_tokens: 1 })!;
    expect(v.lastIsUserPrompt).toBe(true);
    expect(v.maxTokens).toBe(1);
  });
});

describe('request view: Gemini', () => {
  it('reads contents, function calls and responses', () => {
    const contents = [
      { role: 'user', parts: [{ text: 'List the files' }] },
      { role: 'model', parts: [{ functionCall: { name: 'ls', args: {} } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'ls', response: { files: [] } } }] },
    ];
    const v = requestViewOf('gemini.generate_content', { systemInstruction: { parts: [{ text: 'Be brief.' }] }, contents, generationConfig: { maxOutputTokens: 9 } })!;
    expect(v.lastIsUserPrompt).toBe(false);
    expect(v.historyHasTools).toBe(true);
    expect(v.anchorToolCallId).toBeNull(); // Gemini function calls carry no id here
    expect(v.openingHash).toBe(openingHashOf(v.openingUserHash!, '', ['ls']));
    expect(v.systemPreview).toBe('Be brief.');
    expect(v.maxTokens).toBe(9);
    const prompt = requestViewOf('gemini.generate_content', { contents: [{ parts: [{ text: 'hi' }] }] })!;
    expect(prompt.lastIsUserPrompt).toBe(true);
  });
});

describe('injected context', () => {
  it('is removed with its nesting (a hook reminder inside a reminder)', () => {
    expect(stripInjected('<system-reminder>\nhook: <system-reminder>\nenv\n</system-reminder>\nmore\n</system-reminder> any issue?')).toBe(' any issue?');
    expect(stripInjected('<environment_context><cwd>/w</cwd></environment_context>Go')).toBe('Go');
    expect(stripInjected('<system-reminder>never closed')).toBe('');
    expect(stripInjected('plain <b>text</b>')).toBe('plain <b>text</b>');
  });

  it('user text right after tool results continues the round-trip (Chat)', () => {
    const v = requestViewOf('openai.chat_completions', {
      messages: [
        { role: 'user', content: 'run /analysis' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'SlashCommand', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'launched' },
        { role: 'user', content: '<command-message>analysis is running…</command-message> # Workflow' },
      ],
    })!;
    expect(v.lastIsUserPrompt).toBe(false);
  });
});

describe('request view: bad input', () => {
  it('gives null or an empty view, never throws', () => {
    expect(requestViewOf('anthropic.messages', 'text')).toBeNull();
    expect(requestViewOf('embeddings', {})).toBeNull();
    const v = requestViewOf('anthropic.messages', { messages: [null, 3, { role: 'user', content: [null, { type: 'text' }] }] })!;
    expect(v.messageCount).toBe(3);
    expect(v.lastIsUserPrompt).toBe(false);
    expect(requestViewOf('openai.responses', { input: [{ type: 7 }] })!.lastIsUserPrompt).toBe(false);
  });
});

describe('the registry fills request_view', () => {
  it('from the request JSON the decoder reads: never parsed whole, each member read parsed once', () => {
    const reqBody = { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi there' }], tools: [{ type: 'function', function: { name: 'x' } }] };
    const text = JSON.stringify(reqBody);
    const spy = vi.spyOn(JSON, 'parse');
    const r = decodeExchange(
      makeExchange({ target: '/v1/chat/completions', reqBody, resBody: { id: 'c', model: 'gpt-4o', choices: [{ message: { content: 'yo' }, finish_reason: 'stop' }] } }),
    );
    // Spans of the request body that were parsed (the response body is parsed whole).
    const parsed = spy.mock.calls.map((c) => String(c[0])).filter((s) => text.includes(s));
    spy.mockRestore();
    expect('call' in r && r.call.request_view?.userPreview).toBe('hi there');
    expect('call' in r && r.call.tools_offered).toEqual(['x']);
    expect(parsed).not.toContain(text);
    expect(new Set(parsed).size).toBe(parsed.length);
  });
});

describe('request view: trailing context after the real last message (Claude Code 2.1.331)', () => {
  const toolUse = { role: 'assistant', content: [{ type: 'text', text: 'Delegating.' }, { type: 'tool_use', id: 'toolu_1', name: 'Agent', input: { prompt: 'x' } }] };

  it('sees the prompt before a role "system" environment message', () => {
    const v = requestViewOf('anthropic.messages', { messages: [PROMPT_MESSAGE, ENVIRONMENT_MESSAGE] })!;
    expect(v.lastIsUserPrompt).toBe(true);
    expect(v.userPreview).toBe('Run `echo llmtap-clients-ok` with the Bash tool and tell me what it printed.');
    expect(v.messageCount).toBe(2);
  });

  it('a system message after tool results does not make them a prompt', () => {
    const v = requestViewOf('anthropic.messages', {
      messages: [PROMPT_MESSAGE, ENVIRONMENT_MESSAGE, toolUse, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'ok' }] }, AGENT_TYPES_MESSAGE],
    })!;
    expect(v.lastIsUserPrompt).toBe(false);
    expect(v.toolResultIds).toEqual(['toolu_1']);
  });

  it('reads the background launch notice of the Agent tool result', () => {
    const v = requestViewOf('anthropic.messages', { messages: [PROMPT_MESSAGE, ENVIRONMENT_MESSAGE, toolUse, agentLaunchedResult('toolu_1')] })!;
    expect(v.lastIsUserPrompt).toBe(false);
    expect(v.launchedAgentIds).toEqual([SUBAGENT_ID]);
    // An ordinary result mentioning an agent id is no launch.
    const plain = requestViewOf('anthropic.messages', {
      messages: [PROMPT_MESSAGE, toolUse, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'grep found agentId: a1' }] }],
    })!;
    expect(plain.launchedAgentIds).toEqual([]);
  });

  it('a task notification is not a prompt, and names the finished sub-agent', () => {
    const answered = [PROMPT_MESSAGE, ENVIRONMENT_MESSAGE, toolUse, agentLaunchedResult('toolu_1'), { role: 'assistant', content: [{ type: 'text', text: 'Launched.' }] }];
    const v = requestViewOf('anthropic.messages', { messages: [...answered, taskNotification('toolu_1')] })!;
    expect(v.lastIsUserPrompt).toBe(false);
    expect(v.userPreview).toBeNull();
    expect(v.taskNotificationIds).toEqual([SUBAGENT_ID]);
    // Not wrapped in a reminder, the notice line still marks it as the client's.
    const bare = {
      role: 'user',
      content: `[SYSTEM NOTIFICATION - NOT USER INPUT]\nAn automated event.\n<task-notification><task-id>a1</task-id><status>completed</status></task-notification>`,
    };
    const w = requestViewOf('anthropic.messages', { messages: [...answered, bare] })!;
    expect({ prompt: w.lastIsUserPrompt, ids: w.taskNotificationIds }).toEqual({ prompt: false, ids: ['a1'] });
    // A prompt the user typed while the notification waited is still a prompt.
    const typed = requestViewOf('anthropic.messages', { messages: [...answered, { role: 'user', content: [...(taskNotification('toolu_1') as { content: object[] }).content, { type: 'text', text: 'And now the docs' }] }] })!;
    expect({ prompt: typed.lastIsUserPrompt, preview: typed.userPreview, ids: typed.taskNotificationIds }).toEqual({ prompt: true, preview: 'And now the docs', ids: [SUBAGENT_ID] });
  });

  it('Responses: developer items after the prompt are skipped too', () => {
    const v = requestViewOf('openai.responses', {
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Review the capture module' }] },
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions instructions>…' }] },
      ],
    })!;
    expect({ prompt: v.lastIsUserPrompt, preview: v.userPreview }).toEqual({ prompt: true, preview: 'Review the capture module' });
  });

  it('Chat: a trailing run of tool messages gives every result id', () => {
    const v = requestViewOf('openai.chat_completions', {
      messages: [
        { role: 'user', content: 'go' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'a', arguments: '{}' } }, { id: 'c2', type: 'function', function: { name: 'b', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'x' },
        { role: 'tool', tool_call_id: 'c2', content: 'y' },
        { role: 'system', content: 'Reminder: be brief.' },
      ],
    })!;
    expect({ prompt: v.lastIsUserPrompt, ids: v.toolResultIds }).toEqual({ prompt: false, ids: ['c1', 'c2'] });
  });

  it('stops skipping after a cap: a body of system messages alone is no prompt', () => {
    const v = requestViewOf('anthropic.messages', { messages: [PROMPT_MESSAGE, ...Array.from({ length: 100 }, () => ENVIRONMENT_MESSAGE)] })!;
    expect(v.lastIsUserPrompt).toBe(false);
    const few = requestViewOf('anthropic.messages', { messages: [PROMPT_MESSAGE, ...Array.from({ length: 5 }, () => ENVIRONMENT_MESSAGE)] })!;
    expect(few.lastIsUserPrompt).toBe(true);
  });
});

describe('requestViewOf on arbitrary JSON', () => {
  it('never throws, whatever shape the body has, for every API', () => {
    const apis = ['anthropic.messages', 'openai.chat_completions', 'openai.responses', 'gemini.generate_content', 'bedrock.invoke_model', 'bedrock.converse'];
    const message = fc.dictionary(fc.constantFrom('role', 'content', 'type', 'parts', 'tool_calls', 'id', 'text', 'call_id', 'output', 'toolUse', 'toolResult'), fc.jsonValue({ maxDepth: 3 }));
    const body = fc.record({
      messages: fc.oneof(fc.array(message, { maxLength: 6 }), fc.jsonValue({ maxDepth: 2 })),
      input: fc.oneof(fc.array(message, { maxLength: 6 }), fc.string()),
      contents: fc.array(message, { maxLength: 6 }),
      system: fc.jsonValue({ maxDepth: 2 }),
      metadata: fc.jsonValue({ maxDepth: 2 }),
      anthropic_version: fc.oneof(fc.constant('bedrock-2023-05-31'), fc.jsonValue({ maxDepth: 1 })),
    }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.constantFrom(...apis), fc.oneof(body, fc.jsonValue({ maxDepth: 4 })), (api, b) => {
        const v = requestViewOf(api, b);
        if (v !== null) expect(v.messageCount).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });
});


describe('request view: Bedrock', () => {
  const anthropicMessages = [
    { role: 'user', content: [{ type: 'text', text: reminder }, { type: 'text', text: 'Fix the failing test' }] },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_A', name: 'Read', input: { path: 'a.ts' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_A', content: 'x' }] },
  ];

  it('InvokeModel with an Anthropic body gives the same view as Anthropic Messages', () => {
    const body = { anthropic_version: 'bedrock-2023-05-31', max_tokens: 32000, system: [{ type: 'text', text: 'You are Claude Code.' }], messages: anthropicMessages };
    const v = requestViewOf('bedrock.invoke_model', body);
    expect(v).not.toBeNull();
    expect(v).toEqual(requestViewOf('anthropic.messages', body));
    expect(v).toMatchObject({ messageCount: 3, anchorToolCallId: 'toolu_A', toolResultIds: ['toolu_A'], historyHasTools: true, systemPreview: 'You are Claude Code.', maxTokens: 32000 });
  });

  it('InvokeModel bodies of other families carry no conversation to read', () => {
    expect(requestViewOf('bedrock.invoke_model', { inputText: 'Hello', textGenerationConfig: { maxTokenCount: 50 } })).toBeNull();
    expect(requestViewOf('bedrock.invoke_model', { prompt: '<|begin_of_text|>Hi', max_gen_len: 64 })).toBeNull();
    // anthropic_version must be a string (the Bedrock docs' `"bedrock-2023-05-31"`).
    expect(requestViewOf('bedrock.invoke_model', { anthropic_version: 1, messages: anthropicMessages })).toBeNull();
  });

  it('Converse: system blocks, toolUse and toolResult, media, inferenceConfig.maxTokens', () => {
    const opening = [
      { role: 'user', content: [{ text: 'What is in this picture?' }, { image: { format: 'png', source: { bytes: 'AAAA' } } }] },
      { role: 'assistant', content: [{ text: 'Let me look.' }, { toolUse: { toolUseId: 'tooluse_1', name: 'zoom', input: {} } }] },
    ];
    const prompt = requestViewOf('bedrock.converse', { system: [{ text: 'Be brief.' }, { cachePoint: { type: 'default' } }], messages: [opening[0]], inferenceConfig: { maxTokens: 512 } })!;
    expect(prompt).toMatchObject({ messageCount: 1, lastIsUserPrompt: true, userPreview: 'What is in this picture?', systemPreview: 'Be brief.', maxTokens: 512, historyHasTools: false });
    const followUp = requestViewOf('bedrock.converse', {
      system: [{ text: 'Be brief.' }],
      messages: [...opening, { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_1', content: [{ json: { zoom: 2 } }], status: 'success' } }] }],
    })!;
    expect(followUp).toMatchObject({ messageCount: 3, lastIsUserPrompt: false, userPreview: null, anchorToolCallId: 'tooluse_1', toolResultIds: ['tooluse_1'], historyHasTools: true });
    // The opening hash is the one the tracker computes from the first call's answer.
    expect(followUp.openingHash).toBe(openingHashOf(prompt.openingUserHash!, 'Let me look.', ['zoom']));
  });

  it('Converse bodies of the wrong shape give an empty view, never a throw', () => {
    for (const body of [{ messages: 'x' }, { messages: [null, 7, { role: 'user', content: 'text' }, { content: [{ toolUse: null }] }] }, { system: 'x' }]) {
      const v = requestViewOf('bedrock.converse', body);
      expect(v).not.toBeNull();
      expect(v!.lastIsUserPrompt).toBe(false);
    }
  });
});

describe('textsHashHex', () => {
  /** The hash as it was first written: one Hash object fed each capped part in turn. */
  function fedOneByOne(pieces: readonly string[]): string {
    const h = createHash('sha256');
    let left = 64 * 1024;
    for (const s of pieces) {
      if (left <= 0) break;
      if (s.length > 4096 + 8192) {
        h.update(s.slice(0, 4096));
        h.update(`\u0000${s.length}\u0000`);
        h.update(s.slice(s.length - 8192));
        left -= 4096 + 8192;
      } else {
        h.update(s);
        left -= s.length;
      }
    }
    return h.digest('hex').slice(0, 16);
  }
  // Pieces from a few characters (lone surrogates among them, where joining differs from feeding
  // one by one), short or long enough to be cut to head and tail, or to reach the 64 Ki cap.
  const unit = fc.constantFrom('a', ' ', '\n', 'é', '\ud83d', '\ude00', '\ud83d\ude00', '\u0000');
  const piece = fc.oneof(
    fc.array(unit, { maxLength: 8 }).map((a) => a.join('')),
    fc.tuple(fc.array(unit, { maxLength: 4 }), fc.integer({ min: 0, max: 30_000 }), fc.array(unit, { maxLength: 4 })).map(([a, n, b]) => a.join('') + 'x'.repeat(n) + b.join('')),
  );

  it('is the digest of the capped parts fed one by one', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        expect(textsHashHex(pieces)).toBe(fedOneByOne(pieces));
      }),
      { numRuns: 500 },
    );
  });

  it('reads nothing past 64 Ki characters', () => {
    const full = Array.from({ length: 8 }, () => 'x'.repeat(8192));
    expect(textsHashHex([...full, 'more'])).toBe(textsHashHex(full));
    expect(textsHashHex([...full, 'more'])).toBe(fedOneByOne([...full, 'more']));
  });

  it('keeps a surrogate pair split across pieces apart, as feeding them one by one does', () => {
    const split = ['abc\ud83d', '\ude00def'];
    expect(textsHashHex(split)).toBe(fedOneByOne(split));
    expect(textsHashHex(split)).not.toBe(textsHashHex(['abc\ud83d\ude00def']));
  });
});
