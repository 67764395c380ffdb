import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { corpusDir } from '../../../test/corpus.js';
import { bodyText, headerValue } from '../types.js';
import { feed, splitStreams, summary } from './harness.test-support.js';

/** Real keep-alive connection (tokenscope/MANIFEST.md): 2 pipelined chunked SSE exchanges. */
describe.skipIf(!corpusDir)('corpus: keepalive_2sse (real LiteLLM capture)', () => {
  const dir = join(corpusDir ?? '', 'tokenscope', 'streams');
  const client = corpusDir ? readFileSync(join(dir, 'keepalive_2sse_client.bin')) : Buffer.alloc(0);
  const server = corpusDir ? readFileSync(join(dir, 'keepalive_2sse_server.bin')) : Buffer.alloc(0);

  function check(run: ReturnType<typeof feed>): void {
    expect(run.anomalies.total).toBe(0);
    expect(run.exchanges).toHaveLength(2);
    for (const e of run.exchanges) {
      expect(e.request.method).toBe('POST');
      expect(e.request.path).toBe('/v1/chat/completions');
      expect(e.request.body.size).toBe(Number(headerValue(e.request.headers, 'content-length')));
      expect(JSON.parse(bodyText(e.request.body)).stream).toBe(true);
      expect(e.response?.status).toBe(200);
      expect(headerValue(e.response!.headers, 'content-type')).toMatch(/^text\/event-stream/);
      const sse = bodyText(e.response!.body);
      expect(sse.startsWith('data: {"id":"chatcmpl-')).toBe(true);
      expect(sse).toContain('"finish_reason":"tool_calls"');
      expect(e.response!.body.incomplete).toBe(false);
    }
    // Together the two requests and responses are the whole streams.
    expect(run.exchanges.reduce((a, e) => a + e.request.wireBytes, 0)).toBe(client.length);
    expect(run.exchanges.reduce((a, e) => a + e.response!.wireBytes, 0)).toBe(server.length);
  }

  it('parses both exchanges from the whole streams', () => {
    check(feed(splitStreams(client, server, () => [])));
  });

  it('same exchanges with the streams split at many offsets and in MTU-sized packets', () => {
    const reference = feed(splitStreams(client, server, () => [])).exchanges.map(summary);
    const offsets = new Set<number>();
    for (let k = 1; k < 400; k++) offsets.add(k); // the heads
    for (let k = 400; k < server.length; k += 97) offsets.add(k);
    for (let k = server.length; k < client.length; k += 1013) offsets.add(k);
    for (const k of offsets) {
      const run = feed(splitStreams(client, server, (len) => [Math.min(k, len)]));
      expect(run.exchanges.map(summary), `split at ${k}`).toEqual(reference);
    }
    const mtu = feed(splitStreams(client, server, (len) => Array.from({ length: Math.floor(len / 1448) }, (_, i) => (i + 1) * 1448)));
    check(mtu);
    expect(mtu.exchanges.map(summary)).toEqual(reference);
  });
});
