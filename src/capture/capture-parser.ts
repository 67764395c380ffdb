/**
 * Push parser for pcap and pcapng captures: feed it chunks of any size, it calls back per packet.
 * The file reader (file-reader.ts) feeds it from one reused buffer; live sources can feed it a
 * pipe. Memory is constant: a record that lies wholly inside a chunk is handed out as a view of
 * that chunk (no copy); only a record that spans two chunks is copied, into one `carry` buffer
 * that grows to the largest such record, bounded by the format's cap.
 *
 * Formats: pcap (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/) in both byte orders
 * with µs or ns timestamps; pcapng (https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/)
 * with sections of either byte order, several interfaces, EPB/SPB/obsolete PB packets and
 * Decryption Secrets Blocks.
 *
 * Errors: a CaptureError is thrown only for input that is not a capture at all (bad magic, empty).
 * Once the format is known, bad bytes never throw: they are counted anomalies; a record so broken
 * that the framing is lost stops the parse (`stoppedAt`), a file that ends mid-record is
 * `truncatedAt`, and every complete packet before either point is delivered.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import { CaptureError } from './capture-error.js';
import { hexPrefix, view, u16be, u16le, u32be, u32le, type U16Reader, type U32Reader } from './bytes.js';
import { makeTicksToMicros, ticksPerSecond, type TicksToMicros } from './timestamps.js';
import type { CapturedFrame, CapturedPacket } from './types.js';

/** One capture interface: the pcap file header, or a pcapng Interface Description Block. */
export interface CaptureInterface {
  linkType: number;
  /** Timestamp ticks per second: 1e6 (µs), 1e9 (ns), or what pcapng if_tsresol declares. */
  tsResolution: number;
  /** Snapshot length (0 = unlimited, pcapng). */
  snapLen: number;
}

export interface CaptureFileSummary {
  format: 'pcap' | 'pcapng';
  packets: number;
  /** Bytes of input seen. */
  bytes: number;
  /** File offset where a partial record began (the input ended inside it), else null. */
  truncatedAt: number | null;
  /** File offset of a record so malformed that parsing stopped there, else null. */
  stoppedAt: number | null;
  /** Every interface declared, in order; CapturedPacket.iface indexes this list (across pcapng
   * sections, unlike the per-section interface ids of the file). */
  interfaces: CaptureInterface[];
}

export interface CaptureParserOptions {
  /** Called per packet; the packet's `data` is a view valid only during the call. */
  onPacket?(p: CapturedPacket): void;
  /** Called per packet instead of onPacket when given: one reused frame object and no view per
   * packet (the replay's per-packet path); valid only during the call. */
  onFrame?(f: CapturedFrame): void;
  /** File name for error messages. */
  name?: string;
  /** pcapng Decryption Secrets Block: secrets type (e.g. 0x544c534b TLS key log) and a copy of its data. */
  onSecrets?(type: number, data: Uint8Array): void;
  /** Called when an interface is declared, before its packets (the CLI checks the link type). */
  onInterface?(iface: CaptureInterface, index: number, format: 'pcap' | 'pcapng'): void;
  anomalies?: AnomalySink;
}

/**
 * libpcap's MAXIMUM_SNAPLEN (pcap-int.h): no pcap writer records more bytes per packet, so a
 * larger incl_len is a corrupt header, not a big packet.
 */
export const PCAP_MAX_SNAPLEN = 262_144;
/**
 * Largest pcapng block buffered whole: 64× the largest packet block (PCAP_MAX_SNAPLEN + options),
 * room for a large Decryption Secrets Block. A larger block is skipped without buffering.
 */
export const PCAPNG_MAX_BLOCK = 16 * 1024 * 1024;

const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_PB = 0x00000002; // obsolete Packet Block
const BT_SPB = 0x00000003;
const BT_EPB = 0x00000006;
const BT_DSB = 0x0000000a;
const BOM = 0x1a2b3c4d;

const enum State {
  Magic,
  PcapHeader,
  PcapRecords,
  Pcapng,
  Stopped,
}

/** measure(): the framing is lost, stop. */
const STOP = -1;

