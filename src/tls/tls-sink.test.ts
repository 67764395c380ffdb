import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { delivered, Dir, gaps, RecordingSinks } from '../reassembly/test-helpers.test-support.js';
import type { ConnectionInfo, StreamSink } from '../reassembly/types.js';
import { KeyLog } from './keylog.js';
import { tls12KeyBlock } from './keys.js';
import { tls12Suite, type Tls12AeadSuite } from './suites.js';
import {
  CCS,
  clientHello,
  concat,
  FINISHED,
  handshake,
  record,
  serverHello,
  text,
  tls12Conversation,
  tls13Conversation,
  Tls12Sealer,
  type Conversation,
} from './test-builders.test-support.js';
import { createTlsSink, type UndecryptedFacts } from './tls-sink.js';

const INFO: ConnectionInfo = { id: 'c1', client: { ip: '10.0.0.1', port: 50000 }, server: { ip: '10.0.0.2', port: 443 }, rolesGuessed: false };

interface Run {
  sink: StreamSink;
  inner: RecordingSinks;
  alpns: (string | null)[];
  undecrypted: UndecryptedFacts[];
  anomalies: AnomalyCounter;
}

function makeSink(keys: KeyLog, info: ConnectionInfo = { ...INFO }): Run {
  const anomalies = new AnomalyCounter();
  const inner = new RecordingSinks();
  const alpns: (string | null)[] = [];
  const undecrypted: UndecryptedFacts[] = [];
  const sink = createTlsSink(info, {
    keys,
    anomalies,
    inner: (i, alpn) => {
      alpns.push(alpn);
      return inner.factory(i);
    },
    onUndecrypted: (_i, f) => undecrypted.push(f),
  });
  return { sink, inner, alpns, undecrypted, anomalies };
}

function keysFor(conv: Conversation): KeyLog {
  const keys = new KeyLog();
  keys.addText(conv.keylog);
  return keys;
}

/** Feeds the records in send order, each record its own chunk with ts = its index, then closes. */
function replay(run: Run, conv: Conversation, dirOf = (from: 'client' | 'server'): Dir => (from === 'client' ? Dir.ClientToServer : Dir.ServerToClient)): Run {
  conv.wire.forEach((w, k) => run.sink.onData(dirOf(w.from), w.bytes, k));
  run.sink.onClose(conv.wire.length, 'fin');
  return run;
}

const up = (run: Run): string => Buffer.from(delivered(run.inner.get(0), Dir.ClientToServer)).toString('latin1');
const down = (run: Run): string => Buffer.from(delivered(run.inner.get(0), Dir.ServerToClient)).toString('latin1');

const REQUEST = 'POST /v1/messages HTTP/1.1\r\nHost: api.example.test\r\nContent-Length: 2\r\n\r\n{}';
const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello';

