/**
 * Test helpers for decoders: build an HttpExchange by hand from strings, so a decoder test reads
 * like the traffic it stands for. Not used by production code.
 */
import type { Micros } from '../core/time.js';
import type { BodyChunk, HeaderList, HttpBody, HttpExchange } from '../http/types.js';

const enc = new TextEncoder();

/** A body piece: text (or bytes) and the capture time it arrived at. */
export interface ChunkSpec {
  data: string | Uint8Array;
  ts: Micros;
}

export interface BodyOptions {
  incomplete?: boolean;
  truncated?: boolean;
  contentEncoding?: string | null;
}

/** Base capture time for hand-built exchanges: 2026-01-01T00:00:00Z in µs. */
export const T0: Micros = 1_767_225_600_000_000;

export function makeBody(
  content: string | Uint8Array | readonly ChunkSpec[] | undefined,
  ts: Micros,
  opts: BodyOptions = {},
): HttpBody {
  let chunks: BodyChunk[];
  if (content === undefined) chunks = [];
  else if (typeof content === 'string' || content instanceof Uint8Array)
    chunks = [{ data: typeof content === 'string' ? enc.encode(content) : content, ts }];
  else chunks = content.map((c) => ({ data: typeof c.data === 'string' ? enc.encode(c.data) : c.data, ts: c.ts }));
  const size = chunks.reduce((n, c) => n + c.data.length, 0);
  return {
    chunks,
    size,
    wireBytes: size,
    contentEncoding: opts.contentEncoding ?? null,
    truncated: opts.truncated ?? false,
    incomplete: opts.incomplete ?? false,
  };
}

export interface ExchangeSpec {
  method?: string;
  /** Path with optional query, e.g. '/v1/messages?beta=true'. */
  target: string;
  reqHeaders?: HeaderList | Record<string, string>;
  /** Request body: a string, or an object serialised as JSON. */
  reqBody?: string | object;
  /** Response status; null/omitted response → `response: null` only when `noResponse` is set. */
  status?: number;
  resHeaders?: HeaderList | Record<string, string>;
  /** Response body: one string (arrives at `resStart`), or pieces with their own times, or an
   * object serialised as JSON. */
  resBody?: string | object | readonly ChunkSpec[];
  resBodyOptions?: BodyOptions;
  noResponse?: boolean;
  /** Capture times; defaults step from T0. */
  reqStart?: Micros;
  resStart?: Micros;
}

function headerList(h: HeaderList | Record<string, string> | undefined, dflt: HeaderList): HeaderList {
  if (h === undefined) return dflt;
  if (Array.isArray(h)) return h;
  return Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]);
}

function isChunkList(v: unknown): v is readonly ChunkSpec[] {
  return Array.isArray(v) && v.every((c) => typeof c === 'object' && c !== null && 'ts' in c && 'data' in c);
}

/** SSE text from data payloads (objects are JSON-encoded), each as `data: …\n\n`. */
export function sse(...events: (object | string | { event: string; data: object | string })[]): string {
  let out = '';
  for (const e of events) {
    if (typeof e === 'object' && e !== null && 'event' in e && 'data' in e && Object.keys(e).length === 2) {
      const d = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
      out += `event: ${String(e.event)}\ndata: ${d}\n\n`;
    } else {
      out += `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`;
    }
  }
  return out;
}

/** SSE events one per chunk, the i-th arriving at `start + i * step` µs. */
export function sseChunks(start: Micros, step: Micros, ...events: (object | string)[]): ChunkSpec[] {
  return events.map((e, i) => ({ data: sse(e), ts: start + i * step }));
}

export function makeExchange(spec: ExchangeSpec): HttpExchange {
  const reqStart = spec.reqStart ?? T0;
  const resStart = spec.resStart ?? reqStart + 100_000;
  const q = spec.target.indexOf('?');
  const path = q < 0 ? spec.target : spec.target.slice(0, q);
  const query = q < 0 ? '' : spec.target.slice(q + 1);
  const reqText =
    spec.reqBody === undefined ? undefined : typeof spec.reqBody === 'string' ? spec.reqBody : JSON.stringify(spec.reqBody);
  const reqBody = makeBody(reqText, reqStart);
  let resBody: HttpBody;
  if (spec.resBody === undefined) resBody = makeBody(undefined, resStart, spec.resBodyOptions);
  else if (typeof spec.resBody === 'string' || isChunkList(spec.resBody))
    resBody = makeBody(spec.resBody, resStart, spec.resBodyOptions);
  else resBody = makeBody(JSON.stringify(spec.resBody), resStart, spec.resBodyOptions);
  const lastTs = resBody.chunks.length > 0 ? resBody.chunks[resBody.chunks.length - 1]!.ts : resStart;
  const isStreamBody = typeof spec.resBody === 'string' ? spec.resBody.startsWith('data:') || spec.resBody.startsWith('event:') : isChunkList(spec.resBody);
  return {
    connection: {
      id: 'c1',
      client: { ip: '10.0.0.2', port: 50000 },
      server: { ip: '10.0.0.1', port: 443 },
      rolesGuessed: false,
    },
    seq: 0,
    request: {
      method: spec.method ?? 'POST',
      target: spec.target,
      path,
      query,
      version: 'HTTP/1.1',
      headers: headerList(spec.reqHeaders, [
        ['host', 'api.example.com'],
        ['content-type', 'application/json'],
      ]),
      body: reqBody,
      start: reqStart,
      end: reqStart + 1_000,
      wireBytes: reqBody.size + 200,
    },
    response: spec.noResponse
      ? null
      : {
          status: spec.status ?? 200,
          reason: '',
          version: 'HTTP/1.1',
          headers: headerList(spec.resHeaders, [
            ['content-type', isStreamBody ? 'text/event-stream' : 'application/json'],
          ]),
          trailers: [],
          body: resBody,
          start: resStart,
          end: lastTs,
          wireBytes: resBody.size + 200,
        },
    anomalies: [],
  };
}
