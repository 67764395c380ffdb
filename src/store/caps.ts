/**
 * Head + tail caps for what the store keeps of bodies and stream events (DESIGN §6: "bodies capped
 * head+tail"). The head holds the request's conversation and the start of the answer; the tail
 * holds the stream's end (final usage, finish reason, in-stream errors). Sizes: STORE_CAPS.
 */
import { STORE_CAPS, type StoredEvent } from './types.js';

export interface CappedText {
  text: string;
  truncated: boolean;
  /** UTF-8 byte length of the input. */
  size: number;
}

const encoder = new TextEncoder();
// ignoreBOM: a U+FEFF where a cut falls is text and stays (by default the decoder drops one at
// the start of what it decodes; a body's own leading byte order mark is dropped before, bodyText).
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/** Start of the UTF-8 sequence containing byte `i` (a head cut there never splits a character). */
function charStart(b: Uint8Array, i: number): number {
  while (i > 0 && i < b.length && (b[i]! & 0xc0) === 0x80) i--;
  return i;
}

/** Start of the first UTF-8 sequence at or after byte `i` (a tail from there stays within its cap). */
function nextCharStart(b: Uint8Array, i: number): number {
  while (i < b.length && (b[i]! & 0xc0) === 0x80) i++;
  return i;
}

/** Marker between head and tail, so a reader of the raw text sees where the cut is. */
export function omissionMarker(omittedBytes: number): string {
  return `\n[… llmtap: ${omittedBytes} bytes omitted …]\n`;
}

/** Bytes of the longest marker (its count has at most 16 digits: Number.MAX_SAFE_INTEGER). */
const MARKER_MAX_BYTES = Buffer.byteLength(omissionMarker(Number.MAX_SAFE_INTEGER));
const MARKER_AT = /\n\[… llmtap: \d+ bytes omitted …\]\n/;

/**
 * Whether `text` (of `size` UTF-8 bytes) is already a capped text: a head within `headBytes`, the
 * marker, and a tail within `tailBytes`. The store caps what a caller hands it even when the
 * pipeline capped it before (DESIGN §7: caps everywhere), and a second cut would replace the
 * marker's count with the marker's own length. Only texts within a marker's length of the cap
 * are looked at, so an uncapped text let through here exceeds the cap by under 50 bytes.
 */
function alreadyCapped(text: string, size: number, headBytes: number, tailBytes: number): boolean {
  if (size > headBytes + tailBytes + MARKER_MAX_BYTES) return false;
  const m = MARKER_AT.exec(text);
  if (m === null) return false;
  const head = byteLength(text.slice(0, m.index));
  return head <= headBytes && size - head - byteLength(m[0]) <= tailBytes;
}

/**
 * Keep the first `headBytes` and last `tailBytes` bytes of `text` (cut on character boundaries)
 * with an omission marker between them when it is longer than both together. A text this function
 * already capped comes back as it is (`truncated` false: nothing more was cut).
 */
export function capBodyText(
  text: string,
  headBytes: number = STORE_CAPS.bodyHeadBytes,
  tailBytes: number = STORE_CAPS.bodyTailBytes,
): CappedText {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no counting to be sure.
  if (text.length * 3 <= headBytes + tailBytes) return { text, truncated: false, size: byteLength(text) };
  // Counting is ~3× cheaper than encoding (no copy); most bodies are under the cap.
  const size = byteLength(text);
  if (size <= headBytes + tailBytes || alreadyCapped(text, size, headBytes, tailBytes)) return { text, truncated: false, size };
  const bytes = encoder.encode(text);
  const headEnd = charStart(bytes, headBytes);
  const tailStart = nextCharStart(bytes, bytes.length - tailBytes);
  const head = decoder.decode(bytes.subarray(0, headEnd));
  const tail = decoder.decode(bytes.subarray(tailStart));
  return { text: head + omissionMarker(tailStart - headEnd) + tail, truncated: true, size: bytes.length };
}

export interface CappedBytes {
  bytes: Uint8Array;
  truncated: boolean;
  /** Byte length of the input. */
  size: number;
}

/**
 * capBodyText on the UTF-8 bytes of a text, without decoding it: for valid UTF-8 `b`, the bytes
 * of `capBodyText(decoded b)` (the same cut points: capBodyText cuts the encoded text). The
 * result is `b` itself when nothing is cut.
 */
export function capBodyBytes(
  b: Uint8Array,
  headBytes: number = STORE_CAPS.bodyHeadBytes,
  tailBytes: number = STORE_CAPS.bodyTailBytes,
): CappedBytes {
  const size = b.length;
  if (size <= headBytes + tailBytes) return { bytes: b, truncated: false, size };
  // Within a marker's length of the cap the text may be one capped before: rare, decided on text.
  if (size <= headBytes + tailBytes + MARKER_MAX_BYTES) {
    const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
    if (alreadyCapped(text, size, headBytes, tailBytes)) return { bytes: b, truncated: false, size };
  }
  const headEnd = charStart(b, headBytes);
  const tailStart = nextCharStart(b, size - tailBytes);
  const head = b.subarray(0, headEnd);
  const tail = b.subarray(tailStart);
  const marker = encoder.encode(omissionMarker(tailStart - headEnd));
  const out = new Uint8Array(head.length + marker.length + tail.length);
  out.set(head, 0);
  out.set(marker, head.length);
  out.set(tail, head.length + marker.length);
  return { bytes: out, truncated: true, size };
}

export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export interface CappedEvents {
  events: StoredEvent[];
  total: number;
  truncated: boolean;
}

/**
 * Keep the first STORE_CAPS.eventsHead and last STORE_CAPS.eventsTail events, each event's data
 * capped at STORE_CAPS.eventDataBytes (head only). `truncated` when anything was cut.
 */
export function capEvents(
  events: StoredEvent[],
  head: number = STORE_CAPS.eventsHead,
  tail: number = STORE_CAPS.eventsTail,
  dataBytes: number = STORE_CAPS.eventDataBytes,
): CappedEvents {
  let truncated = false;
  let kept = events;
  if (events.length > head + tail) {
    kept = events.slice(0, head).concat(events.slice(events.length - tail));
    truncated = true;
  }
  let out: StoredEvent[] | null = null;
  for (let i = 0; i < kept.length; i++) {
    const e = kept[i]!;
    const capped = capBodyText(e.data, dataBytes, 0);
    if (!capped.truncated) continue;
    truncated = true;
    out ??= kept.slice();
    out[i] = { ts: e.ts, event: e.event, data: capped.text };
  }
  return { events: out ?? kept, total: events.length, truncated };
}
