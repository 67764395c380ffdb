/**
 * The cloud-probe packet batch (issue 6 item 4): what `llmtap probe` sends and `llmtap collect`
 * reads, one batch per ZeroMQ message. Big-endian throughout:
 *
 *   batch header (24 bytes): version u16 | packet count u16 | keybit u32 | probe uuid [16]
 *   per packet (18 bytes + data): data length u16 | ts_sec u32 | ts_usec u32 | caplen u32 | len u32 | data
 *
 * `data` is an Ethernet frame (possibly with VLAN tags and MPLS labels: Netis cloud-probe's
 * pktminerg inserts an MPLS label carrying its keybit after the Ethernet header, src/socketzmq.cpp).
 * As in pktminerg, `data length` may be less than `caplen` (it cuts frames at 65,531 + 4 bytes to
 * fit the u16) and `caplen` counts what was captured, `len` what was on the wire.
 *
 * Version: pktminerg's batches are version 1 with an 8-byte header and no uuid
 * (BATCH_PKTS_VERSION, src/socketzmq.h); the 24-byte header with the probe uuid is version 2 here.
 * A version-1 batch is refused as `probe_bad_version` (it names no probe to attribute it to).
 *
 * The batch arrives whole (ZeroMQ delivers messages atomically), so the parser needs no carry:
 * it validates the entire batch first and delivers nothing from a batch that fails, so a
 * malformed batch is dropped whole and counted under one name. It never throws.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import { u16be, u32be } from './bytes.js';
import { LinkType, type CapturedFrame } from './types.js';

export const PROBE_BATCH_VERSION = 2;
export const PROBE_BATCH_HEADER = 24;
export const PROBE_PACKET_HEADER = 18;
/** The u16 packet count field. */
export const PROBE_MAX_PACKETS = 0xffff;
/** The u16 data length field: the largest frame a batch carries whole. */
export const PROBE_MAX_FRAME = 0xffff;
/**
 * What the encoder puts in one batch: pktminerg's MAX_BATCH_BUF_LENGTH (1 MiB, src/socketzmq.h),
 * so a batch is never bigger than the reference probe's and either collector takes it.
 */
export const PROBE_BATCH_TARGET_BYTES = 1024 * 1024;
/**
 * The largest batch the collector accepts (and ZeroMQ's ZMQ_MAXMSGSIZE on its socket): twice the
 * reference probe's 1 MiB buffer, room for a probe built with a larger one, while one message can
 * make the collector hold at most 2 MiB (ZeroMQ buffers a message whole before handing it over).
 */
export const PROBE_MAX_BATCH_BYTES = 2 * 1024 * 1024;

/** Why a batch was dropped: the anomaly counted (DESIGN §1 `<layer>_<condition>`). */
export type ProbeBatchProblem =
  | 'probe_batch_truncated' // shorter than its header, or a packet runs past the end
  | 'probe_batch_too_large' // over PROBE_MAX_BATCH_BYTES
  | 'probe_bad_version'
  | 'probe_count_mismatch' // the bytes hold fewer or more whole packets than the count says
  | 'probe_bad_caplen' // data length > caplen, or caplen > len
  | 'probe_bad_timestamp'; // ts_usec ≥ 1,000,000

export interface ProbeBatchHeader {
  version: number;
  count: number;
  keybit: number;
  /** The probe uuid, canonical lower-case 8-4-4-4-12: the records' source id. */
  probeId: string;
}

export type ProbeBatchCheck = { ok: true; header: ProbeBatchHeader } | { ok: false; problem: ProbeBatchProblem };

/**
 * Validates a whole batch without delivering anything: every length is checked against the
 * batch's size before any packet is read.
 */
export function checkProbeBatch(b: Uint8Array): ProbeBatchCheck {
  if (b.length > PROBE_MAX_BATCH_BYTES) return { ok: false, problem: 'probe_batch_too_large' };
  if (b.length < PROBE_BATCH_HEADER) return { ok: false, problem: 'probe_batch_truncated' };
  const version = u16be(b, 0);
  if (version !== PROBE_BATCH_VERSION) return { ok: false, problem: 'probe_bad_version' };
  const count = u16be(b, 2);
  let o = PROBE_BATCH_HEADER;
  for (let i = 0; i < count; i++) {
    // The bytes end at a packet boundary before the count is reached: the count is wrong.
    if (o === b.length) return { ok: false, problem: 'probe_count_mismatch' };
    if (o + PROBE_PACKET_HEADER > b.length) return { ok: false, problem: 'probe_batch_truncated' };
    const dataLen = u16be(b, o);
    const usec = u32be(b, o + 6);
    const caplen = u32be(b, o + 10);
    const len = u32be(b, o + 14);
    if (usec >= 1_000_000) return { ok: false, problem: 'probe_bad_timestamp' };
    if (dataLen > caplen || caplen > len) return { ok: false, problem: 'probe_bad_caplen' };
    o += PROBE_PACKET_HEADER + dataLen;
    if (o > b.length) return { ok: false, problem: 'probe_batch_truncated' };
  }
  // Whole packets left over: more than the count says.
  if (o !== b.length) return { ok: false, problem: 'probe_count_mismatch' };
  return { ok: true, header: { version, count, keybit: u32be(b, 4), probeId: uuidText(b, 8) } };
}

/**
 * Checks the batch, then hands each packet to `onFrame` as an Ethernet frame (one reused frame
 * object whose bytes are the batch's: valid only during the call). A bad batch counts its problem
 * in `anomalies` and delivers nothing. Returns the header, or null when the batch was dropped.
 */
