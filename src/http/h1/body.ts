/** Accumulates one message body: transfer-decoded bytes in, content-decoded BodyChunks out. */
import type { AnomalySink } from '../../core/anomalies.js';
import type { Micros } from '../../core/time.js';
import { createContentDecoder, parseContentCodings, type ContentDecoder } from '../content-decoding.js';
import type { HttpBody } from '../types.js';

export function emptyBody(contentEncoding: string | null): HttpBody {
  return { chunks: [], size: 0, wireBytes: 0, contentEncoding, truncated: false, incomplete: false };
}

export class BodyBuilder {
  readonly body: HttpBody;
  /** Null for identity bodies (their bytes are kept as views of the packets, never copied) and
   * until the first body byte: an empty body with a Content-Encoding (HEAD, 204, 304,
   * Content-Length: 0) is not a truncated compressed stream. */
  private decoder: ContentDecoder | null = null;
  private readonly encoded: boolean;
  private finished = false;

  constructor(
    contentEncoding: string | null,
    private readonly cap: number,
    private readonly anomalies: AnomalySink,
  ) {
    this.body = emptyBody(contentEncoding);
    this.encoded = parseContentCodings(contentEncoding).length > 0;
  }

  /** Transfer-decoded body bytes that arrived in the packet captured at `ts`. */
  data(bytes: Uint8Array, ts: Micros): void {
    if (this.finished || bytes.length === 0) return;
    if (this.encoded && !this.decoder) {
      this.decoder = createContentDecoder(this.body.contentEncoding, this.cap, this.anomalies);
    }
    if (this.decoder) {
      for (const out of this.decoder.push(bytes)) this.keep(out, ts);
      if (this.decoder.capped || this.decoder.failed) this.body.truncated = true;
      return;
    }
    if (this.body.truncated) return;
    const room = this.cap - this.body.size;
    if (bytes.length > room) {
      if (room > 0) this.keep(bytes.subarray(0, room), ts);
      this.body.truncated = true;
      this.anomalies.add('http_body_truncated');
      return;
    }
    this.keep(bytes, ts);
  }

  /**
   * Bytes of the body were lost (a TCP gap the framing survived). Identity bodies go on with a
   * hole; a compressed stream cannot be decoded past a hole, so decoding stops here.
   */
  hole(): void {
    this.body.incomplete = true;
    if (this.decoder && !this.decoder.failed && !this.decoder.capped) {
      this.decoder.end(true);
      this.body.truncated = true;
    }
  }

  finish(ts: Micros, wireBytes: number, incomplete: boolean): HttpBody {
    if (this.finished) return this.body;
    this.finished = true;
    this.body.wireBytes = wireBytes;
    if (incomplete) this.body.incomplete = true;
    if (this.decoder) {
      for (const out of this.decoder.end(this.body.incomplete)) this.keep(out, ts);
      if (this.decoder.capped || this.decoder.failed) this.body.truncated = true;
    }
    return this.body;
  }

  private keep(data: Uint8Array, ts: Micros): void {
    if (data.length === 0) return;
    this.body.chunks.push({ data, ts });
    this.body.size += data.length;
  }
}