interface SectionInterface {
  index: number;
  linkType: number;
  snapLen: number;
  toMicros: TicksToMicros;
}

const NO_ANOMALIES: AnomalySink = { add: () => undefined };

export class CaptureParser {
  private readonly name: string;
  private readonly anomalies: AnomalySink;
  private readonly onFrame: (f: CapturedFrame) => void;
  /** The one frame object handed out, refilled per packet. */
  private readonly frame: CapturedFrame = { ts: 0, linkType: 0, iface: 0, buf: new Uint8Array(0), start: 0, end: 0, origLen: 0 };
  private state = State.Magic;
  private format: 'pcap' | 'pcapng' = 'pcap';
  private r16: U16Reader = u16be;
  private r32: U32Reader = u32be;
  /** Largest unit buffered whole for this format. */
  private maxUnit = PCAP_FILE_HEADER;

  // pcap
  private nanos = false;
  private pcapLinkType = 0;

  // pcapng
  private section: SectionInterface[] = [];
  private skipSection = false;
  private lastTs: Micros = 0;

  // framing
  private carry = new Uint8Array(64 * 1024);
  private carryLen = 0;
  private skipRemaining = 0;
  private skipStart = 0;
  /** File offset of the next unit (bytes wholly processed or skipped). */
  private consumed = 0;
  private bytes = 0;
  private packets = 0;
  private stoppedAt: number | null = null;
  private readonly interfaces: CaptureInterface[] = [];

  constructor(private readonly opts: CaptureParserOptions) {
    this.name = opts.name ?? 'input';
    this.anomalies = opts.anomalies ?? NO_ANOMALIES;
    this.onFrame = opts.onFrame ?? packetsFromFrames(opts.onPacket);
  }

  push(chunk: Uint8Array): void {
    this.bytes += chunk.length;
    let off = 0;
    const end = chunk.length;

    // 1. Complete a unit begun in an earlier chunk.
    while (this.carryLen > 0 && this.state !== State.Stopped) {
      const n = this.measure(this.carry, 0, this.carryLen);
      if (n === STOP) return this.stop();
      if (n > this.maxUnit) {
        this.oversized(n, this.carryLen);
        this.carryLen = 0;
        break;
      }
      if (this.carryLen >= n) {
        this.handle(this.carry, 0, n);
        this.consumed += n;
        this.carryLen = 0;
        break;
      }
      if (off >= end) return;
      const take = Math.min(n - this.carryLen, end - off);
      this.ensureCarry(n);
      this.carry.set(chunk.subarray(off, off + take), this.carryLen);
      this.carryLen += take;
      off += take;
    }

    // 2. Whole units straight from the chunk; the tail of a unit that does not fit goes to carry.
    while (this.state !== State.Stopped) {
      if (this.skipRemaining > 0) {
        const s = Math.min(this.skipRemaining, end - off);
        off += s;
        this.skipRemaining -= s;
        this.consumed += s;
        if (this.skipRemaining > 0) return;
      }
      if (this.state === State.PcapRecords) off = this.pcapRun(chunk, off, end);
      const avail = end - off;
      if (avail === 0) return;
      const n = this.measure(chunk, off, avail);
      if (n === STOP) return this.stop();
      if (n > this.maxUnit) {
        this.oversized(n, 0);
        continue;
      }
      if (avail < n) {
        this.ensureCarry(n);
        this.carry.set(chunk.subarray(off, end), 0);
        this.carryLen = avail;
        return;
      }
      this.handle(chunk, off, n);
      off += n;
      this.consumed += n;
    }
  }

  /**
   * The common case of a pcap file: whole records back to back in the chunk, delivered without the
   * generic measure/handle dispatch. Stops at the first record that is not wholly in the chunk or
   * is over the cap (the generic loop handles it); returns the offset reached.
   */
  private pcapRun(b: Uint8Array, off: number, end: number): number {
    const r32 = this.r32;
    const max = this.maxUnit;
    while (end - off >= PCAP_RECORD_HEADER) {
      const n = PCAP_RECORD_HEADER + r32(b, off + 8);
      if (n > max || end - off < n) break;
      this.pcapRecord(b, off, n);
      off += n;
      this.consumed += n;
    }
    return off;
  }