export function readProbeBatch(b: Uint8Array, anomalies: AnomalySink, onFrame: (f: CapturedFrame) => void): ProbeBatchHeader | null {
  const check = checkProbeBatch(b);
  if (!check.ok) {
    anomalies.add(check.problem);
    return null;
  }
  forEachProbeFrame(b, check.header.count, onFrame);
  return check.header;
}

/** The packets of a batch already checked by checkProbeBatch. */
export function forEachProbeFrame(b: Uint8Array, count: number, onFrame: (f: CapturedFrame) => void): void {
  const frame: CapturedFrame = { ts: 0, linkType: LinkType.ETHERNET, iface: 0, buf: b, start: 0, end: 0, origLen: 0 };
  let o = PROBE_BATCH_HEADER;
  for (let i = 0; i < count; i++) {
    const dataLen = u16be(b, o);
    frame.ts = u32be(b, o + 2) * 1_000_000 + u32be(b, o + 6);
    frame.origLen = u32be(b, o + 14);
    frame.start = o + PROBE_PACKET_HEADER;
    frame.end = frame.start + dataLen;
    onFrame(frame);
    o = frame.end;
  }
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** b[o..o+16) as a canonical UUID string (RFC 9562 §4). */
export function uuidText(b: Uint8Array, o: number): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[b[o + i]!]!;
  }
  return s;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A UUID string's 16 bytes, or null when it is not one. */
export function uuidBytes(text: string): Uint8Array | null {
  if (!UUID_RE.test(text)) return null;
  const hex = text.replace(/-/g, '');
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Builds batches for `llmtap probe`. `add` appends one Ethernet frame (an optional synthesised
 * 14-byte header, then the bytes); when the next frame would not fit (65,535 packets or the byte
 * target) the batch so far is returned, sealed, and the frame starts the next one. `seal` returns
 * what is pending (the 100 ms flush), null when nothing is.
 */
export class ProbeBatchEncoder {
  private readonly buf: Uint8Array;
  private pos = PROBE_BATCH_HEADER;
  private count = 0;
  /** Frames cut to fit the u16 data length (loopback's 64 KiB MTU, GRO/TSO super-packets). */
  framesCut = 0;

  constructor(
    private readonly probeId: Uint8Array,
    private readonly keybit = 0,
    private readonly targetBytes = PROBE_BATCH_TARGET_BYTES,
  ) {
    if (probeId.length !== 16) throw new Error('a probe id is 16 bytes');
    if (targetBytes < PROBE_BATCH_HEADER + PROBE_PACKET_HEADER + PROBE_MAX_FRAME) throw new Error('batch target too small for one frame');
    this.buf = new Uint8Array(targetBytes);
  }

  get pending(): number {
    return this.count;
  }

  /**
   * One frame: `head` (a synthesised Ethernet header, or null) then b[start..end). `caplen` and
   * `origLen` are of the frame as captured (before any cut), plus the synthesised header.
   */
  add(ts: Micros, head: Uint8Array | null, b: Uint8Array, start: number, end: number, origLen: number): Uint8Array | null {
    const headLen = head?.length ?? 0;
    const caplen = headLen + (end - start);
    const dataLen = Math.min(caplen, PROBE_MAX_FRAME);
    if (dataLen < caplen) this.framesCut++;
    let sealed: Uint8Array | null = null;
    if (this.count === PROBE_MAX_PACKETS || this.pos + PROBE_PACKET_HEADER + dataLen > this.targetBytes) sealed = this.seal();
    const o = this.pos;
    const buf = this.buf;
    const sec = Math.floor(ts / 1_000_000);
    writeU16(buf, o, dataLen);
    writeU32(buf, o + 2, sec);
    writeU32(buf, o + 6, ts - sec * 1_000_000);
    writeU32(buf, o + 10, caplen);
    writeU32(buf, o + 14, Math.max(origLen + headLen, caplen));
    let d = o + PROBE_PACKET_HEADER;
    if (head !== null) {
      buf.set(head.subarray(0, Math.min(headLen, dataLen)), d);
      d += Math.min(headLen, dataLen);
    }
    const rest = dataLen - Math.min(headLen, dataLen);
    buf.set(b.subarray(start, start + rest), d);
    this.pos = d + rest;
    this.count++;
    return sealed;
  }

  /** The pending batch as its own bytes, or null when empty. */
  seal(): Uint8Array | null {
    if (this.count === 0) return null;
    const buf = this.buf;
    writeU16(buf, 0, PROBE_BATCH_VERSION);
    writeU16(buf, 2, this.count);
    writeU32(buf, 4, this.keybit);
    buf.set(this.probeId, 8);
    // ZeroMQ keeps the message until it is sent: a copy of the used bytes (a 100 ms flush is
    // small), and the buffer is reused.
    const out = buf.slice(0, this.pos);
    this.pos = PROBE_BATCH_HEADER;
    this.count = 0;
    return out;
  }
}

function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/**
 * The well-formed batches of a probe socket's messages, in order: a message of several parts
 * (`probe_multipart`) or a malformed batch is handed to `refuse` and skipped whole (issue 6:
 * "malformed batches are dropped whole and counted"). One place for `collect` and `llmtap run`.
 */
export async function* wellFormedProbeBatches(
  messages: AsyncIterable<Uint8Array[]>,
  refuse: (problem: ProbeBatchProblem | 'probe_multipart') => void,
): AsyncGenerator<{ batch: Uint8Array; header: ProbeBatchHeader }> {
  for await (const parts of messages) {
    if (parts.length !== 1) {
      refuse('probe_multipart');
      continue;
    }
    const batch = parts[0]!;
    const check = checkProbeBatch(batch);
    if (!check.ok) {
      refuse(check.problem);
      continue;
    }
    yield { batch, header: check.header };
  }
}
