import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import type { AgentTurnRecord, LlmCallRecord } from '../core/record.js';
import { AGENT_TYPES_MESSAGE, agentLaunchedResult, ENVIRONMENT_MESSAGE, PROMPT_MESSAGE, SUBAGENT_ID, taskNotification } from '../../test/agents/fixtures/claude-code-2.1.331.js';
import {
  anthropicReply,
  bedrockAnthropicBody,
  chatBody,
  claude2Body,
  claude2Headers,
  chatReply,
  claudeBody,
  claudeHeaders,
  codexHeaders,
  converseBody,
  converseReply,
  craft,
  responsesBody,
  responsesReply,
  SUBAGENT_TOOLS,
  toolResult,
  toolUse,
  us,
  type AnthropicMsg,
} from './crafted-calls.test-support.js';
import type { AgentCallInput } from './profiles.js';
import { TurnTracker, type TurnTrackerOptions } from './turn-tracker.js';

/** Runs calls (in the order given) through a tracker; what was written, in order. A number
 * instead of a call moves capture time on to that many seconds (a packet of another flow). */
function run(calls: (AgentCallInput | number)[], opts: Partial<TurnTrackerOptions> = {}, end = true) {
  const out: ({ call: LlmCallRecord } | { turn: AgentTurnRecord; final: boolean })[] = [];
  const tracker = new TurnTracker({ onTurn: (turn, final) => out.push({ turn, final }), ...opts });
  for (const c of calls) {
    if (typeof c === 'number') tracker.advance(us(c));
    else tracker.add(c, () => out.push({ call: c.record }));
  }
  if (end) tracker.flush();
  const finals = out.flatMap((o) => ('turn' in o && o.final ? [o.turn] : []));
  const written = out.flatMap((o) => ('call' in o ? [o.call] : []));
  return { out, finals, written, tracker };
}

/** A Claude Code turn: prompt → tool_use → tool_result → answer, starting at `at` seconds. */
function claudeTurn(session: string, at: number, prompt: string, toolId: string, answer = 'Done.'): AgentCallInput[] {
  const h = claudeHeaders(session);
  const first: AnthropicMsg[] = [{ role: 'user', content: prompt }];
  const withTool: AnthropicMsg[] = [...first, { role: 'assistant', content: [toolUse(toolId, 'Bash', { command: 'ls' })] }, { role: 'user', content: [toolResult(toolId)] }];
  return [
    craft({ headers: h, body: claudeBody(first), response: anthropicReply({ tools: [{ id: toolId, name: 'Bash', input: { command: 'ls' } }], input: 100, output: 20, cacheRead: 50 }), at }),
    craft({ headers: h, body: claudeBody(withTool), response: anthropicReply({ text: answer, input: 200, output: 30, cacheRead: 150 }), at: at + 3 }),
  ];
}

