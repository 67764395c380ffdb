/**
 * The checks every real agent must pass (issue 4, "Real agents"): the CLI answered each prompt
 * after really running the shell tool; the capture holds every LLM call the server answered and
 * no key; llmtap makes one complete turn per prompt holding exactly that prompt's agent calls,
 * names the agent, and carries the session id the client itself used.
 *
 * Needs root and tcpdump (loopback capture); skipped with the reason otherwise, except under
 * CI (CI=true), where a missing prerequisite fails instead of hiding the suite.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AgentTurnRecord, LlmCallRecord } from '../../src/core/record.js';
import { commandExists } from '../e2e/tcpdump.js';
import type { ObservedRequest } from './agent-server.js';
import { bodyContains, clientSessionIds, isMainCall } from './observations.js';
import { describeRun } from './run-client.js';
import { runScenario, type ScenarioResult, type ScenarioSpec } from './scenario.js';
import { FINAL_TEXT, TOOL_OUTPUT } from './scripted-answers.js';
import { CLIENT_PACKAGES } from './versions.js';

/** The whole scenario: two prompts of ~1 s each, capture start/stop (~1 s), replay (~1 s);
 * a cold CLI start on a slow machine takes longer, and each prompt has its own 90 s bound. */
export const SCENARIO_TIMEOUT_MS = 240_000;

export interface AgentExpectations {
  /** Profile name llmtap must give the turns and calls. */
  agent: string;
  /** Wire API of the agent's calls in llmtap's records. */
  api: string;
  /** Where the client puts its session id (keys of clientSessionIds). */
  sessionIdPlaces: string[];
}

export const inCi = process.env['CI'] === 'true';

export function prerequisiteMissing(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (packet capture)';
  return commandExists('tcpdump') ? null : 'missing tcpdump (apt-get install tcpdump)';
}

/** Response ids of the turn's calls, in the turn's order. */
export function turnResponseIds(turn: AgentTurnRecord, calls: LlmCallRecord[]): (string | null)[] {
  const byId = new Map(calls.map((c) => [c.id, c.response_id]));
  return turn.steps.map((s) => byId.get(s.call_id) ?? null);
}

export function sum(requests: ObservedRequest[], key: 'input_tokens' | 'output_tokens'): number {
  return requests.reduce((n, r) => n + (r.usage?.[key] ?? 0), 0);
}

