/**
 * Real clients that write TLS key logs, as a user would run them (docs/tls.md, "Getting a key
 * log"), for the HTTPS end-to-end test:
 * - the official `openai` and `@anthropic-ai/sdk` Node SDKs (sdk-calls.ts) in a child
 *   `node --tls-keylog=FILE`, trusting the test certificate through NODE_EXTRA_CA_CERTS;
 * - `curl --http2` with SSLKEYLOGFILE, several requests multiplexed on one HTTP/2 connection
 *   (`--parallel`), or the same requests over cleartext HTTP/2 (`--http2-prior-knowledge`).
 * Clients run as child processes without blocking: the servers they talk to run in the test's
 * own event loop.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../corpus.js';
import { ANTHROPIC_TEST_KEY, bigPrompt, OPENAI_TEST_KEY, type SdkView } from './sdk-calls.js';

/** The SDK calls take ~3 s over loopback; curl's ~1 s. A minute means something hangs. */
const CLIENT_TIMEOUT_MS = 60_000;
/** curl's output of one request is a few KB; bound what the test holds of a client's chatter. */
const MAX_CHILD_OUTPUT = 4 * 1024 * 1024;

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args` without blocking the event loop; kills it after CLIENT_TIMEOUT_MS. */
function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const keep = (s: string, more: string): string => (s.length < MAX_CHILD_OUTPUT ? s + more : s);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout = keep(stdout, s)));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = keep(stderr, s)));
    const timer = setTimeout(() => child.kill('SIGKILL'), CLIENT_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Writes the SDK runner into `dir`: sdk-calls.ts transpiled to plain ESM (it imports only the two
 * SDKs), a main that prints the SDKs' views as JSON, and a `node_modules` link to the
 * repository's so that plain `node` resolves the SDKs from there.
 */
export function prepareSdkRunner(dir: string): string {
  const runner = join(dir, 'sdk-runner');
  mkdirSync(runner, { recursive: true });
  symlinkSync(join(repoRoot, 'node_modules'), join(runner, 'node_modules'), 'dir');
  const source = readFileSync(join(repoRoot, 'test', 'e2e', 'sdk-calls.ts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(join(runner, 'sdk-calls.mjs'), js);
  writeFileSync(
    join(runner, 'main.mjs'),
    [
      "import { runAnthropicCalls, runOpenAiCalls } from './sdk-calls.mjs';",
      'const [openAiBase, anthropicBase] = process.argv.slice(2);',
      'const views = [...(await runOpenAiCalls(openAiBase)), ...(await runAnthropicCalls(anthropicBase))];',
      'process.stdout.write(JSON.stringify(views));',
      '',
    ].join('\n'),
  );
  return join(runner, 'main.mjs');
}

export interface SdkRunOptions {
  /** `node --tls-keylog=FILE`: Node appends each connection's secrets (NSS key log format). */
  keylog?: string;
  /** PEM file Node trusts besides its own CAs (NODE_EXTRA_CA_CERTS). */
  caCert?: string;
}

/** Runs every SDK call of sdk-calls.ts in a child node and returns what the SDKs returned. */
export async function runSdkChild(main: string, openAiBase: string, anthropicBase: string, o: SdkRunOptions = {}): Promise<SdkView[]> {
  // `localhost` resolves to ::1 and 127.0.0.1; the servers listen on the latter: try it first.
  const args = ['--dns-result-order=ipv4first'];
  if (o.keylog !== undefined) args.push(`--tls-keylog=${o.keylog}`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['NODE_OPTIONS'];
  if (o.caCert !== undefined) env['NODE_EXTRA_CA_CERTS'] = o.caCert;
  const r = await runChild(process.execPath, [...args, main, openAiBase, anthropicBase], env);
  if (r.code !== 0) throw new Error(`SDK child exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as SdkView[];
}

/** One request curl sends, and the request body it carries. */
export interface CurlRequest {
  label: string;
  path: string;
  headers: string[];
  body: unknown;
  /** `--compressed`: ask for (and decode) gzip, as Anthropic's SDKs do. */
  compressed: boolean;
}

