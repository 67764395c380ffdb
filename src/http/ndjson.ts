/**
 * Newline-delimited JSON (https://github.com/ndjson/ndjson-spec), the streaming body of Ollama
 * (`/api/chat`, `/api/generate`, docs/api.md "streaming responses") and of Cohere's v1 chat stream.
 * Lines end with LF; a CR before it is tolerated; blank lines are skipped; the final line may lack
 * its LF (parsed at end()). Each item keeps the capture time of the chunk that completed its line.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import type { BodyChunk } from './types.js';
import { CR, LF, TailBuffer, utf8Slice } from './stream-text.js';

export interface JsonItem {
  value: unknown;
  /** Capture time of the chunk that completed the item. */
  ts: Micros;
  /** The item's text as sent (line without its line end; JSON array element span). */
  raw: string;
}

export interface NdjsonOptions {
  /** Cap on one line. Default 16 MiB, see below. */
  maxLineBytes?: number;
  /** Called for each line that is not valid JSON (after counting `ndjson_invalid_json`), so a
   * decoder can still show e.g. a proxy's plain-text error line. */
  onInvalid?: (raw: string, ts: Micros) => void;
}

/** 16 MiB per line: same reasoning as DEFAULT_MAX_SSE_EVENT_BYTES (one streamed item never comes
 * near it: Ollama's largest line is the final one with `context` token ids, a few hundred KB). */
export const DEFAULT_MAX_NDJSON_LINE_BYTES = 16 * 1024 * 1024;

export class NdjsonParser {
  private readonly maxLineBytes: number;
  private readonly onInvalid: ((raw: string, ts: Micros) => void) | undefined;
  private readonly tail = new TailBuffer();
  private atStart = true;
  /** The current line passed the cap: skip to its LF. */
  private discarding = false;

  constructor(
    private readonly onItem: (item: JsonItem) => void,
    private readonly anomalies?: AnomalySink,
    options?: NdjsonOptions,
  ) {
    this.maxLineBytes = options?.maxLineBytes ?? DEFAULT_MAX_NDJSON_LINE_BYTES;
    this.onInvalid = options?.onInvalid;
  }

  push(chunk: Uint8Array, ts: Micros): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      const e = chunk.indexOf(LF, i);
      if (e === -1) {
        this.keepTail(chunk.subarray(i));
        return;
      }
      this.endLine(chunk, i, e, ts);
      i = e + 1;
    }
  }

  /** End of body: a final line without LF is parsed now, with `ts`. */
  end(ts: Micros): void {
    if (this.discarding) {
      this.discarding = false;
      this.tail.clear();
      return;
    }
    if (this.tail.length > 0) this.endLine(new Uint8Array(0), 0, 0, ts);
  }

  private keepTail(rest: Uint8Array): void {
    if (this.discarding) return;
    this.tail.push(rest);
    if (this.tail.length > this.maxLineBytes) {
      this.atStart = false;
      this.anomalies?.add('ndjson_line_too_large');
      this.tail.clear();
      this.discarding = true;
    }
  }

  /** The line is tail + chunk[start, end). Offsets, not a subarray, in the common case of a line
   * within one chunk: a Buffer subarray costs more than the rest of a short line's handling. */
  private endLine(chunk: Uint8Array, start: number, end: number, ts: Micros): void {
    if (this.discarding) {
      this.discarding = false;
      return;
    }
    let line = chunk;
    if (this.tail.length > 0) {
      line = this.tail.join(chunk.subarray(start, end));
      this.tail.clear();
      start = 0;
      end = line.length;
    }
    // Counted as keepTail counts (with a BOM and CR), so the outcome does not depend on chunking.
    if (end - start > this.maxLineBytes) {
      this.atStart = false;
      this.anomalies?.add('ndjson_line_too_large');
      return;
    }
    if (this.atStart) {
      this.atStart = false;
      if (end - start >= 3 && line[start] === 0xef && line[start + 1] === 0xbb && line[start + 2] === 0xbf) start += 3;
    }
    if (end > start && line[end - 1] === CR) end--;
    if (isBlank(line, start, end)) return;
    const raw = utf8Slice(line, start, end);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      this.anomalies?.add('ndjson_invalid_json');
      this.onInvalid?.(raw, ts);
      return;
    }
    this.onItem({ value, ts, raw });
  }
}

/** JSON whitespace only (RFC 8259 §2: space, tab, LF, CR). */
function isBlank(b: Uint8Array, start: number, end: number): boolean {
  for (let k = start; k < end; k++) {
    const c = b[k];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) return false;
  }
  return true;
}

/** Parse a whole body; the final unterminated line gets the ts of the last chunk. */
export function parseNdjson(chunks: readonly BodyChunk[], anomalies?: AnomalySink, options?: NdjsonOptions): JsonItem[] {
  const out: JsonItem[] = [];
  const p = new NdjsonParser((it) => out.push(it), anomalies, options);
  for (const c of chunks) p.push(c.data, c.ts);
  p.end(chunks.length > 0 ? chunks[chunks.length - 1]!.ts : 0);
  return out;
}
