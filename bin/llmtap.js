#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm run build`, run on install).
// It runs the bundle (dist/bundle, scripts/bundle-cli.js: one file instead of ~110 to load) when
// that is at least as new as the compiled files, else the compiled files themselves: a build
// that skipped the bundle step (a bare `tsc`) must never run stale code. LLMTAP_NO_BUNDLE=1
// forces the compiled files (stack traces then point at dist/src).
import { statSync } from 'node:fs';
import { URL } from 'node:url';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
const bundle = new URL('../dist/bundle/llmtap.js', import.meta.url);

function bundleIsCurrent() {
  if (process.env.LLMTAP_NO_BUNDLE === '1') return false;
  try {
    return statSync(bundle).mtimeMs >= statSync(compiled).mtimeMs;
  } catch {
    return false;
  }
}

import(bundleIsCurrent() ? bundle.href : compiled.href).catch((err) => {
  process.stderr.write(`llmtap: cannot start (${err instanceof Error ? err.message : String(err)}); run \`npm run build\` first\n`);
  process.exit(2);
});
