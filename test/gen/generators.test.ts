import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type HttpMessage, httpHeader, parseFrame, parseHttp, parseSse, readCapture, reassemble } from './capture-check.js';
import { gzipPieces } from './http-wire.js';
import { type ExchangeOptions, type Session, APIS, buildSession, generateExchange } from './llm-traffic.js';
import { DEMO_PATH, demoPcap, findRepoRoot } from './make-example.js';
import { type CaptureFormat, type PcapRecord, FileSink, PcapWriter, openCaptureFile, pcapBytes } from './pcap-writer.js';
import { Rng } from './rng.js';
import { type ConnectionSpec, buildConnection, interleave, mergeConnections } from './tcp-conversation.js';
import { gunzipSync } from 'node:zlib';

const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const hasTcpdump = has('tcpdump');
const hasTshark = has('tshark');
const dir = mkdtempSync(join(tmpdir(), 'llmtap-gen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = Date.UTC(2026, 0, 15, 10) * 1000;
const enc = new TextEncoder();
const dec = new TextDecoder();

function save(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

/** tcpdump's packet count for a file (exit status must be 0). */
function tcpdumpCount(path: string): number {
  const r = spawnSync('tcpdump', ['-nn', '-r', path], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l.length > 0).length;
}

function tshark(args: string[]): string {
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

const someFrames = (n: number): PcapRecord[] =>
  Array.from({ length: n }, (_, i) => ({ ts: T0 + i * 1_234_567, nanos: i * 7, data: Uint8Array.from({ length: 60 + i }, (_, k) => (k * 31 + i) & 0xff) }));

describe('pcap writer', () => {
  const formats: [string, CaptureFormat][] = [
    ['pcap µs little-endian', { kind: 'pcap' }],
    ['pcap ns big-endian', { kind: 'pcap', nanos: true, bigEndian: true }],
    ['pcapng little-endian', { kind: 'pcapng' }],
    ['pcapng big-endian, ns', { kind: 'pcapng', bigEndian: true, interfaces: [{ linkType: 1, nanos: true }] }],
  ];
  for (const [name, format] of formats) {
    it(`${name}: reads back with the same times and bytes`, () => {
      const frames = someFrames(20);
      const cap = readCapture(pcapBytes(frames, format));
      const ns = format.kind === 'pcap' ? (format.nanos ?? false) : (format.interfaces?.[0]?.nanos ?? false);
      expect(cap.bigEndian).toBe(format.bigEndian ?? false);
      expect(cap.packets.map((p) => [p.ts, p.nanos, [...p.data]])).toEqual(frames.map((f) => [f.ts, ns ? f.nanos : 0, [...f.data]]));
    });
  }

  it('writes the magic numbers of the draft for each variant', () => {
    const hex = (f: CaptureFormat) => Buffer.from(pcapBytes([], f).subarray(0, 4)).toString('hex');
    expect(hex({ kind: 'pcap' })).toBe('d4c3b2a1');
    expect(hex({ kind: 'pcap', bigEndian: true })).toBe('a1b2c3d4');
    expect(hex({ kind: 'pcap', nanos: true })).toBe('4d3cb2a1');
    expect(hex({ kind: 'pcapng' })).toBe('0a0d0d0a');
  });

  it('pcapng: several interfaces with their own link types and resolutions, plus a secrets block', () => {
    const sink = new (class {
      parts: Uint8Array[] = [];
      write(b: Uint8Array) {
        this.parts.push(b.slice());
      }
      close() {}
    })();
    const w = new PcapWriter(sink, { kind: 'pcapng', interfaces: [{ linkType: 1, name: 'eth0' }, { linkType: 101, nanos: true, name: 'tun0' }] });
    w.writeSecrets(enc.encode('CLIENT_RANDOM 00 11\n'));
    w.writePacket({ ts: T0, data: new Uint8Array(60), iface: 0 });
    w.writePacket({ ts: T0 + 5, nanos: 321, data: new Uint8Array(41), iface: 1 });
    w.close();
    const cap = readCapture(Buffer.concat(sink.parts));
    expect(cap.linkTypes).toEqual([1, 101]);
    expect(cap.nanos).toEqual([false, true]);
    expect(cap.packets.map((p) => [p.iface, p.ts, p.nanos, p.data.length])).toEqual([
      [0, T0, 0, 60],
      [1, T0 + 5, 321, 41],
    ]);
    expect(dec.decode(cap.secrets[0])).toBe('CLIENT_RANDOM 00 11\n');
  });

  it('snaps records longer than the snaplen and keeps the original length', () => {
    const cap = readCapture(pcapBytes([{ ts: T0, data: new Uint8Array(200) }], { kind: 'pcap', snaplen: 128 }));
    expect(cap.packets[0]!.data.length).toBe(128);
    expect(cap.packets[0]!.origLen).toBe(200);
  });

  it('streams to a file byte-identically to the in-memory writer, through many buffer flushes', () => {
    const frames = someFrames(300);
    const path = join(dir, 'stream.pcapng');
    const w = new PcapWriter(new FileSink(path, 1000), { kind: 'pcapng' });
    for (const f of frames) w.writePacket(f);
    w.close();
    expect(Buffer.compare(readFileSync(path), pcapBytes(frames, { kind: 'pcapng' }))).toBe(0);
    expect(w.packets).toBe(300);
  });

  it.skipIf(!hasTcpdump)('tcpdump reads every variant without error', () => {
    const conn = buildConnection(simpleSpec());
    const n = conn.packets.length;
    for (const [i, format] of (
      [{ kind: 'pcap' }, { kind: 'pcap', nanos: true, bigEndian: true }, { kind: 'pcapng', interfaces: [{ linkType: 1 }, { linkType: 1, nanos: true }] }] as CaptureFormat[]
    ).entries()) {
      const recs = conn.packets.map((p, k) => ({ ...p, iface: k & (format.kind === 'pcapng' ? 1 : 0) }));
      expect(tcpdumpCount(save(`v${i}.cap`, pcapBytes(recs, format)))).toBe(n);
    }
  });
});

function simpleSpec(over: Partial<ConnectionSpec> = {}): ConnectionSpec {
  const req = enc.encode('POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 20000\r\n\r\n' + 'abcdefghij'.repeat(2000));
  return {
    client: { ip: '10.1.2.3', port: 40000 },
    server: { ip: '10.9.8.7', port: 80 },
    start: T0,
    exchanges: [
      {
        request: [{ at: T0 + 30_000, data: req }],
        response: [
          { at: T0 + 300_000, data: enc.encode('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n') },
          ...Array.from({ length: 30 }, (_, i) => ({ at: T0 + 310_000 + i * 20_000, data: enc.encode(`6\r\nev${String(i).padStart(4, '0')}\r\n`) })),
          { at: T0 + 1_000_000, data: enc.encode('0\r\n\r\n') },
        ],
      },
    ],
    ...over,
  };
}

function streamsOf(packets: { ts: number; data: Uint8Array }[], linkType = 1) {
  return reassemble(packets.map((p) => parseFrame({ ...p, nanos: 0, iface: 0, linkType, origLen: p.data.length })));
}

describe('tcp conversation', () => {
  const spec = simpleSpec();
  const expectC2s = Buffer.concat(spec.exchanges.flatMap((e) => e.request.map((p) => p.data)));
  const expectS2c = Buffer.concat(spec.exchanges.flatMap((e) => e.response.map((p) => p.data)));

  it('handshake, MSS-sized data, FIN; both streams rebuild exactly; checksums verify', () => {
    const c = buildConnection(spec);
    const segs = c.packets.map((p) => parseFrame({ ...p, nanos: 0, iface: 0, linkType: 1, origLen: p.data.length }));
    expect(segs.slice(0, 3).map((s) => s.flags)).toEqual([0x02, 0x12, 0x10]);
    expect(segs.slice(-3).map((s) => s.flags)).toEqual([0x11, 0x11, 0x10]);
    expect(Math.max(...segs.map((s) => s.payload.length))).toBe(1448);
    expect(segs.every((s) => s.ipChecksumOk && s.tcpChecksumOk)).toBe(true);
    const st = [...streamsOf(c.packets).values()][0]!;
    expect(Buffer.compare(Buffer.from(st.c2s.bytes), expectC2s)).toBe(0);
    expect(Buffer.compare(Buffer.from(st.s2c.bytes), expectS2c)).toBe(0);
    expect(c.packets.every((p, i) => i === 0 || p.ts >= c.packets[i - 1]!.ts)).toBe(true);
    // Without impairments every response piece completes at its own send time.
    expect(c.exchanges[0]!.responsePieceDone).toEqual(spec.exchanges[0]!.response.map((p) => p.at));
  });

  it('IPv6, a VLAN tag and a smaller MSS still rebuild and verify', () => {
    const c = buildConnection(simpleSpec({ client: { ip: '2001:db8::5', port: 40001 }, server: { ip: '2001:db8:0:1::80', port: 80 }, mss: 1000, link: { link: 'ethernet', vlan: 42 } }));
    const segs = c.packets.map((p) => parseFrame({ ...p, nanos: 0, iface: 0, linkType: 1, origLen: p.data.length }));
    expect(segs[0]!.src).toBe('2001:db8:0:0:0:0:0:5');
    expect(Math.max(...segs.map((s) => s.payload.length))).toBe(1000);
    expect(segs.every((s) => s.tcpChecksumOk)).toBe(true);
    const st = [...streamsOf(c.packets).values()][0]!;
    expect(Buffer.compare(Buffer.from(st.s2c.bytes), expectS2c)).toBe(0);
  });

  it('reorder, duplicate and retransmit change the packets but not the streams', () => {
    const c = buildConnection(simpleSpec({ impair: { seed: 7, reorder: 0.2, duplicate: 0.2, retransmit: 0.1 } }));
    expect(c.counts.reordered).toBeGreaterThan(0);
    expect(c.counts.duplicated).toBeGreaterThan(0);
    expect(c.counts.retransmitted).toBeGreaterThan(0);
    expect(c.lost).toEqual([]);
    const seqs = c.packets.map((p) => parseFrame({ ...p, nanos: 0, iface: 0, linkType: 1, origLen: p.data.length })).filter((s) => s.payload.length > 0);
    // Sequence numbers going backwards (mod 2^32) within one direction.
    const outOfOrder = seqs.some((s, i) => seqs.slice(0, i).some((q) => q.sport === s.sport && ((s.seq - q.seq) | 0) < 0));
    expect(outOfOrder).toBe(true);
    const st = [...streamsOf(c.packets).values()][0]!;
    expect(Buffer.compare(Buffer.from(st.c2s.bytes), expectC2s)).toBe(0);
    expect(Buffer.compare(Buffer.from(st.s2c.bytes), expectS2c)).toBe(0);
    expect(c.packets.every((p, i) => i === 0 || p.ts >= c.packets[i - 1]!.ts)).toBe(true);
  });

  it('segments lost for good leave exactly the reported holes', () => {
    const c = buildConnection(simpleSpec({ impair: { seed: 3, lose: 0.3, dirs: ['c2s'] } }));
    expect(c.lost.length).toBeGreaterThan(0);
    const st = [...streamsOf(c.packets).values()][0]!;
    // A hole at the very end is invisible to a reader (the stream just looks shorter).
    const visible = c.lost.filter((l) => l.offset + l.length < c.bytes.c2s).map((l) => [l.offset, l.length]);
    const merged: number[][] = [];
    for (const [o, n] of visible) {
      const last = merged[merged.length - 1];
      if (last && last[0]! + last[1]! === o) last[1]! += n!;
      else merged.push([o!, n!]);
    }
    expect(st.c2s.holes).toEqual(merged);
  });

  it('mid-stream join (no handshake) and a server reset', () => {
    const c = buildConnection(simpleSpec({ handshake: false, close: 'server-rst' }));
    const segs = c.packets.map((p) => parseFrame({ ...p, nanos: 0, iface: 0, linkType: 1, origLen: p.data.length }));
    expect(segs.some((s) => s.flags & 0x02)).toBe(false);
    expect(segs[segs.length - 1]!.flags & 0x04).toBe(0x04);
    expect(segs[segs.length - 1]!.sport).toBe(80);
  });

  it('interleave merges connections by time, pulling each only when its start is reached', () => {
    const conns = Array.from({ length: 6 }, (_, i) => buildConnection(simpleSpec({ client: { ip: '10.1.2.3', port: 41000 + i }, start: T0 + i * 200_000 })));
    let pulled = 0;
    const lazy = (function* () {
      for (const c of conns) {
        pulled++;
        yield c;
      }
    })();
    const it = interleave(lazy);
    it.next();
    expect(pulled).toBeLessThan(3);
    const all = [it.next().value!, ...it];
    expect(all.length + 1).toBe(conns.reduce((n, c) => n + c.packets.length, 0));
    expect(all.every((p, i) => i === 0 || p.ts >= all[i - 1]!.ts)).toBe(true);
    expect(mergeConnections(conns).length).toBe(all.length + 1);
  });

  it('is deterministic for a seed', () => {
    const a = pcapBytes(buildConnection(simpleSpec({ impair: { reorder: 0.3 } })).packets);
    const b = pcapBytes(buildConnection(simpleSpec({ impair: { reorder: 0.3 } })).packets);
    expect(Buffer.compare(a, b)).toBe(0);
  });
});

describe('gzip pieces', () => {
  it('every prefix of pieces inflates to the prefix of the text (sync-flushed stream)', () => {
    const parts = ['data: {"a":1}\n\n', 'data: {"b":2}\n\n', 'data: [DONE]\n\n'].map((s) => enc.encode(s));
    const z = gzipPieces(parts);
    expect(dec.decode(gunzipSync(Buffer.concat(z)))).toBe(parts.map((p) => dec.decode(p)).join(''));
    for (let k = 1; k < parts.length; k++) {
      const prefix = gunzipSync(Buffer.concat(z.slice(0, k)), { finishFlush: 2 /* Z_SYNC_FLUSH */ });
      expect(dec.decode(prefix)).toBe(parts.slice(0, k).map((p) => dec.decode(p)).join(''));
    }
  });
});

/** What the wire says, read back with the test's own reader (a tiny decoder per API). */
interface WireFacts {
  requestModel: string | null;
  stream: boolean;
  toolsOffered: string[];
  responseModel: string | null;
  responseId: string | null;
  usageWire: Record<string, unknown> | null;
  finishReasonRaw: string | null;
  toolCalls: { id: string | null; name: string }[];
  outputText: string;
  errorType: string | null;
}

/** Path access into parsed JSON without casts at every step. */
function at(v: unknown, ...path: (string | number)[]): unknown {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const obj = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
const call = (id: unknown, name: unknown) => ({ id: str(id), name: str(name) ?? '' });

function readFacts(req: HttpMessage, res: HttpMessage, api: string): WireFacts {
  const rq: unknown = JSON.parse(dec.decode(req.body));
  const target = req.startLine.split(' ')[1]!;
  const f: WireFacts = { requestModel: null, stream: false, toolsOffered: [], responseModel: null, responseId: null, usageWire: null, finishReasonRaw: null, toolCalls: [], outputText: '', errorType: null };
  const body = dec.decode(res.body);
  const sse = httpHeader(res, 'content-type')?.startsWith('text/event-stream') ?? false;
  const events = sse ? parseSse(body) : [];
  const status = Number(res.startLine.split(' ')[1]);
  const err: unknown = status >= 400 ? JSON.parse(body) : null;
  const tools = arr(at(rq, 'tools'));
  f.requestModel = str(at(rq, 'model'));
  f.stream = at(rq, 'stream') === true;
  switch (api) {
    case 'openai.chat_completions': {
      f.toolsOffered = tools.map((t) => str(at(t, 'function', 'name')) ?? '');
      if (err) return { ...f, errorType: str(at(err, 'error', 'type')) };
      const chunks: unknown[] = sse ? events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as unknown) : [JSON.parse(body)];
      for (const c of chunks) {
        f.responseId ??= str(at(c, 'id'));
        f.responseModel ??= str(at(c, 'model'));
        if (obj(at(c, 'usage'))) f.usageWire = obj(at(c, 'usage'));
        for (const ch of arr(at(c, 'choices'))) {
          if (str(at(ch, 'finish_reason'))) f.finishReasonRaw = str(at(ch, 'finish_reason'));
          const d = at(ch, 'delta') ?? at(ch, 'message');
          f.outputText += str(at(d, 'content')) ?? '';
          for (const tc of arr(at(d, 'tool_calls'))) if (str(at(tc, 'function', 'name'))) f.toolCalls.push(call(at(tc, 'id'), at(tc, 'function', 'name')));
        }
      }
      return f;
    }
    case 'openai.responses': {
      f.toolsOffered = tools.map((t) => str(at(t, 'name')) ?? '');
      if (err) return { ...f, errorType: str(at(err, 'error', 'type')) };
      let final: unknown = sse ? null : JSON.parse(body);
      const items: unknown[] = [];
      for (const e of events) {
        const d: unknown = JSON.parse(e.data);
        if (e.event === 'response.created') f.responseId = str(at(d, 'response', 'id'));
        if (e.event === 'response.output_text.delta') f.outputText += str(at(d, 'delta')) ?? '';
        if (e.event === 'response.output_item.done') items.push(at(d, 'item'));
        if (e.event === 'response.completed' || e.event === 'response.incomplete') final = at(d, 'response');
      }
      const calls = (list: unknown[]) => list.filter((i) => at(i, 'type') === 'function_call').map((i) => call(at(i, 'call_id'), at(i, 'name')));
      if (final) {
        f.responseId = str(at(final, 'id'));
        f.responseModel = str(at(final, 'model'));
        f.usageWire = obj(at(final, 'usage'));
        f.finishReasonRaw = str(at(final, 'incomplete_details', 'reason')) ?? str(at(final, 'status'));
        // Codex's backend leaves the completed output empty: rebuild it from output_item.done.
        const out = arr(at(final, 'output')).length ? arr(at(final, 'output')) : items;
        if (!sse) f.outputText = out.filter((i) => at(i, 'type') === 'message').map((i) => str(at(i, 'content', 0, 'text')) ?? '').join('');
        f.toolCalls = calls(out);
      } else f.toolCalls = calls(items);
      return f;
    }
    case 'anthropic.messages': {
      f.toolsOffered = tools.map((t) => str(at(t, 'name')) ?? '');
      if (err) return { ...f, errorType: str(at(err, 'error', 'type')) };
      if (!sse) {
        const m: unknown = JSON.parse(body);
        const content = arr(at(m, 'content'));
        return {
          ...f,
          responseId: str(at(m, 'id')),
          responseModel: str(at(m, 'model')),
          usageWire: obj(at(m, 'usage')),
          finishReasonRaw: str(at(m, 'stop_reason')),
          outputText: content.filter((c) => at(c, 'type') === 'text').map((c) => str(at(c, 'text')) ?? '').join(''),
          toolCalls: content.filter((c) => at(c, 'type') === 'tool_use').map((c) => call(at(c, 'id'), at(c, 'name'))),
        };
      }
      for (const e of events) {
        const d: unknown = JSON.parse(e.data);
        if (e.event === 'message_start') {
          f.responseId = str(at(d, 'message', 'id'));
          f.responseModel = str(at(d, 'message', 'model'));
          f.usageWire = { ...obj(at(d, 'message', 'usage')) };
        }
        if (e.event === 'content_block_start' && at(d, 'content_block', 'type') === 'tool_use') f.toolCalls.push(call(at(d, 'content_block', 'id'), at(d, 'content_block', 'name')));
        if (e.event === 'content_block_delta' && at(d, 'delta', 'type') === 'text_delta') f.outputText += str(at(d, 'delta', 'text')) ?? '';
        if (e.event === 'message_delta') {
          f.finishReasonRaw = str(at(d, 'delta', 'stop_reason'));
          f.usageWire = { ...f.usageWire, ...obj(at(d, 'usage')) };
        }
        if (e.event === 'error') f.errorType = str(at(d, 'error', 'type'));
      }
      return f;
    }
    default: {
      const m = /models\/([^:]+):(\w+)/.exec(target)!;
      f.requestModel = m[1]!;
      f.stream = m[2] === 'streamGenerateContent';
      f.toolsOffered = tools.flatMap((t) => arr(at(t, 'functionDeclarations')).map((d) => str(at(d, 'name')) ?? ''));
      if (err) return { ...f, errorType: str(at(err, 'error', 'status')) };
      let chunks: unknown[];
      if (sse) chunks = events.map((e) => JSON.parse(e.data) as unknown);
      else if (body.startsWith('[')) chunks = res.complete ? arr(JSON.parse(body)) : [];
      else chunks = [JSON.parse(body)];
      for (const c of chunks) {
        f.responseId = str(at(c, 'responseId'));
        f.responseModel = str(at(c, 'modelVersion'));
        if (obj(at(c, 'usageMetadata'))) f.usageWire = obj(at(c, 'usageMetadata'));
        if (str(at(c, 'candidates', 0, 'finishReason'))) f.finishReasonRaw = str(at(c, 'candidates', 0, 'finishReason'));
        for (const p of arr(at(c, 'candidates', 0, 'content', 'parts'))) {
          if (typeof at(p, 'text') === 'string' && !at(p, 'thought')) f.outputText += str(at(p, 'text'));
          if (at(p, 'functionCall')) f.toolCalls.push(call(null, at(p, 'functionCall', 'name')));
        }
      }
      return f;
    }
  }
}

function checkSession(s: Session): void {
  const streams = streamsOf(s.connection.packets);
  expect(streams.size).toBe(1);
  const st = [...streams.values()][0]!;
  const reqs = parseHttp(st.c2s.bytes);
  const ress = parseHttp(st.s2c.bytes);
  expect(reqs.length).toBe(s.exchanges.length);
  s.exchanges.forEach((ex, i) => {
    const e = ex.expected;
    const req = reqs[i]!;
    const res = ress[i]!;
    expect(req.startLine).toBe(`POST ${e.target} HTTP/1.1`);
    expect(httpHeader(req, 'host')).toBe(e.host);
    expect(req.body.length).toBe(e.requestBodyBytes);
    expect(req.headers.some(([, v]) => v.includes(e.apiKey))).toBe(true);
    expect(Number(res.startLine.split(' ')[1])).toBe(e.statusCode);
    expect(res.complete).toBe(!e.interrupted);
    expect(httpHeader(res, 'content-encoding') ?? null).toBe(e.contentEncoding);
    const w = readFacts(req, res, e.api);
    expect(w.requestModel).toBe(e.requestModel);
    expect(w.stream).toBe(e.stream);
    expect(w.toolsOffered).toEqual(e.toolsOffered);
    expect(w.errorType).toBe(e.error?.type ?? null);
    if (e.statusCode !== 200) return;
    expect(w.responseId).toBe(e.responseId);
    if (!e.interrupted || e.api === 'anthropic.messages') expect(w.responseModel).toBe(e.responseModel);
    expect(w.usageWire).toEqual(e.usageWire);
    expect(w.finishReasonRaw).toBe(e.finishReasonRaw);
    expect(w.toolCalls).toEqual(e.toolCalls);
    if (e.api !== 'gemini.generate_content' || !e.interrupted) expect(w.outputText).toBe(e.outputText);
    // Timing facts are ordered and taken from packets that exist.
    const times = new Set(s.connection.packets.map((p) => p.ts));
    expect(times.has(e.requestStart)).toBe(true);
    expect(e.responseStart! > e.requestStart).toBe(true);
    if (e.stream && !e.interrupted) {
      expect(times.has(e.firstEventAt!)).toBe(true);
      expect(e.responseStart! <= e.firstEventAt!).toBe(true);
      expect(e.firstEventAt! <= e.lastEventAt!).toBe(true);
      expect(e.lastEventAt! <= e.responseEnd!).toBe(true);
    } else if (!e.stream) {
      expect(e.firstEventAt).toBeNull();
    }
  });
}

const variants: [string, Omit<ExchangeOptions, 'at' | 'api'>][] = [
  ['stream', {}],
  ['stream with tool calls, thinking and cache', { toolCalls: 3, thinking: true, cache: true }],
  ['non-stream', { stream: false }],
  ['non-stream tool call, gzip', { stream: false, toolCalls: 1, gzip: true }],
  ['stream gzip, Content-Length framing', { gzip: true, framing: 'content-length' }],
  ['stream, close-delimited', { framing: 'close' }],
  ['max tokens', { maxTokens: true }],
  ['HTTP 429', { errorStatus: 429 }],
  ['interrupted stream', { interruptAfter: 0.4 }],
];

describe('llm traffic: the wire agrees with the expected facts', () => {
  for (const api of APIS) {
    for (const [name, v] of variants) {
      it(`${api}: ${name}`, () => {
        const close = v.framing === 'close' ? ({ close: 'server-fin' } as const) : {};
        checkSession(buildSession({ seed: 11, client: { ip: '10.0.0.9', port: 50123 }, start: T0, calls: [{ api, requestBytes: 12_000, ...v }], tcp: close }));
      });
    }
  }

  it('OpenAI chat stream without include_usage states no usage', () => {
    const s = buildSession({ seed: 5, client: { ip: '10.0.0.9', port: 50124 }, start: T0, calls: [{ api: 'openai.chat_completions', includeUsage: false }] });
    expect(s.exchanges[0]!.expected.usageWire).toBeNull();
    checkSession(s);
  });

  it('Gemini JSON-array stream', () => {
    const s = buildSession({ seed: 6, client: { ip: '10.0.0.9', port: 50125 }, start: T0, calls: [{ api: 'gemini.generate_content', geminiStream: 'json-array', toolCalls: 1 }] });
    expect(s.exchanges[0]!.expected.target).not.toContain('alt=sse');
    checkSession(s);
  });

  it('Anthropic in-stream overloaded_error', () => {
    const s = buildSession({ seed: 8, client: { ip: '10.0.0.9', port: 50126 }, start: T0, calls: [{ api: 'anthropic.messages', inStreamError: true, outputTokens: 50 }] });
    expect(s.exchanges[0]!.expected.error?.type).toBe('overloaded_error');
    expect(s.exchanges[0]!.expected.finishReasonRaw).toBeNull();
    checkSession(s);
  });

  it('keep-alive sessions with several calls, and impairments move event times to the retransmits', () => {
    const calls = APIS.map((api) => ({ api, requestBytes: 8_000 }));
    const clean = buildSession({ seed: 9, client: { ip: '10.0.0.9', port: 50127 }, start: T0, calls });
    checkSession(clean);
    const rough = buildSession({ seed: 9, client: { ip: '10.0.0.9', port: 50127 }, start: T0, calls, tcp: { impair: { seed: 2, retransmit: 0.2, reorder: 0.1, duplicate: 0.1 } } });
    checkSession(rough);
    const moved = rough.exchanges.filter((e, i) => e.expected.firstEventAt !== clean.exchanges[i]!.expected.firstEventAt || e.expected.lastEventAt !== clean.exchanges[i]!.expected.lastEventAt);
    expect(moved.length).toBeGreaterThan(0);
  });

  it('agent-sized requests: 50–200 KB bodies with a long system prompt, many messages and tools', () => {
    for (const [i, api] of APIS.entries()) {
      for (const size of [50_000, 200_000]) {
        const ex = generateExchange(new Rng(i), { api, at: T0, requestBytes: size });
        expect(ex.expected.requestBodyBytes).toBeGreaterThan(size * 0.9);
        expect(ex.expected.requestBodyBytes).toBeLessThan(size * 1.25);
        expect(ex.expected.toolsOffered.length).toBeGreaterThanOrEqual(6);
      }
    }
  });

  it('realistic stream timing: TTFT of hundreds of ms, tens of ms between tokens', () => {
    const ex = generateExchange(new Rng(4), { api: 'openai.chat_completions', at: T0, outputTokens: 200 });
    const ttft = ex.expected.firstEventAt! - ex.expected.requestStart;
    expect(ttft).toBeGreaterThan(100_000);
    expect(ttft).toBeLessThan(3_000_000);
    const perToken = (ex.expected.lastEventAt! - ex.expected.firstEventAt!) / 200;
    expect(perToken).toBeGreaterThan(5_000);
    expect(perToken).toBeLessThan(100_000);
  });

  it('is deterministic: same seed, same bytes and facts; another seed differs', () => {
    const mk = (seed: number) => {
      const s = buildSession({ seed, client: { ip: '10.0.0.9', port: 50130 }, start: T0, calls: [{ api: 'anthropic.messages', thinking: true, gzip: true }] });
      return { bytes: pcapBytes(s.connection.packets), facts: s.exchanges.map((e) => e.expected) };
    };
    const a = mk(1);
    expect(Buffer.compare(a.bytes, mk(1).bytes)).toBe(0);
    expect(a.facts).toEqual(mk(1).facts);
    expect(Buffer.compare(a.bytes, mk(2).bytes)).not.toBe(0);
  });
});

describe.skipIf(!hasTshark)('tshark agrees', () => {
  it('decodes every request and response, finds no bad checksum and no malformed packet', () => {
    const sessions = APIS.map((api, i) =>
      buildSession({ seed: 20 + i, client: { ip: '10.0.0.7', port: 52000 + i }, start: T0 + i * 10_000, calls: [{ api, requestBytes: 30_000 }, { api, stream: false, gzip: true }] }),
    );
    const file = save('tshark.pcapng', pcapBytes(mergeConnections(sessions.map((s) => s.connection)), { kind: 'pcapng' }));
    const lines = tshark(['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', 'http', '-T', 'fields', '-e', 'http.request.uri', '-e', 'http.response.code']).trim().split('\n');
    const uris = lines.map((l) => l.split('\t')[0]).filter((u) => u);
    expect(uris.sort()).toEqual(sessions.flatMap((s) => s.exchanges.map((e) => e.expected.target)).sort());
    expect(lines.filter((l) => l.split('\t')[1] === '200').length).toBe(8);
    const bad = tshark(['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE', '-Y', 'tcp.checksum.status == "Bad" || ip.checksum.status == "Bad" || _ws.malformed || _ws.expert.severity == error']);
    expect(bad.trim()).toBe('');
  });
});

describe('examples/demo.pcap', () => {
  const bytes = demoPcap();

  it('is small, reproducible, and the committed file is up to date', () => {
    expect(bytes.length).toBeLessThan(300 * 1024);
    expect(Buffer.compare(bytes, demoPcap())).toBe(0);
    const committed = join(findRepoRoot(), DEMO_PATH);
    if (existsSync(committed)) expect(Buffer.compare(readFileSync(committed), bytes), 'examples/demo.pcap is stale: run node dist/test/gen/make-example.js').toBe(0);
  });

  it('holds the four APIs, a 429, an interrupted stream and placeholder secrets', () => {
    const cap = readCapture(bytes);
    const streams = reassemble(cap.packets.map(parseFrame));
    const reqs = [...streams.values()].flatMap((s) => parseHttp(s.c2s.bytes));
    const ress = [...streams.values()].flatMap((s) => parseHttp(s.s2c.bytes));
    expect(new Set(reqs.map((r) => r.startLine.split(' ')[1]!.split(/[?:]/)[0]))).toEqual(
      new Set(['/v1/messages', '/v1/chat/completions', '/v1/responses', '/v1beta/models/gemini-2.5-flash']),
    );
    expect(ress.map((r) => r.startLine)).toContain('HTTP/1.1 429 Too Many Requests');
    expect(ress.filter((r) => !r.complete).length).toBe(1);
    expect(reqs.some((r) => httpHeader(r, 'authorization')?.startsWith('Bearer sk-demo-'))).toBe(true);
    expect(reqs.some((r) => httpHeader(r, 'x-api-key')?.startsWith('sk-ant-api03-demo-'))).toBe(true);
  });

  it.skipIf(!hasTcpdump)('tcpdump reads it', () => {
    expect(tcpdumpCount(save('demo.pcap', bytes))).toBe(readCapture(bytes).packets.length);
  });
});

describe('streamed capture files', () => {
  it('openCaptureFile writes the same bytes as pcapBytes', () => {
    const c = buildConnection(simpleSpec());
    const path = join(dir, 'open.pcap');
    const w = openCaptureFile(path);
    for (const p of c.packets) w.writePacket(p);
    w.close();
    expect(Buffer.compare(readFileSync(path), pcapBytes(c.packets))).toBe(0);
  });
});