describe('TLS sink: decryption', () => {
  it.each([
    ['TLS_AES_128_GCM_SHA256', 0x1301],
    ['TLS_AES_256_GCM_SHA384', 0x1302],
    ['TLS_CHACHA20_POLY1305_SHA256', 0x1303],
    ['TLS_AES_128_CCM_SHA256', 0x1304],
    ['TLS_AES_128_CCM_8_SHA256', 0x1305],
  ])('TLS 1.3 %s: application bytes both ways, ALPN from EncryptedExtensions, ts of each record', (_n, suite) => {
    const conv = tls13Conversation({ suite, alpn: 'h2', messages: [{ from: 'client', data: text(REQUEST) }, { from: 'server', data: text(RESPONSE) }] });
    const run = replay(makeSink(keysFor(conv)), conv);
    expect(up(run)).toBe(REQUEST);
    expect(down(run)).toBe(RESPONSE);
    expect(run.alpns).toEqual(['h2']);
    expect(run.undecrypted).toEqual([]);
    expect(run.anomalies.entries()).toEqual([]);
    const data = run.inner.get(0).events.filter((e) => e.kind === 'data');
    const requestAt = conv.wire.findIndex((w, k) => w.from === 'client' && k > 0 && k === conv.wire.length - 2);
    expect(data.map((e) => e.ts)).toEqual([requestAt, conv.wire.length - 1]);
    expect(run.inner.get(0).events.at(-1)).toEqual({ kind: 'close', ts: conv.wire.length, reason: 'fin' });
  });

  it.each([
    ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 0xc02f],
    ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 0xc030],
    ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 0xcca9],
    ['TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8', 0xc0ae],
  ])('TLS 1.2 %s: application bytes both ways, ALPN from ServerHello', (_n, suite) => {
    const conv = tls12Conversation({ suite, alpn: 'http/1.1', messages: [{ from: 'client', data: text(REQUEST) }, { from: 'server', data: text(RESPONSE) }] });
    const run = replay(makeSink(keysFor(conv)), conv);
    expect(up(run)).toBe(REQUEST);
    expect(down(run)).toBe(RESPONSE);
    expect(run.alpns).toEqual(['http/1.1']);
    expect(run.anomalies.entries()).toEqual([]);
  });

  it('TLS 1.2 without ALPN: the inner sink is made with null', () => {
    const conv = tls12Conversation({ messages: [{ from: 'client', data: text(REQUEST) }] });
    const run = replay(makeSink(keysFor(conv)), conv);
    expect(run.alpns).toEqual([null]);
    expect(up(run)).toBe(REQUEST);
  });

  it('TLS 1.3 KeyUpdate: the server direction goes on with the next secret', () => {
    const conv = tls13Conversation({
      messages: [{ from: 'server', data: text('one') }, { from: 'server', data: text('two') }, { from: 'server', data: text('three') }],
      serverKeyUpdateBefore: 1,
    });
    const run = replay(makeSink(keysFor(conv)), conv);
    expect(down(run)).toBe('onetwothree');
    expect(run.anomalies.entries()).toEqual([]);
  });

  it('TLS 1.2 resumption by session id decrypts with the remembered master secret (no key log line)', () => {
    const first = tls12Conversation({ messages: [{ from: 'client', data: text('first') }] });
    const keys = keysFor(first);
    expect(up(replay(makeSink(keys), first))).toBe('first');
    const second = tls12Conversation({ messages: [{ from: 'client', data: text('second') }], resume: { sessionId: first.sessionId, masterSecret: first.masterSecret } });
    expect(keys.lookup(second.clientRandom)).toBeUndefined();
    const run = replay(makeSink(keys), second);
    expect(up(run)).toBe('second');
    expect(run.undecrypted).toEqual([]);
  });

  it('TLS 1.2 renegotiation: the new handshake under the old keys, then the new keys from its own CLIENT_RANDOM line', () => {
    const suite = tls12Suite(0xc02f) as Tls12AeadSuite;
    const rand = (b: number): Uint8Array => new Uint8Array(32).fill(b);
    const [cr1, sr1, cr2, sr2] = [rand(1), rand(2), rand(3), rand(4)];
    const [ms1, ms2] = [new Uint8Array(48).fill(5), new Uint8Array(48).fill(6)];
    const k1 = tls12KeyBlock(suite, 0x0303, ms1, cr1, sr1);
    const k2 = tls12KeyBlock(suite, 0x0303, ms2, cr2, sr2);
    const [c1, s1, c2, s2] = [new Tls12Sealer(suite, k1.client), new Tls12Sealer(suite, k1.server), new Tls12Sealer(suite, k2.client), new Tls12Sealer(suite, k2.server)];
    const shFlight = (sr: Uint8Array): Uint8Array => concat([serverHello({ random: sr, suite: suite.id }), handshake(11, new Uint8Array(100)), handshake(14, new Uint8Array(0))]);
    const wire: Conversation['wire'] = [
      { from: 'client', bytes: record(22, clientHello({ random: cr1, suites: [suite.id] })) },
      { from: 'server', bytes: record(22, shFlight(sr1)) },
      { from: 'client', bytes: concat([record(22, handshake(16, new Uint8Array(33))), CCS, c1.seal(22, FINISHED(12))]) },
      { from: 'server', bytes: concat([CCS, s1.seal(22, FINISHED(12))]) },
      { from: 'client', bytes: c1.seal(23, text('before ')) },
      { from: 'client', bytes: c1.seal(22, clientHello({ random: cr2, suites: [suite.id] })) },
      { from: 'server', bytes: s1.seal(22, shFlight(sr2)) },
      { from: 'client', bytes: concat([c1.seal(22, handshake(16, new Uint8Array(33))), c1.seal(20, Uint8Array.of(1)), c2.seal(22, FINISHED(12))]) },
      { from: 'server', bytes: concat([s1.seal(20, Uint8Array.of(1)), s2.seal(22, FINISHED(12))]) },
      { from: 'client', bytes: c2.seal(23, text('after')) },
      { from: 'server', bytes: s2.seal(23, text('reply')) },
    ];
    const keys = new KeyLog();
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    keys.addText(`CLIENT_RANDOM ${hex(cr1)} ${hex(ms1)}\nCLIENT_RANDOM ${hex(cr2)} ${hex(ms2)}\n`);
    const run = replay(makeSink(keys), { client: [], server: [], wire, keylog: '', clientRandom: cr1 });
    expect([up(run), down(run)]).toEqual(['before after', 'reply']);
    expect(run.anomalies.entries()).toEqual([]);
  });

  it('roles come from the ClientHello: reassembly guessed them the wrong way round', () => {
    const conv = tls13Conversation({ alpn: 'http/1.1', messages: [{ from: 'client', data: text(REQUEST) }, { from: 'server', data: text(RESPONSE) }] });
    const guessed: ConnectionInfo = { id: 'c2', client: INFO.server, server: INFO.client, rolesGuessed: true };
    const run = replay(makeSink(keysFor(conv), guessed), conv, (from) => (from === 'client' ? Dir.ServerToClient : Dir.ClientToServer));
    expect(run.inner.get(0).info).toEqual({ id: 'c2', client: INFO.client, server: INFO.server, rolesGuessed: false });
    expect(up(run)).toBe(REQUEST);
    expect(down(run)).toBe(RESPONSE);
  });

  it.each([
    ['TLS 1.3', (): Conversation => tls13Conversation({ alpn: 'h2', messages: [{ from: 'client', data: text('PRI * HTTP/2.0') }] })],
    ['TLS 1.2', (): Conversation => tls12Conversation({ alpn: 'h2', messages: [{ from: 'client', data: text('PRI * HTTP/2.0') }] })],
  ])('%s: the client stream delivered ahead of the server\'s: held until the ServerHello, handed on once ALPN is known', (_v, make) => {
    const conv = make();
    const run = makeSink(keysFor(conv));
    // The client's whole stream first (reassembly delivered it ahead), then the server's.
    conv.client.forEach((b, k) => run.sink.onData(Dir.ClientToServer, b, k));
    conv.server.forEach((b, k) => run.sink.onData(Dir.ServerToClient, b, 10 + k));
    run.sink.onClose(20, 'fin');
    expect(run.alpns).toEqual(['h2']);
    expect(up(run)).toBe('PRI * HTTP/2.0');
    expect(run.inner.get(0).events[0]).toMatchObject({ kind: 'data', ts: conv.client.length - 1 });
  });
});