const TOOLS_OPENAI = [
  { type: 'function', function: { name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
  { type: 'function', function: { name: 'search_docs', description: 'Search the documentation', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
];
const TOOLS_ANTHROPIC = [{ name: 'get_weather', description: 'Current weather for a city', input_schema: { type: 'object', properties: { query: { type: 'string' } } } }];
const OPENAI_HEADERS = [`authorization: Bearer ${OPENAI_TEST_KEY}`, 'content-type: application/json'];
const ANTHROPIC_HEADERS = [`x-api-key: ${ANTHROPIC_TEST_KEY}`, 'anthropic-version: 2023-06-01', 'content-type: application/json'];

/** Both wire formats, streamed and not, text and tool calls, gzip, and one ~60 KB request body
 * (several DATA frames and TLS records). */
export const CURL_REQUESTS: CurlRequest[] = [
  {
    label: 'curl openai non-stream',
    path: '/v1/chat/completions',
    headers: OPENAI_HEADERS,
    compressed: false,
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello. Reply with 40 words.' }] },
  },
  {
    label: 'curl openai stream tool calls, big request',
    path: '/v1/chat/completions',
    headers: OPENAI_HEADERS,
    compressed: false,
    body: {
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      tools: TOOLS_OPENAI,
      messages: [{ role: 'user', content: `${bigPrompt('curl-h2-tools', 60_000)}\nWeather in Oslo, and the docs.` }],
    },
  },
  {
    label: 'curl anthropic stream gzip',
    path: '/v1/messages',
    headers: ANTHROPIC_HEADERS,
    compressed: true,
    body: { model: 'claude-haiku-4-5', max_tokens: 512, stream: true, messages: [{ role: 'user', content: 'Reply with 90 words.' }] },
  },
  {
    label: 'curl anthropic tool_use',
    path: '/v1/messages',
    headers: ANTHROPIC_HEADERS,
    compressed: false,
    body: { model: 'claude-sonnet-4-6', max_tokens: 256, tools: TOOLS_ANTHROPIC, messages: [{ role: 'user', content: 'What is the weather in Rome?' }] },
  },
];

export interface CurlRun {
  /** What curl received for each request, in CURL_REQUESTS order (decoded when --compressed). */
  bodies: string[];
}

export interface CurlTarget {
  port: number;
  /** HTTPS with this CA file (h2 by ALPN), else cleartext HTTP/2 with prior knowledge. */
  tls: { caCert: string; keylog: string } | null;
}

/**
 * Sends CURL_REQUESTS to https:// or http://localhost:PORT. Over TLS with one curl process in
 * parallel (`--parallel`: curl waits to multiplex them as concurrent streams of one HTTP/2
 * connection). Over h2c one curl process per request: curl 7.88 reuses a prior-knowledge
 * connection and then fails before sending ("(16) Error in the HTTP2 framing layer", seen with
 * `-v` here); the plaintext run only has to carry the same requests.
 */
export async function runCurlH2(dir: string, tag: string, target: CurlTarget): Promise<CurlRun> {
  const base = `${target.tls ? 'https' : 'http'}://localhost:${target.port}`;
  const common = ['--silent', '--show-error', '--fail-with-body'];
  const perRequest: string[][] = [];
  const outs: string[] = [];
  CURL_REQUESTS.forEach((r, i) => {
    const bodyFile = join(dir, `curl-${tag}-${i}.json`);
    const outFile = join(dir, `curl-${tag}-${i}.out`);
    writeFileSync(bodyFile, JSON.stringify(r.body));
    outs.push(outFile);
    const args = ['--resolve', `localhost:${target.port}:127.0.0.1`, '--max-time', '60'];
    args.push(...(target.tls ? ['--http2', '--cacert', target.tls.caCert] : ['--http2-prior-knowledge']));
    if (r.compressed) args.push('--compressed');
    for (const h of r.headers) args.push('-H', h);
    args.push('--data-binary', `@${bodyFile}`, '-o', outFile, `${base}${r.path}`);
    perRequest.push(args);
  });
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (target.tls) env['SSLKEYLOGFILE'] = target.tls.keylog;
  else delete env['SSLKEYLOGFILE'];
  // Options after --next start afresh (curl(1), --next): each request names them all.
  const runs = target.tls
    ? [[...common, '--parallel', '--parallel-max', String(CURL_REQUESTS.length), ...perRequest.flatMap((a, i) => (i > 0 ? ['--next', ...a] : a))]]
    : perRequest.map((a) => [...common, ...a]);
  for (const args of runs) {
    const r = await runChild('curl', args, env);
    if (r.code !== 0) throw new Error(`curl exited ${r.code}: ${r.stderr}`);
  }
  return { bodies: outs.map((f) => readFileSync(f, 'utf8')) };
}

/** The response id curl received: the first `"id"` of the body (a JSON answer's own id, the
 * first chunk's id of an OpenAI stream, the message id in Anthropic's message_start). */
export function firstId(body: string): string | null {
  return /"id":\s*"([^"]+)"/.exec(body)?.[1] ?? null;
}
