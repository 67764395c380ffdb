/**
 * Issue 6 item 2's acceptance: the same capture replayed with 1, 2 and 4 workers gives the same
 * records. Stronger than "order aside": the JSONL files are byte-identical (calls, non-LLM
 * exchanges with their connection ids, agent turns, in the same order).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { keylogPathFor, writeWorkload } from '../../bench/workload.js';
import { corpusDir, repoRoot } from '../corpus.js';
import { ensureBuilt } from '../e2e/replay-cli.js';
import { writeManyConnections } from './many-connections.js';

const TIMEOUT_MS = 120_000;
const dir = mkdtempSync(join(tmpdir(), 'llmtap-workers-'));

function replay(pcap: string, workers: number, extra: string[] = []): string {
  const out = join(dir, `${basename(pcap)}-${workers}.jsonl`);
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'llmtap.js'), 'replay', pcap, '--exchanges', '--jsonl', out, '-q', '--workers', String(workers), ...extra], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: TIMEOUT_MS,
  });
  if (r.status !== 0) throw new Error(`replay ${pcap} --workers ${workers} exited ${r.status}: ${r.stderr}`);
  return readFileSync(out, 'utf8');
}

function kinds(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const k = (JSON.parse(line) as { kind: string }).kind;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

function expectSameAcrossWorkers(pcap: string, extra: string[] = []): Record<string, number> {
  const one = replay(pcap, 1, extra);
  for (const n of [2, 4]) {
    const many = replay(pcap, n, extra);
    // Order aside first (a clearer failure when records differ), then the exact bytes.
    expect(many.split('\n').sort()).toEqual(one.split('\n').sort());
    expect(many).toBe(one);
  }
  return kinds(one);
}

beforeAll(() => ensureBuilt(), 300_000);

describe('replay with worker threads', () => {
  it('examples/demo.pcap: the same JSONL with 1, 2 and 4 workers', () => {
    const k = expectSameAcrossWorkers(join(repoRoot, 'examples', 'demo.pcap'));
    expect(k['llm_call']).toBe(21);
    expect(k['agent_turn']).toBe(14);
  }, TIMEOUT_MS);

  it('--pace with workers: pacing happens before dispatch; the records are the same', () => {
    const demo = join(repoRoot, 'examples', 'demo.pcap');
    const one = replay(demo, 1);
    expect(replay(demo, 2, ['--pace', '50'])).toBe(one);
  }, TIMEOUT_MS);

  it('a generated capture with many connections, some never closed, some impaired', () => {
    const pcap = join(dir, 'many.pcap');
    const meta = writeManyConnections(pcap, 160);
    expect(meta.open).toBeGreaterThan(10);
    const k = expectSameAcrossWorkers(pcap);
    // Interrupted, lost or cut answers may not all decode: most do.
    expect(k['llm_call']).toBeGreaterThan(meta.calls * 0.8);
    expect(k['llm_call']).toBeLessThanOrEqual(meta.calls);
  }, 4 * TIMEOUT_MS);

  it('the benchmark mix over TLS: the key log reaches every worker', () => {
    const plain = join(dir, 'mix.pcap');
    const meta = writeWorkload(plain, 6 * 1024 * 1024, { seed: 7 });
    const tls = join(dir, 'mix-tls.pcap');
    const tlsMeta = writeWorkload(tls, 6 * 1024 * 1024, { seed: 7, tls: true, sessions: meta.sessions });
    const kt = expectSameAcrossWorkers(tls, ['--tls-keylog', keylogPathFor(tls)]);
    expect(kt['llm_call']).toBe(tlsMeta.calls);
  }, 4 * TIMEOUT_MS);

  it.skipIf(!corpusDir)('the tokenscope captures: the same JSONL with 1, 2 and 4 workers', () => {
    const pcaps = join(corpusDir!, 'tokenscope', 'pcaps');
    const files = readdirSync(pcaps).filter((f) => f.endsWith('.pcap'));
    expect(files.length).toBeGreaterThan(10);
    let calls = 0;
    for (const f of files) calls += expectSameAcrossWorkers(join(pcaps, f))['llm_call'] ?? 0;
    expect(calls).toBeGreaterThan(0);
  }, 6 * TIMEOUT_MS);
});
