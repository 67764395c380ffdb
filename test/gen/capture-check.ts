/**
 * An independent, deliberately simple reader used only by the generator tests: it reads back what
 * the generators wrote (pcap/pcapng, Ethernet/raw IPv4/IPv6/TCP, per-connection byte streams,
 * HTTP/1.1 messages, SSE) so the tests can check the bytes against the expected facts without
 * depending on the product's own parsers. Trusted input: it throws on anything malformed.
 */
import { gunzipSync, constants } from 'node:zlib';

export interface ReadPacket {
  ts: number;
  nanos: number;
  iface: number;
  linkType: number;
  data: Uint8Array;
  origLen: number;
}

export interface ReadCapture {
  format: 'pcap' | 'pcapng';
  bigEndian: boolean;
  nanos: boolean[];
  linkTypes: number[];
  packets: ReadPacket[];
  secrets: Uint8Array[];
}

export function readCapture(b: Uint8Array): ReadCapture {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const m = v.getUint32(0, false);
  if (m === 0x0a0d0d0a) return readNg(b, v);
  const magics: Record<number, [boolean, boolean]> = { 0xa1b2c3d4: [true, false], 0xd4c3b2a1: [false, false], 0xa1b23c4d: [true, true], 0x4d3cb2a1: [false, true] };
  const mm = magics[m];
  if (!mm) throw new Error('not a capture');
  const [be, nanos] = mm;
  const le = !be;
  const linkType = v.getUint32(20, le);
  const packets: ReadPacket[] = [];
  for (let o = 24; o < b.length; ) {
    const sec = v.getUint32(o, le);
    const frac = v.getUint32(o + 4, le);
    const incl = v.getUint32(o + 8, le);
    const orig = v.getUint32(o + 12, le);
    packets.push({ ts: sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac), nanos: nanos ? frac % 1000 : 0, iface: 0, linkType, data: b.subarray(o + 16, o + 16 + incl), origLen: orig });
    o += 16 + incl;
  }
  return { format: 'pcap', bigEndian: be, nanos: [nanos], linkTypes: [linkType], packets, secrets: [] };
}

function readNg(b: Uint8Array, v: DataView): ReadCapture {
  const le = v.getUint32(8, true) === 0x1a2b3c4d;
  const out: ReadCapture = { format: 'pcapng', bigEndian: !le, nanos: [], linkTypes: [], packets: [], secrets: [] };
  for (let o = 0; o < b.length; ) {
    const type = v.getUint32(o, le);
    const len = v.getUint32(o + 4, le);
    if (v.getUint32(o + len - 4, le) !== len) throw new Error('block length mismatch');
    if (type === 1) {
      out.linkTypes.push(v.getUint16(o + 8, le));
      let nanos = false;
      for (let p = o + 16; p < o + len - 4; ) {
        const code = v.getUint16(p, le);
        const ol = v.getUint16(p + 2, le);
        if (code === 0) break;
        if (code === 9) nanos = b[p + 4] === 9;
        p += 4 + ol + ((4 - (ol & 3)) & 3);
      }
      out.nanos.push(nanos);
    } else if (type === 6) {
      const iface = v.getUint32(o + 8, le);
      const t = BigInt(v.getUint32(o + 12, le)) * 4294967296n + BigInt(v.getUint32(o + 16, le));
      const incl = v.getUint32(o + 20, le);
      const ns = out.nanos[iface]!;
      out.packets.push({
        ts: Number(ns ? t / 1000n : t),
        nanos: ns ? Number(t % 1000n) : 0,
        iface,
        linkType: out.linkTypes[iface]!,
        data: b.subarray(o + 28, o + 28 + incl),
        origLen: v.getUint32(o + 24, le),
      });
    } else if (type === 10) {
      const n = v.getUint32(o + 12, le);
      out.secrets.push(b.subarray(o + 16, o + 16 + n));
    }
    o += len;
  }
  return out;
}

