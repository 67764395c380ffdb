/**
 * Writes pcap and pcapng capture files for tests and benchmarks, in memory or streamed to a file
 * (the benchmark capture is hundreds of MB: it is never held whole in memory).
 *
 * Formats: classic pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-03.html), µs magic
 * 0xA1B2C3D4 or ns magic 0xA1B23C4D, either byte order; pcapng
 * (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-02.html): SHB, one IDB per interface
 * (if_tsresol 6 or 9), EPBs, and optionally Decryption Secrets Blocks.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Micros } from '../../src/core/time.js';

/** One frame to write. */
export interface PcapRecord {
  /** Capture time, µs since the epoch. */
  ts: Micros;
  /** Extra nanoseconds (0–999) below `ts`, written only by nanosecond formats. */
  nanos?: number;
  data: Uint8Array;
  /** Length on the wire; defaults to data.length. Larger than the snaplen → the record is snapped. */
  origLen?: number;
  /** pcapng interface index (ignored by pcap). */
  iface?: number;
}

export interface PcapngInterface {
  linkType: number;
  /** if_tsresol 9 (ns) instead of the default 6 (µs). */
  nanos?: boolean;
  name?: string;
  snaplen?: number;
}

export type CaptureFormat =
  | { kind: 'pcap'; linkType?: number; nanos?: boolean; bigEndian?: boolean; snaplen?: number }
  | { kind: 'pcapng'; interfaces?: PcapngInterface[]; bigEndian?: boolean };

/** Where bytes go. */
export interface ByteSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

/** Collects everything in memory. */
export class MemorySink implements ByteSink {
  private readonly parts: Uint8Array[] = [];
  private size = 0;

  write(bytes: Uint8Array): void {
    this.parts.push(bytes.slice());
    this.size += bytes.length;
  }

  close(): void {
    /* nothing to release */
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    let off = 0;
    for (const p of this.parts) {
      out.set(p, off);
      off += p.length;
    }
    return out;
  }
}

/** Buffered synchronous file writer: memory stays at one buffer whatever the file size. */
export class FileSink implements ByteSink {
  private readonly fd: number;
  private readonly buf: Uint8Array;
  private used = 0;

  /** 4 MiB buffer: large enough that write syscalls are not the bottleneck of generation. */
  constructor(path: string, bufferBytes = 4 * 1024 * 1024) {
    this.fd = openSync(path, 'w');
    this.buf = new Uint8Array(bufferBytes);
  }

  write(bytes: Uint8Array): void {
    if (bytes.length > this.buf.length - this.used) {
      this.flush();
      if (bytes.length > this.buf.length) {
        writeAll(this.fd, bytes);
        return;
      }
    }
    this.buf.set(bytes, this.used);
    this.used += bytes.length;
  }