describe('turn tracker: one turn', () => {
  it('stitches a tool round-trip into one complete turn, written after its calls', () => {
    const calls = claudeTurn('s-1', 0, 'List the files', 'toolu_1');
    const { out, finals, written } = run(calls);
    expect(finals).toHaveLength(1);
    const t = finals[0]!;
    expect(t).toMatchObject({
      kind: 'agent_turn',
      agent: 'claude-code',
      session_id: 's-1',
      status: 'complete',
      call_count: 2,
      models: ['claude-sonnet-4-5'],
      tool_call_count: 1,
      tools_used: [{ name: 'Bash', count: 1 }],
      user_preview: 'List the files',
      final_preview: 'Done.',
      final_finish_reason: 'stop',
      // Both calls are priced (claude-sonnet-4-5: $3 input, $0.30 cache read, $15 output per million): the turn's cost is their sum.
      cost_usd: expect.closeTo((100 * 3 + 50 * 0.3 + 20 * 15 + 200 * 3 + 150 * 0.3 + 30 * 15) / 1e6, 12),
      subagents: [],
      stalls: [],
      loops: [],
      anomalies: [],
    });
    // Anthropic input counts include cache reads (DESIGN §3): (100+50) + (200+150).
    expect(t.usage).toMatchObject({ input_tokens: 500, output_tokens: 50, cache_read_tokens: 200, estimated: false });
    expect(t.steps.map((s) => s.call_id)).toEqual(written.map((c) => c.id));
    expect(t.start).toBe(calls[0]!.record.timing.request_start);
    expect(t.end).toBe(calls[1]!.record.timing.response_end);
    expect(t.duration_ms).toBe(4000);
    for (const c of written) expect(c).toMatchObject({ agent: 'claude-code', session_id: 's-1', turn_id: t.id, agent_role: 'main' });
    // JSONL order: the turn record comes after both of its calls.
    const lastCall = out.map((o) => 'call' in o).lastIndexOf(true);
    expect(out.findIndex((o) => 'turn' in o && o.final)).toBeGreaterThan(lastCall);
  });

  it('gives the same turn ids to the same input', () => {
    const a = run(claudeTurn('s-1', 0, 'List the files', 'toolu_1')).finals[0]!.id;
    const b = run(claudeTurn('s-1', 0, 'List the files', 'toolu_1')).finals[0]!.id;
    const other = run(claudeTurn('s-2', 0, 'List the files', 'toolu_1')).finals[0]!.id;
    expect(a).toBe(b);
    expect(other).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  it('emits in-progress snapshots while a turn is open, and none when asked not to', () => {
    const calls = claudeTurn('s-1', 0, 'List the files', 'toolu_1');
    const snaps = run(calls, {}, false).out.filter((o) => 'turn' in o && !o.final);
    expect(snaps.map((o) => ('turn' in o ? [o.turn.status, o.turn.call_count] : null))).toEqual([
      ['in_progress', 1],
      ['in_progress', 2],
    ]);
    expect(run(claudeTurn('s-1', 0, 'x', 'toolu_1'), { snapshots: false }).out.filter((o) => 'turn' in o && !o.final)).toHaveLength(0);
  });
});

describe('turn tracker: crafted cases (issue 4)', () => {
  it('two sessions interleaved on one connection', () => {
    const a = claudeTurn('sess-A', 0, 'Task A', 'toolu_a');
    const b = claudeTurn('sess-B', 1, 'Task B', 'toolu_b');
    // One keep-alive connection: same client port, requests alternating.
    const calls = [a[0]!, b[0]!, a[1]!, b[1]!];
    calls.forEach((c) => (c.record.client.port = 50_000));
    const { finals, written } = run(calls);
    expect(finals.map((t) => [t.session_id, t.status, t.call_count, t.user_preview])).toEqual([
      ['sess-A', 'complete', 2, 'Task A'],
      ['sess-B', 'complete', 2, 'Task B'],
    ]);
    for (const c of written) expect(c.turn_id).toBe(finals.find((t) => t.session_id === c.session_id)!.id);
  });

  it('a turn whose calls arrive out of order', () => {
    const h = claudeHeaders('s-1');
    const p: AnthropicMsg[] = [{ role: 'user', content: 'Fix it' }];
    const r1 = [...p, { role: 'assistant' as const, content: [toolUse('t1', 'Read')] }, { role: 'user' as const, content: [toolResult('t1')] }];
    const r2 = [...r1, { role: 'assistant' as const, content: [toolUse('t2', 'Edit')] }, { role: 'user' as const, content: [toolResult('t2')] }];
    const c1 = craft({ headers: h, body: claudeBody(p), response: anthropicReply({ tools: [{ id: 't1', name: 'Read' }] }), at: 0 });
    const c2 = craft({ headers: h, body: claudeBody(r1), response: anthropicReply({ tools: [{ id: 't2', name: 'Edit' }] }), at: 2 });
    const c3 = craft({ headers: h, body: claudeBody(r2), response: anthropicReply({ text: 'Fixed.' }), at: 4 });
    for (const order of [
      [c2, c1, c3],
      [c1, c3, c2],
      [c3, c2, c1],
    ]) {
      for (const c of order) c.record.turn_id = null;
      const { finals, written } = run(order);
      expect(finals).toHaveLength(1);
      const t = finals[0]!;
      expect(t).toMatchObject({ status: 'complete', call_count: 3, user_preview: 'Fix it', final_preview: 'Fixed.', anomalies: [] });
      // Steps in request order whatever the arrival order.
      expect(t.steps.map((s) => s.call_id)).toEqual([c1, c2, c3].map((c) => c.record.id));
      expect(t.start).toBe(c1.record.timing.request_start);
      for (const c of written) expect(c.turn_id).toBe(t.id);
    }
  });

  it('a session that goes silent closes as incomplete after the idle timeout', () => {
    const silent = claudeTurn('quiet', 0, 'Start something', 'toolu_q')[0]!; // asks for a tool, never answered
    const later = claudeTurn('busy', 120, 'Later work', 'toolu_b');
    const { out, finals } = run([silent, ...later], { idleTimeoutMs: 60_000 }, false);
    // Closed by capture time (the other session's calls), not by the end of input.
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ session_id: 'quiet', status: 'incomplete', call_count: 1, final_preview: null, final_finish_reason: null });
    expect(finals[0]!.anomalies).toEqual(['agent_turn_idle_timeout']);
    expect(out.findIndex((o) => 'turn' in o && o.final)).toBeLessThan(out.length - 1);

    // Without other traffic, the packet clock (advance) closes it too.
    const t = new TurnTracker({ idleTimeoutMs: 60_000, onTurn: (turn, final) => final && got.push(turn) });
    const got: AgentTurnRecord[] = [];
    t.add(claudeTurn('quiet', 0, 'x', 'toolu_q')[0]!, () => undefined);
    t.advance(us(30));
    expect(got).toHaveLength(0);
    t.advance(us(62));
    expect(got.map((x) => x.status)).toEqual(['incomplete']);
  });

  it('end of input flushes open turns as incomplete', () => {
    const { finals } = run([claudeTurn('s', 0, 'x', 'toolu_1')[0]!]);
    expect(finals.map((t) => [t.status, t.anomalies])).toEqual([['incomplete', ['agent_turn_input_ended']]]);
  });

  it('a loop of identical tool calls, and a stall', () => {
    const h = claudeHeaders('loop');
    const msgs: AnthropicMsg[] = [{ role: 'user', content: 'Make the build pass' }];
    const calls: AgentCallInput[] = [];
    let at = 0;
    for (let i = 0; i < 4; i++) {
      const id = `tl${i}`;
      calls.push(craft({ headers: h, body: claudeBody([...msgs]), response: anthropicReply({ tools: [{ id, name: 'Bash', input: { command: 'npm run build' } }] }), at }));
      msgs.push({ role: 'assistant', content: [toolUse(id, 'Bash', { command: 'npm run build' })] }, { role: 'user', content: [toolResult(id, 'error')] });
      // The third build runs 90 s: a stall after the third call.
      at += i === 2 ? 91 : 2;
    }
    calls.push(craft({ headers: h, body: claudeBody(msgs), response: anthropicReply({ text: 'I give up.' }), at }));
    const t = run(calls).finals[0]!;
    expect(t.call_count).toBe(5);
    expect(t.loops).toEqual([{ tool: 'Bash', arguments_preview: '{"command":"npm run build"}', count: 4 }]);
    expect(t.stalls).toEqual([{ after_call_id: calls[2]!.record.id, gap_ms: 90_000 }]);
    // Thresholds are settings.
    const strict = run(calls.map((c) => ({ ...c, record: { ...c.record } })), { loopCount: 5, stallMs: 100_000 }).finals[0]!;
    expect(strict.loops).toEqual([]);
    expect(strict.stalls).toEqual([]);
  });

  it('a sub-agent inside a turn', () => {
    const h = claudeHeaders('s-sub');
    const p: AnthropicMsg[] = [{ role: 'user', content: 'Research the bug' }];
    const main1 = craft({ headers: h, body: claudeBody(p), response: anthropicReply({ tools: [{ id: 'ag1', name: 'Agent', input: { prompt: 'Find where X is set' } }] }), at: 0 });
    const subPrompt: AnthropicMsg[] = [{ role: 'user', content: 'Find where X is set' }];
    const sub1 = craft({ headers: h, body: claudeBody(subPrompt, { tools: SUBAGENT_TOOLS }), response: anthropicReply({ tools: [{ id: 'g1', name: 'Grep' }] }), at: 2 });
    const sub2 = craft({
      headers: h,
      body: claudeBody([...subPrompt, { role: 'assistant', content: [toolUse('g1', 'Grep')] }, { role: 'user', content: [toolResult('g1')] }], { tools: SUBAGENT_TOOLS }),
      response: anthropicReply({ text: 'X is set in a.ts' }),
      at: 4,
    });
    const main2 = craft({
      headers: h,
      body: claudeBody([...p, { role: 'assistant', content: [toolUse('ag1', 'Agent')] }, { role: 'user', content: [toolResult('ag1', 'X is set in a.ts')] }]),
      response: anthropicReply({ text: 'The bug is in a.ts.' }),
      at: 6,
    });
    const { finals, written } = run([main1, sub1, sub2, main2]);
    expect(finals).toHaveLength(1);
    const t = finals[0]!;
    expect(t).toMatchObject({ status: 'complete', call_count: 4, final_preview: 'The bug is in a.ts.', user_preview: 'Research the bug' });
    expect(t.subagents).toHaveLength(1);
    expect(t.subagents[0]).toMatchObject({ call_count: 2, first_call_id: sub1.record.id });
    expect(t.steps.map((s) => [s.role, s.subagent_id === null ? null : 'sub'])).toEqual([
      ['main', null],
      ['subagent', 'sub'],
      ['subagent', 'sub'],
      ['main', null],
    ]);
    expect(written.map((c) => c.agent_role)).toEqual(['main', 'subagent', 'subagent', 'main']);
    // The sub-agent's answer (end_turn) did not end the parent's turn early.
    expect(t.steps[t.steps.length - 1]!.call_id).toBe(main2.record.id);
  });

  it('auxiliary calls keep agent and session but stay out of turns', () => {
    const [c1, c2] = claudeTurn('s-aux', 0, 'Do it', 'toolu_1');
    const h = claudeHeaders('s-aux');
    const title = craft({ headers: h, body: claudeBody([{ role: 'user', content: 'Do it' }], { tools: [], system: 'Analyze if this message indicates a new conversation topic.' }), response: anthropicReply({ text: '{"title":"Do it"}' }), at: 0.5 });
    const probe = craft({ headers: h, body: claudeBody([{ role: 'user', content: 'quota' }], { maxTokens: 1 }), response: anthropicReply({ text: '' }), at: 1 });
    const { finals, written } = run([c1!, title, probe, c2!]);
    expect(finals).toHaveLength(1);
    expect(finals[0]!.call_count).toBe(2);
    for (const aux of [title, probe]) expect(aux.record).toMatchObject({ agent: 'claude-code', session_id: 's-aux', turn_id: null, agent_role: 'auxiliary' });
    expect(written).toHaveLength(4);
  });

  it('bounded memory: the least recently active session is evicted as incomplete', () => {
    const anomalies = new AnomalyCounter();
    const firsts = ['s1', 's2', 's3'].map((s, i) => claudeTurn(s, i, `task ${s}`, `toolu_${s}`)[0]!);
    const { finals } = run(firsts, { maxSessions: 2, anomalies }, false);
    expect(finals.map((t) => [t.session_id, t.status, t.anomalies])).toEqual([['s1', 'incomplete', ['agent_session_evicted']]]);
    expect(anomalies.get('agent_sessions_capped')).toBe(1);
  });

  it('a new prompt before the answer closes the open turn as interrupted', () => {
    const [c1] = claudeTurn('s', 0, 'First', 'toolu_1');
    const next = claudeTurn('s', 10, 'Never mind, do this', 'toolu_2');
    const { finals } = run([c1!, ...next]);
    expect(finals.map((t) => [t.user_preview, t.status, t.anomalies])).toEqual([
      ['First', 'incomplete', ['agent_turn_interrupted']],
      ['Never mind, do this', 'complete', []],
    ]);
  });

  it('a turn whose calls are not all priced sums what is priced and says the cost is partial', () => {
    const calls = claudeTurn('s', 0, 'x', 'toolu_1');
    const priced = calls[0]!.record.cost_usd;
    expect(priced).not.toBeNull();
    Object.assign(calls[1]!.record, { cost_usd: null, cost_status: 'unpriced' });
    const t = run(calls).finals[0]!;
    expect(t.cost_usd).toBe(priced);
    expect(t.anomalies).toContain('agent_turn_cost_partial');
  });

  it('a capture that begins mid-turn opens the turn at the first follow-up seen', () => {
    const [, c2] = claudeTurn('s', 0, 'x', 'toolu_1');
    const t = run([c2!]).finals[0]!;
    expect(t).toMatchObject({ status: 'complete', call_count: 1, user_preview: null, anomalies: ['agent_turn_start_missed'] });
  });

  it('plain calls are no agent and make no turn', () => {
    const c = craft({ api: 'chat', body: chatBody([{ role: 'user', content: 'hello' }], []), response: chatReply({ text: 'hi' }), at: 0 });
    const { finals, written } = run([c]);
    expect(finals).toHaveLength(0);
    expect(written[0]).toMatchObject({ agent: null, session_id: null, turn_id: null, agent_role: null });
  });
});