  /** End of input: the summary. Throws CaptureError when the input was never a capture. */
  end(): CaptureFileSummary {
    if (this.state === State.Magic) {
      if (this.bytes === 0) throw new CaptureError(`${this.name} is empty`);
      throw new CaptureError(notCaptureMessage(this.name, this.carry.subarray(0, this.carryLen)));
    }
    let truncatedAt: number | null = null;
    if (this.state !== State.Stopped) {
      if (this.carryLen > 0) truncatedAt = this.consumed;
      else if (this.skipRemaining > 0) truncatedAt = this.skipStart;
    }
    return {
      format: this.format,
      packets: this.packets,
      bytes: this.bytes,
      truncatedAt,
      stoppedAt: this.stoppedAt,
      interfaces: this.interfaces.map((i) => ({ ...i })),
    };
  }

  /**
   * Length of the unit starting at b[o] (with `avail` bytes present), or the header size needed
   * to know it when fewer bytes are present, or STOP. Idempotent: may run more than once per unit.
   */
  private measure(b: Uint8Array, o: number, avail: number): number {
    switch (this.state) {
      case State.Magic:
        return this.detect(b, o, avail);
      case State.PcapHeader:
        return PCAP_FILE_HEADER;
      case State.PcapRecords:
        if (avail < PCAP_RECORD_HEADER) return PCAP_RECORD_HEADER;
        return PCAP_RECORD_HEADER + this.r32(b, o + 8);
      case State.Pcapng:
        return this.measureBlock(b, o, avail);
      default:
        return STOP;
    }
  }

  private detect(b: Uint8Array, o: number, avail: number): number {
    if (avail < 4) return 4;
    const magic = u32be(b, o);
    switch (magic) {
      case 0xa1b2c3d4:
      case 0xd4c3b2a1:
      case 0xa1b23c4d:
      case 0x4d3cb2a1: {
        const le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
        this.setOrder(le);
        this.nanos = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
        this.format = 'pcap';
        this.state = State.PcapHeader;
        this.maxUnit = PCAP_RECORD_HEADER + PCAP_MAX_SNAPLEN;
        return PCAP_FILE_HEADER;
      }
      case BT_SHB:
        this.format = 'pcapng';
        this.state = State.Pcapng;
        this.maxUnit = PCAPNG_MAX_BLOCK;
        return this.measureBlock(b, o, avail);
      default:
        throw new CaptureError(notCaptureMessage(this.name, b.subarray(o, o + Math.min(avail, 8))));
    }
  }

  private measureBlock(b: Uint8Array, o: number, avail: number): number {
    if (avail < 8) return 8;
    if (u32be(b, o) === BT_SHB) {
      // The byte order of a section is given by its SHB's byte-order magic, after the length.
      if (avail < 12) return 12;
      const bom = u32be(b, o + 8);
      if (bom === BOM) this.setOrder(false);
      else if (bom === 0x4d3c2b1a) this.setOrder(true);
      else {
        this.anomalies.add('pcapng_bad_byte_order_magic');
        return STOP;
      }
    }
    const len = this.r32(b, o + 4);
    // §3.1: Block Total Length is a multiple of 4 and covers at least type, two lengths.
    if (len < 12 || len % 4 !== 0) {
      this.anomalies.add('pcapng_bad_block_length');
      return STOP;
    }
    return len;
  }

  private setOrder(le: boolean): void {
    this.r16 = le ? u16le : u16be;
    this.r32 = le ? u32le : u32be;
  }

  private ensureCarry(n: number): void {
    if (this.carry.length >= n) return;
    const next = new Uint8Array(Math.min(Math.max(n, this.carry.length * 2), this.maxUnit));
    next.set(this.carry.subarray(0, this.carryLen));
    this.carry = next;
  }

