import { describe, expect, it } from 'vitest';
import {
  anthropicReply,
  claude2Body,
  claude2Headers,
  chatBody,
  chatReply,
  claudeBody,
  claudeHeaders,
  codexHeaders,
  craft,
  responsesBody,
  responsesReply,
} from './crafted-calls.test-support.js';
import { identifyAgent } from './profiles.js';
import { claudeSessionFromUserId, codexTurnMetadata } from './session-ids.js';

const prompt = [{ role: 'user' as const, content: 'Fix the tests' }];

describe('session ids the agents send', () => {
  it("reads both historic forms of Claude Code's metadata.user_id", () => {
    expect(claudeSessionFromUserId('user_8a1f_account_0b2c-11_session_5f0c6d7e-1111-4222-8333-944445555666')).toBe('5f0c6d7e-1111-4222-8333-944445555666');
    expect(claudeSessionFromUserId('user_8a1f_account__session_abc-123')).toBe('abc-123');
    expect(claudeSessionFromUserId('{"device_id":"94d5","account_uuid":"","session_id":"d5beaa29-b48e-4d1e-aea8-d4342bde647f"}')).toBe(
      'd5beaa29-b48e-4d1e-aea8-d4342bde647f',
    );
    expect(claudeSessionFromUserId('user_only')).toBeNull();
    expect(claudeSessionFromUserId('{"session_id": 7}')).toBeNull();
    expect(claudeSessionFromUserId(`{"session_id":"${'x'.repeat(500)}"}`)).toBeNull();
  });

  it("reads Codex's turn metadata header, and nothing from junk", () => {
    expect(codexTurnMetadata('{"session_id":"s1","turn_id":"t1","sandbox":"seatbelt"}')).toEqual({ sessionId: 's1', turnId: 't1' });
    expect(codexTurnMetadata('not json')).toEqual({ sessionId: null, turnId: null });
    expect(codexTurnMetadata(undefined)).toEqual({ sessionId: null, turnId: null });
  });
});

