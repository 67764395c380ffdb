/**
 * The same exchange as HTTP/2 frames: an HTTP/1 exchange (as the HTTP/1 layer read it) rewritten
 * as one HTTP/2 stream (RFC 9113 §8.3: pseudo-headers from the request line and Host, §8.2.2:
 * connection-specific fields dropped), each frame sent at the capture time of the part it
 * carries, so the decoders should see the same call with the same times.
 */
import type { HttpExchange } from '../../src/http/types.js';
import type { Packet } from '../../src/http/h2/harness.test-support.js';
import type { Field } from '../../src/http/h2/hpack-encoder.test-support.js';
import type { Dir } from '../../src/reassembly/types.js';
import { CLIENT_PREFACE, concat, dataFrame, H2Wire, settingsFrame } from './frame-writer.js';

/** RFC 9113 §8.2.2: fields that only mean something to an HTTP/1 connection. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** DATA frames carry at most SETTINGS_MAX_FRAME_SIZE (16384 by default, §6.5.2). */
const MAX_DATA = 16_384;

/** One packet to be: its frames are encoded when the packets are put in time order, since an
 * HPACK encoder's state follows the order blocks are sent in. */
export interface PendingPacket {
  dir: Dir;
  ts: number;
  make: (w: H2Wire) => Uint8Array;
}

export function h2PacketsOf(ex: HttpExchange, streamId = 1, withPreface = true): Packet[] {
  return renderH2(h2EventsOf(ex, streamId, withPreface));
}

/** Packets in time order (stable: the order given for equal times), header blocks encoded in it. */
export function renderH2(events: PendingPacket[], w = new H2Wire()): Packet[] {
  return events
    .map((e, i) => [e, i] as const)
    .sort((a, b) => a[0].ts - b[0].ts || a[1] - b[1])
    .map(([e]) => [e.dir, e.make(w), e.ts] as Packet);
}

export function h2EventsOf(ex: HttpExchange, streamId = 1, withPreface = true): PendingPacket[] {
  const C = 0 as Dir;
  const S = 1 as Dir;
  const req = ex.request;
  const out: PendingPacket[] = [];
  const add = (dir: Dir, ts: number, make: (w: H2Wire) => Uint8Array): void => {
    out.push({ dir, ts, make });
  };
  if (withPreface) {
    add(C, req.start, () => concat([CLIENT_PREFACE, settingsFrame()]));
    add(S, req.start, () => settingsFrame([[4, 1 << 20]]));
  }
  const host = req.headers.find(([n]) => n === 'host')?.[1] ?? '';
  const fields: Field[] = [
    [':method', req.method],
    [':scheme', 'https'],
    [':authority', host],
    [':path', req.target],
    ...req.headers.filter(([n]) => !CONNECTION_SPECIFIC.has(n)),
  ];
  const reqBody = concat(req.body.chunks.map((c) => c.data));
  add(C, req.start, (w) => concat(w.requestHeaders(streamId, fields, { endStream: reqBody.length === 0 })));
  for (let at = 0; at < reqBody.length; at += MAX_DATA) {
    const piece = reqBody.subarray(at, at + MAX_DATA);
    const last = at + MAX_DATA >= reqBody.length;
    add(C, req.end, () => dataFrame(streamId, piece, last));
  }
  const res = ex.response;
  if (res === null) return out;
  const resFields: Field[] = [[':status', String(res.status)], ...res.headers.filter(([n]) => !CONNECTION_SPECIFIC.has(n))];
  add(S, res.start, (w) => concat(w.responseHeaders(streamId, resFields)));
  for (const c of res.body.chunks) {
    for (let at = 0; at < c.data.length; at += MAX_DATA) {
      const piece = c.data.subarray(at, at + MAX_DATA);
      add(S, c.ts, () => dataFrame(streamId, piece));
    }
  }
  add(S, res.end, () => dataFrame(streamId, new Uint8Array(0), true));
  return out;
}
