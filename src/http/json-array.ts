/**
 * A JSON array streamed element by element: Gemini `:streamGenerateContent` without `alt=sse`
 * answers with one array, `[{...}\r\n,{...}]`, whose elements are flushed as they are generated
 * (https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent). To time each
 * element we must not wait for the closing `]`: a small scanner tracks depth, strings and escapes
 * to find each top-level element's byte span, and JSON.parse runs on that span alone.
 *
 * Tolerant by design: whitespace and commas between elements are skipped (missing or extra commas
 * too), a missing `]` (interrupted stream) still yields every complete element, and a body that is
 * a bare JSON value instead of an array (an error object) yields that value as the one element.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import type { JsonItem } from './ndjson.js';
import type { BodyChunk } from './types.js';
import { TailBuffer, utf8Slice } from './stream-text.js';

export type { JsonItem } from './ndjson.js';

export interface JsonArrayOptions {
  /** Cap on one element. Default 16 MiB, see below. */
  maxElementBytes?: number;
}

/** 16 MiB per element: one Gemini chunk is a few KB of text, or up to a few MB when it carries
 * inline image data (image generation models); 16 MiB is several times that and bounds a hostile
 * never-closing element. */
export const DEFAULT_MAX_JSON_ARRAY_ELEMENT_BYTES = 16 * 1024 * 1024;

const enum State {
  /** Before the top-level value. */
  Start,
  /** Between elements. */
  Between,
  /** Inside an element. */
  Element,
  /** After the closing `]`. */
  Done,
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** First byte of a JSON number, `true`, `false` or `null`. */
function startsScalar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x74 || c === 0x66 || c === 0x6e;
}

const BOM = [0xef, 0xbb, 0xbf];

export class JsonArrayStreamParser {
  private readonly maxElementBytes: number;
  private state = State.Start;
  /** True once `[` opened the stream; false for a bare top-level value (or values). */
  private inArray = false;
  /** Bytes seen so far, only to recognise a leading BOM. */
  private seen = 0;

  // Element being scanned.
  private readonly tail = new TailBuffer();
  private depth = 0;
  private inString = false;
  private escape = false;
  private scalar = false;
  private tooLarge = false;
  /** A run of unexpected bytes was already counted. */
  private inGarbage = false;

  constructor(
    private readonly onItem: (item: JsonItem) => void,
    private readonly anomalies?: AnomalySink,
    options?: JsonArrayOptions,
  ) {
    this.maxElementBytes = options?.maxElementBytes ?? DEFAULT_MAX_JSON_ARRAY_ELEMENT_BYTES;
  }

