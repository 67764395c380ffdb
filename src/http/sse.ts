/**
 * Server-sent events, exactly as the WHATWG HTML standard interprets an event stream
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation),
 * fed incrementally with body chunks that each carry a capture time.
 *
 * Lines are split on bytes (CR, LF and CRLF are all line ends, and a CRLF split across two chunks is
 * one line end), then each field value is decoded as UTF-8 on its own: CR and LF never occur inside
 * a multi-byte UTF-8 sequence, so a character split across chunks decodes correctly, and no string
 * is built for comments or ignored fields.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import { contiguousBytes, type BodyChunk } from './types.js';
import { isAscii as isAsciiBytes } from 'node:buffer';
import { asBuffer, CR, LF, TailBuffer, utf8Slice } from './stream-text.js';

export interface SseEvent {
  /** Event type; 'message' when the event had no (or an empty) `event` field (spec: dispatch step 5). */
  event: string;
  /** Data lines joined with LF, the final LF removed. */
  data: string;
  /** The last event ID at dispatch: it persists across events until an `id` field changes it. */
  id: string;
  /** The reconnection time (ms) last set by a `retry` field in this stream, or null if none yet:
   * like `id`, it is stream state, not per-event. */
  retry: number | null;
  /** Capture time of the chunk that held the blank line that dispatched the event. */
  ts: Micros;
}

export interface SseOptions {
  /** Cap on one event (its field lines plus the line being read). Default 16 MiB, see below. */
  maxEventBytes?: number;
  /** At end(), treat an unterminated final line as a line and dispatch the pending event anyway
   * (still counted as `sse_unterminated_event`). Off by default, as the spec requires; useful
   * for recorded fixtures that drop the last blank line. */
  flushAtEnd?: boolean;
}

/**
 * 16 MiB per event. The largest real events are OpenAI Responses `response.completed` (it repeats
 * the whole output, including base64 image_generation results of a few MB) and Anthropic
 * `content_block_start` of a large tool input; 16 MiB is several times those and keeps a hostile
 * stream without blank lines from growing without bound.
 */
export const DEFAULT_MAX_SSE_EVENT_BYTES = 16 * 1024 * 1024;

const COLON = 0x3a;
const SPACE = 0x20;

/** Incremental parser: push() chunks in order, then end(). Never throws on any bytes. */
export class SseParser {
  private readonly maxEventBytes: number;
  private readonly flushAtEnd: boolean;
  private readonly tail = new TailBuffer();
  /** The previous chunk ended with CR: an LF at the start of the next one belongs to it. */
  private pendingCr = false;
  /** Nothing seen yet: the first line may start with a BOM (stripped once, spec "UTF-8 decode"). */
  private atStart = true;
  /** Over the cap: drop lines until the next blank line. */
  private discarding = false;

  // Event state (spec: data buffer, event type buffer, last event ID buffer, reconnection time).
  private data = '';
  private hasData = false;
  private eventType = '';
  private lastEventId = '';
  private retry: number | null = null;
  /** Bytes of field lines (with their line ends) since the last blank line; comments are not
   * kept, so not counted. The cap applies to this plus the line being read. */
  private eventBytes = 0;
  /** A field line was seen since the last blank line (for the unterminated-event anomaly). */
  private pendingFields = false;

  constructor(
    private readonly onEvent: (e: SseEvent) => void,
    private readonly anomalies?: AnomalySink,
    limits?: SseOptions,
  ) {
    this.maxEventBytes = limits?.maxEventBytes ?? DEFAULT_MAX_SSE_EVENT_BYTES;
    this.flushAtEnd = limits?.flushAtEnd ?? false;
  }