export function describeAgentSuite(spec: ScenarioSpec, want: AgentExpectations): void {
  const pkg = CLIENT_PACKAGES[spec.client];
  const skip = prerequisiteMissing();
  if (skip !== null && !inCi) process.stderr.write(`real agents (${want.agent}) skipped: ${skip}\n`);
  const title = `${want.agent}: ${pkg.name}@${pkg.version} against a local server${skip ? ` [skipped: ${skip}]` : ''}`;

  describe.skipIf(skip !== null && !inCi)(title, () => {
    let result: ScenarioResult | null = null;
    const r = (): ScenarioResult => {
      expect(result, 'the scenario ran').not.toBeNull();
      return result!;
    };
    /** The agent's own calls of each prompt, in request order. */
    const mainCalls = (i: number): ObservedRequest[] => r().runs[i]!.requests.filter(isMainCall);
    /** The one session id the client used (checked by its own test). */
    const clientSession = (): string | undefined => Object.values(clientSessionIds(spec.client, r().log)).flat()[0];
    /** llmtap's turns, in start order. */
    const turns = (): AgentTurnRecord[] => [...r().turns].sort((a, b) => a.start.localeCompare(b.start));

    beforeAll(async () => {
      if (skip !== null) throw new Error(`CI must provide the real-agent prerequisites: ${skip}`);
      result = await runScenario(spec);
      process.stderr.write(`real agents (${want.agent}): scenario took ${result.durationMs} ms, ${result.log.length} requests\n`);
    }, SCENARIO_TIMEOUT_MS);

    afterAll(() => {
      result = null;
    });

    test('the CLI answers every prompt after really running the shell command', () => {
      expect(r().runs.map((p) => p.label)).toEqual(spec.prompts.map((_, i) => `prompt ${i + 1}`));
      for (const [i, p] of r().runs.entries()) {
        expect(p.run.code, `${p.label}: ${describeRun(p.run)}`).toBe(0);
        expect(p.run.stdout, `${p.label} prints the scripted answer`).toContain(FINAL_TEXT);
        const main = mainCalls(i);
        expect(main.map((m) => m.answer), `${p.label}: the agent's calls`).toEqual(['tool_call', 'text']);
        expect(bodyContains(main[1]!, TOOL_OUTPUT), `${p.label}: the follow-up reports the command's output`).toBe(true);
      }
    });

    test('the client uses one session id for the whole conversation, in every place it puts one', () => {
      const ids = clientSessionIds(spec.client, r().log);
      expect(Object.keys(ids).sort()).toEqual([...want.sessionIdPlaces].sort());
      expect(new Set(Object.values(ids).flat()).size, JSON.stringify(ids)).toBe(1);
    });

    test('the capture holds every LLM call the server answered, and the key nowhere in the output', () => {
      expect(r().capture.droppedByKernel, `the capture is whole: ${r().capture.stderr}`).toBe(0);
      const answered = r().log.filter((q) => q.responseId !== null);
      expect(r().calls.map((c) => c.response_id).sort(), 'one llm_call per answered call').toEqual(answered.map((q) => q.responseId).sort());
      for (const q of answered) {
        const c = r().calls.find((x) => x.response_id === q.responseId)!;
        expect({ api: c.api, status: c.status_code, model: c.request_model, tools: c.tool_calls.map((t) => t.name) }, `call ${q.seq}`).toEqual({
          api: want.api,
          status: 200,
          model: q.model,
          tools: q.toolCalled === null ? [] : [q.toolCalled],
        });
      }
      expect(r().keyInCapture, 'the dummy key crossed the wire').toBe(true);
      expect(r().replay.text.includes(spec.apiKey), 'the dummy key leaked into the JSONL').toBe(false);
    });

    test('llmtap makes one complete turn per prompt, holding exactly that prompt’s agent calls', () => {
      const t = turns();
      expect(t.map((x) => x.status), 'turn statuses').toEqual(spec.prompts.map(() => 'complete'));
      for (const [i, turn] of t.entries()) {
        const main = mainCalls(i);
        expect(turnResponseIds(turn, r().calls), `turn ${i + 1}: its calls, in order`).toEqual(main.map((m) => m.responseId));
        expect(turn.call_count).toBe(main.length);
        expect(turn.steps.map((s) => s.role)).toEqual(main.map(() => 'main'));
        expect(turn.tools_used, `turn ${i + 1}: tools`).toEqual([{ name: main[0]!.toolCalled, count: 1 }]);
        expect(turn.final_finish_reason).toBe('stop');
        expect(turn.usage.input_tokens, `turn ${i + 1}: input tokens`).toBe(sum(main, 'input_tokens'));
        expect(turn.usage.output_tokens, `turn ${i + 1}: output tokens`).toBe(sum(main, 'output_tokens'));
      }
      // Calls that are not the agent's own (titles, probes…) stay out of turns.
      const mainIds = new Set(r().runs.flatMap((_, i) => mainCalls(i).map((m) => m.responseId)));
      for (const c of r().calls.filter((x) => !mainIds.has(x.response_id))) {
        expect({ role: c.agent_role, turn: c.turn_id }, `auxiliary call ${c.response_id}`).toEqual({ role: 'auxiliary', turn: null });
      }
    });

    test('turns and their calls name the agent and the session id the client used', () => {
      const session = clientSession();
      expect(session, 'the client sent a session id').toBeDefined();
      for (const [i, turn] of turns().entries()) {
        expect({ agent: turn.agent, session: turn.session_id }, `turn ${i + 1}`).toEqual({ agent: want.agent, session });
        for (const m of mainCalls(i)) {
          const c = r().calls.find((x) => x.response_id === m.responseId)!;
          expect({ agent: c.agent, session: c.session_id, turn: c.turn_id, role: c.agent_role }, `call ${m.seq}`).toEqual({
            agent: want.agent,
            session,
            turn: turn.id,
            role: 'main',
          });
        }
      }
    });

    test('each turn starts at its prompt (no anomaly) and previews the prompt and the final answer', () => {
      for (const [i, turn] of turns().entries()) {
        expect(turn.anomalies, `turn ${i + 1}: anomalies`).toEqual([]);
        expect(turn.user_preview ?? '', `turn ${i + 1}: user preview`).toContain(spec.prompts[i]!.slice(0, 40));
        expect(turn.final_preview ?? '', `turn ${i + 1}: final preview`).toContain(FINAL_TEXT.slice(0, 30));
      }
    });
  });
}
