import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import type { AgentTurnRecord, LlmCallRecord } from '../core/record.js';
import {
  anthropicReply,
  chatBody,
  chatReply,
  claudeBody,
  claudeHeaders,
  codexHeaders,
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

/** Runs calls (in the order given) through a tracker; what was written, in order. */
function run(calls: AgentCallInput[], opts: Partial<TurnTrackerOptions> = {}, end = true) {
  const out: ({ call: LlmCallRecord } | { turn: AgentTurnRecord; final: boolean })[] = [];
  const tracker = new TurnTracker({ source: 'test', onTurn: (turn, final) => out.push({ turn, final }), ...opts });
  for (const c of calls) tracker.add(c, () => out.push({ call: c.record }));
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
      cost_usd: null,
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
    const t = new TurnTracker({ source: 'test', idleTimeoutMs: 60_000, onTurn: (turn, final) => final && got.push(turn) });
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
