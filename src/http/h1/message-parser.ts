/**
 * Incremental HTTP/1.x parser for one direction of a connection (RFC 9112). Bytes go in as they
 * arrive; heads, body pieces and message ends come out through a listener, each with the capture
 * time of the packet that carried them. Never throws on bad bytes: it reports an anomaly and
 * resynchronises at the next message start.
 */
import type { Micros } from '../../core/time.js';
import type { HeaderList } from '../types.js';
import type { Framing } from './framing.js';
import { findHeadEnd, parseFields, parseHead, startLineVerdict, type MessageHead } from './head.js';
import type { HttpLimits } from './limits.js';
import { view } from '../../capture/bytes.js';
import { asBuffer } from '../stream-text.js';
import { StartScanner, type ScanRole } from './resync.js';

export type Role = 'request' | 'response';

export interface ParserListener {
  /** A complete head. Returns how its body is framed, or null to refuse it (parser resyncs). */
  onHead(p: MessageParser, head: MessageHead, startTs: Micros, headBytes: number, ts: Micros): Framing | null;
  /** Transfer-decoded body bytes. */
  onBody(p: MessageParser, data: Uint8Array, ts: Micros): void;
  /** Body bytes lost in a TCP gap that the framing survived. */
  onBodyHole(p: MessageParser): void;
  /** The message ended as framed. `ts`: packet carrying its last byte. */
  onEnd(p: MessageParser, ts: Micros, bodyWireBytes: number, trailers: HeaderList): void;
  /** The message (whose head was delivered) was cut short; `ts`: packet of the last byte seen. */
  onAbort(p: MessageParser, ts: Micros, bodyWireBytes: number): void;
  /** Bytes where a message should start are not HTTP. 'stop': ignore this direction for good. */
  onGarbage(p: MessageParser, data: Uint8Array): 'resync' | 'stop';
  /** Bytes scanned while looking for a message start. Returns false to stop the direction. */
  onScanned(p: MessageParser, bytes: number): boolean;
  /** A named anomaly in this direction (the listener counts it and ties it to an exchange). */
  onAnomaly(p: MessageParser, name: string): void;
}

const enum Phase {
  /** Between messages (skipping empty lines). */
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  /** Response body delimited by the connection close. */
  UntilClose,
  Resync,
  Stopped,
}

const LF = 0x0a;
const CR = 0x0d;

/** hex digit value, or -1 */
function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** data[off, off + n) without a new view when that is all of it (most packets of a body). */
function piece(data: Uint8Array, off: number, n: number): Uint8Array {
  return off === 0 && n === data.length ? data : view(data, off, off + n);
}

/** 13 hex digits = 2^52: chunk sizes beyond that are not exact numbers (and not real). */
const MAX_CHUNK_DIGITS = 13;

export class MessageParser {
  /** Reassigned by the connection when it finds the roles were guessed wrong. */
  role: Role;
  /** Resync may accept either kind of start line (roles not yet confirmed). */
  acceptEitherRole = false;
  /** Messages whose head was parsed in this direction. */
  messages = 0;

  private phase = Phase.Idle;
  private lastTs: Micros = 0;

  // Head accumulation across packets (a head is usually inside one packet: no copy then).
  private headBuf: Buffer | null = null;
  private headLen = 0;
  private headStartTs: Micros = 0;
  private headChecked = false;

  // Body state.
  private remaining = 0;
  private bodyWire = 0;
  private chunkSize = 0;
  private chunkDigits = 0;
  private chunkLineLen = 0;
  private chunkInExt = false;
  private sawCr = false;
  private trailerText = '';
  private trailerLine = '';

  private readonly scanner = new StartScanner();
  /** Bytes already consumed that must be parsed again before the rest of the packet. */
  private replay: Buffer | null = null;

  constructor(
    role: Role,
    private readonly listener: ParserListener,
    private readonly limits: HttpLimits,
  ) {
    this.role = role;
  }

  get stopped(): boolean {
    return this.phase === Phase.Stopped;
  }

  /** True while a head has started arriving but is not complete. */
  get inHead(): boolean {
    return this.phase === Phase.Head;
  }

  /** Ignore every later byte of this direction. */
  stop(): void {
    this.phase = Phase.Stopped;
    this.headBuf = null;
  }