describe('TLS sink: split invariance', () => {
  it('the same plaintext and capture times whatever the segmentation (every split offset, byte by byte)', () => {
    const conv = tls13Conversation({
      alpn: 'http/1.1',
      messages: [{ from: 'client', data: text(REQUEST) }, { from: 'server', data: text(RESPONSE) }, { from: 'server', data: text('more') }],
    });
    const keys = keysFor(conv);
    const clientHelloRec = conv.client[0]!;
    const clientRest = concat(conv.client.slice(1));
    const server = concat(conv.server);
    // Where each server record ends in the server stream.
    const ends: number[] = [];
    let at = 0;
    for (const r of conv.server) ends.push((at += r.length));
    const appEnds = ends.slice(-2);

    const feed = (serverChunks: { bytes: Uint8Array; ts: number }[]): Run => {
      const run = makeSink(keys);
      run.sink.onData(Dir.ClientToServer, clientHelloRec, 0);
      for (const c of serverChunks) run.sink.onData(Dir.ServerToClient, c.bytes, c.ts);
      run.sink.onData(Dir.ClientToServer, clientRest, 5000);
      run.sink.onClose(6000, 'fin');
      return run;
    };
    const serverData = (run: Run): { text: string; ts: number }[] =>
      run.inner
        .get(0)
        .events.flatMap((e) => (e.kind === 'data' && e.dir === Dir.ServerToClient ? [{ text: Buffer.from(e.data).toString('latin1'), ts: e.ts }] : []));

    const whole = feed([{ bytes: server, ts: 1 }]);
    expect(down(whole)).toBe(`${RESPONSE}more`);
    expect(up(whole)).toBe(REQUEST);
    for (let k = 0; k <= server.length; k++) {
      const run = feed([
        { bytes: server.subarray(0, k), ts: 1 },
        { bytes: server.subarray(k), ts: 2 },
      ]);
      expect(serverData(run).map((d) => d.text), `split at ${k}`).toEqual([RESPONSE, 'more']);
      expect(serverData(run).map((d) => d.ts), `ts, split at ${k}`).toEqual(appEnds.map((e) => (e <= k ? 1 : 2)));
      expect(up(run), `split at ${k}`).toBe(REQUEST);
      expect(run.anomalies.entries()).toEqual([]);
    }
    const bytewise = feed(Array.from(server, (_b, k) => ({ bytes: server.subarray(k, k + 1), ts: 100 + k })));
    expect(serverData(bytewise)).toEqual([
      { text: RESPONSE, ts: 100 + appEnds[0]! - 1 },
      { text: 'more', ts: 100 + appEnds[1]! - 1 },
    ]);
  });
});

