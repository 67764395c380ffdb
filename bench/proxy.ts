/**
 * Proxy benchmark (issue 8 item 2): the latency `llmtap proxy` adds and its throughput with
 * streamed responses, beside `@smartyi/llmtrace` in front of the same local upstream in the same
 * run.
 *
 *   npm run build && node dist/bench/proxy.js [--requests N] [--concurrency C] [--events K] [--no-llmtrace]
 *
 * - The upstream is a child process (this file with `--upstream-child`) answering OpenAI Chat
 *   Completions: a ~1 KB JSON body, or SSE of K `chat.completion.chunk` events (default 20), each
 *   written in its own turn of the event loop (separate TCP segments, as a model streams), then
 *   `[DONE]`. Uncompressed: llmtrace strips Accept-Encoding, so both proxies relay the same bytes.
 * - The load generator (this process) sends ~2 KB JSON requests over keep-alive connections,
 *   at concurrency 1 (the added latency, no queueing) and at concurrency C (throughput), N
 *   requests each after N/10 warm-up requests; time to first byte (first body byte: the first
 *   event of a stream) and to last byte per request.
 * - Targets, in this order: the upstream directly; `llmtap proxy --db FILE` (its default outputs:
 *   store and API); `llmtrace --db FILE` (SQLite, its persistent mode), installed at bench time
 *   into bench/out/peers/ (`npm i --prefix`; a native better-sqlite3 build): when the install
 *   fails the row says so.
 * - Added latency at a percentile = that percentile through the proxy − the same percentile
 *   direct. CPU per request of each proxy process from /proc/PID/stat (utime + stime).
 *
 * Bounded loops on loopback only; numbers for the note, no assertions.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRepoRoot } from '../test/gen/repo-root.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const REQUESTS = opt('--requests', 2000);
const CONCURRENCY = opt('--concurrency', 16);
const EVENTS = opt('--events', 20);
const LLMTRACE_VERSION = '1.1.1';
/** A proxy starts in ~1 s (llmtap loads DuckDB and the API); a minute means it will not. */
const START_TIMEOUT_MS = 60_000;
/** npm with a native build (better-sqlite3 from source when no prebuilt binary fits) on a small
 * machine: minutes. */
const INSTALL_TIMEOUT_MS = 15 * 60_000;
/** One request through a proxy takes milliseconds; a stuck one fails the run instead of hanging. */
const REQUEST_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// The upstream (child process)

function completionBody(): string {
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(18);
  return JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1_760_000_000,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 420, completion_tokens: 180, total_tokens: 600 },
  });
}

function sseEvent(i: number, last: boolean): string {
  const delta = last ? {} : { content: `word${i} ` };
  const usage = last ? { prompt_tokens: 420, completion_tokens: EVENTS, total_tokens: 420 + EVENTS } : null;
  return `data: ${JSON.stringify({ id: 'chatcmpl-bench-s', object: 'chat.completion.chunk', created: 1_760_000_000, model: 'gpt-4o-mini-2024-07-18', choices: last ? [] : [{ index: 0, delta, finish_reason: null }], usage })}\n\n`;
}

function runUpstream(): void {
  const json = completionBody();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const stream = Buffer.concat(parts).includes('"stream":true');
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(json)) });
        res.end(json);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      let i = 0;
      const next = (): void => {
        if (i < EVENTS) {
          res.write(sseEvent(i++, false));
          setImmediate(next);
          return;
        }
        res.end(`${sseEvent(i, true)}data: [DONE]\n\n`);
      };
      next();
    });
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
}

// ---------------------------------------------------------------------------------------------
// Load generation

interface Sample {
  ttfb: number;
  ttlb: number;
}

const requestBody = (stream: boolean): string =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: `Summarise this: ${'lorem ipsum dolor sit amet '.repeat(70)}` },
    ],
  });

