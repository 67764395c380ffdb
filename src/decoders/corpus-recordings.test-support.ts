/**
 * Test-only: turns the third-party recordings in ../shared/corpus (MANIFEST-real.md) into
 * HttpExchanges for the decoder conformance tests. Each recording format is rebuilt into what the
 * wire carried: VCR cassettes (openllmetry, pydantic-ai; gzip bodies inflated), nock recordings,
 * Google's js-genai replay files (streamed `bodySegments` re-serialised as SSE `data:` events),
 * Vercel AI `*.chunks.txt` (one SSE data payload per line) and raw bodies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import type { HeaderList, HttpExchange } from '../http/types.js';
import { makeExchange } from './test-helpers.test-support.js';
import { arr, isObject, num, obj, str } from './json.js';

/** One exchange rebuilt from a corpus file. */
export interface Recording {
  /** Corpus-relative file, plus `#n` for the n-th interaction of a multi-interaction file. */
  label: string;
  exchange: HttpExchange;
}

export interface RecordingSpec {
  target: string;
  reqHeaders?: HeaderList;
  reqBody?: string;
  status?: number;
  resHeaders?: HeaderList;
  resBody: string | Uint8Array;
}

export function recording(label: string, spec: RecordingSpec): Recording {
  const resBody = typeof spec.resBody === 'string' ? spec.resBody : [{ data: spec.resBody, ts: 0 }];
  const exchange = makeExchange({
    target: spec.target,
    reqHeaders: spec.reqHeaders,
    reqBody: spec.reqBody,
    status: spec.status ?? 200,
    resHeaders: spec.resHeaders ?? [['content-type', looksSse(spec.resBody) ? 'text/event-stream' : 'application/json']],
    resBody,
  });
  return { label, exchange };
}

function looksSse(body: string | Uint8Array): boolean {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body.subarray(0, 16));
  const t = text.trimStart();
  return t.startsWith('event:') || t.startsWith('data:');
}

export function readText(corpus: string, rel: string): string {
  return readFileSync(join(corpus, rel), 'utf8');
}

/** Vercel AI `*.chunks.txt`: one SSE `data:` payload per line, framing stripped by the recorder. */
export function chunksToSse(text: string): string {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => `data: ${l}\n\n`)
    .join('');
}

/** Vercel AI multi-step fixtures hold several responses in one file, one after another: split
 * after each Anthropic `message_stop` so that each becomes its own exchange, as on the wire. */
export function splitAnthropicChunks(text: string): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    cur.push(line);
    if (/"type"\s*:\s*"message_stop"/.test(line)) {
      out.push(cur.join('\n'));
      cur = [];
    }
  }
  if (cur.length > 0) out.push(cur.join('\n'));
  return out;
}

/** js-genai `bodySegments` (one parsed JSON per SSE event) back to SSE bytes. */
export function segmentsToSse(segments: unknown[]): string {
  return segments.map((s) => `data: ${JSON.stringify(s)}\r\n\r\n`).join('');
}

function pathOf(uri: string): string {
  const m = /^[a-z]+:\/\/[^/]+(\/.*)$/i.exec(uri);
  return m ? m[1]! : uri;
}

/** Cassette header maps (`name: [values]`) → HeaderList with lower-case names. */
function cassetteHeaders(h: unknown): HeaderList {
  const out: HeaderList = [];
  const o = obj(h);
  if (!o) return out;
  for (const [k, v] of Object.entries(o)) {
    const values = Array.isArray(v) ? v : [v];
    for (const x of values) out.push([k.toLowerCase(), String(x)]);
  }
  return out;
}

function headerOf(h: HeaderList, name: string): string | undefined {
  for (const [n, v] of h) if (n === name) return v;
  return undefined;
}

function bodyOf(body: unknown, parsedBody: unknown, headers: HeaderList): string | Uint8Array | undefined {
  if (parsedBody !== undefined) return JSON.stringify(parsedBody);
  const b = isObject(body) ? body['string'] : body;
  if (typeof b === 'string') return b;
  if (b instanceof Uint8Array) {
    // The cassette keeps the body as sent; the HTTP layer would have decoded it.
    const gz = headerOf(headers, 'content-encoding')?.includes('gzip') || (b[0] === 0x1f && b[1] === 0x8b);
    return gz ? new Uint8Array(gunzipSync(b)) : b;
  }
  return undefined;
}