describe('turn tracker: sessions without a client id', () => {
  it('generic: anchored on the first tool-call id, the first call named by its own', () => {
    const m0 = [{ role: 'user', content: 'Read the readme' }];
    const m1 = [...m0, { role: 'assistant', content: null, tool_calls: [{ id: 'call_77', type: 'function', function: { name: 'read_file', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'call_77', content: '# hi' }];
    const c1 = craft({ api: 'chat', body: chatBody(m0), response: chatReply({ calls: [{ id: 'call_77', name: 'read_file' }] }), at: 0 });
    const c2 = craft({ api: 'chat', body: chatBody(m1), response: chatReply({ text: 'It says hi.' }), at: 2 });
    const c3 = craft({ api: 'chat', body: chatBody([...m1, { role: 'assistant', content: 'It says hi.' }, { role: 'user', content: 'Thanks' }]), response: chatReply({ text: 'Welcome.' }), at: 10 });
    const { finals } = run([c1, c2, c3]);
    expect(finals.map((t) => [t.agent, t.session_id, t.call_count, t.status])).toEqual([
      ['generic', 'call_77', 2, 'complete'],
      ['generic', 'call_77', 1, 'complete'],
    ]);
  });

  it('a tool-call id too long to be a session id is replaced by its hash, the same for every call', () => {
    const long = `call_${'x'.repeat(5_000)}`;
    const m0 = [{ role: 'user', content: 'Read the readme' }];
    const m1 = [...m0, { role: 'assistant', content: null, tool_calls: [{ id: long, type: 'function', function: { name: 'read_file', arguments: '{}' } }] }, { role: 'tool', tool_call_id: long, content: '# hi' }];
    const c1 = craft({ api: 'chat', body: chatBody(m0), response: chatReply({ calls: [{ id: long, name: 'read_file' }] }), at: 0 });
    const c2 = craft({ api: 'chat', body: chatBody(m1), response: chatReply({ text: 'It says hi.' }), at: 2 });
    const { finals, written } = run([c1, c2]);
    expect(finals.map((t) => t.call_count)).toEqual([2]);
    expect(finals[0]!.session_id).toMatch(/^id-[0-9a-f]+$/);
    expect(written.map((c) => c.session_id)).toEqual([finals[0]!.session_id, finals[0]!.session_id]);
  });

  it('generic: a text-only opening is named by the hash of its first exchange', () => {
    const m0 = [{ role: 'user', content: 'Hello agent' }];
    const c1 = craft({ api: 'chat', body: chatBody(m0), response: chatReply({ text: 'Hello! What shall I do?' }), at: 0 });
    const c2 = craft({ api: 'chat', body: chatBody([...m0, { role: 'assistant', content: 'Hello! What shall I do?' }, { role: 'user', content: 'Nothing' }]), response: chatReply({ text: 'OK.' }), at: 5 });
    const { finals } = run([c1, c2]);
    expect(finals).toHaveLength(2);
    expect(finals[0]!.session_id).toMatch(/^conv-[0-9a-f]{16}$/);
    expect(finals[1]!.session_id).toBe(finals[0]!.session_id);
  });

  it('Responses chained by previous_response_id stay in one session', () => {
    const c1 = craft({ api: 'responses', body: responsesBody([{ role: 'user', content: 'Run the tests' }]), response: responsesReply({ id: 'resp_A', calls: [{ id: 'call_r1', name: 'shell' }] }), at: 0 });
    const c2 = craft({ api: 'responses', body: responsesBody([{ type: 'function_call_output', call_id: 'call_r1', output: 'ok' }], { previous: 'resp_A' }), response: responsesReply({ text: 'All green.' }), at: 2 });
    const { finals } = run([c1, c2]);
    expect(finals.map((t) => [t.session_id, t.call_count, t.status])).toEqual([['call_r1', 2, 'complete']]);
  });

  it('codex: the client turn id decides where turns begin', () => {
    const h1 = codexHeaders('cs', 'turn-1');
    const h2 = codexHeaders('cs', 'turn-2');
    const i1 = [{ role: 'user', content: 'First' }];
    const i2 = [...i1, { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: 'x' }];
    const calls = [
      craft({ api: 'responses', headers: h1, body: responsesBody(i1), response: responsesReply({ calls: [{ id: 'c1', name: 'shell' }] }), at: 0 }),
      craft({ api: 'responses', headers: h1, body: responsesBody(i2), response: responsesReply({ text: 'one' }), at: 2 }),
      craft({ api: 'responses', headers: h2, body: responsesBody([...i2, { role: 'assistant', content: 'one' }, { role: 'user', content: 'Second' }]), response: responsesReply({ text: 'two' }), at: 9 }),
    ];
    const { finals } = run(calls);
    expect(finals.map((t) => [t.agent, t.session_id, t.call_count, t.status, t.user_preview])).toEqual([
      ['codex', 'cs', 2, 'complete', 'First'],
      ['codex', 'cs', 1, 'complete', 'Second'],
    ]);
  });
});

describe('turn tracker: Claude Code 2.1.331 as observed (test/clients/OBSERVED.md)', () => {
  const S = 'f7f19dea-378e-4aff-9862-9ea91977c7d7';
  const main = claude2Headers(S);
  const sub = claude2Headers(S, SUBAGENT_ID);
  const opening = [PROMPT_MESSAGE, ENVIRONMENT_MESSAGE];
  const delegate = { role: 'assistant', content: [{ type: 'text', text: 'Delegating.' }, toolUse('toolu_ag', 'Agent', { prompt: 'Run the marker' })] };
  const subPrompt = [{ role: 'user', content: [{ type: 'text', text: '<system-reminder>\nAttribution…\n</system-reminder>\n' }, { type: 'text', text: 'Run the marker' }] }, ENVIRONMENT_MESSAGE];
  const subFollow = [...subPrompt, { role: 'assistant', content: [toolUse('toolu_sb', 'Bash', { command: 'echo ok' })] }, { role: 'user', content: [toolResult('toolu_sb', 'ok')] }, AGENT_TYPES_MESSAGE];
  const body = (messages: object[], subagent = false) => claude2Body(messages, { subagent, session: S });

  it('the prompt before the trailing environment message starts the turn', () => {
    const withTool = [...opening, { role: 'assistant', content: [toolUse('toolu_1', 'Bash', { command: 'echo ok' })] }, { role: 'user', content: [toolResult('toolu_1')] }];
    const { finals } = run([
      craft({ headers: main, body: body(opening), response: anthropicReply({ tools: [{ id: 'toolu_1', name: 'Bash' }] }), at: 0 }),
      craft({ headers: main, body: body(withTool), response: anthropicReply({ text: 'It printed ok.' }), at: 2 }),
    ]);
    expect(finals.map((t) => [t.status, t.call_count, t.user_preview, t.anomalies])).toEqual([
      ['complete', 2, 'Run `echo llmtap-clients-ok` with the Bash tool and tell me what it printed.', []],
    ]);
  });

  it('a foreground sub-agent (it offers Agent too) is recognised by its header and named by it', () => {
    const calls = [
      craft({ headers: main, body: body(opening), response: anthropicReply({ tools: [{ id: 'toolu_ag', name: 'Agent' }] }), at: 0 }),
      craft({ headers: sub, body: body(subPrompt, true), response: anthropicReply({ tools: [{ id: 'toolu_sb', name: 'Bash' }] }), at: 1 }),
      craft({ headers: sub, body: body(subFollow, true), response: anthropicReply({ text: 'Sub-agent: ok.' }), at: 2.5 }),
      craft({ headers: main, body: body([...opening, delegate, { role: 'user', content: [toolResult('toolu_ag', 'Sub-agent: ok.')] }]), response: anthropicReply({ text: 'Done: ok.' }), at: 4 }),
    ];
    const { finals, written } = run(calls);
    expect(finals).toHaveLength(1);
    expect(finals[0]).toMatchObject({ status: 'complete', call_count: 4, final_preview: 'Done: ok.', anomalies: [], subagents: [{ id: SUBAGENT_ID, call_count: 2, first_call_id: calls[1]!.record.id }] });
    expect(finals[0]!.steps.map((x) => [x.role, x.subagent_id])).toEqual([
      ['main', null],
      ['subagent', SUBAGENT_ID],
      ['subagent', SUBAGENT_ID],
      ['main', null],
    ]);
    expect(written.map((c) => c.agent_role)).toEqual(['main', 'subagent', 'subagent', 'main']);
  });

  it('the system marker alone (no header) also makes a sub-agent', () => {
    const calls = [
      craft({ headers: main, body: body(opening), response: anthropicReply({ tools: [{ id: 'toolu_ag', name: 'Agent' }] }), at: 0 }),
      craft({ headers: main, body: body(subPrompt, true), response: anthropicReply({ text: 'Sub-agent: ok.' }), at: 1 }),
      craft({ headers: main, body: body([...opening, delegate, { role: 'user', content: [toolResult('toolu_ag', 'ok')] }]), response: anthropicReply({ text: 'Done.' }), at: 3 }),
    ];
    const t = run(calls).finals;
    expect(t.map((x) => [x.call_count, x.status, x.steps.map((st) => st.role)])).toEqual([[3, 'complete', ['main', 'subagent', 'main']]]);
    expect(t[0]!.subagents[0]!.id).toMatch(/^sub-[0-9a-f]{12}$/);
  });

  /** Main launches a background sub-agent and answers; the sub-agent works on (its tool runs
   * `gap` seconds); Claude Code then reports it with a notification call. */
  function background(gap: number, notify = true, subStart = 1.1): AgentCallInput[] {
    const launched = [...opening, delegate, agentLaunchedResult('toolu_ag')];
    const answered = [...launched, { role: 'assistant', content: [{ type: 'text', text: 'Launched; waiting.' }] }];
    return [
      craft({ headers: main, body: body(opening), response: anthropicReply({ tools: [{ id: 'toolu_ag', name: 'Agent' }] }), at: 0 }),
      craft({ headers: main, body: body(launched), response: anthropicReply({ text: 'Launched; waiting.' }), at: 1 }),
      craft({ headers: sub, body: body(subPrompt, true), response: anthropicReply({ tools: [{ id: 'toolu_sb', name: 'Bash' }] }), at: subStart }),
      craft({ headers: sub, body: body(subFollow, true), response: anthropicReply({ text: 'Sub-agent: ok.' }), at: 2.5 + gap }),
      ...(notify ? [craft({ headers: main, body: body([...answered, taskNotification('toolu_ag')]), response: anthropicReply({ text: 'The sub-agent says ok.' }), at: 4 + gap })] : []),
    ];
  }

  it('a background sub-agent that outlives the grace period: its calls and the notification call stay in the launching turn', () => {
    const calls = background(60);
    // Packets of other flows move capture time on while the sub-agent's tool runs.
    const { finals, written } = run([...calls.slice(0, 3), 10, 30, 60, ...calls.slice(3)], {}, false);
    expect(finals).toHaveLength(0); // nothing is final before the notification's grace ends
    const done = run([...calls.slice(0, 3), 10, 30, 60, ...calls.slice(3), 80]).finals;
    expect(done).toHaveLength(1);
    expect(done[0]).toMatchObject({ status: 'complete', call_count: 5, final_preview: 'The sub-agent says ok.', anomalies: [] });
    expect(done[0]!.user_preview).toContain('Run `echo llmtap-clients-ok`');
    expect(done[0]!.steps.map((x) => x.role)).toEqual(['main', 'main', 'subagent', 'subagent', 'main']);
    expect(written.map((c) => c.turn_id)).toEqual(calls.map(() => done[0]!.id));
  });

  it('a fast background sub-agent (done within the grace) gives the same single turn', () => {
    const { finals } = run(background(0));
    expect(finals.map((t) => [t.status, t.call_count, t.final_preview, t.anomalies])).toEqual([['complete', 5, 'The sub-agent says ok.', []]]);
  });

  it('the sub-agent’s first call may come after the launching turn’s grace: the launch notice holds the turn', () => {
    const calls = background(30, true, 30);
    const { finals } = run([calls[0]!, calls[1]!, 8, 20, ...calls.slice(2)]);
    expect(finals.map((t) => [t.call_count, t.steps.map((x) => x.role), t.anomalies])).toEqual([[5, ['main', 'main', 'subagent', 'subagent', 'main'], []]]);
  });

  it('the user goes on with a new prompt while the sub-agent works: its calls and the notification stay with the launching turn', () => {
    const [m1, m2, s1, s2] = background(0);
    const launched = [...opening, delegate, agentLaunchedResult('toolu_ag'), { role: 'assistant', content: [{ type: 'text', text: 'Launched; waiting.' }] }];
    const p2 = [...launched, { role: 'user', content: 'Meanwhile, list the files' }];
    const p2f = [...p2, { role: 'assistant', content: [toolUse('toolu_ls', 'Bash', { command: 'ls' })] }, { role: 'user', content: [toolResult('toolu_ls', 'a b')] }];
    const t2a = craft({ headers: main, body: body(p2), response: anthropicReply({ tools: [{ id: 'toolu_ls', name: 'Bash' }] }), at: 1.05 });
    const t2b = craft({ headers: main, body: body(p2f), response: anthropicReply({ text: 'a and b.' }), at: 2 });
    const n = craft({ headers: main, body: body([...p2f, { role: 'assistant', content: [{ type: 'text', text: 'a and b.' }] }, taskNotification('toolu_ag')]), response: anthropicReply({ text: 'The sub-agent says ok.' }), at: 20 });
    const { finals } = run([m1!, m2!, t2a, s1!, t2b, 10, s2!, n]);
    const byPrompt = Object.fromEntries(finals.map((t) => [t.user_preview?.slice(0, 12), [t.call_count, t.steps.map((x) => x.role).join(','), t.final_preview, t.anomalies]]));
    expect(byPrompt).toEqual({
      'Run `echo ll': [5, 'main,main,subagent,subagent,main', 'The sub-agent says ok.', []],
      'Meanwhile, l': [2, 'main,main', 'a and b.', []],
    });
  });

  it('a held turn whose sub-agent goes silent is made final after the idle timeout, marked unfinished', () => {
    const [m1, m2, s1] = background(0);
    // The session goes on with new prompts every minute; the sub-agent never reports.
    const later: (AgentCallInput | number)[] = [];
    for (let i = 1; i <= 20; i++) {
      const prompt = [{ role: 'user', content: `Next thing ${i}` }, ENVIRONMENT_MESSAGE];
      later.push(craft({ headers: main, body: body(prompt), response: anthropicReply({ text: `ok ${i}` }), at: 60 * i }));
    }
    const { finals } = run([m1!, m2!, s1!, ...later], {}, false);
    const first = finals.find((t) => t.call_count === 3);
    expect(first, 'the launching turn was written before the end of input').toBeDefined();
    expect(first).toMatchObject({ status: 'complete', anomalies: ['agent_turn_subagent_unfinished'] });
  });

  it('end of input with the sub-agent still at work: the turn is written, marked unfinished', () => {
    const { finals } = run(background(0, false).slice(0, 3));
    expect(finals.map((t) => [t.status, t.call_count, t.anomalies])).toEqual([['complete', 3, ['agent_turn_subagent_unfinished']]]);
  });
});

describe('turn tracker: Codex client turn ids', () => {
  it('another turn id starts another turn even when its first call seen is a follow-up', () => {
    const h1 = codexHeaders('cs', 'turn-1');
    const h2 = codexHeaders('cs', 'turn-2');
    const i1 = [{ role: 'user', content: 'First' }];
    const i2 = [...i1, { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: 'x' }];
    const i3 = [...i2, { role: 'assistant', content: 'one' }, { role: 'user', content: 'Second' }, { type: 'function_call', call_id: 'c2', name: 'shell', arguments: '{}' }, { type: 'function_call_output', call_id: 'c2', output: 'y' }];
    const calls = [
      craft({ api: 'responses', headers: h1, body: responsesBody(i1), response: responsesReply({ calls: [{ id: 'c1', name: 'shell' }] }), at: 0 }),
      craft({ api: 'responses', headers: h1, body: responsesBody(i2), response: responsesReply({ text: 'one' }), at: 2 }),
      // Turn 2's prompt call was not captured; its follow-up comes within turn 1's grace.
      craft({ api: 'responses', headers: h2, body: responsesBody(i3), response: responsesReply({ text: 'two' }), at: 4 }),
    ];
    const { finals } = run(calls);
    expect(finals.map((t) => [t.call_count, t.status, t.user_preview, t.anomalies])).toEqual([
      [2, 'complete', 'First', []],
      [1, 'complete', null, ['agent_turn_start_missed']],
    ]);
  });

  it('the prompt call of a turn arriving after its follow-up becomes its start', () => {
    const h = codexHeaders('cs', 'turn-1');
    const i1 = [{ role: 'user', content: 'First' }];
    const i2 = [...i1, { type: 'function_call', call_id: 'c1', name: 'shell', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: 'x' }];
    const first = craft({ api: 'responses', headers: h, body: responsesBody(i1), response: responsesReply({ calls: [{ id: 'c1', name: 'shell' }] }), at: 0, seconds: 5 });
    const second = craft({ api: 'responses', headers: h, body: responsesBody(i2), response: responsesReply({ text: 'one' }), at: 2 });
    const { finals } = run([second, first]);
    expect(finals.map((t) => [t.call_count, t.status, t.user_preview, t.anomalies, t.steps.map((x) => x.call_id)])).toEqual([
      [2, 'complete', 'First', [], [first.record.id, second.record.id]],
    ]);
  });
});

describe('turn tracker: a capture that begins while a sub-agent works', () => {
  it('opens the turn (start missed) at the sub-agent’s call; the main agent’s later calls join it', () => {
    const S = 's-mid';
    const subPrompt = [{ role: 'user', content: 'Run the marker' }, ENVIRONMENT_MESSAGE];
    const mainHistory = [PROMPT_MESSAGE, ENVIRONMENT_MESSAGE, { role: 'assistant', content: [toolUse('toolu_ag', 'Agent')] }, { role: 'user', content: [toolResult('toolu_ag', 'ok')] }];
    const calls = [
      craft({ headers: claude2Headers(S, SUBAGENT_ID), body: claude2Body(subPrompt, { subagent: true, session: S }), response: anthropicReply({ text: 'ok' }), at: 0 }),
      craft({ headers: claude2Headers(S), body: claude2Body(mainHistory, { session: S }), response: anthropicReply({ text: 'Done.' }), at: 1 }),
    ];
    const { finals, written } = run(calls);
    expect(finals.map((t) => [t.status, t.call_count, t.anomalies, t.steps.map((x) => x.role)])).toEqual([['complete', 2, ['agent_turn_start_missed'], ['subagent', 'main']]]);
    expect(written.map((c) => c.agent_role)).toEqual(['subagent', 'main']);
  });
});

describe('turn tracker: Bedrock', () => {
  it('Claude Code on Bedrock (InvokeModel, Anthropic body): a tool round-trip is one turn of the claude-code session', () => {
    const h = claude2Headers('s-bedrock');
    const first = [{ role: 'user', content: 'List the files' }];
    const withTool = [...first, { role: 'assistant', content: [toolUse('toolu_b1', 'Bash', { command: 'ls' })] }, { role: 'user', content: [toolResult('toolu_b1', 'a.txt')] }];
    const calls = [
      craft({ api: 'bedrock-invoke', headers: h, body: bedrockAnthropicBody(claude2Body(first, { session: 's-bedrock' })), response: anthropicReply({ tools: [{ id: 'toolu_b1', name: 'Bash', input: { command: 'ls' } }] }), at: 0 }),
      craft({ api: 'bedrock-invoke', headers: h, body: bedrockAnthropicBody(claude2Body(withTool, { session: 's-bedrock' })), response: anthropicReply({ text: 'One file: a.txt.' }), at: 3 }),
    ];
    expect(calls.map((c) => [c.record.provider, c.record.api])).toEqual([
      ['aws', 'bedrock.invoke_model'],
      ['aws', 'bedrock.invoke_model'],
    ]);
    const { finals, written } = run(calls);
    expect(finals.map((t) => [t.agent, t.session_id, t.status, t.call_count, t.user_preview, t.final_preview, t.tools_used])).toEqual([
      ['claude-code', 's-bedrock', 'complete', 2, 'List the files', 'One file: a.txt.', [{ name: 'Bash', count: 1 }]],
    ]);
    expect(finals[0]!.steps.map((x) => x.call_id)).toEqual(written.map((c) => c.id));
    expect(written.map((c) => [c.agent, c.agent_role])).toEqual([
      ['claude-code', 'main'],
      ['claude-code', 'main'],
    ]);
  });

  it('Converse (its own message shape): prompt → toolUse → toolResult → answer is one generic turn; the next prompt opens another', () => {
    const m0 = [{ role: 'user' as const, content: [{ text: 'Weather in Paris?' }] }];
    const m1 = [
      ...m0,
      { role: 'assistant' as const, content: [{ toolUse: { toolUseId: 'tooluse_p1', name: 'get_weather', input: { city: 'Paris' } } }] },
      { role: 'user' as const, content: [{ toolResult: { toolUseId: 'tooluse_p1', content: [{ text: '18C' }] } }] },
    ];
    const m2 = [...m1, { role: 'assistant' as const, content: [{ text: 'It is 18C.' }] }, { role: 'user' as const, content: [{ text: 'And Rome?' }] }];
    const calls = [
      craft({ api: 'bedrock-converse', body: converseBody(m0), response: converseReply({ tools: [{ id: 'tooluse_p1', name: 'get_weather', input: { city: 'Paris' } }] }), at: 0 }),
      craft({ api: 'bedrock-converse', body: converseBody(m1), response: converseReply({ text: 'It is 18C.' }), at: 2 }),
      craft({ api: 'bedrock-converse', body: converseBody(m2), response: converseReply({ text: 'Let me check.' }), at: 20 }),
    ];
    expect(calls.map((c) => c.record.api)).toEqual(['bedrock.converse', 'bedrock.converse', 'bedrock.converse']);
    const { finals, written } = run(calls);
    expect(finals.map((t) => [t.agent, t.session_id, t.status, t.call_count, t.user_preview, t.final_preview])).toEqual([
      ['generic', 'tooluse_p1', 'complete', 2, 'Weather in Paris?', 'It is 18C.'],
      ['generic', 'tooluse_p1', 'complete', 1, 'And Rome?', 'Let me check.'],
    ]);
    expect(finals[0]!.steps.map((x) => x.call_id)).toEqual([written[0]!.id, written[1]!.id]);
    expect(finals[0]!.tools_used).toEqual([{ name: 'get_weather', count: 1 }]);
  });
});