  /** A unit over the cap: pcap has no way to resynchronise (no block markers), so stop, as
   * libpcap does; a pcapng block is length-delimited, so skip it without buffering. */
  private oversized(n: number, have: number): void {
    if (this.format === 'pcap') {
      this.anomalies.add('pcap_oversized_record');
      this.stop();
      return;
    }
    this.anomalies.add('pcapng_oversized_block');
    this.skipStart = this.consumed;
    this.consumed += have;
    this.skipRemaining = n - have;
  }

  private stop(): void {
    this.state = State.Stopped;
    this.stoppedAt = this.consumed;
    this.carryLen = 0;
  }

  private handle(b: Uint8Array, o: number, n: number): void {
    switch (this.state) {
      case State.PcapHeader:
        this.pcapHeader(b, o);
        break;
      case State.PcapRecords:
        this.pcapRecord(b, o, n);
        break;
      case State.Pcapng:
        this.block(b, o, n);
        break;
      default:
        break;
    }
  }

  private pcapHeader(b: Uint8Array, o: number): void {
    if (this.r16(b, o + 4) !== 2) this.anomalies.add('pcap_unknown_version');
    const snapLen = this.r32(b, o + 16);
    // The low 16 bits are the link type; the upper bits may carry the FCS length (pcap draft §4).
    this.pcapLinkType = this.r32(b, o + 20) & 0xffff;
    this.state = State.PcapRecords;
    this.declare({ linkType: this.pcapLinkType, tsResolution: this.nanos ? 1e9 : 1e6, snapLen });
  }

  private pcapRecord(b: Uint8Array, o: number, n: number): void {
    const sec = this.r32(b, o);
    const frac = this.r32(b, o + 4);
    const ts = sec * 1_000_000 + (this.nanos ? Math.floor(frac / 1000) : frac);
    this.packets++;
    this.emit(ts, this.pcapLinkType, 0, b, o + 16, o + n, this.r32(b, o + 12));
  }

  private emit(ts: Micros, linkType: number, iface: number, b: Uint8Array, start: number, end: number, origLen: number): void {
    const f = this.frame;
    f.ts = ts;
    f.linkType = linkType;
    f.iface = iface;
    f.buf = b;
    f.start = start;
    f.end = end;
    f.origLen = origLen;
    this.onFrame(f);
  }

  private declare(iface: CaptureInterface): number {
    const index = this.interfaces.length;
    this.interfaces.push(iface);
    this.opts.onInterface?.({ ...iface }, index, this.format);
    return index;
  }

  private block(b: Uint8Array, o: number, n: number): void {
    const type = this.r32(b, o);
    if (this.r32(b, o + n - 4) !== n) this.anomalies.add('pcapng_block_length_mismatch');
    if (type === BT_SHB) return this.sectionHeader(b, o, n);
    if (this.skipSection) return;
    switch (type) {
      case BT_EPB:
        return this.packetBlock(b, o, n, this.r32(b, o + 8));
      case BT_IDB:
        return this.interfaceBlock(b, o, n);
      case BT_SPB:
        return this.simplePacket(b, o, n);
      case BT_PB:
        return this.packetBlock(b, o, n, this.r16(b, o + 8));
      case BT_DSB:
        return this.secrets(b, o, n);
      default:
        // ISB, NRB, custom and unknown blocks carry nothing we use (§4: readers skip them).
        return;
    }
  }

  private sectionHeader(b: Uint8Array, o: number, n: number): void {
    // A new section starts a new interface numbering (§4.1).
    this.section = [];
    if (n < 28) {
      this.anomalies.add('pcapng_bad_block_length');
      this.skipSection = true;
      return;
    }
    // §4.1: a reader that does not know the major version must skip the section.
    this.skipSection = this.r16(b, o + 12) !== 1;
    if (this.skipSection) this.anomalies.add('pcapng_unsupported_version');
  }

