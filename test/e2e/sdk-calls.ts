/**
 * The calls the end-to-end tests make with the official SDKs, and what each SDK itself returned:
 * the view a user of the SDK has, which llmtap's record of the same call must agree with.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';

/** Dummy keys: shaped like real ones (llmtap's key pattern must catch them), valid nowhere. */
export const OPENAI_TEST_KEY = 'sk-test-e2e-0123456789abcdefghijKLMNOP';
export const ANTHROPIC_TEST_KEY = 'sk-ant-test-e2e-0123456789abcdefghijKLMNOP';

/** One call as the SDK saw it. */
export interface SdkView {
  label: string;
  api: 'openai.chat_completions' | 'anthropic.messages';
  stream: boolean;
  requestModel: string;
  id: string;
  model: string;
  /** Total input, the DESIGN §3 way: for Anthropic input + cache reads + cache writes. */
  inputTokens: number;
  outputTokens: number;
  finishReasonRaw: string;
  toolNames: string[];
  /** The generated text as the SDK assembled it. */
  text: string;
}

/** ~100 KB of prompt, so that a request spans ~70 segments at a 1500-byte MTU. Deterministic: the
 * server derives ids and usage from the request body. */
export function bigPrompt(tag: string, bytes = 100_000): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `[${tag} ${i}] Context paragraph: logs, traces and notes that an agent pastes into its prompt.\n`;
    parts.push(line);
    size += line.length;
  }
  return parts.join('');
}

const TOOL_SCHEMA = {
  type: 'object' as const,
  properties: { query: { type: 'string' }, limit: { type: 'integer' } },
  required: ['query'],
};
const WEATHER_TOOL = { name: 'get_weather', description: 'Current weather for a city', parameters: TOOL_SCHEMA };
const SEARCH_TOOL = { name: 'search_docs', description: 'Search the documentation', parameters: TOOL_SCHEMA };

/** Bounded: a hung server or a lost connection fails the test instead of hanging it. No retries:
 * one request per call, so the capture holds exactly the calls listed here (TCP, not the SDK,
 * must recover from dropped packets). */
const CLIENT_LIMITS = { timeout: 60_000, maxRetries: 0 } as const;

export async function runOpenAiCalls(baseURL: string): Promise<SdkView[]> {
  const client = new OpenAI({ apiKey: OPENAI_TEST_KEY, baseURL, ...CLIENT_LIMITS });
  const views: SdkView[] = [];

  // 1. Non-streamed, big request and a ~20 KB answer (segmented in both directions).
  {
    const model = 'gpt-4o-mini';
    const r = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: `${bigPrompt('oa-plain')}\nReply with 3000 words.` },
      ],
    });
    const c = r.choices[0];
    views.push({
      label: 'openai non-stream',
      api: 'openai.chat_completions',
      stream: false,
      requestModel: model,
      id: r.id,
      model: r.model,
      inputTokens: r.usage?.prompt_tokens ?? -1,
      outputTokens: r.usage?.completion_tokens ?? -1,
      finishReasonRaw: c?.finish_reason ?? '',
      toolNames: (c?.message.tool_calls ?? []).flatMap((t) => (t.type === 'function' ? [t.function.name] : [])),
      text: c?.message.content ?? '',
    });
  }

  // 2. Streamed with stream_options.include_usage.
  views.push(
    await openAiStream(client, 'openai stream', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: `${bigPrompt('oa-stream')}\nReply with 120 words.` }],
    }),
  );

  // 3. Non-streamed tool call.
  {
    const model = 'gpt-4.1-mini';
    const r = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: `${bigPrompt('oa-tool', 20_000)}\nWhat is the weather in Paris?` }],
      tools: [{ type: 'function', function: WEATHER_TOOL }],
    });
    const c = r.choices[0];
    views.push({
      label: 'openai tool call',
      api: 'openai.chat_completions',
      stream: false,
      requestModel: model,
      id: r.id,
      model: r.model,
      inputTokens: r.usage?.prompt_tokens ?? -1,
      outputTokens: r.usage?.completion_tokens ?? -1,
      finishReasonRaw: c?.finish_reason ?? '',
      toolNames: (c?.message.tool_calls ?? []).flatMap((t) => (t.type === 'function' ? [t.function.name] : [])),
      text: c?.message.content ?? '',
    });
  }

  // 4. Streamed parallel tool calls (deltas keyed by index).
  views.push(
    await openAiStream(client, 'openai stream tool calls', {
      model: 'gpt-4o',
      messages: [{ role: 'user', content: `${bigPrompt('oa-stream-tools')}\nWeather in Oslo, and find the docs.` }],
      tools: [
        { type: 'function', function: WEATHER_TOOL },
        { type: 'function', function: SEARCH_TOOL },
      ],
    }),
  );

  // 5. Streamed, cut short by max_completion_tokens: finish_reason "length".
  views.push(
    await openAiStream(client, 'openai stream length', {
      model: 'gpt-4o-mini',
      max_completion_tokens: 7,
      messages: [{ role: 'user', content: 'Reply with 500 words.' }],
    }),
  );
  return views;
}

