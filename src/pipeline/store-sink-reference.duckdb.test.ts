/**
 * The store's fast paths (redaction that looks for markers before running the key pattern, SSE
 * event data not scanned again when its body held no key, caps that count rather than encode)
 * must store exactly what the plain way stores: every body redacted whole by the key pattern,
 * every event redacted on its own, then capped. Two stores are filled from the same captures, one
 * through StoreSink.addCall, one with exchanges built the plain way, and compared table by table.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../test/corpus.js';
import { requestPiece, responsePieces, utf8, type Header } from '../../test/gen/http-wire.js';
import { pcapBytes } from '../../test/gen/pcap-writer.js';
import { buildConnection, mergeConnections, type ConnectionResult } from '../../test/gen/tcp-conversation.js';
import type { HttpExchangeRecord, LlmCallRecord } from '../core/record.js';
import { isoMicros } from '../core/time.js';
import { parseSse } from '../http/sse.js';
import { bodyText, headerValue, type HttpBody, type HttpExchange } from '../http/types.js';
import { KEY_PATTERN_SOURCE, REDACTED } from '../redact/secrets.js';
import { capBodyText, capEvents } from '../store/caps.js';
import { openStore } from '../store/index.js';
import { tempDbPath, tempDir } from '../store/test-helpers.test-support.js';
import type { StoredExchange } from '../store/types.js';
import { replayFile } from './replay.js';
import { StoreSink } from './store-sink.js';
import { buildStoredExchange } from './stored-exchange.js';

/** The key pattern run over the whole text, with no shortcut. */
function plainRedact(text: string): string {
  return text.replace(new RegExp(KEY_PATTERN_SOURCE, 'g'), (_m, bearer: string | undefined) =>
    bearer === undefined ? REDACTED : bearer + REDACTED,
  );
}

function plainBody(body: HttpBody): { text: string | null; truncated: boolean } {
  if (body.size === 0) return { text: null, truncated: body.truncated };
  const capped = capBodyText(plainRedact(bodyText(body)));
  return { text: capped.text, truncated: capped.truncated || body.truncated };
}

/** An exchange as stored, its bodies and SSE events redacted and capped the plain way. */
function plainStored(ex: HttpExchange, record: LlmCallRecord | HttpExchangeRecord): StoredExchange {
  const x = buildStoredExchange(ex, record);
  const req = plainBody(ex.request.body);
  const res = ex.response ? plainBody(ex.response.body) : { text: null, truncated: false };
  const sse = ex.response !== null && ex.response.body.size > 0 && (headerValue(ex.response.headers, 'content-type') ?? '').startsWith('text/event-stream');
  const events = sse
    ? capEvents(parseSse(ex.response!.body.chunks).map((e) => ({ ts: isoMicros(e.ts), event: e.event, data: plainRedact(e.data) })))
    : null;
  return {
    ...x,
    request_body: req.text,
    request_body_truncated: req.truncated,
    response_body: res.text,
    response_body_truncated: res.truncated,
    ...(events ? { response_events: events.events, response_events_total: events.total, response_events_truncated: events.truncated } : {}),
  };
}

const KEYS = [
  'sk-abcdefghijklmnop1234',
  'sk-ant-api03-abcdefghijklmnop',
  'AIzaSyA1234567890abcdefghijklmnopqrstu',
  'AKIAIOSFODNN7EXAMPLE',
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'github_pat_abcdefghijklmnopqrstuvwxyz0123',
  'xoxb-1234567890-abcdef',
  'hf_abcdefghijklmnopqrstuvwxyz0123456',
  'gsk_abcdefghijklmnopqrstuvwxyz0123456',
  'xai-abcdefghijklmnopqrstuvwxyz0123456',
  'rk_live_abcdefghijklmnop',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N',
  'Bearer abcdefghijklmnop123456',
  'bearer abcdefghijklmnop123456',
];
/** Markers without a key: they send text down the careful path, which must find nothing. */
const NEAR_MISSES = 'mcp__github__create_issue task_id block-size A JSON sky-high ASIAN ghost_ hearers';
const T0 = 1_767_225_600_000_000;

/** OpenAI chat calls, streamed and not, with keys in request bodies, answers and SSE events (one
 * spread over two `data:` lines), some calls with none, and one request body over the cap. */