export interface ReadSegment {
  ts: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  payload: Uint8Array;
  /** Checksums verified by summing the covered words to 0xffff (RFC 1071 §2(4)). */
  ipChecksumOk: boolean;
  tcpChecksumOk: boolean;
}

function onesSum(parts: Uint8Array[]): number {
  let s = 0;
  for (const p of parts) {
    if (p.length & 1) throw new Error('odd part');
    for (let i = 0; i < p.length; i += 2) s += (p[i]! << 8) | p[i + 1]!;
  }
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 65536);
  return s;
}

function ipText(a: Uint8Array): string {
  if (a.length === 4) return a.join('.');
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((a[i]! << 8) | a[i + 1]!).toString(16));
  return g.join(':');
}

export function parseFrame(p: ReadPacket): ReadSegment {
  const d = p.data;
  let o = 0;
  if (p.linkType === 1) {
    o = 12;
    let et = (d[o]! << 8) | d[o + 1]!;
    if (et === 0x8100) {
      o += 4;
      et = (d[o]! << 8) | d[o + 1]!;
    }
    o += 2;
  }
  const v6 = d[o]! >> 4 === 6;
  const ipLen = v6 ? 40 : (d[o]! & 15) * 4;
  const src = d.subarray(o + (v6 ? 8 : 12), o + (v6 ? 24 : 16));
  const dst = d.subarray(o + (v6 ? 24 : 16), o + (v6 ? 40 : 20));
  const tcpLen = v6 ? (d[o + 4]! << 8) | d[o + 5]! : ((d[o + 2]! << 8) | d[o + 3]!) - ipLen;
  const t = o + ipLen;
  const tcp = d.subarray(t, t + tcpLen);
  const pseudo = new Uint8Array(v6 ? 40 : 12);
  pseudo.set(src, 0);
  pseudo.set(dst, src.length);
  const pv = new DataView(pseudo.buffer);
  if (v6) {
    pv.setUint32(32, tcpLen);
    pseudo[39] = 6;
  } else {
    pseudo[9] = 6;
    pv.setUint16(10, tcpLen);
  }
  const tcpEven = tcp.length & 1 ? Uint8Array.from([...tcp, 0]) : tcp;
  const tv = new DataView(tcp.buffer, tcp.byteOffset, tcp.byteLength);
  const dataOff = (tcp[12]! >> 4) * 4;
  return {
    ts: p.ts,
    src: ipText(src),
    dst: ipText(dst),
    sport: tv.getUint16(0),
    dport: tv.getUint16(2),
    seq: tv.getUint32(4),
    ack: tv.getUint32(8),
    flags: tcp[13]!,
    payload: tcp.subarray(dataOff),
    ipChecksumOk: v6 ? true : onesSum([d.subarray(o, o + ipLen)]) === 0xffff,
    tcpChecksumOk: onesSum([pseudo, tcpEven]) === 0xffff,
  };
}

export interface Stream {
  bytes: Uint8Array;
  /** [offset, length] of bytes never seen. */
  holes: [number, number][];
}

/** Per connection (keyed "client:port>server:port", client = SYN sender or first sender), the
 * two byte streams rebuilt from sequence numbers (duplicates and reordering absorbed). */
export function reassemble(segs: ReadSegment[]): Map<string, { c2s: Stream; s2c: Stream }> {
  const conns = new Map<string, { client: string; isn: Map<string, number>; data: Map<string, Map<number, Uint8Array>> }>();
  for (const s of segs) {
    const a = `${s.src}:${s.sport}`;
    const b = `${s.dst}:${s.dport}`;
    const key = conns.has(`${a}>${b}`) ? `${a}>${b}` : conns.has(`${b}>${a}`) ? `${b}>${a}` : `${a}>${b}`;
    let c = conns.get(key);
    if (!c) {
      c = { client: a, isn: new Map(), data: new Map([[a, new Map()], [b, new Map()]]) };
      conns.set(key, c);
    }
    if (s.flags & 0x02) c.isn.set(a, s.seq + 1);
    if (s.payload.length) {
      if (!c.isn.has(a)) c.isn.set(a, s.seq);
      c.data.get(a)!.set((s.seq - c.isn.get(a)!) >>> 0, s.payload);
    }
  }
  const out = new Map<string, { c2s: Stream; s2c: Stream }>();
  for (const [key, c] of conns) {
    const [cl, sv] = key.split('>') as [string, string];
    out.set(key, { c2s: build(c.data.get(cl)!), s2c: build(c.data.get(sv)!) });
  }
  return out;
}