function one(agent: http.Agent, url: URL, body: string): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = -1;
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), authorization: 'Bearer sk-bench-0123456789abcdefghij' },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        res.on('data', () => {
          if (first < 0) first = performance.now();
        });
        res.on('end', () => {
          const end = performance.now();
          if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode ?? '?'} from ${url.host}`));
          resolve({ ttfb: (first < 0 ? end : first) - t0, ttlb: end - t0 });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url.host} in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(new Error(`${url.host}: ${err.message}`)));
    req.end(body);
  });
}

interface LoadResult {
  samples: Sample[];
  /** Requests that failed (connection closed early, bad status): counted, not timed. */
  errors: number;
  firstError: string | null;
  seconds: number;
}

/** `n` requests, `concurrency` at a time, on keep-alive connections or one connection per
 * request (`Connection: close`); warm-up first. */
async function load(url: URL, stream: boolean, n: number, concurrency: number, keepAlive: boolean): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive, maxSockets: concurrency });
  const body = requestBody(stream);
  const run = async (count: number): Promise<LoadResult> => {
    const samples: Sample[] = [];
    let errors = 0;
    let firstError: string | null = null;
    let next = 0;
    const t0 = performance.now();
    const worker = async (): Promise<void> => {
      while (next < count) {
        next++;
        try {
          samples.push(await one(agent, url, body));
        } catch (err) {
          errors++;
          firstError ??= (err as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { samples, errors, firstError, seconds: (performance.now() - t0) / 1000 };
  };
  await run(Math.max(concurrency, Math.floor(n / 10)));
  const r = await run(n);
  agent.destroy();
  return r;
}

function pct(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

interface Stats {
  ttfb: [number, number, number];
  ttlb: [number, number, number];
  rps: number;
  errors: number;
  firstError: string | null;
}

const QS = [0.5, 0.9, 0.99] as const;

function stats(r: LoadResult): Stats {
  const f = r.samples.map((s) => s.ttfb).sort((a, b) => a - b);
  const l = r.samples.map((s) => s.ttlb).sort((a, b) => a - b);
  const q = (xs: number[]): [number, number, number] => [pct(xs, QS[0]), pct(xs, QS[1]), pct(xs, QS[2])];
  if (r.samples.length === 0) throw new Error(`every request failed: ${r.firstError ?? '?'}`);
  return { ttfb: q(f), ttlb: q(l), rps: r.samples.length / r.seconds, errors: r.errors, firstError: r.firstError };
}

// ---------------------------------------------------------------------------------------------
// Processes

/** user + system CPU seconds of a live process (/proc/PID/stat fields 14 and 15, in clock ticks;
 * 100 per second on Linux, getconf CLK_TCK). */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${START_TIMEOUT_MS} ms: ${text.slice(-2000)}`)), START_TIMEOUT_MS);
    const s = child[stream]!;
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      if (text.length < 1_000_000) text += d;
      const m = re.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${String(code)}) before it was ready: ${text.slice(-2000)}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = http.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** llmtrace's CLI, installed into bench/out/peers/ once; null and why when it cannot be. */