  private flush(): void {
    if (this.used > 0) writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/** Default snaplen 262144: tcpdump's default since 4.99 (MAXIMUM_SNAPLEN in netdissect.h). */
const DEFAULT_SNAPLEN = 262144;
const PCAPNG_BOM = 0x1a2b3c4d;
/** Secrets type for a TLS key log in a DSB (pcapng draft §4.7). */
export const DSB_TLS_KEY_LOG = 0x544c534b;

export class PcapWriter {
  private readonly le: boolean;
  private readonly ng: boolean;
  private readonly nanosByIface: boolean[];
  private readonly snaplenByIface: number[];
  private readonly head = new Uint8Array(28);
  private readonly headView = new DataView(this.head.buffer);
  private packetCount = 0;
  private byteCount = 0;

  constructor(
    private readonly sink: ByteSink,
    format: CaptureFormat = { kind: 'pcap' },
  ) {
    this.le = !format.bigEndian;
    this.ng = format.kind === 'pcapng';
    if (format.kind === 'pcap') {
      this.nanosByIface = [format.nanos ?? false];
      this.snaplenByIface = [format.snaplen ?? DEFAULT_SNAPLEN];
      this.emit(this.pcapHeader(format.linkType ?? 1, format.nanos ?? false, this.snaplenByIface[0]!));
    } else {
      const ifaces = format.interfaces ?? [{ linkType: 1 }];
      this.nanosByIface = ifaces.map((i) => i.nanos ?? false);
      this.snaplenByIface = ifaces.map((i) => i.snaplen ?? DEFAULT_SNAPLEN);
      this.emit(this.shb());
      for (const i of ifaces) this.emit(this.idb(i));
    }
  }

  get packets(): number {
    return this.packetCount;
  }

  /** Bytes written so far, headers included. */
  get bytes(): number {
    return this.byteCount;
  }

  writePacket(p: PcapRecord): void {
    const iface = this.ng ? (p.iface ?? 0) : 0;
    const snaplen = this.snaplenByIface[iface] ?? DEFAULT_SNAPLEN;
    const nanos = this.nanosByIface[iface] ?? false;
    const origLen = p.origLen ?? p.data.length;
    const data = p.data.length > snaplen ? p.data.subarray(0, snaplen) : p.data;
    const v = this.headView;
    const le = this.le;
    if (!this.ng) {
      const sec = Math.floor(p.ts / 1e6);
      const us = p.ts - sec * 1e6;
      v.setUint32(0, sec, le);
      v.setUint32(4, nanos ? us * 1000 + (p.nanos ?? 0) : us, le);
      v.setUint32(8, data.length, le);
      v.setUint32(12, origLen, le);
      this.emit(this.head.subarray(0, 16));
      this.emit(data);
    } else {
      const pad = (4 - (data.length & 3)) & 3;
      const total = 32 + data.length + pad;
      // Timestamp in if_tsresol units, split into two 32-bit halves (pcapng draft §4.3).
      let hi: number;
      let lo: number;
      if (nanos) {
        const t = BigInt(p.ts) * 1000n + BigInt(p.nanos ?? 0);
        hi = Number(t >> 32n);
        lo = Number(t & 0xffffffffn);
      } else {
        hi = Math.floor(p.ts / 4294967296);
        lo = p.ts - hi * 4294967296;
      }
      v.setUint32(0, 6, le);
      v.setUint32(4, total, le);
      v.setUint32(8, iface, le);
      v.setUint32(12, hi, le);
      v.setUint32(16, lo, le);
      v.setUint32(20, data.length, le);
      v.setUint32(24, origLen, le);
      this.emit(this.head.subarray(0, 28));
      this.emit(data);
      this.emit(this.trailer(pad, total));
    }
    this.packetCount++;
  }

  /** pcapng Decryption Secrets Block (e.g. a TLS key log) at the current position. */
  writeSecrets(secrets: Uint8Array, secretsType: number = DSB_TLS_KEY_LOG): void {
    if (!this.ng) throw new Error('secrets blocks exist only in pcapng');
    const pad = (4 - (secrets.length & 3)) & 3;
    const total = 20 + secrets.length + pad;
    const b = new Uint8Array(16);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0x0000000a, this.le);
    v.setUint32(4, total, this.le);
    v.setUint32(8, secretsType, this.le);
    v.setUint32(12, secrets.length, this.le);
    this.emit(b);
    this.emit(secrets);
    this.emit(this.trailer(pad, total));
  }

  close(): void {
    this.sink.close();
  }

  private emit(bytes: Uint8Array): void {
    this.sink.write(bytes);
    this.byteCount += bytes.length;
  }

  private trailer(pad: number, total: number): Uint8Array {
    const t = new Uint8Array(pad + 4);
    new DataView(t.buffer).setUint32(pad, total, this.le);
    return t;
  }

  private pcapHeader(linkType: number, nanos: boolean, snaplen: number): Uint8Array {
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    v.setUint32(0, nanos ? 0xa1b23c4d : 0xa1b2c3d4, this.le);
    v.setUint16(4, 2, this.le);
    v.setUint16(6, 4, this.le);
    v.setUint32(16, snaplen, this.le);
    v.setUint32(20, linkType, this.le);
    return b;
  }

  private shb(): Uint8Array {
    const opts = options(this.le, [[4, utf8('llmtap test generator')]]); // shb_userappl
    const total = 24 + opts.length + 4;
    const b = new Uint8Array(total);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0x0a0d0d0a, this.le);
    v.setUint32(4, total, this.le);
    v.setUint32(8, PCAPNG_BOM, this.le);
    v.setUint16(12, 1, this.le);
    v.setUint16(14, 0, this.le);
    v.setInt32(16, -1, this.le); // section length unknown (-1, 64-bit)
    v.setInt32(20, -1, this.le);
    b.set(opts, 24);
    v.setUint32(total - 4, total, this.le);
    return b;
  }

  private idb(i: PcapngInterface): Uint8Array {
    const list: [number, Uint8Array][] = [];
    if (i.name !== undefined) list.push([2, utf8(i.name)]); // if_name
    if (i.nanos) list.push([9, Uint8Array.of(9)]); // if_tsresol: 10^-9
    const opts = options(this.le, list);
    const total = 16 + opts.length + 4;
    const b = new Uint8Array(total);
    const v = new DataView(b.buffer);
    v.setUint32(0, 1, this.le);
    v.setUint32(4, total, this.le);
    v.setUint16(8, i.linkType, this.le);
    v.setUint32(12, i.snaplen ?? DEFAULT_SNAPLEN, this.le);
    b.set(opts, 16);
    v.setUint32(total - 4, total, this.le);
    return b;
  }
}

/** pcapng options list: code, length, value padded to 4, then opt_endofopt. */
function options(le: boolean, list: [number, Uint8Array][]): Uint8Array {
  if (list.length === 0) return new Uint8Array(0);
  let size = 4;
  for (const [, val] of list) size += 4 + val.length + ((4 - (val.length & 3)) & 3);
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  let off = 0;
  for (const [code, val] of list) {
    v.setUint16(off, code, le);
    v.setUint16(off + 2, val.length, le);
    b.set(val, off + 4);
    off += 4 + val.length + ((4 - (val.length & 3)) & 3);
  }
  return b; // trailing 4 zero bytes = opt_endofopt
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A whole capture in memory. */
export function pcapBytes(packets: Iterable<PcapRecord>, format: CaptureFormat = { kind: 'pcap' }): Uint8Array {
  const sink = new MemorySink();
  const w = new PcapWriter(sink, format);
  for (const p of packets) w.writePacket(p);
  w.close();
  return sink.bytes();
}

/** A capture streamed to `path`; call close() when done. */
export function openCaptureFile(path: string, format: CaptureFormat = { kind: 'pcap' }): PcapWriter {
  return new PcapWriter(new FileSink(path), format);
}