function secretsCapture(path: string): void {
  const conns: ConnectionResult[] = [];
  const call = (i: number, content: string, answer: string, stream: boolean, extraEvent = ''): void => {
    const at = T0 + i * 1_000_000;
    const headers: Header[] = [['Host', 'api.openai.com'], ['Content-Type', 'application/json']];
    const body = utf8(JSON.stringify({ model: 'gpt-4o', stream, messages: [{ role: 'user', content }] }));
    const delta = (t: string): string =>
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o', choices: [{ index: 0, delta: { content: t } }] })}\n\n`;
    const pieces = stream
      ? [delta('hello'), delta(answer), extraEvent, 'data: [DONE]\n\n'].filter((p) => p !== '')
      : [JSON.stringify({ id: 'c', object: 'chat.completion', model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }] })];
    const res = responsePieces({
      status: 200,
      reason: 'OK',
      headers: [['Content-Type', stream ? 'text/event-stream' : 'application/json']],
      framing: stream ? 'chunked' : 'content-length',
      body: pieces.map((p, j) => ({ at: at + 100_000 + j * 10_000, data: utf8(p) })),
    });
    conns.push(
      buildConnection({
        client: { ip: '10.0.0.2', port: 40_000 + i },
        server: { ip: '10.0.0.1', port: 80 },
        start: at - 1_000,
        exchanges: [{ request: [requestPiece(at, 'POST', '/v1/chat/completions', headers, body)], response: res.pieces }],
      }),
    );
  };
  const joinedKey = 'data: Bearer\ndata: zyxwvutsrqponmlk9876543210\n\n';
  KEYS.forEach((key, i) => call(i, `${NEAR_MISSES} my key ${key}`, `echo ${key}`, i % 2 === 0, i % 4 === 0 ? joinedKey : ''));
  call(20, NEAR_MISSES, 'no key here', true, joinedKey);
  call(21, NEAR_MISSES, 'no key here either', false);
  // Words, not one 200,000-letter run: the token estimate of such a run takes minutes (reported).
  const filler = 'lorem ipsum '.repeat(17_000);
  call(22, `${filler} ${KEYS[0]} ${filler} ${KEYS[1]} end`, 'ok', true);
  writeFileSync(path, pcapBytes(mergeConnections(conns)));
}

/** Fill a store from `capture`, each exchange built by `build`. */
async function fill(capture: string, build: 'pipeline' | 'plain'): Promise<string> {
  const path = tempDbPath();
  const store = await openStore({ path, retention: false });
  const sink = new StoreSink(store);
  await replayFile(capture, {
    source: 'reference-test',
    fingerprintSalt: 's',
    onCall: (r, ex) => (build === 'pipeline' ? sink.addCall(r, ex) : sink.addStoredCall(r, plainStored(ex, r))),
    onOtherExchange: (r, ex) => (build === 'pipeline' ? sink.addOther(r, ex) : sink.addStoredOther(plainStored(ex, r))),
    afterChunk: () => sink.drain(),
  });
  await sink.flush();
  await store.close();
  return path;
}

/** Rows of each table in one store and not in the other (both ways), and each table's count. */
async function compare(a: string, b: string): Promise<Record<string, { rows: number; onlyA: number; onlyB: number }>> {
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  try {
    await c.run(`ATTACH '${a}' AS a (READ_ONLY)`);
    await c.run(`ATTACH '${b}' AS b (READ_ONLY)`);
    const n = async (sql: string): Promise<number> => Number((await c.runAndReadAll(sql)).getRows()[0]![0]);
    const out: Record<string, { rows: number; onlyA: number; onlyB: number }> = {};
    for (const t of ['calls', 'exchanges', 'turns', 'alerts', 'annotations']) {
      out[t] = {
        rows: await n(`SELECT count(*) FROM a.${t}`),
        onlyA: await n(`SELECT count(*) FROM (SELECT * FROM a.${t} EXCEPT ALL SELECT * FROM b.${t})`),
        onlyB: await n(`SELECT count(*) FROM (SELECT * FROM b.${t} EXCEPT ALL SELECT * FROM a.${t})`),
      };
    }
    return out;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

describe('the store path stores what the plain path stores', () => {
  it('on the demo capture', async () => {
    const demo = join(repoRoot, 'examples/demo.pcap');
    const tables = await compare(await fill(demo, 'pipeline'), await fill(demo, 'plain'));
    expect(tables.calls!.rows).toBe(21);
    expect(tables.exchanges!.rows).toBeGreaterThanOrEqual(21);
    for (const [t, d] of Object.entries(tables)) expect({ t, onlyA: d.onlyA, onlyB: d.onlyB }).toEqual({ t, onlyA: 0, onlyB: 0 });
  });

  it('on a generated capture with keys in bodies and events, near-misses, and a body over the cap', async () => {
    const capture = join(tempDir(), 'secrets.pcap');
    secretsCapture(capture);
    const pipeline = await fill(capture, 'pipeline');
    const tables = await compare(pipeline, await fill(capture, 'plain'));
    expect(tables.calls!.rows).toBe(KEYS.length + 3);
    for (const [t, d] of Object.entries(tables)) expect({ t, onlyA: d.onlyA, onlyB: d.onlyB }).toEqual({ t, onlyA: 0, onlyB: 0 });
    // And what both stored holds no key (the comparison alone would pass if both leaked).
    const store = await openStore({ path: pipeline, retention: false, readOnly: true });
    try {
      const page = await store.listExchanges({}, { limit: 100 });
      const all = JSON.stringify(await Promise.all(page.items.map((x) => store.getExchange(x.id))));
      for (const key of KEYS) expect(all).not.toContain(key.replace(/^[Bb]earer /, ''));
      expect(all).toContain('Bearer\\n[REDACTED]');
      // The over-cap body keeps the count of the bytes really omitted (not a re-cut marker's).
      const omitted = /\[… llmtap: (\d+) bytes omitted …\]/.exec(all);
      expect(Number(omitted?.[1])).toBeGreaterThan(50_000);
    } finally {
      await store.close();
    }
  });
});