function installLlmtrace(root: string): { cli: string } | { missing: string } {
  const prefix = join(root, 'bench', 'out', 'peers');
  const cli = join(prefix, 'node_modules', '@smartyi', 'llmtrace', 'dist', 'cli', 'index.js');
  const native = join(prefix, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  if (existsSync(cli) && existsSync(native)) return { cli };
  mkdirSync(prefix, { recursive: true });
  process.stderr.write(`bench: installing @smartyi/llmtrace@${LLMTRACE_VERSION} into ${prefix} (native build; may take minutes)\n`);
  const r = spawnSync('npm', ['i', '--prefix', prefix, '--no-audit', '--no-fund', `@smartyi/llmtrace@${LLMTRACE_VERSION}`], { encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS });
  if (r.status !== 0 || !existsSync(cli) || !existsSync(native)) {
    const why = (r.stderr || r.error?.message || '').trim().split('\n').slice(-1)[0] ?? 'unknown';
    return { missing: `npm i failed (${r.status ?? r.signal ?? '?'}): ${why.slice(0, 160)}` };
  }
  return { cli };
}

// ---------------------------------------------------------------------------------------------
// The run

interface Target {
  name: string;
  /** Base of the request URL: the upstream path /v1/chat/completions is appended. */
  base: string;
  child: ChildProcess | null;
}

type ConnectionMode = 'keep-alive' | 'close';

interface Row {
  name: string;
  mode: ConnectionMode;
  note: string;
  latency: { json: Stats; sse: Stats } | null;
  loaded: Stats | null;
  cpuUsPerRequest: number | null;
}

async function measure(t: Target, mode: ConnectionMode): Promise<Row> {
  process.stderr.write(`bench: ${t.name}, ${mode}\n`);
  const url = new URL(`${t.base}/v1/chat/completions`);
  const keep = mode === 'keep-alive';
  const cpu0 = cpuSeconds(t.child?.pid);
  const json = stats(await load(url, false, REQUESTS, 1, keep));
  const sse = stats(await load(url, true, REQUESTS, 1, keep));
  const loaded = stats(await load(url, true, REQUESTS, CONCURRENCY, keep));
  const cpu1 = cpuSeconds(t.child?.pid);
  // Warm-ups included: 3 runs of REQUESTS plus their tenths.
  const total = 3 * REQUESTS + Math.max(1, Math.floor(REQUESTS / 10)) * 2 + Math.max(CONCURRENCY, Math.floor(REQUESTS / 10));
  return {
    name: t.name,
    mode,
    note: '',
    latency: { json, sse },
    loaded,
    cpuUsPerRequest: cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) * 1e6) / total : null,
  };
}

const f2 = (x: number): string => x.toFixed(2);
const f0 = (x: number): string => Math.round(x).toLocaleString('en-US');
const plus = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;

function table(rows: Row[]): string {
  const lines: string[] = [];
  const direct = (mode: ConnectionMode): Row | undefined => rows.find((r) => r.mode === mode && r.latency !== null && r.name === DIRECT);
  const head = (title: string): void => {
    lines.push('', `**${title}**`, '', '| target | connections | TTFB p50 / p90 / p99 ms | added | TTLB p50 / p90 / p99 ms | added |', '|---|---|---|---|---|---|');
  };
  const row = (r: Row, pick: (r: Row) => Stats | null): void => {
    const s = pick(r);
    const base = direct(r.mode);
    const d = base ? pick(base) : null;
    if (s === null || d === null) {
      lines.push(`| ${r.name} | ${r.mode} | ${r.note || 'missing'} | | | |`);
      return;
    }
    const add = (a: number[], b: number[]): string => (r.name === DIRECT ? '—' : a.map((x, i) => plus(x - b[i]!)).join(' / '));
    const failed = s.errors > 0 ? ` (${s.errors} failed: ${s.firstError ?? '?'})` : '';
    lines.push(`| ${r.name}${failed} | ${r.mode} | ${s.ttfb.map(f2).join(' / ')} | ${add(s.ttfb, d.ttfb)} | ${s.ttlb.map(f2).join(' / ')} | ${add(s.ttlb, d.ttlb)} |`);
  };
  head(`Non-streamed JSON, concurrency 1, ${REQUESTS} requests`);
  for (const r of rows) row(r, (x) => x.latency?.json ?? null);
  head(`Streamed SSE (${EVENTS} events), concurrency 1, ${REQUESTS} requests`);
  for (const r of rows) row(r, (x) => x.latency?.sse ?? null);
  head(`Streamed SSE, concurrency ${CONCURRENCY}, ${REQUESTS} requests`);
  for (const r of rows) row(r, (x) => x.loaded);
  lines.push('', `**Throughput, streamed SSE at concurrency ${CONCURRENCY}**`, '', '| target | connections | requests/s | proxy CPU µs/request (all phases) |', '|---|---|---|---|');
  for (const r of rows) {
    lines.push(`| ${r.name} | ${r.mode} | ${r.loaded ? f0(r.loaded.rps) : r.note || 'missing'} | ${r.cpuUsPerRequest === null ? '—' : f0(r.cpuUsPerRequest)} |`);
  }
  return lines.join('\n');
}