describe('agent profiles', () => {
  it('claude-code: header session, metadata fallback, main-only tools, auxiliary calls', () => {
    const main = identifyAgent(craft({ headers: claudeHeaders('sess-1'), body: claudeBody(prompt), response: anthropicReply({ text: 'ok' }), at: 0 }))!;
    expect(main).toMatchObject({ agent: 'claude-code', sessionId: 'sess-1', auxiliary: false, subagentMarked: false, subagentId: null, mainOnlyTools: ['Agent'] });

    const older = craft({
      headers: { 'user-agent': 'claude-cli/1.0.88 (external, cli)' },
      body: { ...claudeBody(prompt, { tools: ['Task', 'Bash'] }), metadata: { user_id: 'user_ab_account__session_old-1' } },
      response: anthropicReply({ text: 'ok' }),
      at: 0,
    });
    expect(identifyAgent(older)).toMatchObject({ agent: 'claude-code', sessionId: 'old-1', mainOnlyTools: ['Task'] });

    const title = craft({ headers: claudeHeaders('sess-1'), body: claudeBody(prompt, { tools: [] }), response: anthropicReply({ text: 'Fix tests' }), at: 0 });
    expect(identifyAgent(title)).toMatchObject({ agent: 'claude-code', sessionId: 'sess-1', auxiliary: true });
    const probe = craft({ headers: claudeHeaders('sess-1'), body: claudeBody([{ role: 'user', content: 'quota' }], { maxTokens: 1 }), response: anthropicReply({ text: '' }), at: 0 });
    expect(identifyAgent(probe)?.auxiliary).toBe(true);
    const sub = craft({ headers: claudeHeaders('sess-1'), body: claudeBody(prompt, { tools: ['Bash', 'Read'] }), response: anthropicReply({ text: 'x' }), at: 0 });
    expect(identifyAgent(sub)).toMatchObject({ auxiliary: false, subagentMarked: false, mainOnlyTools: [] });
  });

  it('claude-code 2.1.331: sub-agents by header first, by the billing-header marker second', () => {
    const id = (headers: Record<string, string>, subagent: boolean) =>
      identifyAgent(craft({ headers, body: claude2Body(prompt, { subagent }), response: anthropicReply({ text: 'x' }), at: 0 }))!;
    const nested = id(claude2Headers('sess-2', 'a2c9216c4a1967215', 'a0000000000000001'), true);
    expect(nested).toMatchObject({ sessionId: 'sess-2', auxiliary: false, subagentMarked: true, subagentId: 'a2c9216c4a1967215', parentAgentId: 'a0000000000000001' });
    // Sub-agents still offer `Agent`: what they lack is ScheduleWakeup and Workflow.
    expect(nested.mainOnlyTools).toEqual(['Agent']);
    expect(id(claude2Headers('sess-2'), true)).toMatchObject({ subagentMarked: true, subagentId: null });
    expect(id(claude2Headers('sess-2'), false)).toMatchObject({ subagentMarked: false, subagentId: null, mainOnlyTools: ['Agent', 'ScheduleWakeup', 'Workflow'] });
  });

  it('codex: originator and turn metadata', () => {
    const c = craft({ api: 'responses', headers: codexHeaders('019d-s', '019d-t'), body: responsesBody([{ role: 'user', content: 'go' }]), response: responsesReply({ text: 'done' }), at: 0 });
    expect(identifyAgent(c)).toMatchObject({ agent: 'codex', sessionId: '019d-s', clientTurnId: '019d-t', auxiliary: false });
    const bare = craft({ api: 'responses', headers: { 'user-agent': 'codex_cli_rs/0.41.0', session_id: 'plain' }, body: responsesBody([{ role: 'user', content: 'go' }]), response: responsesReply({ text: 'd' }), at: 0 });
    expect(identifyAgent(bare)).toMatchObject({ agent: 'codex', sessionId: 'plain', clientTurnId: null });
    // Codex 0.169 sends the session id hyphenated, as `session-id` and `thread-id`.
    for (const name of ['session-id', 'thread-id']) {
      const h = { 'user-agent': 'codex_exec/0.169.0 (Debian 12.0.0; x86_64) dumb (codex_exec; 0.169.0)', originator: 'codex_exec', [name]: '01a20e59-ea9d' };
      const c2 = craft({ api: 'responses', headers: h, body: responsesBody([{ role: 'user', content: 'go' }]), response: responsesReply({ text: 'd' }), at: 0 });
      expect(identifyAgent(c2), name).toMatchObject({ agent: 'codex', sessionId: '01a20e59-ea9d' });
    }
  });

  it('opencode, openclaw, hermes, gemini-cli, generic', () => {
    const chat = (headers: Record<string, string>, tools: string[]) =>
      identifyAgent(craft({ api: 'chat', headers, body: chatBody([{ role: 'user', content: 'hi' }], tools), response: chatReply({ text: 'x' }), at: 0 }));
    expect(chat({ 'user-agent': 'opencode/1.14.50 ai-sdk/provider-utils/4.0.23', 'x-session-affinity': 'ses_1' }, ['read'])).toMatchObject({ agent: 'opencode', sessionId: 'ses_1' });
    expect(chat({ 'user-agent': 'node' }, ['Read', 'sessions_spawn', 'subagents'])?.agent).toBe('openclaw');
    expect(chat({ 'user-agent': 'openai-python/1.40.0' }, ['Read', 'delegate_task', 'skill_view'])?.agent).toBe('hermes');
    // One marker alone is not a fingerprint.
    expect(chat({ 'user-agent': 'node' }, ['Read', 'subagents'])?.agent).toBe('generic');
    expect(chat({ 'user-agent': 'GeminiCLI/0.9.0 (linux; x64)' }, ['read_file'])?.agent).toBe('gemini-cli');
    expect(chat({ 'user-agent': 'some-sdk/1.0' }, ['lookup'])).toMatchObject({ agent: 'generic', sessionId: null });
  });

  it('a call without tools, tool history or agent markers is no agent', () => {
    const c = craft({ api: 'chat', headers: { 'user-agent': 'openai-python/1.40.0' }, body: chatBody([{ role: 'user', content: 'hello' }], []), response: chatReply({ text: 'hi' }), at: 0 });
    expect(identifyAgent(c)).toBeNull();
  });
});
