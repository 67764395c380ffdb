import { defineConfig } from 'vitest/config';

// The real-agent suite (`npm run test:clients`): installs Claude Code and Codex into
// test/clients/.scratch and runs them against a local server. Its files end in `.suite.ts`, so
// `npm test` (vitest.config.ts, `*.test.ts`) never runs it.
export default defineConfig({
  test: {
    include: ['test/clients/**/*.suite.ts'],
    globalSetup: ['test/clients/global-setup.ts'],
    // First run: npm downloads ~250 MB of CLI tarballs.
    hookTimeout: 600_000,
    testTimeout: 60_000,
    pool: 'forks',
    // One agent at a time: each is a heavy native process, and the machines are small.
    fileParallelism: false,
  },
});