async function openAiStream(
  client: OpenAI,
  label: string,
  params: Omit<OpenAI.Chat.ChatCompletionCreateParamsStreaming, 'stream' | 'stream_options'>,
): Promise<SdkView> {
  const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
  let id = '';
  let model = '';
  let finish = '';
  let inputTokens = -1;
  let outputTokens = -1;
  let text = '';
  const tools = new Map<number, string>();
  for await (const chunk of stream) {
    id = chunk.id;
    model = chunk.model;
    if (chunk.usage) {
      inputTokens = chunk.usage.prompt_tokens;
      outputTokens = chunk.usage.completion_tokens;
    }
    for (const choice of chunk.choices) {
      if (choice.finish_reason) finish = choice.finish_reason;
      text += choice.delta.content ?? '';
      for (const t of choice.delta.tool_calls ?? []) {
        if (t.function?.name) tools.set(t.index, t.function.name);
      }
    }
  }
  return {
    label,
    api: 'openai.chat_completions',
    stream: true,
    requestModel: params.model,
    id,
    model,
    inputTokens,
    outputTokens,
    finishReasonRaw: finish,
    toolNames: [...tools.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n),
    text,
  };
}

export async function runAnthropicCalls(baseURL: string): Promise<SdkView[]> {
  const client = new Anthropic({ apiKey: ANTHROPIC_TEST_KEY, baseURL, ...CLIENT_LIMITS });
  const views: SdkView[] = [];
  const tools = [
    { name: WEATHER_TOOL.name, description: WEATHER_TOOL.description, input_schema: WEATHER_TOOL.parameters },
    { name: SEARCH_TOOL.name, description: SEARCH_TOOL.description, input_schema: SEARCH_TOOL.parameters },
  ] satisfies Anthropic.Tool[];
  const system: Anthropic.TextBlockParam[] = [
    { type: 'text', text: bigPrompt('an-system', 60_000), cache_control: { type: 'ephemeral' } },
  ];

  const view = (label: string, stream: boolean, requestModel: string, m: Anthropic.Message): SdkView => ({
    label,
    api: 'anthropic.messages',
    stream,
    requestModel,
    id: m.id,
    model: m.model,
    inputTokens: m.usage.input_tokens + (m.usage.cache_read_input_tokens ?? 0) + (m.usage.cache_creation_input_tokens ?? 0),
    outputTokens: m.usage.output_tokens,
    finishReasonRaw: m.stop_reason ?? '',
    toolNames: m.content.flatMap((b) => (b.type === 'tool_use' ? [b.name] : [])),
    text: m.content.flatMap((b) => (b.type === 'text' ? [b.text] : [])).join(''),
  });

  // 1. Non-streamed, prompt caching, big request and a ~15 KB answer.
  {
    const model = 'claude-sonnet-4-6';
    const m = await client.messages.create({
      model,
      max_tokens: 4096,
      system,
      messages: [{ role: 'user', content: `${bigPrompt('an-plain', 40_000)}\nReply with 2500 words.` }],
    });
    views.push(view('anthropic non-stream', false, model, m));
  }

  // 2. Streamed text (the SDK's own accumulation of message_start … message_stop).
  {
    const model = 'claude-haiku-4-5';
    const m = await client.messages
      .stream({ model, max_tokens: 1024, system, messages: [{ role: 'user', content: 'Reply with 150 words.' }] })
      .finalMessage();
    views.push(view('anthropic stream', true, model, m));
  }

  // 3. Streamed parallel tool_use with input_json_delta.
  {
    const model = 'claude-sonnet-4-6';
    const m = await client.messages
      .stream({
        model,
        max_tokens: 1024,
        system,
        tools,
        messages: [{ role: 'user', content: `${bigPrompt('an-stream-tools', 40_000)}\nWeather in Lima, and the docs.` }],
      })
      .finalMessage();
    views.push(view('anthropic stream tool_use', true, model, m));
  }

  // 4. Non-streamed tool_use.
  {
    const model = 'claude-opus-4-6';
    const m = await client.messages.create({
      model,
      max_tokens: 1024,
      tools: [tools[0]!],
      messages: [{ role: 'user', content: 'What is the weather in Rome?' }],
    });
    views.push(view('anthropic tool_use', false, model, m));
  }

  // 5. Streamed, cut short by max_tokens: stop_reason "max_tokens".
  {
    const model = 'claude-haiku-4-5';
    const m = await client.messages
      .stream({ model, max_tokens: 9, messages: [{ role: 'user', content: 'Reply with 400 words.' }] })
      .finalMessage();
    views.push(view('anthropic stream max_tokens', true, model, m));
  }
  return views;
}