  push(data: Uint8Array, ts: Micros): void {
    if (this.phase === Phase.Stopped) return;
    this.lastTs = ts;
    let off = 0;
    while (off < data.length) {
      // (cast: listener callbacks below may stop this parser; TS narrowed from the check above)
      switch (this.phase as Phase) {
        case Phase.Idle:
          off = this.idle(data, off, ts);
          break;
        case Phase.Head:
          off = this.head(data, off, ts);
          break;
        case Phase.Length:
          off = this.lengthBody(data, off, ts);
          break;
        case Phase.ChunkSize:
          off = this.chunkSizeLine(data, off, ts);
          break;
        case Phase.ChunkData:
          off = this.chunkData(data, off, ts);
          break;
        case Phase.ChunkDataEnd:
          off = this.chunkDataEnd(data, off, ts);
          break;
        case Phase.Trailers:
          off = this.trailers(data, off, ts);
          break;
        case Phase.UntilClose:
          this.bodyWire += data.length - off;
          this.listener.onBody(this, piece(data, off, data.length - off), ts);
          off = data.length;
          break;
        case Phase.Resync: {
          const rest = off === 0 ? data : data.subarray(off);
          if (!this.listener.onScanned(this, rest.length)) {
            this.stop();
            return;
          }
          const found = this.scanner.scan(asBuffer(rest), this.scanRole());
          if (found === null) return;
          this.phase = Phase.Idle;
          // `found` may begin with bytes carried from earlier packets: restart on it.
          data = found;
          off = 0;
          break;
        }
        case Phase.Stopped:
          return;
      }
      if (this.replay !== null) {
        data = Buffer.concat([this.replay, data.subarray(off)]);
        off = 0;
        this.replay = null;
      }
    }
  }

  /** `bytes` of this direction were lost. */
  gap(bytes: number, ts: Micros): void {
    switch (this.phase) {
      case Phase.Stopped:
        return;
      case Phase.Resync:
        this.scanner.reset(true);
        return;
      case Phase.UntilClose:
        this.bodyWire += bytes;
        this.listener.onBodyHole(this);
        return;
      case Phase.Length:
      case Phase.ChunkData:
        if (bytes <= this.remaining) {
          // The framing survives: only body bytes are missing.
          this.remaining -= bytes;
          this.bodyWire += bytes;
          this.listener.onBodyHole(this);
          if (this.remaining === 0) {
            if (this.phase === Phase.Length) this.end(ts, []);
            else this.startChunkDataEnd();
          }
          return;
        }
        this.abortAndResync(ts, true);
        return;
      case Phase.ChunkSize:
      case Phase.ChunkDataEnd:
      case Phase.Trailers:
        this.abortAndResync(ts, true);
        return;
      case Phase.Head:
      case Phase.Idle:
        this.enterResync(true);
        return;
    }
  }

  /** The connection closed. */
  close(ts: Micros): void {
    const at = this.lastTs || ts;
    switch (this.phase) {
      case Phase.UntilClose:
        // RFC 9112 §6.3 rule 8: the close is the end of this body; nothing is missing.
        this.end(at, []);
        break;
      case Phase.Head:
        this.listener.onAnomaly(this, 'http_incomplete_message');
        break;
      case Phase.Length:
      case Phase.ChunkSize:
      case Phase.ChunkData:
      case Phase.ChunkDataEnd:
      case Phase.Trailers:
        this.listener.onAnomaly(this, 'http_incomplete_message');
        this.abort(at);
        break;
      default:
        break;
    }
    this.stop();
  }

  private scanRole(): ScanRole {
    return this.acceptEitherRole ? 'either' : this.role;
  }

  private enterResync(atLineStart: boolean): void {
    this.listener.onAnomaly(this, 'http_resync');
    this.phase = Phase.Resync;
    this.headBuf = null;
    this.headLen = 0;
    this.scanner.reset(atLineStart);
  }

  /** Counts the resync while the broken message is still current, so it is listed on it. */
  private abortAndResync(ts: Micros, atLineStart: boolean): void {
    this.listener.onAnomaly(this, 'http_resync');
    this.abort(ts);
    this.phase = Phase.Resync;
    this.scanner.reset(atLineStart);
  }

  private abort(ts: Micros): void {
    this.listener.onAbort(this, ts, this.bodyWire);
    this.phase = Phase.Idle;
  }

  private end(ts: Micros, trailers: HeaderList): void {
    this.phase = Phase.Idle;
    this.listener.onEnd(this, ts, this.bodyWire, trailers);
  }

  // ---- head ----

  private idle(data: Uint8Array, off: number, ts: Micros): number {
    // RFC 9112 §2.2: ignore empty lines before a start line.
    while (off < data.length && (data[off] === CR || data[off] === LF)) off++;
    if (off < data.length) {
      this.phase = Phase.Head;
      this.headStartTs = ts;
      this.headLen = 0;
      this.headChecked = false;
    }
    return off;
  }