function build(m: Map<number, Uint8Array>): Stream {
  let end = 0;
  for (const [o, d] of m) end = Math.max(end, o + d.length);
  const bytes = new Uint8Array(end);
  const have = new Uint8Array(end);
  for (const [o, d] of m) {
    bytes.set(d, o);
    have.fill(1, o, o + d.length);
  }
  const holes: [number, number][] = [];
  for (let i = 0; i < end; i++) {
    if (have[i]) continue;
    let j = i;
    while (j < end && !have[j]) j++;
    holes.push([i, j - i]);
    i = j;
  }
  return { bytes, holes };
}

export interface HttpMessage {
  startLine: string;
  headers: [string, string][];
  /** Body after transfer and content decoding. */
  body: Uint8Array;
  complete: boolean;
}

const dec = new TextDecoder();

function header(m: HttpMessage, name: string): string | undefined {
  return m.headers.find(([k]) => k.toLowerCase() === name)?.[1];
}
export { header as httpHeader };

/** HTTP/1.1 messages in one direction's stream (Content-Length, chunked, or to the end). */
export function parseHttp(s: Uint8Array): HttpMessage[] {
  const out: HttpMessage[] = [];
  let o = 0;
  while (o < s.length) {
    const end = indexOf(s, '\r\n\r\n', o);
    if (end < 0) break;
    const lines = dec.decode(s.subarray(o, end)).split('\r\n');
    const m: HttpMessage = { startLine: lines[0]!, headers: lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]), body: new Uint8Array(0), complete: true };
    o = end + 4;
    const cl = header(m, 'content-length');
    let raw: Uint8Array;
    if (header(m, 'transfer-encoding') === 'chunked') {
      const parts: Uint8Array[] = [];
      m.complete = false;
      while (o < s.length) {
        const le = indexOf(s, '\r\n', o);
        if (le < 0) break;
        const n = parseInt(dec.decode(s.subarray(o, le)), 16);
        if (n === 0) {
          o = le + 4;
          m.complete = true;
          break;
        }
        parts.push(s.subarray(le + 2, Math.min(s.length, le + 2 + n)));
        o = le + 2 + n + 2;
      }
      raw = Buffer.concat(parts);
    } else if (cl !== undefined) {
      raw = s.subarray(o, o + Number(cl));
      m.complete = raw.length === Number(cl);
      o += Number(cl);
    } else if (m.startLine.startsWith('HTTP/')) {
      raw = s.subarray(o);
      o = s.length;
    } else raw = new Uint8Array(0);
    m.body = header(m, 'content-encoding') === 'gzip' ? new Uint8Array(gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH })) : raw;
    out.push(m);
  }
  return out;
}

function indexOf(s: Uint8Array, needle: string, from: number): number {
  return Buffer.from(s.buffer, s.byteOffset, s.byteLength).indexOf(needle, from, 'latin1');
}

/** SSE events (WHATWG HTML §9.2.6, enough of it for generated streams). */
export function parseSse(text: string): { event: string; data: string }[] {
  const out: { event: string; data: string }[] = [];
  const blocks = text.split(/\r\n\r\n|\n\n/);
  // The last block is unterminated (a cut stream) or empty: an event needs its blank line.
  blocks.pop();
  for (const block of blocks) {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r\n|\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (data.length) out.push({ event, data: data.join('\n') });
  }
  return out;
}