describe('TLS sink: what cannot be decrypted is reported, never dropped silently', () => {
  it('no keys: reported once with SNI, ALPN offered, version and suite; tls_no_keys; no inner sink', () => {
    const conv = tls13Conversation({ suite: 0x1302, alpn: 'h2', sni: 'api.anthropic.com', messages: [{ from: 'client', data: text(REQUEST) }] });
    const run = replay(makeSink(new KeyLog()), conv);
    expect(run.undecrypted).toEqual([{ sni: 'api.anthropic.com', alpn: ['h2'], version: 'TLS 1.3', cipher: 'TLS_AES_256_GCM_SHA384', reason: 'no_keys' }]);
    expect(run.anomalies.entries()).toEqual([['tls_no_keys', 1]]);
    expect(run.inner.conns).toEqual([]);
  });

  it('TLS 1.2 without keys: reported at the ChangeCipherSpec', () => {
    const conv = tls12Conversation({ alpn: 'h2', messages: [{ from: 'client', data: text(REQUEST) }] });
    const run = replay(makeSink(new KeyLog()), conv);
    expect(run.undecrypted).toEqual([{ sni: null, alpn: ['h2', 'http/1.1'], version: 'TLS 1.2', cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', reason: 'no_keys' }]);
    expect(run.anomalies.entries()).toEqual([['tls_no_keys', 1]]);
  });

  it('wrong keys: decrypt_failed', () => {
    const conv = tls13Conversation({ messages: [{ from: 'client', data: text(REQUEST) }] });
    const other = tls13Conversation({ messages: [] });
    const keys = new KeyLog();
    // The other connection's secrets under this connection's client random.
    keys.addText(other.keylog.replaceAll(Buffer.from(other.clientRandom).toString('hex'), Buffer.from(conv.clientRandom).toString('hex')));
    const run = replay(makeSink(keys), conv);
    expect(run.undecrypted.map((u) => u.reason)).toEqual(['decrypt_failed']);
    expect(run.anomalies.get('tls_decrypt_failed')).toBe(1);
  });

  it('unsupported cipher suite: reported with its number', () => {
    const random = new Uint8Array(32).fill(1);
    const run = makeSink(new KeyLog());
    run.sink.onData(Dir.ClientToServer, record(22, clientHello({ random, suites: [0x0005], sni: 'old.example' })), 1);
    run.sink.onData(Dir.ServerToClient, record(22, serverHello({ random, suite: 0x0005 })), 2);
    run.sink.onClose(3, 'fin');
    expect(run.undecrypted).toEqual([{ sni: 'old.example', alpn: [], version: 'TLS 1.2', cipher: '0x0005', reason: 'unsupported_cipher' }]);
  });

  it('joined mid-stream (application data, no ClientHello): mid_stream', () => {
    const conv = tls13Conversation({ messages: [{ from: 'client', data: text(REQUEST) }] });
    const run = makeSink(keysFor(conv));
    run.sink.onData(Dir.ClientToServer, conv.client.at(-1)!, 1);
    run.sink.onData(Dir.ClientToServer, conv.client.at(-1)!, 2);
    run.sink.onClose(3, 'fin');
    expect(run.undecrypted).toEqual([{ sni: null, alpn: [], version: null, cipher: null, reason: 'mid_stream' }]);
    expect(run.anomalies.entries()).toEqual([['tls_mid_stream', 1]]);
  });

  it('a record that fails to authenticate after data flowed stops that direction only and tells the inner sink', () => {
    const conv = tls13Conversation({
      messages: [{ from: 'server', data: text('ok') }, { from: 'server', data: text('tampered') }, { from: 'client', data: text('still here') }],
    });
    const bad = conv.wire.findIndex((w) => w.bytes === conv.server.at(-1));
    const tampered = Uint8Array.from(conv.wire[bad]!.bytes);
    tampered[tampered.length - 1]! ^= 1;
    conv.wire[bad] = { from: 'server', bytes: tampered };
    const run = replay(makeSink(keysFor(conv)), conv);
    expect(down(run)).toBe('ok');
    expect(up(run)).toBe('still here');
    expect(run.anomalies.get('tls_decrypt_failed')).toBe(1);
    expect(gaps(run.inner.get(0), Dir.ServerToClient)).toEqual([{ bytes: tampered.length - 5, ts: bad }]);
    expect(run.undecrypted).toEqual([]);
  });

  it('a TCP gap inside TLS: tls_gap, that direction stops, the inner sink gets the gap, the other goes on', () => {
    const conv = tls13Conversation({ messages: [{ from: 'server', data: text('before') }, { from: 'server', data: text('after') }, { from: 'client', data: text('up') }] });
    const run = makeSink(keysFor(conv));
    const afterIdx = conv.wire.findIndex((w) => w.bytes === conv.server.at(-1));
    conv.wire.forEach((w, k) => {
      if (k === afterIdx) run.sink.onGap(Dir.ServerToClient, 100, k);
      run.sink.onData(w.from === 'client' ? Dir.ClientToServer : Dir.ServerToClient, w.bytes, k);
    });
    run.sink.onClose(99, 'fin');
    expect(down(run)).toBe('before');
    expect(up(run)).toBe('up');
    expect(run.anomalies.get('tls_gap')).toBe(1);
    expect(gaps(run.inner.get(0), Dir.ServerToClient)).toEqual([{ bytes: 100, ts: afterIdx }]);
  });

  it('a record longer than the cap: tls_record_too_large, nothing buffered beyond it', () => {
    const run = makeSink(new KeyLog());
    run.sink.onData(Dir.ClientToServer, Uint8Array.of(22, 3, 1, 0xff, 0xff, 1, 2, 3), 1);
    run.sink.onClose(2, 'fin');
    expect(run.anomalies.get('tls_record_too_large')).toBe(1);
    expect(run.undecrypted.map((u) => u.reason)).toEqual(['mid_stream']);
  });
});

describe('TLS sink: keys that arrive after the handshake (followed key log)', () => {
  it('holds the ciphertext until the key log names the connection, then decrypts all of it in order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmtap-tls-'));
    const file = join(dir, 'keys.log');
    writeFileSync(file, '');
    const keys = new KeyLog();
    const follower = keys.followFile(file, { intervalMs: 3_600_000, watch: false });
    await follower.ready;
    try {
      const conv = tls13Conversation({ alpn: 'http/1.1', messages: [{ from: 'client', data: text(REQUEST) }, { from: 'server', data: text(RESPONSE) }] });
      const run = makeSink(keys);
      const last = conv.wire.length - 1;
      conv.wire.slice(0, last).forEach((w, k) => run.sink.onData(w.from === 'client' ? Dir.ClientToServer : Dir.ServerToClient, w.bytes, k));
      expect(run.inner.conns).toEqual([]);
      expect(run.undecrypted).toEqual([]);
      appendFileSync(file, conv.keylog);
      await follower.poll();
      run.sink.onData(Dir.ServerToClient, conv.wire[last]!.bytes, last);
      run.sink.onClose(last + 1, 'fin');
      expect(up(run)).toBe(REQUEST);
      expect(down(run)).toBe(RESPONSE);
      expect(run.anomalies.entries()).toEqual([]);
    } finally {
      follower.stop();
    }
    expect(keys.mayGrow).toBe(false);
  });

  it('TLS 1.3 application secrets logged after the handshake ones: the data waits for them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmtap-tls-'));
    const file = join(dir, 'keys.log');
    const conv = tls13Conversation({ messages: [{ from: 'client', data: text(REQUEST) }, { from: 'server', data: text(RESPONSE) }] });
    const [handshakeLines, trafficLines] = [conv.keylog.split('\n').slice(0, 2).join('\n') + '\n', conv.keylog.split('\n').slice(2).join('\n')];
    writeFileSync(file, handshakeLines);
    const keys = new KeyLog();
    const follower = keys.followFile(file, { intervalMs: 3_600_000, watch: false });
    await follower.ready;
    try {
      const run = makeSink(keys);
      const last = conv.wire.length - 1;
      conv.wire.slice(0, last).forEach((w, k) => run.sink.onData(w.from === 'client' ? Dir.ClientToServer : Dir.ServerToClient, w.bytes, k));
      expect(run.inner.conns).toEqual([]);
      appendFileSync(file, trafficLines);
      await follower.poll();
      run.sink.onData(Dir.ServerToClient, conv.wire[last]!.bytes, last);
      run.sink.onClose(last + 1, 'fin');
      expect([up(run), down(run)]).toEqual([REQUEST, RESPONSE]);
      expect(run.anomalies.entries()).toEqual([]);
    } finally {
      follower.stop();
    }
  });

  it('gives up (no_keys) once more ciphertext than the cap waits, without waiting for the close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmtap-tls-'));
    const keys = new KeyLog();
    const follower = keys.followFile(join(dir, 'absent.log'), { intervalMs: 3_600_000, watch: false });
    await follower.ready;
    try {
      const big = new Uint8Array(16_000).fill(0x61);
      const conv = tls13Conversation({ messages: Array.from({ length: 20 }, () => ({ from: 'server' as const, data: big })) });
      const run = makeSink(keys);
      conv.wire.forEach((w, k) => run.sink.onData(w.from === 'client' ? Dir.ClientToServer : Dir.ServerToClient, w.bytes, k));
      expect(run.undecrypted.map((u) => u.reason)).toEqual(['no_keys']);
    } finally {
      follower.stop();
    }
  });

  it('still no keys at close: reported as no_keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmtap-tls-'));
    const keys = new KeyLog();
    const follower = keys.followFile(join(dir, 'absent.log'), { intervalMs: 3_600_000, watch: false });
    await follower.ready;
    try {
      const conv = tls12Conversation({ messages: [{ from: 'client', data: text(REQUEST) }] });
      const run = replay(makeSink(keys), conv);
      expect(run.undecrypted.map((u) => u.reason)).toEqual(['no_keys']);
    } finally {
      follower.stop();
    }
  });
});

