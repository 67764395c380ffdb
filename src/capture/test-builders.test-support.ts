/**
 * Test-only builders of capture bytes the shared writer (test/gen/pcap-writer.ts) does not make:
 * pcapng with any if_tsresol / if_tsoffset, SPB, obsolete PB, unknown blocks, sections of either
 * byte order; link headers (SLL, SLL2, NULL, LOOP, VLAN/QinQ, MPLS); IPv4/IPv6 fragments and IPv6
 * extension headers. Trusted input, no checks. Imported by *.test.ts only.
 */

export class Bytes {
  private readonly parts: number[] = [];
  constructor(private readonly le = true) {}

  u8(...v: number[]): this {
    for (const x of v) this.parts.push(x & 0xff);
    return this;
  }

  u16(v: number): this {
    return this.le ? this.u8(v, v >> 8) : this.u8(v >> 8, v);
  }

  u32(v: number): this {
    const x = v >>> 0;
    return this.le ? this.u8(x, x >>> 8, x >>> 16, x >>> 24) : this.u8(x >>> 24, x >>> 16, x >>> 8, x);
  }

  raw(b: Uint8Array): this {
    for (const x of b) this.parts.push(x);
    return this;
  }

  pad4(): this {
    while (this.parts.length % 4) this.parts.push(0);
    return this;
  }

  get length(): number {
    return this.parts.length;
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- pcap ----

export function pcapFile(opts: { le?: boolean; nanos?: boolean; linkType: number; snapLen?: number }, packets: { sec: number; frac: number; data: Uint8Array; origLen?: number }[]): Uint8Array {
  const w = new Bytes(opts.le ?? true);
  w.u32(opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(opts.snapLen ?? 262144).u32(opts.linkType);
  for (const p of packets) w.u32(p.sec).u32(p.frac).u32(p.data.length).u32(p.origLen ?? p.data.length).raw(p.data);
  return w.done();
}

// ---- pcapng ----

function block(le: boolean, type: number, body: (w: Bytes) => void): Uint8Array {
  const inner = new Bytes(le);
  body(inner);
  inner.pad4();
  const total = inner.length + 12;
  return new Bytes(le).u32(type).u32(total).raw(inner.done()).u32(total).done();
}

export type Opt = [code: number, value: Uint8Array];

function options(w: Bytes, opts: Opt[]): void {
  if (opts.length === 0) return;
  for (const [code, v] of opts) w.u16(code).u16(v.length).raw(v).pad4();
  w.u16(0).u16(0);
}

export function shb(le: boolean, major = 1): Uint8Array {
  return block(le, 0x0a0d0d0a, (w) => w.u32(0x1a2b3c4d).u16(major).u16(0).u32(0xffffffff).u32(0xffffffff));
}

export function idb(le: boolean, linkType: number, o: { tsresol?: number; tsoffset?: number; snapLen?: number } = {}): Uint8Array {
  const opts: Opt[] = [];
  if (o.tsresol !== undefined) opts.push([9, Uint8Array.of(o.tsresol)]);
  if (o.tsoffset !== undefined) {
    const v = new Bytes(le);
    const hi = Math.floor(o.tsoffset / 4294967296);
    const lo = o.tsoffset - hi * 4294967296;
    if (le) v.u32(lo).u32(hi);
    else v.u32(hi).u32(lo);
    opts.push([14, v.done()]);
  }
  return block(le, 1, (w) => {
    w.u16(linkType).u16(0).u32(o.snapLen ?? 0);
    options(w, opts);
  });
}

/** EPB with the timestamp as a tick count (bigint: ns counts exceed 2^53). */
export function epb(le: boolean, iface: number, ticks: bigint, data: Uint8Array, origLen = data.length): Uint8Array {
  return block(le, 6, (w) => {
    w.u32(iface).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn)).u32(data.length).u32(origLen).raw(data).pad4();
    options(w, [[1, new TextEncoder().encode('comment')]]); // opt_comment: must be skipped
  });
}

export function pb(le: boolean, iface: number, ticks: bigint, data: Uint8Array): Uint8Array {
  return block(le, 2, (w) => w.u16(iface).u16(0).u32(Number(ticks >> 32n)).u32(Number(ticks & 0xffffffffn)).u32(data.length).u32(data.length).raw(data));
}

export function spb(le: boolean, data: Uint8Array, origLen = data.length): Uint8Array {
  return block(le, 3, (w) => w.u32(origLen).raw(data));
}

export function dsb(le: boolean, type: number, data: Uint8Array): Uint8Array {
  return block(le, 10, (w) => w.u32(type).u32(data.length).raw(data));
}

export function unknownBlock(le: boolean, type: number, size: number): Uint8Array {
  return block(le, type, (w) => w.raw(new Uint8Array(size).fill(0xee)));
}

// ---- link layers ----

const MAC_A = [2, 0, 0, 0, 0, 1];
const MAC_B = [2, 0, 0, 0, 0, 2];

/** Ethernet II with optional stacked tags (each [tpid, vid]) and MPLS labels. */
export function ethernet(ethertype: number, payload: Uint8Array, o: { tags?: [number, number][]; pad?: number } = {}): Uint8Array {
  const w = new Bytes(false).u8(...MAC_B, ...MAC_A);
  for (const [tpid, vid] of o.tags ?? []) w.u16(tpid).u16(vid);
  w.u16(ethertype).raw(payload);
  for (let i = 0; i < (o.pad ?? 0); i++) w.u8(0);
  return w.done();
}

export function mplsStack(labels: number[], payload: Uint8Array): Uint8Array {
  const w = new Bytes(false);
  labels.forEach((label, i) => w.u32(((label << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64) >>> 0));
  return w.raw(payload).done();
}

export function sll(protocol: number, payload: Uint8Array, arphrd = 1): Uint8Array {
  return new Bytes(false).u16(0).u16(arphrd).u16(6).u8(...MAC_A, 0, 0).u16(protocol).raw(payload).done();
}

export function sll2(protocol: number, payload: Uint8Array, arphrd = 1): Uint8Array {
  return new Bytes(false).u16(protocol).u16(0).u32(3).u16(arphrd).u8(0, 6).u8(...MAC_A, 0, 0).raw(payload).done();
}

export function nullHeader(af: number, le: boolean, payload: Uint8Array): Uint8Array {
  return new Bytes(le).u32(af).raw(payload).done();
}

// ---- IP ----

/** TCP header (+ options) and payload. */
export function tcp(o: { sport: number; dport: number; seq: number; ack?: number; flags: number; options?: Uint8Array; payload: Uint8Array }): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  return new Bytes(false)
    .u16(o.sport)
    .u16(o.dport)
    .u32(o.seq)
    .u32(o.ack ?? 0)
    .u8(((20 + opts.length) / 4) << 4, o.flags)
    .u16(65535)
    .u16(0)
    .u16(0)
    .raw(opts)
    .raw(o.payload)
    .done();
}

export function ipv4(o: { src: number[]; dst: number[]; proto?: number; id?: number; mf?: boolean; fragOffset?: number; options?: Uint8Array; totalLength?: number }, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const ihl = (20 + opts.length) / 4;
  const total = o.totalLength ?? 20 + opts.length + payload.length;
  const frag = ((o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) / 8)) & 0xffff;
  return new Bytes(false)
    .u8(0x40 | ihl, 0)
    .u16(total)
    .u16(o.id ?? 0)
    .u16(frag)
    .u8(64, o.proto ?? 6)
    .u16(0)
    .u8(...o.src, ...o.dst)
    .raw(opts)
    .raw(payload)
    .done();
}