  push(chunk: Uint8Array, ts: Micros): void {
    const n = chunk.length;
    if (n === 0) return;
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk[0] === LF) i = 1;
    }
    // Cached positions of the next LF and CR: each indexOf runs over a byte at most once per
    // chunk, so the scan is linear and native.
    let nextLf = -2;
    let nextCr = -2;
    while (i < n) {
      if (nextLf !== -1 && nextLf < i) nextLf = chunk.indexOf(LF, i);
      if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
      const e = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
      if (e === -1) {
        this.keepTail(chunk.subarray(i));
        return;
      }
      this.endLine(chunk, i, e, ts);
      if (chunk[e] === CR) {
        if (e + 1 === n) {
          this.pendingCr = true;
          return;
        }
        i = chunk[e + 1] === LF ? e + 2 : e + 1;
      } else {
        i = e + 1;
      }
    }
  }

  /** End of body. Per the spec, a final event without its blank line is not dispatched. */
  end(ts: Micros): void {
    if (this.discarding) {
      this.discarding = false;
      this.tail.clear();
      return;
    }
    const unterminated = this.tail.length > 0 || this.pendingFields;
    if (unterminated) {
      this.anomalies?.add('sse_unterminated_event');
      if (this.flushAtEnd) {
        if (this.tail.length > 0) this.endLine(new Uint8Array(0), 0, 0, ts);
        this.dispatch(ts);
      }
    }
    this.tail.clear();
    this.resetEvent();
  }

  private keepTail(rest: Uint8Array): void {
    if (this.discarding) {
      this.tail.skip(rest.length);
      return;
    }
    this.tail.push(rest);
    if (this.eventBytes + this.tail.length > this.maxEventBytes) this.overflow(true);
  }

  /** The line is tail + chunk[start, end). Offsets, not a subarray, in the common case of a line
   * within one chunk: a Buffer subarray costs more than the rest of a short line's handling. */
  private endLine(chunk: Uint8Array, start: number, end: number, ts: Micros): void {
    if (this.discarding) {
      const blank = this.tail.length === 0 && end === start;
      this.tail.clear();
      if (blank) {
        this.discarding = false;
        this.resetEvent();
      }
      return;
    }
    let line = chunk;
    if (this.tail.length > 0) {
      line = this.tail.join(chunk.subarray(start, end));
      this.tail.clear();
      start = 0;
      end = line.length;
    }
    const rawLen = end - start; // with a BOM, as keepTail counted it
    if (this.atStart) {
      this.atStart = false;
      if (rawLen >= 3 && line[start] === 0xef && line[start + 1] === 0xbb && line[start + 2] === 0xbf) start += 3;
    }
    const len = end - start;
    if (len === 0) {
      this.dispatch(ts);
      return;
    }
    // The same test as in keepTail, so the outcome does not depend on where chunks split.
    if (this.eventBytes + rawLen > this.maxEventBytes) {
      this.overflow(false);
      return;
    }
    if (line[start] === COLON) return; // comment: not kept, so not counted in eventBytes
    this.pendingFields = true;
    this.eventBytes += len + 1;
    let colon = line.indexOf(COLON, start);
    let vStart: number;
    if (colon === -1 || colon >= end) {
      colon = end; // field name is the whole line, value is empty
      vStart = end;
    } else {
      vStart = colon + 1;
      if (vStart < end && line[vStart] === SPACE) vStart++;
    }
    this.field(line, start, colon - start, vStart, end);
  }

  /** Field name is line[s, s + nameLen), value line[vStart, end). */
  private field(line: Uint8Array, s: number, nameLen: number, vStart: number, end: number): void {
    // Field names compared on bytes: only exact ASCII matches count (spec: "If the field name is ...").
    if (nameLen === 4 && line[s] === 0x64 && line[s + 1] === 0x61 && line[s + 2] === 0x74 && line[s + 3] === 0x61) {
      // "data": append the value and an LF (the LF is added lazily: it is removed at dispatch).
      const v = utf8Slice(line, vStart, end);
      if (this.hasData) this.data += '\n' + v;
      else {
        this.data = v;
        this.hasData = true;
      }
    } else if (nameLen === 5 && isAscii(line, s, 'event')) {
      this.eventType = utf8Slice(line, vStart, end);
    } else if (nameLen === 2 && line[s] === 0x69 && line[s + 1] === 0x64) {
      // "id": ignored if the value contains U+0000 NULL.
      const nul = line.indexOf(0, vStart);
      if (nul === -1 || nul >= end) this.lastEventId = utf8Slice(line, vStart, end);
    } else if (nameLen === 5 && isAscii(line, s, 'retry')) {
      // "retry": only if the value is ASCII digits (an empty value is not a number).
      if (vStart < end && allDigits(line, vStart, end)) {
        // Absurdly long digit strings would lose precision or become Infinity: ignore them.
        const ms = Number(utf8Slice(line, vStart, end));
        if (Number.isSafeInteger(ms)) this.retry = ms;
      }
    }
    // Any other field is ignored.
  }

  private dispatch(ts: Micros): void {
    // Spec dispatch steps: the last event ID is set even when nothing is dispatched; an empty data
    // buffer resets the buffers without dispatching.
    if (this.hasData) {
      this.onEvent({
        event: this.eventType === '' ? 'message' : this.eventType,
        data: this.data,
        id: this.lastEventId,
        retry: this.retry,
        ts,
      });
    }
    this.resetEvent();
  }

  /** Drop the event and resync at the next blank line. `midLine`: the cap was hit inside a line
   * whose end is still to come; that line has bytes, so its end must not count as a blank line. */
  private overflow(midLine: boolean): void {
    this.anomalies?.add('sse_event_too_large');
    this.discarding = true;
    this.atStart = false;
    this.tail.clear();
    if (midLine) this.tail.skip(1);
    this.resetEvent();
  }

  private resetEvent(): void {
    this.data = '';
    this.hasData = false;
    this.eventType = '';
    this.eventBytes = 0;
    this.pendingFields = false;
  }
}

