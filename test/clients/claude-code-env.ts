/**
 * How the real-agent suites run Claude Code against the scripted server (Claude Code docs,
 * "Environment variables"): ANTHROPIC_BASE_URL points the CLI at the local server;
 * ANTHROPIC_API_KEY is a dummy, key-shaped so that redaction is tested;
 * CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC turns off auto-update, telemetry, error reporting and
 * the connection warm-up, none of which could reach their hosts here.
 */
import type { ScenarioSpec } from './scenario.js';

export const CLAUDE_API_KEY = 'sk-ant-api03-llmtapClientsDummy0123456789abcdefghijKLMNOPqrstuvwxyz-AAAA';

export const claudeEnv: Pick<ScenarioSpec, 'client' | 'setupHome' | 'env' | 'apiKey'> = {
  client: 'claude',
  setupHome: () => undefined,
  env: (_home, port) => ({
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`,
    ANTHROPIC_API_KEY: CLAUDE_API_KEY,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_AUTOUPDATER: '1',
  }),
  apiKey: CLAUDE_API_KEY,
};
