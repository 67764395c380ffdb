/**
 * The TLS record layer (RFC 8446 §5.1, RFC 5246 §6.2): type(1) ‖ legacy_version(2) ‖ length(2) ‖
 * fragment, records split across TCP segments or many in one segment. A record is handed on with
 * the capture time of the chunk that completed it; when a record lies whole inside a chunk it is
 * handed on as a view of that chunk (no copy), else the reader keeps at most one partial record.
 */
import type { Micros } from '../core/time.js';
import { MAX_RECORD_BODY, RECORD_HEADER } from './limits.js';

export type RecordHandler = (type: number, version: number, fragment: Uint8Array, ts: Micros) => void;

/** Why a byte stream stopped being read as TLS. */
export type RecordError = 'tls_bad_record' | 'tls_record_too_large';

/** Change cipher spec (20), alert, handshake, application data, heartbeat (24, RFC 6520). */
function validType(t: number): boolean {
  return t >= 20 && t <= 24;
}

/**
 * True when these first bytes of a connection start a TLS handshake record: content type 22,
 * protocol major version 3 (SSL 3.0 to TLS 1.3 all write 3.x, RFC 8446 §5.1 legacy_record_version)
 * and, when the bytes are there, a length within the record cap and a ClientHello or ServerHello.
 * Fewer than 3 bytes: false (too few to tell).
 */
export function looksLikeTls(firstBytes: Uint8Array): boolean {
  if (firstBytes.length < 3) return false;
  if (firstBytes[0] !== 22 || firstBytes[1] !== 3 || firstBytes[2]! > 4) return false;
  if (firstBytes.length >= 5) {
    const len = (firstBytes[3]! << 8) | firstBytes[4]!;
    if (len === 0 || len > MAX_RECORD_BODY) return false;
  }
  if (firstBytes.length >= 6 && firstBytes[5] !== 1 && firstBytes[5] !== 2) return false;
  return true;
}

export class RecordReader {
  private buf: Uint8Array | null = null;
  private have = 0;
  private stopped = false;

  constructor(
    private readonly onRecord: RecordHandler,
    private readonly onError: (e: RecordError) => void,
  ) {}

  /** Bytes of an unfinished record held. */
  get buffered(): number {
    return this.have;
  }

  /** Drop what is held and ignore everything from now on. */
  stop(): void {
    this.stopped = true;
    this.buf = null;
    this.have = 0;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  push(data: Uint8Array, ts: Micros): void {
    let at = 0;
    if (this.have > 0) {
      at = this.fillPartial(data, ts);
      if (at < 0) return;
    }
    while (!this.stopped && data.length - at >= RECORD_HEADER) {
      const len = this.checkHeader(data, at);
      if (len < 0) return;
      const end = at + RECORD_HEADER + len;
      if (end > data.length) break;
      this.onRecord(data[at]!, (data[at + 1]! << 8) | data[at + 2]!, data.subarray(at + RECORD_HEADER, end), ts);
      at = end;
    }
    if (!this.stopped && at < data.length) {
      this.buf ??= new Uint8Array(RECORD_HEADER + MAX_RECORD_BODY);
      this.buf.set(data.subarray(at), 0);
      this.have = data.length - at;
    }
  }

  /** Completes the held record from `data`; returns how much of `data` was used, -1 when done. */
  private fillPartial(data: Uint8Array, ts: Micros): number {
    const buf = this.buf!;
    let at = 0;
    if (this.have < RECORD_HEADER) {
      const n = Math.min(RECORD_HEADER - this.have, data.length);
      buf.set(data.subarray(0, n), this.have);
      this.have += n;
      at = n;
      if (this.have < RECORD_HEADER) return -1;
    }
    const len = this.checkHeader(buf, 0);
    if (len < 0) return -1;
    const need = RECORD_HEADER + len - this.have;
    const n = Math.min(need, data.length - at);
    buf.set(data.subarray(at, at + n), this.have);
    this.have += n;
    at += n;
    if (n < need) return -1;
    this.have = 0;
    this.onRecord(buf[0]!, (buf[1]! << 8) | buf[2]!, buf.subarray(RECORD_HEADER, RECORD_HEADER + len), ts);
    return this.stopped ? -1 : at;
  }

  /** The record length, or -1 (and the reader stops) when the header is not TLS. */
  private checkHeader(b: Uint8Array, at: number): number {
    if (!validType(b[at]!) || b[at + 1] !== 3) {
      this.fail('tls_bad_record');
      return -1;
    }
    const len = (b[at + 3]! << 8) | b[at + 4]!;
    if (len > MAX_RECORD_BODY) {
      this.fail('tls_record_too_large');
      return -1;
    }
    return len;
  }

  private fail(e: RecordError): void {
    this.stop();
    this.onError(e);
  }
}