function isAscii(line: Uint8Array, s: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) if (line[s + k] !== word.charCodeAt(k)) return false;
  return true;
}

function allDigits(b: Uint8Array, from: number, end: number): boolean {
  for (let k = from; k < end; k++) {
    const c = b[k]!;
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Parse a whole body. Events carry the ts of the chunk that completed them. */
export function parseSse(chunks: readonly BodyChunk[], anomalies?: AnomalySink, options?: SseOptions): SseEvent[] {
  const fast = parseAsciiBody(chunks, anomalies, options);
  if (fast !== null) return fast;
  const out: SseEvent[] = [];
  const p = new SseParser((e) => out.push(e), anomalies, options);
  for (const c of chunks) p.push(c.data, c.ts);
  p.end(chunks.length > 0 ? chunks[chunks.length - 1]!.ts : 0);
  return out;
}

/** The chunks' bytes as one array: a view when they lie end to end in one buffer (as the HTTP/1
 * layer stores a body, h1/body.ts), else a copy. */
function joined(chunks: readonly BodyChunk[], size: number): Buffer {
  const whole = contiguousBytes(chunks, size);
  if (whole !== undefined) return whole;
  const first = chunks[0]!.data;
  let next = first.byteOffset;
  for (const c of chunks) {
    if (c.data.buffer !== first.buffer || c.data.byteOffset !== next) return Buffer.concat(chunks.map((x) => x.data), size);
    next += c.data.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, size);
}

/**
 * parseSse for the common body: all ASCII (JSON events escape or rarely carry other characters)
 * and no larger than the event cap. The body is then decoded once (latin1 of ASCII bytes is the
 * same text as UTF-8, char offsets are byte offsets) and its lines are cut with String#indexOf:
 * a native Buffer call and a string per line and field cost more than the rest of a short event's
 * handling (~100,000 events in the 200 MB bench mix). Same state machine as SseParser, same
 * events, times and anomalies (sse.test.ts compares the two on random input):
 *  - no BOM can be there (its bytes are not ASCII);
 *  - no event can exceed the cap: an event's counted bytes never exceed the bytes read so far, so
 *    within a body no larger than the cap SseParser never overflows either;
 *  - a line's capture time is that of the chunk holding its first line-end byte, as in push().
 * Null when the body does not qualify (SseParser then reads it).
 */
function parseAsciiBody(chunks: readonly BodyChunk[], anomalies: AnomalySink | undefined, options: SseOptions | undefined): SseEvent[] | null {
  const n = chunks.length;
  if (n === 0) return null;
  let size = 0;
  for (const c of chunks) size += c.data.length;
  if (size === 0 || size > (options?.maxEventBytes ?? DEFAULT_MAX_SSE_EVENT_BYTES)) return null;
  const bytes = joined(chunks, size);
  if (!isAsciiBytes(bytes)) return null;
  const s = asBuffer(bytes).toString('latin1', 0, size);
  const out: SseEvent[] = [];
  let data = '';
  let hasData = false;
  let eventType = '';
  let lastEventId = '';
  let retry: number | null = null;
  let pendingFields = false;
  const dispatch = (ts: Micros): void => {
    if (hasData) out.push({ event: eventType === '' ? 'message' : eventType, data, id: lastEventId, retry, ts });
    data = '';
    hasData = false;
    eventType = '';
    pendingFields = false;
  };
  /** The line s[start, end) (no line end), read at capture time ts (SseParser.endLine + field). */
  const line = (start: number, end: number, ts: Micros): void => {
    if (end === start) {
      dispatch(ts);
      return;
    }
    if (s.charCodeAt(start) === COLON) return;
    pendingFields = true;
    let colon = s.indexOf(':', start);
    let vStart: number;
    if (colon === -1 || colon >= end) {
      colon = end;
      vStart = end;
    } else {
      vStart = colon + 1;
      if (vStart < end && s.charCodeAt(vStart) === SPACE) vStart++;
    }
    const nameLen = colon - start;
    if (nameLen === 4 && s.startsWith('data', start)) {
      const v = s.slice(vStart, end);
      if (hasData) data += '\n' + v;
      else {
        data = v;
        hasData = true;
      }
    } else if (nameLen === 5 && s.startsWith('event', start)) {
      eventType = s.slice(vStart, end);
    } else if (nameLen === 2 && s.startsWith('id', start)) {
      const nul = s.indexOf('\u0000', vStart);
      if (nul === -1 || nul >= end) lastEventId = s.slice(vStart, end);
    } else if (nameLen === 5 && s.startsWith('retry', start)) {
      if (vStart < end && allDigitsText(s, vStart, end)) {
        const ms = Number(s.slice(vStart, end));
        if (Number.isSafeInteger(ms)) retry = ms;
      }
    }
  };
  // Chunk k holds bytes [chunkEnd(k-1), chunkEnd(k)); `ci` only moves forward.
  let ci = 0;
  let ciEnd = chunks[0]!.data.length;
  let i = 0;
  let nextLf = -2;
  let nextCr = -2;
  while (i < size) {
    if (nextLf !== -1 && nextLf < i) nextLf = s.indexOf('\n', i);
    if (nextCr !== -1 && nextCr < i) nextCr = s.indexOf('\r', i);
    const e = nextLf === -1 ? nextCr : nextCr === -1 ? nextLf : Math.min(nextLf, nextCr);
    if (e === -1) break;
    while (ciEnd <= e) ciEnd += chunks[++ci]!.data.length;
    line(i, e, chunks[ci]!.ts);
    i = s.charCodeAt(e) === CR && e + 1 < size && s.charCodeAt(e + 1) === LF ? e + 2 : e + 1;
  }
  // SseParser.end(): the last chunk's time.
  const endTs = chunks[n - 1]!.ts;
  if (i < size || pendingFields) {
    anomalies?.add('sse_unterminated_event');
    if (options?.flushAtEnd ?? false) {
      if (i < size) line(i, size, endTs);
      dispatch(endTs);
    }
  }
  return out;
}

function allDigitsText(s: string, from: number, end: number): boolean {
  for (let k = from; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
