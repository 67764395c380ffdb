/**
 * TLS 1.3 handshake variants through the sink: HelloRetryRequest, 0-RTT early data accepted
 * (CLIENT_EARLY_TRAFFIC_SECRET) and rejected (the records are skipped, as the server does), and a
 * key log without the handshake secrets.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { delivered, Dir, RecordingSinks } from '../reassembly/test-helpers.test-support.js';
import { KeyLog } from './keylog.js';
import { CCS, clientHello, encryptedExtensions, FINISHED, handshake, record, serverHello, text, Tls13Sealer } from './test-builders.test-support.js';
import { tls13Suite } from './suites.js';
import { createTlsSink, type UndecryptedFacts } from './tls-sink.js';

const HRR_RANDOM = Uint8Array.from(Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'));
const suite = tls13Suite(0x1301)!;
const rnd = (n: number): Uint8Array => Uint8Array.from(randomBytes(n));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Wire {
  from: 'client' | 'server';
  bytes: Uint8Array;
}

function run(wire: Wire[], keylog: string): { up: string; down: string; anomalies: AnomalyCounter; undecrypted: UndecryptedFacts[]; alpns: (string | null)[] } {
  const keys = new KeyLog();
  keys.addText(keylog);
  const anomalies = new AnomalyCounter();
  const inner = new RecordingSinks();
  const undecrypted: UndecryptedFacts[] = [];
  const alpns: (string | null)[] = [];
  const sink = createTlsSink(
    { id: 'c1', client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '10.0.0.2', port: 443 }, rolesGuessed: false },
    {
      keys,
      anomalies,
      inner: (i, alpn) => {
        alpns.push(alpn);
        return inner.factory(i);
      },
      onUndecrypted: (_i, f) => undecrypted.push(f),
    },
  );
  wire.forEach((w, k) => sink.onData(w.from === 'client' ? Dir.ClientToServer : Dir.ServerToClient, w.bytes, k));
  sink.onClose(wire.length, 'fin');
  const c = inner.conns[0];
  const str = (d: Dir): string => (c === undefined ? '' : Buffer.from(delivered(c, d)).toString('latin1'));
  return { up: str(Dir.ClientToServer), down: str(Dir.ServerToClient), anomalies, undecrypted, alpns };
}

function secrets(): { random: Uint8Array; ch: Uint8Array; sh: Uint8Array; ca: Uint8Array; sa: Uint8Array; early: Uint8Array } {
  return { random: rnd(32), ch: rnd(32), sh: rnd(32), ca: rnd(32), sa: rnd(32), early: rnd(32) };
}

function keylog(s: ReturnType<typeof secrets>, withEarly: boolean, withHandshake = true): string {
  const r = hex(s.random);
  return [
    withHandshake ? `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${r} ${hex(s.ch)}` : '',
    withHandshake ? `SERVER_HANDSHAKE_TRAFFIC_SECRET ${r} ${hex(s.sh)}` : '',
    `CLIENT_TRAFFIC_SECRET_0 ${r} ${hex(s.ca)}`,
    `SERVER_TRAFFIC_SECRET_0 ${r} ${hex(s.sa)}`,
    withEarly ? `CLIENT_EARLY_TRAFFIC_SECRET ${r} ${hex(s.early)}` : '',
  ].join('\n');
}

/** Server flight + client Finished + one exchange, after the (last) ServerHello. */
function rest(s: ReturnType<typeof secrets>, eeEarly: boolean): Wire[] {
  const sHs = new Tls13Sealer(suite, s.sh);
  const cHs = new Tls13Sealer(suite, s.ch);
  return [
    { from: 'server', bytes: sHs.seal(22, encryptedExtensions('h2', eeEarly)) },
    { from: 'server', bytes: sHs.seal(22, FINISHED()) },
    { from: 'client', bytes: cHs.seal(22, FINISHED()) },
    { from: 'client', bytes: new Tls13Sealer(suite, s.ca).seal(23, text('request')) },
    { from: 'server', bytes: new Tls13Sealer(suite, s.sa).seal(23, text('response')) },
  ];
}

describe('TLS 1.3 variants', () => {
  it('HelloRetryRequest: the second ClientHello and the real ServerHello carry on', () => {
    const s = secrets();
    const wire: Wire[] = [
      { from: 'client', bytes: record(22, clientHello({ random: s.random, suites: [0x1301], tls13: true, alpn: ['h2'], sni: 'hrr.example' }), 0x0301) },
      { from: 'server', bytes: record(22, serverHello({ random: HRR_RANDOM, suite: 0x1301, tls13: true })) },
      { from: 'server', bytes: CCS },
      { from: 'client', bytes: CCS },
      { from: 'client', bytes: record(22, clientHello({ random: s.random, suites: [0x1301], tls13: true, alpn: ['h2'], sni: 'hrr.example' })) },
      { from: 'server', bytes: record(22, serverHello({ random: rnd(32), suite: 0x1301, tls13: true })) },
      ...rest(s, false),
    ];
    const r = run(wire, keylog(s, false));
    expect([r.up, r.down]).toEqual(['request', 'response']);
    expect(r.alpns).toEqual(['h2']);
    expect(r.anomalies.entries()).toEqual([]);
  });

  const earlyWire = (s: ReturnType<typeof secrets>): Wire[] => {
    const early = new Tls13Sealer(suite, s.early);
    return [
      { from: 'client', bytes: record(22, clientHello({ random: s.random, suites: [0x1301], tls13: true, alpn: ['h2'], earlyData: true }), 0x0301) },
      { from: 'client', bytes: CCS },
      { from: 'client', bytes: early.seal(23, text('early ')) },
      { from: 'client', bytes: early.seal(22, handshake(5, new Uint8Array(0))) }, // EndOfEarlyData
      { from: 'server', bytes: record(22, serverHello({ random: rnd(32), suite: 0x1301, tls13: true })) },
      ...rest(s, true),
    ];
  };

  it('0-RTT accepted: early data decrypted with CLIENT_EARLY_TRAFFIC_SECRET, ahead of the rest', () => {
    const s = secrets();
    const r = run(earlyWire(s), keylog(s, true));
    expect([r.up, r.down]).toEqual(['early request', 'response']);
    expect(r.anomalies.entries()).toEqual([]);
  });

  it('0-RTT without its secret: early records skipped and counted, the connection still decrypts', () => {
    const s = secrets();
    const r = run(earlyWire(s), keylog(s, false));
    expect([r.up, r.down]).toEqual(['request', 'response']);
    expect(r.anomalies.entries()).toEqual([['tls_early_data_skipped', 2]]);
    expect(r.undecrypted).toEqual([]);
  });

  it('a key log with only the application secrets: reported as no_keys (the handshake cannot be followed)', () => {
    const s = secrets();
    const wire: Wire[] = [
      { from: 'client', bytes: record(22, clientHello({ random: s.random, suites: [0x1301], tls13: true, sni: 'partial.example' }), 0x0301) },
      { from: 'server', bytes: record(22, serverHello({ random: rnd(32), suite: 0x1301, tls13: true })) },
      ...rest(s, false),
    ];
    const r = run(wire, keylog(s, false, false));
    expect(r.undecrypted.map((u) => [u.reason, u.sni])).toEqual([['no_keys', 'partial.example']]);
  });
});