  push(chunk: Uint8Array, ts: Micros): void {
    const n = chunk.length;
    let i = 0;
    let elemStart = 0; // where the current element starts in this chunk (0 if it began earlier)
    let nextQuote = -2;
    let nextBackslash = -2;
    while (i < n) {
      if (this.state === State.Element) {
        if (this.inString) {
          if (this.escape) {
            this.escape = false;
            i++;
            continue;
          }
          // Jump to the next quote or backslash: string bodies are most of the bytes.
          if (nextQuote !== -1 && nextQuote < i) nextQuote = chunk.indexOf(QUOTE, i);
          if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf(BACKSLASH, i);
          const k =
            nextQuote === -1 ? nextBackslash : nextBackslash === -1 ? nextQuote : Math.min(nextQuote, nextBackslash);
          if (k === -1) {
            i = n;
            break;
          }
          i = k + 1;
          if (chunk[k] === BACKSLASH) {
            this.escape = true;
            continue;
          }
          this.inString = false;
          if (this.depth === 0) this.complete(chunk, elemStart, i, ts);
          continue;
        }
        const c = chunk[i]!;
        if (this.scalar) {
          if (isWs(c) || c === COMMA || c === RBRACKET || c === RBRACE || c === LBRACE || c === LBRACKET || c === QUOTE) {
            this.complete(chunk, elemStart, i, ts); // the delimiter is scanned again as "between"
          } else {
            i++;
          }
          continue;
        }
        i++;
        if (c === QUOTE) this.inString = true;
        else if (c === LBRACE || c === LBRACKET) this.depth++;
        else if (c === RBRACE || c === RBRACKET) {
          // Mismatched closers (`{]`) are left for JSON.parse to reject.
          if (--this.depth === 0) this.complete(chunk, elemStart, i, ts);
        }
        continue;
      }

      const c = chunk[i]!;
      if (this.state === State.Done) {
        if (!isWs(c) && !this.inGarbage) {
          this.inGarbage = true;
          this.anomalies?.add('json_array_invalid'); // bytes after the closing `]`
        }
        i++;
        continue;
      }
      if (this.state === State.Start && this.seen + i < 3 && c === BOM[this.seen + i]) {
        i++;
        continue;
      }
      if (isWs(c) || (c === COMMA && this.state === State.Between)) {
        i++;
        continue;
      }
      if (this.state === State.Start && c === LBRACKET) {
        this.inArray = true;
        this.state = State.Between;
        i++;
        continue;
      }
      if (c === RBRACKET && this.inArray) {
        this.state = State.Done;
        this.inGarbage = false;
        i++;
        continue;
      }
      if (c === LBRACE || c === LBRACKET || c === QUOTE || startsScalar(c)) {
        // A new element (at the start: a bare top-level value, e.g. an error object).
        this.state = State.Element;
        this.inGarbage = false;
        elemStart = i;
        this.depth = c === LBRACE || c === LBRACKET ? 1 : 0;
        this.inString = c === QUOTE;
        this.escape = false;
        this.scalar = startsScalar(c);
        this.tooLarge = false;
        i++;
        continue;
      }
      if (!this.inGarbage) {
        this.inGarbage = true;
        this.anomalies?.add('json_array_invalid');
      }
      i++;
    }
    this.seen += n;
    if (this.state === State.Element && !this.tooLarge) {
      this.tail.push(chunk.subarray(elemStart));
      if (this.tail.length > this.maxElementBytes) this.dropTooLarge();
    }
  }

  /** End of body. An element cut off by the end is dropped (`json_array_unterminated`), as is a
   * missing `]`: the complete elements were already delivered. */
  end(ts: Micros): void {
    if (this.state === State.Element && this.scalar && !this.inArray && !this.tooLarge) {
      // A bare top-level number/literal ends with the body.
      this.complete(new Uint8Array(0), 0, 0, ts);
    }
    if (this.state === State.Element || (this.state === State.Between && this.inArray)) {
      this.anomalies?.add('json_array_unterminated');
    }
    this.tail.clear();
    this.state = State.Done;
  }

  private dropTooLarge(): void {
    this.anomalies?.add('json_array_element_too_large');
    this.tooLarge = true;
    this.tail.clear();
  }

  /** The element is tail + chunk[start, end). */
  private complete(chunk: Uint8Array, start: number, end: number, ts: Micros): void {
    this.state = State.Between;
    if (this.tooLarge) {
      this.tooLarge = false;
      return;
    }
    const span = this.tail.join(chunk.subarray(start, end));
    this.tail.clear();
    if (span.length > this.maxElementBytes) {
      this.anomalies?.add('json_array_element_too_large');
      return;
    }
    const raw = utf8Slice(span);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      this.anomalies?.add('json_array_invalid');
      return;
    }
    this.onItem({ value, ts, raw });
  }
}

/** Parse a whole body; each element carries the ts of the chunk that completed it. */
export function parseJsonArrayStream(
  chunks: readonly BodyChunk[],
  anomalies?: AnomalySink,
  options?: JsonArrayOptions,
): JsonItem[] {
  const out: JsonItem[] = [];
  const p = new JsonArrayStreamParser((it) => out.push(it), anomalies, options);
  for (const c of chunks) p.push(c.data, c.ts);
  p.end(chunks.length > 0 ? chunks[chunks.length - 1]!.ts : 0);
  return out;
}
