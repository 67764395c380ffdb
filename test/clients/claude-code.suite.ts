/**
 * Real Claude Code (`claude -p PROMPT --allowedTools Bash`) against the scripted server in the
 * Anthropic Messages wire format: two prompts, the second continuing the conversation
 * (`--continue`), each answered with a Bash `tool_use` and then a final text. Environment:
 * claude-code-env.ts.
 */
import { describeAgentSuite } from './agent-suite.js';
import { claudeEnv } from './claude-code-env.js';
import { TOOL_COMMAND } from './scripted-answers.js';

describeAgentSuite(
  {
    ...claudeEnv,
    args: (prompt, i) => ['-p', prompt, '--allowedTools', 'Bash', ...(i > 0 ? ['--continue'] : [])],
    prompts: [`Run \`${TOOL_COMMAND}\` with the Bash tool and tell me what it printed.`, 'Run that command once more and tell me again.'],
  },
  {
    agent: 'claude-code',
    api: 'anthropic.messages',
    sessionIdPlaces: ['header x-claude-code-session-id', 'body metadata.user_id'],
  },
);
