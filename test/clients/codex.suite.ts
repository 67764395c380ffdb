/**
 * Real Codex (`codex exec PROMPT`) against the scripted server in the OpenAI Responses wire
 * format: two prompts, the second continuing the session (`codex exec resume --last`), each
 * answered with a shell function call and then a message.
 *
 * config.toml (Codex docs, docs/config.md): a model provider whose base_url is the local server
 * with `wire_api = "responses"` and the dummy key read from `env_key`; approval "never" and
 * sandbox "danger-full-access" so the command runs without asking and without the Landlock
 * sandbox (containers often lack it); no retries, so a bad answer fails fast instead of
 * multiplying calls; update check, analytics and history off (nothing outside is reachable).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeAgentSuite } from './agent-suite.js';
import { TOOL_COMMAND } from './scripted-answers.js';

const API_KEY = 'sk-proj-llmtapClientsDummy0123456789abcdefghijKLMNOPqrstuvwxyzAAAA';
/** A model Codex ships metadata for (else it warns and falls back to generic settings). */
const MODEL = 'gpt-5.5';

function configToml(port: number): string {
  return [
    `model = "${MODEL}"`,
    'model_provider = "llmtap_local"',
    'approval_policy = "never"',
    'sandbox_mode = "danger-full-access"',
    'check_for_update_on_startup = false',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[history]',
    'persistence = "none"',
    '',
    '[model_providers.llmtap_local]',
    'name = "llmtap local"',
    `base_url = "http://127.0.0.1:${port}/v1"`,
    'wire_api = "responses"',
    'env_key = "LLMTAP_CODEX_API_KEY"',
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
  ].join('\n');
}

describeAgentSuite(
  {
    client: 'codex',
    setupHome: (home, port) => {
      mkdirSync(join(home, '.codex'), { recursive: true });
      writeFileSync(join(home, '.codex', 'config.toml'), configToml(port));
    },
    env: (home) => ({ CODEX_HOME: join(home, '.codex'), LLMTAP_CODEX_API_KEY: API_KEY }),
    args: (prompt, i) => ['exec', '--skip-git-repo-check', ...(i > 0 ? ['resume', '--last'] : []), prompt],
    prompts: [`Run \`${TOOL_COMMAND}\` in the shell and tell me what it printed.`, 'Run that command once more and tell me again.'],
    apiKey: API_KEY,
  },
  {
    agent: 'codex',
    api: 'openai.responses',
    sessionIdPlaces: ['header session-id', 'header x-codex-turn-metadata .session_id', 'body client_metadata.session_id'],
  },
);