const DIRECT = 'direct to the upstream';

async function main(): Promise<void> {
  const root = findRepoRoot();
  process.chdir(root);
  mkdirSync(join('bench', 'out'), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'llmtap-bench-proxy-'));
  const children: ChildProcess[] = [];
  const rows: Row[] = [];
  const traceName = `llmtrace ${LLMTRACE_VERSION} --db`;
  try {
    const self = fileURLToPath(import.meta.url);
    const upstream = spawn(process.execPath, [self, '--upstream-child', '--events', String(EVENTS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(upstream);
    const upPort = Number((await waitForLine(upstream, 'stdout', /listening (\d+)/, 'the upstream'))[1]);
    const upHost = `127.0.0.1:${upPort}`;

    // Each target with keep-alive client connections (what SDKs use) and with one connection
    // per request: llmtrace answers by writing to the raw socket and leaves Node's response
    // unfinished, so a reused connection dies (curl -v: "Connection died, retrying a fresh
    // connect"); the common ground for all three is a connection per request.
    const directTarget: Target = { name: DIRECT, base: `http://${upHost}`, child: null };
    rows.push(await measure(directTarget, 'keep-alive'));
    rows.push(await measure(directTarget, 'close'));

    const llmtap = spawn(
      process.execPath,
      [join(root, 'bin', 'llmtap.js'), 'proxy', '--listen', '127.0.0.1:0', '--api-listen', '127.0.0.1:0', '--db', join(work, 'llmtap.duckdb')],
      { stdio: ['ignore', 'ignore', 'pipe'], cwd: work },
    );
    children.push(llmtap);
    const tapBase = (await waitForLine(llmtap, 'stderr', /proxying (http:\/\/127\.0\.0\.1:\d+)/, 'llmtap proxy'))[1]!;
    const tapTarget: Target = { name: 'llmtap proxy --db', base: `${tapBase}/proxy/bench/http/${upHost}`, child: llmtap };
    rows.push(await measure(tapTarget, 'keep-alive'));
    rows.push(await measure(tapTarget, 'close'));
    await stop(llmtap);

    const missing = (note: string): Row => ({ name: traceName, mode: 'close', note, latency: null, loaded: null, cpuUsPerRequest: null });
    if (args.includes('--no-llmtrace')) {
      rows.push(missing('skipped (--no-llmtrace)'));
    } else {
      const peer = installLlmtrace(root);
      if ('missing' in peer) {
        rows.push(missing(`missing: ${peer.missing}`));
      } else {
        const port = await freePort();
        const trace = spawn(process.execPath, [peer.cli, '-p', String(port), '-H', '127.0.0.1', '--db', join(work, 'llmtrace.sqlite')], {
          stdio: ['ignore', 'pipe', 'inherit'],
          cwd: work,
          env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
        });
        children.push(trace);
        await waitForLine(trace, 'stdout', /Listening/, 'llmtrace');
        rows.push(await measure({ name: traceName, base: `http://127.0.0.1:${port}/proxy/bench/http/${upHost}`, child: trace }, 'close'));
        await stop(trace);
      }
    }
  } finally {
    for (const c of children) await stop(c);
    rmSync(work, { recursive: true, force: true });
  }
  const out = [
    `# llmtap proxy vs llmtrace, ${new Date().toISOString()}`,
    '',
    `Node ${process.version}; upstream, load generator and proxy on one host (loopback); ${REQUESTS} requests per phase after ${Math.max(1, Math.floor(REQUESTS / 10))} warm-up; "added" is the proxy's percentile minus the direct one with the same connection mode (ms).`,
    table(rows),
    '',
  ].join('\n');
  writeFileSync(join('bench', 'out', 'proxy-bench.md'), out);
  process.stdout.write(out);
}

if (args.includes('--upstream-child')) runUpstream();
else
  main().catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