export interface CassetteInteraction {
  method: string;
  uri: string;
  recording: Recording;
}

/** VCR cassettes: openllmetry (`body: '…'`, `!!binary` gzip response) and pydantic-ai
 * (`parsed_body` re-serialised from YAML, SSE bodies verbatim). */
export function cassette(corpus: string, rel: string): CassetteInteraction[] {
  const doc = obj(parseYaml(readText(corpus, rel), { customTags: ['binary'] }) as unknown);
  return arr(doc?.['interactions']).flatMap((it, i) => {
    const rq = obj(obj(it)?.['request']);
    const rs = obj(obj(it)?.['response']);
    if (!rq || !rs) return [];
    const uri = str(rq['uri']) ?? '';
    const reqHeaders = cassetteHeaders(rq['headers']);
    const resHeaders = cassetteHeaders(rs['headers']).filter(([n]) => n !== 'content-encoding' && n !== 'content-length');
    const reqBody = bodyOf(rq['body'], rq['parsed_body'], reqHeaders);
    const resBody = bodyOf(rs['body'], rs['parsed_body'], cassetteHeaders(rs['headers'])) ?? '';
    const rec = recording(`${rel}#${i}`, {
      target: pathOf(uri),
      reqHeaders,
      reqBody: typeof reqBody === 'string' ? reqBody : reqBody === undefined ? undefined : new TextDecoder().decode(reqBody),
      status: num(obj(rs['status'])?.['code']) ?? 200,
      resHeaders,
      resBody,
    });
    return [{ method: str(rq['method']) ?? 'POST', uri, recording: rec }];
  });
}

/** js-genai replay files: `interactions[].request{url, bodySegments}` and
 * `response{statusCode, headers, bodySegments}`. A streamed 200 is re-serialised as SSE; an
 * error body is the one JSON object Google sends. */
export function genaiReplay(corpus: string, rel: string): Recording[] {
  const doc = obj(JSON.parse(readText(corpus, rel)) as unknown);
  return arr(doc?.['interactions']).flatMap((it, i) => {
    const rq = obj(obj(it)?.['request']);
    const rs = obj(obj(it)?.['response']);
    if (!rq || !rs) return [];
    const url = str(rq['url']) ?? '';
    const status = num(rs['statusCode']) ?? 200;
    const segments = arr(rs['bodySegments']);
    const streamed = url.includes(':streamGenerateContent') && status < 400;
    const resBody = streamed ? segmentsToSse(segments) : segments.length > 0 ? JSON.stringify(segments[0]) : '';
    const reqSeg = arr(rq['bodySegments'])[0];
    return [
      recording(`${rel}#${i}`, {
        target: url,
        reqHeaders: [['content-type', 'application/json']],
        reqBody: reqSeg === undefined ? undefined : JSON.stringify(reqSeg),
        status,
        resHeaders: [['content-type', streamed ? 'text/event-stream' : 'application/json']],
        resBody,
      }),
    ];
  });
}

/** nock recordings: `[{method, path, body, status, response}]`, response an object (JSON) or a
 * string (SSE). */
export function nockRecording(corpus: string, rel: string): Recording[] {
  return arr(JSON.parse(readText(corpus, rel)) as unknown).flatMap((it, i) => {
    const o = obj(it);
    if (!o) return [];
    const response = o['response'];
    return [
      recording(`${rel}#${i}`, {
        target: str(o['path']) ?? '/',
        reqHeaders: [['anthropic-version', '2023-06-01']],
        reqBody: o['body'] === undefined ? undefined : JSON.stringify(o['body']),
        status: num(o['status']) ?? 200,
        resBody: typeof response === 'string' ? response : JSON.stringify(response),
      }),
    ];
  });
}

/** Files listed in MANIFEST-real.jsonl whose `provider` is one of `providers`. */
export function manifestFiles(corpus: string, providers: readonly string[]): string[] {
  return readText(corpus, 'MANIFEST-real.jsonl')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => obj(JSON.parse(l) as unknown))
    .filter((o): o is Record<string, unknown> => o !== null && providers.includes(str(o['provider']) ?? ''))
    .map((o) => str(o['local'])!);
}
