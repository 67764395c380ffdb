/**
 * The replay command as a user meets it: bad input gives one clear line and a non-zero exit;
 * a truncated capture still yields every complete packet's calls and says where the file ended.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../corpus.js';

const cli = join(repoRoot, 'bin', 'llmtap.js');
const demo = join(repoRoot, 'examples', 'demo.pcap');
let dir: string;

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function records(stdout: string): { kind: string; response_id: string | null }[] {
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { kind: string; response_id: string | null });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmtap-cli-'));
  // The CLI runs from dist/: `npm test` builds first; a bare `vitest` run needs the build too.
  if (spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8' }).status !== 0) {
    throw new Error('npm run build failed');
  }
});

describe('llmtap replay', () => {
  it('decodes the example capture into call records and a summary', () => {
    const r = run('replay', demo, '--jsonl', '-');
    expect(r.code).toBe(0);
    const recs = records(r.stdout);
    const calls = recs.filter((x) => x.kind === 'llm_call');
    expect(calls.length).toBeGreaterThanOrEqual(8);
    // The example's agent traffic also yields turn records; nothing else goes to the stream.
    expect(recs.every((x) => x.kind === 'llm_call' || x.kind === 'agent_turn')).toBe(true);
    expect(r.stderr).toMatch(/LLM calls/);
    // The example carries placeholder keys in headers: none may reach the output.
    expect(r.stdout).not.toMatch(/sk-demo|sk-ant-api03-demo|AIzaSydemo/);
  });

  it('says clearly when the file is missing', () => {
    const r = run('replay', join(dir, 'nope.pcap'), '--jsonl', '-');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^llmtap: .*nope\.pcap/);
  });

  it('says clearly when the file is not a capture', () => {
    const f = join(dir, 'notes.txt');
    writeFileSync(f, 'hello, this is not a capture file at all\n');
    const r = run('replay', f, '--jsonl', '-');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/not a pcap or pcapng/);
  });

  it('says clearly when the link type is unsupported', () => {
    // A valid pcap header with LINKTYPE 147 (user-defined) and one packet.
    const head = Buffer.alloc(24);
    head.writeUInt32LE(0xa1b2c3d4, 0);
    head.writeUInt16LE(2, 4);
    head.writeUInt16LE(4, 6);
    head.writeUInt32LE(65535, 16);
    head.writeUInt32LE(147, 20);
    const rec = Buffer.alloc(16 + 4);
    rec.writeUInt32LE(1, 0);
    rec.writeUInt32LE(4, 8);
    rec.writeUInt32LE(4, 12);
    const f = join(dir, 'odd.pcap');
    writeFileSync(f, Buffer.concat([head, rec]));
    const r = run('replay', f, '--jsonl', '-');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unsupported link type 147/);
  });

  it('stores into a database, and a second replay of the same file adds nothing', () => {
    const db = join(dir, 'twice.duckdb');
    const first = run('replay', demo, '--db', db, '--exit-after-drain');
    expect(first.code).toBe(0);
    const calls = records(run('replay', demo, '--jsonl', '-').stdout).filter((x) => x.kind === 'llm_call').length;
    expect(first.stderr).toContain(`stored ${calls} new calls`);
    const second = run('replay', demo, '--db', db, '--exit-after-drain');
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`stored 0 new calls (${calls} already in the database)`);
  });

  it('says clearly when the database cannot be written', () => {
    const r = run('replay', demo, '--db', '/proc/llmtap-test.duckdb', '--exit-after-drain');
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^llmtap: .*llmtap-test\.duckdb/);
  });

  it('reads every complete packet of a truncated capture and says where it ended', () => {
    const full = readFileSync(demo);
    const whole = records(run('replay', demo, '--jsonl', '-').stdout).filter((x) => x.kind === 'llm_call');
    // Cut the file a little after its middle, inside a packet record.
    const cut = Math.floor(full.length * 0.6) + 7;
    const f = join(dir, 'cut.pcap');
    writeFileSync(f, full.subarray(0, cut));
    const r = run('replay', f, '--jsonl', '-');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/truncated/);
    expect(r.stderr).toMatch(/byte [\d,]+/);
    const part = records(r.stdout);
    expect(part.length).toBeGreaterThan(0);
    expect(part.length).toBeLessThanOrEqual(whole.length);
    // Every call that completed before the cut comes out the same as from the whole file.
    const wholeIds = new Set(whole.map((x) => x.response_id));
    expect(part.filter((x) => x.response_id !== null && wholeIds.has(x.response_id)).length).toBeGreaterThan(0);
  });

  it('writes non-LLM exchanges with --exchanges and no secrets in their headers', () => {
    const r = run('replay', demo, '--jsonl', '-', '--exchanges');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/sk-demo|sk-ant-api03-demo|AIzaSydemo/);
  });

  it('serves the API after the capture drains until interrupted, and serve browses the database', async () => {
    const db = join(dir, 'served.duckdb');
    const port = 21000 + (process.pid % 20000);
    const replay = spawn(process.execPath, [cli, 'replay', demo, '--db', db, '--listen', `127.0.0.1:${port}`]);
    await waitForLine(replay, /serving .* until interrupted/);
    const calls = records(run('replay', demo, '--jsonl', '-').stdout).filter((x) => x.kind === 'llm_call');
    const summary = (await (await fetch(`http://127.0.0.1:${port}/api/v1/summary`)).json()) as { calls: number };
    expect(summary.calls).toBe(calls.length);
    expect(await stopWithSigint(replay)).toBe(0);

    const serve = spawn(process.execPath, [cli, 'serve', '--db', db, '--listen', `127.0.0.1:${port + 1}`]);
    await waitForLine(serve, /serving .* until interrupted/);
    const page = (await (await fetch(`http://127.0.0.1:${port + 1}/api/v1/calls?limit=500`)).json()) as { items: { response_id: string | null }[] };
    expect(page.items.map((c) => c.response_id).sort()).toEqual(calls.map((c) => c.response_id).sort());
    expect(await stopWithSigint(serve)).toBe(0);
  });
});

function waitForLine(child: ChildProcess, re: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stderr?.on('data', (d: Buffer) => {
      seen += d.toString();
      if (re.test(seen)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited ${String(code)} before ${String(re)}: ${seen}`)));
  });
}

function stopWithSigint(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}
