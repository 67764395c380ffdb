/**
 * The agent CLIs the real-agent suite runs, pinned in this one place. The suite installs exactly
 * these into the scratch folder (test/clients/.scratch, gitignored) and reuses an install whose
 * versions match. Raising a version: change it here, run `npm run test:clients`, and update
 * OBSERVED.md from the request logs the run writes into the scratch folder.
 */
export const CLIENT_PACKAGES = {
  /** `claude` (a native Bun binary since 2.x; the npm package links the platform build). */
  claude: { name: '@anthropic-ai/claude-code', version: '2.1.331' },
  /** `codex` (a node launcher for the platform's Rust binary). */
  codex: { name: '@openai/codex', version: '0.169.0' },
} as const;

export type ClientName = keyof typeof CLIENT_PACKAGES;