export function ipv6(o: { src: Uint8Array; dst: Uint8Array; next?: number }, payload: Uint8Array): Uint8Array {
  return new Bytes(false).u32(0x60000000).u16(payload.length).u8(o.next ?? 6, 64).raw(o.src).raw(o.dst).raw(payload).done();
}

/** A generic IPv6 extension header (hop-by-hop, routing, destination options): 8·(len+1) bytes. */
export function extHeader(next: number, body: Uint8Array): Uint8Array {
  const size = Math.ceil((body.length + 2) / 8) * 8;
  const w = new Bytes(false).u8(next, size / 8 - 1).raw(body);
  while (w.length < size) w.u8(0);
  return w.done();
}

/** AH (RFC 4302): Payload Len in 4-octet units minus 2; 12 fixed bytes + 12 bytes ICV. */
export function ahHeader(next: number): Uint8Array {
  return new Bytes(false).u8(next, 4).u16(0).u32(0x1000).u32(1).raw(new Uint8Array(12)).done();
}

export function fragHeader(next: number, offset: number, more: boolean, id: number): Uint8Array {
  return new Bytes(false).u8(next, 0).u16(offset | (more ? 1 : 0)).u32(id).done();
}

/** Splits `payload` into pieces of `size` bytes (a multiple of 8), with offsets. */
export function splitFragments(payload: Uint8Array, size: number): { offset: number; more: boolean; data: Uint8Array }[] {
  const out: { offset: number; more: boolean; data: Uint8Array }[] = [];
  for (let o = 0; o < payload.length; o += size) {
    out.push({ offset: o, more: o + size < payload.length, data: payload.subarray(o, Math.min(o + size, payload.length)) });
  }
  return out;
}

export function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  const out: T[][] = [];
  items.forEach((x, i) => {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) out.push([x, ...rest]);
  });
  return out;
}

export function v6addr(text: string): Uint8Array {
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(tail === undefined ? 0 : 8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
