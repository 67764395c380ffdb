/**
 * Real Claude Code (`claude -p PROMPT --allowedTools Bash`) against the scripted server in the
 * Anthropic Messages wire format: two prompts, the second continuing the conversation
 * (`--continue`), each answered with a Bash `tool_use` and then a final text.
 *
 * Environment (Claude Code docs, "Environment variables"): ANTHROPIC_BASE_URL points the CLI at
 * the local server; ANTHROPIC_API_KEY is a dummy, key-shaped so that redaction is tested;
 * CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC turns off auto-update, telemetry, error reporting and
 * the connection warm-up, none of which could reach their hosts here.
 */
import { describeAgentSuite } from './agent-suite.js';
import { TOOL_COMMAND } from './scripted-answers.js';

const API_KEY = 'sk-ant-api03-llmtapClientsDummy0123456789abcdefghijKLMNOPqrstuvwxyz-AAAA';

describeAgentSuite(
  {
    client: 'claude',
    setupHome: () => undefined,
    env: (_home, port) => ({
      ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`,
      ANTHROPIC_API_KEY: API_KEY,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
    }),
    args: (prompt, i) => ['-p', prompt, '--allowedTools', 'Bash', ...(i > 0 ? ['--continue'] : [])],
    prompts: [`Run \`${TOOL_COMMAND}\` with the Bash tool and tell me what it printed.`, 'Run that command once more and tell me again.'],
    apiKey: API_KEY,
  },
  {
    agent: 'claude-code',
    api: 'anthropic.messages',
    sessionIdPlaces: ['header x-claude-code-session-id', 'body metadata.user_id'],
  },
);