  private head(data: Uint8Array, off: number, ts: Micros): number {
    const max = this.limits.maxHeaderBytes;
    if (this.headLen === 0) {
      // Fast path: the head starts in this packet.
      if (!this.headChecked) {
        const v = startLineVerdict(data, off, data.length);
        if (v === 'bad') return this.garbage(data, off);
        this.headChecked = v === 'ok';
      }
      const end = findHeadEnd(data, off);
      if (end >= 0 && end - off <= max) {
        const r = this.headDone(data, off, end, ts);
        // Not a head after all: look for a message start from the next byte.
        return r >= 0 ? r : off + 1;
      }
      if (end >= 0) return this.tooLarge(end, true);
      if (data.length - off > max) return this.tooLarge(data.length, false);
      this.appendHead(data, off);
      return data.length;
    }
    const prevLen = this.headLen;
    const take = Math.min(data.length - off, max + 1 - prevLen);
    this.appendHead(data.subarray(off, off + take), 0);
    const buf = this.headBuf!.subarray(0, this.headLen);
    if (!this.headChecked) {
      const v = startLineVerdict(buf, 0, buf.length);
      if (v === 'bad') {
        const earlier = Buffer.from(buf.subarray(1, prevLen));
        this.headLen = 0;
        if (this.garbage(data, off) < data.length) this.replay = earlier;
        return off;
      }
      this.headChecked = v === 'ok';
    }
    const end = findHeadEnd(buf, Math.max(0, prevLen - 3));
    if (end >= 0 && end <= max) {
      const earlier = buf.subarray(1, prevLen);
      const r = this.headDone(buf, 0, end, ts);
      if (r >= 0) return off + end - prevLen;
      // Not a head after all: rescan what followed its first byte.
      this.replay = Buffer.from(earlier);
      return off;
    }
    if (end >= 0) return this.tooLarge(off + end - prevLen, true);
    if (this.headLen > max) return this.tooLarge(off + take, false);
    return off + take;
  }

