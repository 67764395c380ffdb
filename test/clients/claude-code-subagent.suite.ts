/**
 * Real Claude Code with a sub-agent (`claude -p PROMPT --allowedTools Bash Agent`): the server
 * answers the main agent's call with an `Agent` tool_use; the sub-agent's calls (recognised by
 * their `x-claude-code-agent-id` header) with a Bash tool_use, then text; the main agent's
 * follow-ups with text. Claude Code 2.1.331 runs sub-agents in the background: the main agent
 * answers at once, the sub-agent's command runs past the tracker's grace period, and Claude Code
 * then reports the sub-agent with a `<task-notification>` call (test/clients/OBSERVED.md).
 *
 * llmtap must make one turn of it: the main calls, the sub-agent's calls (role subagent, named by
 * the header's id) and the notification call, complete, with no anomaly.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AgentTurnRecord } from '../../src/core/record.js';
import { inCi, prerequisiteMissing, SCENARIO_TIMEOUT_MS, sum, turnResponseIds } from './agent-suite.js';
import type { ObservedRequest } from './agent-server.js';
import { claudeEnv } from './claude-code-env.js';
import { bodyContains, clientSessionIds, isAgentCall, isMainCall, isSubagentCall, isTaskNotificationCall } from './observations.js';
import { describeRun } from './run-client.js';
import { runScenario, type ScenarioResult } from './scenario.js';
import { LAUNCHED_TEXT, NOTIFIED_TEXT, SUBAGENT_OUTPUT } from './scripted-answers.js';
import { CLIENT_PACKAGES } from './versions.js';

const PROMPT = 'Have a sub-agent run the marker command for me, then tell me what it printed.';

const pkg = CLIENT_PACKAGES.claude;
const skip = prerequisiteMissing();
if (skip !== null && !inCi) process.stderr.write(`real agents (claude-code sub-agent) skipped: ${skip}\n`);

describe.skipIf(skip !== null && !inCi)(`claude-code: ${pkg.name}@${pkg.version}, a sub-agent inside a turn${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  let result: ScenarioResult | null = null;
  const r = (): ScenarioResult => {
    expect(result, 'the scenario ran').not.toBeNull();
    return result!;
  };
  const agentCalls = (): ObservedRequest[] => r().log.filter(isAgentCall);
  const mainCalls = (): ObservedRequest[] => r().log.filter(isMainCall);
  const subCalls = (): ObservedRequest[] => r().log.filter(isSubagentCall);
  const onlyTurn = (): AgentTurnRecord => {
    expect(r().turns.map((t) => t.status), 'turns').toEqual(['complete']);
    return r().turns[0]!;
  };

  beforeAll(async () => {
    if (skip !== null) throw new Error(`CI must provide the real-agent prerequisites: ${skip}`);
    result = await runScenario({
      ...claudeEnv,
      script: 'subagent',
      name: 'claude-subagent',
      args: (prompt) => ['-p', prompt, '--allowedTools', 'Bash', 'Agent'],
      prompts: [PROMPT],
    });
    process.stderr.write(`real agents (claude-code sub-agent): scenario took ${result.durationMs} ms, ${result.log.length} requests\n`);
  }, SCENARIO_TIMEOUT_MS);

  afterAll(() => {
    result = null;
  });

  test('the main agent delegates, the sub-agent really runs the command, the CLI prints the answer', () => {
    const run = r().runs[0]!;
    expect(run.run.code, describeRun(run.run)).toBe(0);
    const main = mainCalls();
    expect(main[0]?.toolCalled, 'the first main call asks for the Agent tool').toBe('Agent');
    expect(main.slice(1).map((m) => m.answer), 'the main agent answers after the launch (and after the notification)').toEqual(main.slice(1).map(() => 'text'));
    const subs = subCalls();
    expect(subs.map((m) => m.answer), "the sub-agent's calls").toEqual(['tool_call', 'text']);
    expect(new Set(subs.map((m) => m.agentId)).size, 'one sub-agent id').toBe(1);
    expect(bodyContains(subs[1]!, SUBAGENT_OUTPUT), "the sub-agent's follow-up reports the command's output").toBe(true);
    const notified = main.some(isTaskNotificationCall);
    expect(run.run.stdout).toContain(notified ? NOTIFIED_TEXT : LAUNCHED_TEXT);
    const ids = Object.values(clientSessionIds('claude', r().log)).flat();
    expect(new Set(ids).size, `main and sub-agent calls carry one session id: ${ids.join(', ')}`).toBe(1);
  });

  test('the capture holds every LLM call the server answered, and the key nowhere in the output', () => {
    expect(r().capture.droppedByKernel, `the capture is whole: ${r().capture.stderr}`).toBe(0);
    const answered = r().log.filter((q) => q.responseId !== null);
    expect(r().calls.map((c) => c.response_id).sort()).toEqual(answered.map((q) => q.responseId).sort());
    expect(r().keyInCapture, 'the dummy key crossed the wire').toBe(true);
    expect(r().replay.text.includes(claudeEnv.apiKey), 'the dummy key leaked into the JSONL').toBe(false);
  });

  test('one complete turn holds the main calls and the sub-agent’s calls, in request order', () => {
    const turn = onlyTurn();
    const all = agentCalls();
    expect(turnResponseIds(turn, r().calls), 'the turn’s calls').toEqual(all.map((m) => m.responseId));
    expect(turn.call_count).toBe(all.length);
    expect(
      turn.steps.map((s) => [s.role, s.subagent_id]),
      'roles, and the sub-agent named by its header',
    ).toEqual(all.map((m) => (m.agentId === null ? ['main', null] : ['subagent', m.agentId])));
    expect(turn.subagents.map((s) => ({ id: s.id, calls: s.call_count }))).toEqual([{ id: subCalls()[0]!.agentId, calls: subCalls().length }]);
    expect(turn.usage.input_tokens).toBe(sum(all, 'input_tokens'));
    expect(turn.usage.output_tokens).toBe(sum(all, 'output_tokens'));
    expect(turn.tools_used).toEqual([
      { name: 'Agent', count: 1 },
      { name: 'Bash', count: 1 },
    ]);
    expect(turn.anomalies, 'no anomaly').toEqual([]);
    expect(turn.user_preview ?? '').toContain(PROMPT.slice(0, 40));
  });

  test('every call names the agent, the session, the turn and its role', () => {
    const turn = onlyTurn();
    const session = Object.values(clientSessionIds('claude', r().log)).flat()[0];
    expect(turn).toMatchObject({ agent: 'claude-code', session_id: session });
    for (const m of agentCalls()) {
      const c = r().calls.find((x) => x.response_id === m.responseId)!;
      expect({ agent: c.agent, session: c.session_id, turn: c.turn_id, role: c.agent_role }, `call ${m.seq}`).toEqual({
        agent: 'claude-code',
        session,
        turn: turn.id,
        role: m.agentId === null ? 'main' : 'subagent',
      });
    }
  });

  test('a background sub-agent’s notification call lands in the launching turn, and its answer is the turn’s', () => {
    const notes = mainCalls().filter(isTaskNotificationCall);
    if (notes.length === 0) {
      // A foreground sub-agent: no notification; the turn ends with the main agent's answer.
      expect(onlyTurn().final_preview ?? '').toContain(LAUNCHED_TEXT);
      return;
    }
    const turn = onlyTurn();
    for (const n of notes) expect(r().calls.find((x) => x.response_id === n.responseId)?.turn_id, `notification call ${n.seq}`).toBe(turn.id);
    expect(turn.final_preview ?? '').toContain(NOTIFIED_TEXT.slice(0, 40));
    // The sub-agent outlived the main agent's first answer by more than the grace period.
    const sub = turn.steps.filter((s) => s.role === 'subagent');
    const firstAnswer = turn.steps.find((s) => s.role === 'main' && s.finish_reason === 'stop')!;
    expect(Date.parse(sub[sub.length - 1]!.request_start) - Date.parse(firstAnswer.response_end!), 'the sub-agent ran past the grace').toBeGreaterThan(5_000);
  });
});
