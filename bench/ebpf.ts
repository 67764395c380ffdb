/**
 * `node dist/bench/ebpf.js`: what `llmtap ebpf` costs the client it observes (issue 9, "npm run
 * bench reports the overhead on the client"). A local HTTPS server (node:https, the test
 * certificate) answers OpenAI chat completions (a ~2 KB JSON answer to a ~1 KB request); a
 * client process (node, keep-alive, CONCURRENCY requests in flight) sends requests for SECONDS
 * and counts them. Run twice: without llmtap, then with `llmtap ebpf --comm llmtap-bench` (only
 * the client is probed: the overhead a watched process pays). Prints requests per second of
 * each, the overhead, and how many calls llmtap recorded of those sent.
 *
 * Bounded: loopback only, SECONDS per phase (default 10), CONCURRENCY (default 8). Needs root and
 * bpftrace; says so and exits 0 otherwise. Options: --seconds N, --concurrency N.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../test/gen/repo-root.js';

const root = findRepoRoot();
const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const SECONDS = flag('--seconds', 10);
const CONCURRENCY = flag('--concurrency', 8);
const COMM = 'llmtap-bench';

const ANSWER = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1700000000,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, message: { role: 'assistant', content: 'word '.repeat(350).trim() }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 250, completion_tokens: 350, total_tokens: 600 },
});

/** The load generator, plain JS for a child `node --title=llmtap-bench`. */
const CLIENT = `
import { request, Agent } from 'node:https';
const [port, seconds, concurrency, ca] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency), ca: (await import('node:fs')).readFileSync(ca) });
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'bench '.repeat(150) }] });
const end = Date.now() + Number(seconds) * 1000;
let done = 0, failed = 0;
function one() {
  return new Promise((resolve) => {
    const req = request({ host: 'localhost', port: Number(port), path: '/v1/chat/completions', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: 'Bearer sk-bench-0000000000000000' } }, (res) => {
      res.on('data', () => {}); res.on('end', () => { if (res.statusCode === 200) done++; else failed++; resolve(); });
    });
    req.on('error', () => { failed++; resolve(); });
    req.end(body);
  });
}
async function worker() { while (Date.now() < end) await one(); }
const t0 = performance.now();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const secs = (performance.now() - t0) / 1000;
agent.destroy();
process.stdout.write(JSON.stringify({ done, failed, secs }));
`;

interface Load {
  done: number;
  failed: number;
  secs: number;
}

/** One load run in a child process (async: the server answers in this process meanwhile). */
function runLoad(dir: string, port: number, ca: string): Promise<Load> {
  return new Promise<Load>((resolve, reject) => {
    const c = spawn(process.execPath, [`--title=${COMM}`, join(dir, 'client.mjs'), String(port), String(SECONDS), String(CONCURRENCY), ca], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => c.kill('SIGKILL'), (SECONDS + 60) * 1000);
    c.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    c.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out) as Load);
      else reject(new Error(`load client exited ${code}`));
    });
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v bpftrace'], { stdio: 'ignore' }).status !== 0) {
    process.stdout.write('ebpf bench skipped: needs root and bpftrace\n');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-bench-ebpf-'));
  writeFileSync(join(dir, 'client.mjs'), CLIENT);
  const ca = join(root, 'test', 'fixtures', 'tls', 'localhost-cert.pem');
  // The server runs in this process; the probes watch the client only (--comm).
  const server = createServer({ key: readFileSync(join(root, 'test', 'fixtures', 'tls', 'localhost-key.pem')), cert: readFileSync(ca) }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ANSWER) });
      res.end(ANSWER);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    // The server must not be a probed process: the client's own cost is measured.
    process.stdout.write(`ebpf bench: ${SECONDS} s per phase, ${CONCURRENCY} requests in flight, loopback HTTPS (keep-alive)\n`);
    const base = await runLoad(dir, port, ca);
    const jsonl = join(dir, 'calls.jsonl');
    const llmtap = spawn(process.execPath, [join(root, 'bin', 'llmtap.js'), 'ebpf', '--comm', COMM, '--jsonl', jsonl, '--no-turns'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    llmtap.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | null>((resolve) => llmtap.once('exit', (code) => resolve(code)));
    const t0 = Date.now();
    while (!stderr.includes('Ctrl-C to stop')) {
      if (llmtap.exitCode !== null || Date.now() - t0 > 300_000) throw new Error(`llmtap ebpf did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const watched = await runLoad(dir, port, ca);
    const stopAt = Date.now();
    llmtap.kill('SIGINT');
    await exited;
    const drainS = (Date.now() - stopAt) / 1000;
    const recorded = readFileSync(jsonl, 'utf8').split('\n').filter((l) => l.includes('"kind":"llm_call"')).length;
    const rps = (l: Load): number => l.done / l.secs;
    const lines = [
      '',
      '| client | requests | req/s |',
      '|---|---|---|',
      `| alone | ${base.done} | ${rps(base).toFixed(0)} |`,
      `| with llmtap ebpf attached | ${watched.done} | ${rps(watched).toFixed(0)} |`,
      '',
      `overhead on the client: ${((1 - rps(watched) / rps(base)) * 100).toFixed(1)}% fewer requests per second`,
      `llmtap recorded ${recorded} of ${watched.done} calls (stopping took ${drainS.toFixed(1)} s: bpftrace's backlog is read first)`,
      ...stderr.split('\n').filter((l) => /probe events|anomalies/.test(l)).map((l) => l.trim()),
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