describe('TLS sink: untrusted input', () => {
  it('never throws on garbage, alone or after a real handshake prefix', () => {
    const conv = tls13Conversation({ messages: [{ from: 'client', data: text(REQUEST) }] });
    const keys = keysFor(conv);
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 300 })), { maxLength: 12 }),
        (withPrefix, chunks) => {
          const run = makeSink(keys);
          if (withPrefix) run.sink.onData(Dir.ClientToServer, conv.client[0]!, 0);
          chunks.forEach(([c2s, b], k) => run.sink.onData(c2s ? Dir.ClientToServer : Dir.ServerToClient, b, k));
          run.sink.onGap(Dir.ServerToClient, 10, 99);
          run.sink.onClose(100, 'eof');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws on records with valid headers and random bodies (types 20-24)', () => {
    const conv = tls12Conversation({ messages: [] });
    const keys = keysFor(conv);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 20, max: 24 }), fc.uint8Array({ maxLength: 200 }), fc.boolean()), { maxLength: 10 }), (recs) => {
        const run = makeSink(keys);
        run.sink.onData(Dir.ClientToServer, conv.client[0]!, 0);
        run.sink.onData(Dir.ServerToClient, conv.server[0]!, 1);
        recs.forEach(([t, body, c2s], k) => run.sink.onData(c2s ? Dir.ClientToServer : Dir.ServerToClient, record(t, body), k + 2));
        run.sink.onClose(100, 'eof');
      }),
      { numRuns: 300 },
    );
  });
});
