#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`, run on install).
import('../dist/src/cli/main.js').catch((err) => {
  process.stderr.write(`llmtap: cannot start (${err instanceof Error ? err.message : String(err)}); run \`npm run build\` first\n`);
  process.exit(2);
});