  private appendHead(src: Uint8Array, from: number): void {
    const n = src.length - from;
    const need = this.headLen + n;
    if (!this.headBuf || this.headBuf.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, Math.min(2 * (this.headBuf?.length ?? 2048), this.limits.maxHeaderBytes + 1)));
      if (this.headBuf) this.headBuf.copy(grown, 0, 0, this.headLen);
      this.headBuf = grown;
    }
    this.headBuf.set(src.subarray(from), this.headLen);
    this.headLen = need;
  }

  /** `atLineStart`: the head's end was seen, so scanning resumes at a line start. */
  private tooLarge(resumeAt: number, atLineStart: boolean): number {
    this.listener.onAnomaly(this, 'http_header_too_large');
    this.enterResync(atLineStart);
    return resumeAt;
  }

  /** Returns data.length when the direction stopped. */
  private garbage(data: Uint8Array, off: number): number {
    this.headLen = 0;
    if (this.listener.onGarbage(this, data.subarray(off)) === 'stop') {
      this.stop();
      return data.length;
    }
    this.enterResync(false);
    // The garbage may be a message that just started mid-line: scan from the next byte.
    return off + 1;
  }

  /** `buf[start..end)` is a complete head (start line + fields + empty line). Returns `end`, or
   * -1 when it is not a message head (the parser is then resyncing). */
  private headDone(buf: Uint8Array, start: number, end: number, ts: Micros): number {
    const text = asBuffer(buf).toString('latin1', start, end);
    const startTs = this.headStartTs;
    // Keep a small buffer for the next head; let a big one go.
    if (this.headBuf && this.headBuf.length > 16 * 1024) this.headBuf = null;
    this.headLen = 0;
    // The final empty line(s) parse as empty field lines, which are skipped.
    const parsed = parseHead(text);
    if (!parsed) {
      this.listener.onAnomaly(this, 'http_bad_start_line');
      this.enterResync(false);
      return -1;
    }
    if (parsed.badLines > 0) this.listener.onAnomaly(this, 'http_bad_header_line');
    this.bodyWire = 0;
    const framing = this.listener.onHead(this, parsed.head, startTs, end - start, ts);
    if (this.phase === Phase.Stopped) return end;
    if (framing === null) {
      this.enterResync(false);
      return -1;
    }
    this.messages++;
    switch (framing.kind) {
      case 'none':
        this.end(ts, []);
        break;
      case 'length':
        this.phase = Phase.Length;
        this.remaining = framing.length;
        break;
      case 'chunked':
        this.startChunkSize();
        break;
      case 'close':
        this.phase = Phase.UntilClose;
        break;
      case 'tunnel':
        this.stop();
        break;
    }
    return end;
  }

  // ---- bodies ----

  private lengthBody(data: Uint8Array, off: number, ts: Micros): number {
    const take = Math.min(this.remaining, data.length - off);
    this.remaining -= take;
    this.bodyWire += take;
    this.listener.onBody(this, piece(data, off, take), ts);
    if (this.remaining === 0) this.end(ts, []);
    return off + take;
  }

  private startChunkSize(): void {
    this.phase = Phase.ChunkSize;
    this.chunkSize = 0;
    this.chunkDigits = 0;
    this.chunkLineLen = 0;
    this.chunkInExt = false;
  }

  /** chunk-size [ chunk-ext ] CRLF (RFC 9112 §7.1); extensions are skipped. */
  private chunkSizeLine(data: Uint8Array, off: number, ts: Micros): number {
    const start = off;
    while (off < data.length) {
      if (this.chunkInExt) {
        const lf = data.indexOf(LF, off);
        const stop = lf < 0 ? data.length : lf;
        this.chunkLineLen += stop - off;
        off = stop;
        if (this.chunkLineLen > this.limits.maxChunkLineBytes) return this.badChunk(start, off, ts);
        if (lf < 0) break;
      }
      const c = data[off]!;
      off++;
      this.chunkLineLen++;
      if (c === LF) {
        this.bodyWire += off - start;
        if (this.chunkDigits === 0) return this.badChunk(start, off, ts, true);
        if (this.chunkSize === 0) {
          this.phase = Phase.Trailers;
          this.trailerText = '';
          this.trailerLine = '';
        } else {
          this.phase = Phase.ChunkData;
          this.remaining = this.chunkSize;
        }
        return off;
      }
      const v = hexVal(c);
      if (v >= 0) {
        if (this.chunkDigits === MAX_CHUNK_DIGITS) return this.badChunk(start, off, ts);
        this.chunkSize = this.chunkSize * 16 + v;
        this.chunkDigits++;
      } else if (this.chunkDigits > 0 && (c === 0x3b /* ; */ || c === 0x20 || c === 0x09 || c === CR)) {
        this.chunkInExt = true; // BWS, extensions, or the CR of CRLF: skip to LF
      } else {
        return this.badChunk(start, off, ts);
      }
    }
    this.bodyWire += off - start;
    return off;
  }

  private badChunk(start: number, off: number, ts: Micros, counted = false): number {
    if (!counted) this.bodyWire += off - start;
    this.listener.onAnomaly(this, 'http_bad_chunk_size');
    this.abortAndResync(ts, false);
    return off;
  }

  private chunkData(data: Uint8Array, off: number, ts: Micros): number {
    const take = Math.min(this.remaining, data.length - off);
    this.remaining -= take;
    this.bodyWire += take;
    this.listener.onBody(this, piece(data, off, take), ts);
    if (this.remaining === 0) this.startChunkDataEnd();
    return off + take;
  }

  private startChunkDataEnd(): void {
    this.phase = Phase.ChunkDataEnd;
    this.sawCr = false;
  }

  private chunkDataEnd(data: Uint8Array, off: number, ts: Micros): number {
    const c = data[off]!;
    this.bodyWire++;
    if (c === CR && !this.sawCr) {
      this.sawCr = true;
      return off + 1;
    }
    if (c === LF) {
      this.startChunkSize();
      return off + 1;
    }
    this.listener.onAnomaly(this, 'http_bad_chunk_framing');
    this.abortAndResync(ts, false);
    return off;
  }

  /** trailer-section CRLF (RFC 9112 §7.1.2). */
  private trailers(data: Uint8Array, off: number, ts: Micros): number {
    while (off < data.length) {
      const lf = data.indexOf(LF, off);
      const stop = lf < 0 ? data.length : lf + 1;
      this.bodyWire += stop - off;
      if (this.trailerText.length + this.trailerLine.length + (stop - off) > this.limits.maxHeaderBytes) {
        this.listener.onAnomaly(this, 'http_header_too_large');
        this.abortAndResync(ts, false);
        return stop;
      }
      this.trailerLine += asBuffer(data).toString('latin1', off, stop);
      off = stop;
      if (lf < 0) break;
      if (this.trailerLine === '\n' || this.trailerLine === '\r\n') {
        const trailers = this.trailerText.length > 0 ? parseFields(this.trailerText, 0) : null;
        if (trailers && trailers.badLines > 0) this.listener.onAnomaly(this, 'http_bad_header_line');
        this.trailerText = '';
        this.trailerLine = '';
        this.end(ts, trailers ? trailers.headers : []);
        return off;
      }
      this.trailerText += this.trailerLine;
      this.trailerLine = '';
    }
    return off;
  }
}
