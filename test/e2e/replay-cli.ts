/**
 * Runs the built CLI (`node bin/llmtap.js replay FILE --jsonl OUT`), as a user would, and reads
 * its output back.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LlmCallRecord } from '../../src/core/record.js';
import { repoRoot } from '../corpus.js';

/** A replay of a few hundred KB takes well under a second; a minute means it hangs. */
const REPLAY_TIMEOUT_MS = 60_000;
/** `tsc -p tsconfig.build.json` on this repository takes ~20 s; allow slow machines. */
const BUILD_TIMEOUT_MS = 300_000;

/** Builds dist/ when it is missing (a fresh checkout running just this test). `npm test` builds
 * first, so there it is a no-op. */
export function ensureBuilt(): void {
  if (existsSync(join(repoRoot, 'dist', 'src', 'cli', 'main.js'))) return;
  const r = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8', timeout: BUILD_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`npm run build failed (${r.status}): ${r.stdout}\n${r.stderr}`);
}

export interface ReplayOutput {
  /** The JSONL file as written: the secrets check reads this text. */
  text: string;
  calls: LlmCallRecord[];
  stderr: string;
}

export function replayCapture(pcap: string, out: string): ReplayOutput {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'llmtap.js'), 'replay', pcap, '--jsonl', out], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: REPLAY_TIMEOUT_MS,
  });
  if (r.status !== 0) throw new Error(`llmtap replay ${pcap} exited ${r.status} (${r.signal ?? ''}): ${r.stderr}`);
  const text = readFileSync(out, 'utf8');
  const calls: LlmCallRecord[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const rec = JSON.parse(line) as { kind?: unknown };
    if (rec.kind === 'llm_call') calls.push(rec as LlmCallRecord);
  }
  return { text, calls, stderr: r.stderr };
}