  private interfaceBlock(b: Uint8Array, o: number, n: number): void {
    if (n < 20) {
      this.anomalies.add('pcapng_bad_block_length');
      return;
    }
    const linkType = this.r16(b, o + 8);
    const snapLen = this.r32(b, o + 12);
    let tsresol = 6;
    let offsetSec = 0;
    const end = o + n - 4;
    let p = o + 16;
    while (p + 4 <= end) {
      const code = this.r16(b, p);
      const len = this.r16(b, p + 2);
      p += 4;
      if (code === 0) break; // opt_endofopt
      if (p + len > end) {
        this.anomalies.add('pcapng_bad_option');
        break;
      }
      if (code === 9 && len >= 1) tsresol = b[p]!; // if_tsresol
      else if (code === 14 && len >= 8) offsetSec = this.i64(b, p); // if_tsoffset
      p += (len + 3) & ~3;
    }
    const index = this.declare({ linkType, tsResolution: ticksPerSecond(tsresol), snapLen });
    this.section.push({ index, linkType, snapLen, toMicros: makeTicksToMicros(tsresol, offsetSec) });
  }

  /** Signed 64-bit integer as a number (exact below 2^53: if_tsoffset seconds). */
  private i64(b: Uint8Array, p: number): number {
    const le = this.r32 === u32le;
    const hi = this.r32(b, le ? p + 4 : p) | 0;
    const lo = this.r32(b, le ? p : p + 4);
    return hi * 4294967296 + lo;
  }

  /** EPB (§4.3) and the obsolete PB (Appendix A): same layout after the interface id. */
  private packetBlock(b: Uint8Array, o: number, n: number, ifaceId: number): void {
    if (n < 32) {
      this.anomalies.add('pcapng_bad_block_length');
      return;
    }
    const iface = this.section[ifaceId];
    if (!iface) {
      this.anomalies.add('pcapng_unknown_interface');
      return;
    }
    const capLen = this.r32(b, o + 20);
    if (28 + capLen > n - 4) {
      this.anomalies.add('pcapng_bad_caplen');
      return;
    }
    const ts = iface.toMicros(this.r32(b, o + 12), this.r32(b, o + 16));
    this.lastTs = ts;
    this.packets++;
    this.emit(ts, iface.linkType, iface.index, b, o + 28, o + 28 + capLen, this.r32(b, o + 24));
  }

  /** SPB (§4.4): interface 0, no timestamp: it takes the last known capture time, so the
   * pipeline's clock does not jump back to 1970. Captured length = min(orig, snaplen, body). */
  private simplePacket(b: Uint8Array, o: number, n: number): void {
    const iface = this.section[0];
    if (!iface) {
      this.anomalies.add('pcapng_unknown_interface');
      return;
    }
    if (n < 16) {
      this.anomalies.add('pcapng_bad_block_length');
      return;
    }
    const origLen = this.r32(b, o + 8);
    let capLen = Math.min(origLen, n - 16);
    if (iface.snapLen > 0) capLen = Math.min(capLen, iface.snapLen);
    this.packets++;
    this.emit(this.lastTs, iface.linkType, iface.index, b, o + 12, o + 12 + capLen, origLen);
  }

  /** Decryption Secrets Block (§4.7). The data is copied: the TLS layer keeps it. */
  private secrets(b: Uint8Array, o: number, n: number): void {
    if (n < 20) {
      this.anomalies.add('pcapng_bad_block_length');
      return;
    }
    const type = this.r32(b, o + 8);
    const len = this.r32(b, o + 12);
    if (16 + len > n - 4) {
      this.anomalies.add('pcapng_bad_secrets_length');
      return;
    }
    this.opts.onSecrets?.(type, b.slice(o + 16, o + 16 + len));
  }
}

/** onPacket's contract on top of frames: a fresh packet object and view per packet. */
function packetsFromFrames(onPacket: ((p: CapturedPacket) => void) | undefined): (f: CapturedFrame) => void {
  if (onPacket === undefined) return () => undefined;
  return (f) => onPacket({ ts: f.ts, linkType: f.linkType, iface: f.iface, data: view(f.buf, f.start, f.end), origLen: f.origLen });
}

function notCaptureMessage(name: string, head: Uint8Array): string {
  if (head.length === 0) return `${name} is empty`;
  const hint = head[0] === 0x1f && head[1] === 0x8b ? ': it is gzip-compressed, gunzip it first' : '';
  return `${name} is not a pcap or pcapng file (starts with ${hexPrefix(head, 4)})${hint}`;
}
