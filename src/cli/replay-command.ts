import { basename } from 'node:path';
import { CaptureError } from '../capture/file-reader.js';
import { replayFile, type ReplaySummary } from '../pipeline/replay.js';
import { JsonlWriter } from '../pipeline/jsonl-writer.js';
import { DEFAULT_FINGERPRINT_SALT } from '../redact/secrets.js';
import { UserError } from './errors.js';
import { ProgressBar } from './progress.js';

export interface ReplayCommandOptions {
  jsonl?: string;
  exchanges?: boolean;
  source?: string;
  fingerprintSalt?: string;
  quiet?: boolean;
}

export async function runReplay(file: string, o: ReplayCommandOptions): Promise<void> {
  if (!o.jsonl) {
    throw new UserError('replay needs an output: --jsonl PATH (or --jsonl - for standard output)', 2);
  }
  if (o.exchanges && !o.jsonl) throw new UserError('--exchanges writes into the --jsonl output: give --jsonl too', 2);
  let writer: JsonlWriter;
  try {
    writer = new JsonlWriter(o.jsonl);
  } catch (err) {
    throw new UserError(`cannot write ${o.jsonl}: ${(err as Error).message}`);
  }
  const bar = o.quiet ? null : ProgressBar.forStderr(basename(file));
  let calls = 0;
  let summary: ReplaySummary;
  try {
    summary = await replayFile(file, {
      source: o.source ?? basename(file),
      fingerprintSalt: o.fingerprintSalt ?? process.env['LLMTAP_FINGERPRINT_SALT'] ?? DEFAULT_FINGERPRINT_SALT,
      onCall: (r) => {
        calls++;
        writer.write(r);
      },
      ...(o.exchanges ? { onOtherExchange: (r: object) => writer.write(r) } : {}),
      ...(bar ? { onProgress: (done: number, total: number) => bar.update(done, total, `${calls} calls`) } : {}),
    });
  } catch (err) {
    // Whatever was decoded before the failure is already written: keep it.
    writer.close();
    bar?.clear();
    if (err instanceof CaptureError) throw new UserError(err.message);
    throw err;
  }
  writer.close();
  bar?.clear();
  if (!o.quiet) process.stderr.write(formatSummary(file, summary));
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

export function formatSummary(file: string, s: ReplaySummary): string {
  const secs = s.elapsedMs / 1000;
  const mb = s.captureBytes / 1e6;
  const lines = [
    `llmtap replay ${file} (${s.capture.format})`,
    `  ${n(s.packets)} packets, ${mb.toFixed(1)} MB, ${n(s.connections)} TCP connections, ${n(s.exchanges)} HTTP exchanges`,
    `  ${n(s.calls)} LLM calls, ${n(s.otherExchanges)} other exchanges`,
    `  ${secs.toFixed(2)} s, ${(mb / Math.max(secs, 1e-6)).toFixed(1)} MB/s, ${n(Math.round(s.packets / Math.max(secs, 1e-6)))} packets/s`,
  ];
  if (s.anomalies.length > 0) {
    lines.push(`  anomalies: ${s.anomalies.map(([name, count]) => `${name} ${n(count)}`).join(', ')}`);
  }
  if (s.capture.truncatedAt !== null) {
    lines.push(`  the capture ends mid-packet at byte ${n(s.capture.truncatedAt)} (truncated file): every complete packet before it was read`);
  }
  return `${lines.join('\n')}\n`;
}
