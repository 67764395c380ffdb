import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 as crc32Of } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';
import { corpusDir } from '../../test/corpus.js';
import {
  EventStreamParser,
  HEADER_TYPE,
  encodeEventMessage,
  encodeEventStreamMessage,
  headerString,
  parseEventStream,
  type EventStreamMessage,
} from './eventstream.js';
import { expectSplitInvariant, type Harness } from './stream-test-helpers.test-support.js';

const here = fileURLToPath(new URL('./fixtures/aws-eventstream/', import.meta.url));

interface DecodedVector {
  total_length: number;
  headers_length: number;
  headers: { name: string; type: number; value: boolean | number | string }[];
  payload: string;
}

function harness(): Harness<EventStreamMessage> {
  const out: EventStreamMessage[] = [];
  const anomalies = new AnomalyCounter();
  const p = new EventStreamParser((m) => out.push(m), anomalies);
  return { push: (c, ts) => p.push(c, ts), end: () => p.end(), out, anomalies };
}

function decodeOne(bin: Uint8Array): { messages: EventStreamMessage[]; anomalies: AnomalyCounter; stopped: string | null } {
  const anomalies = new AnomalyCounter();
  const r = parseEventStream([{ data: bin, ts: 1 as Micros }], anomalies);
  return { ...r, anomalies };
}

/** The vector's JSON form of a header value: bytes, strings and uuids are base64 of their bytes. */
function vectorValue(type: number, v: EventStreamMessage['headers'][number]['value']): boolean | number | string {
  if (type === HEADER_TYPE.string) return Buffer.from(v as string, 'utf8').toString('base64');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (typeof v === 'bigint') return Number(v);
  return v as boolean | number;
}

function expectMatchesVector(bin: Uint8Array, expected: DecodedVector): void {
  const r = decodeOne(bin);
  expect(r.anomalies.total).toBe(0);
  expect(r.messages).toHaveLength(1);
  const m = r.messages[0]!;
  expect(bin.length).toBe(expected.total_length);
  expect(m.headers.map((h) => ({ name: h.name, type: h.type, value: vectorValue(h.type, h.value) }))).toEqual(expected.headers);
  expect(Buffer.from(m.payload).toString('base64')).toBe(expected.payload);
}

/** The rejection named by the vectors' decoded/negative/*.txt ("Prelude checksum mismatch",
 * "Message checksum mismatch") as our anomaly name. */
function expectedAnomaly(text: string): string {
  return text.trim().startsWith('Prelude') ? 'eventstream_prelude_crc_mismatch' : 'eventstream_message_crc_mismatch';
}

describe('AWS event stream vectors copied into the project', () => {
  for (const name of ['all_headers', 'payload_one_str_header', 'empty_message']) {
    it(`decodes positive/${name}`, () => {
      const bin = readFileSync(join(here, `positive_${name}.bin`));
      expectMatchesVector(bin, JSON.parse(readFileSync(join(here, `positive_${name}.json`), 'utf8')) as DecodedVector);
    });
  }
  it.each([
    ['corrupted_length', 'eventstream_prelude_crc_mismatch'],
    ['corrupted_headers', 'eventstream_message_crc_mismatch'],
    ['corrupted_payload', 'eventstream_message_crc_mismatch'],
  ])('rejects negative/%s as %s', (name, anomaly) => {
    const r = decodeOne(readFileSync(join(here, `negative_${name}.bin`)));
    expect(r.messages).toEqual([]);
    expect(r.anomalies.get(anomaly)).toBe(1);
  });
});

describe.skipIf(!corpusDir)('every AWS event stream vector of the corpus', () => {
  const dir = join(corpusDir ?? '', 'aws-eventstream-vectors');
  const cases = (kind: string): string[] =>
    corpusDir ? readdirSync(join(dir, 'encoded', kind)).map((f) => f.replace(/\.bin$/, '')) : [];

  it('has positive and negative vectors', () => {
    expect(cases('positive').length).toBeGreaterThanOrEqual(5);
    expect(cases('negative').length).toBeGreaterThanOrEqual(4);
  });
  for (const name of cases('positive')) {
    it(`decodes positive/${name} to the stated headers and payload, split anywhere`, () => {
      const bin = readFileSync(join(dir, 'encoded/positive', `${name}.bin`));
      const expected = JSON.parse(readFileSync(join(dir, 'decoded/positive', `${name}.json`), 'utf8')) as DecodedVector;
      expectMatchesVector(bin, expected);
      const whole = expectSplitInvariant(harness, bin);
      expect(whole.out).toHaveLength(1);
    });
  }
  for (const name of cases('negative')) {
    it(`rejects negative/${name}`, () => {
      const bin = readFileSync(join(dir, 'encoded/negative', `${name}.bin`));
      const why = readFileSync(join(dir, 'decoded/negative', `${name}.txt`), 'utf8');
      const r = decodeOne(bin);
      expect(r.messages).toEqual([]);
      expect(r.anomalies.get(expectedAnomaly(why))).toBe(1);
    });
  }
});

describe('EventStreamParser', () => {
  const three = Buffer.concat([
    encodeEventMessage('messageStart', { role: 'assistant' }),
    encodeEventMessage('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'héllo' } }),
    encodeEventMessage('messageStop', { stopReason: 'end_turn' }),
  ]);

  it('round-trips every header type through the encoder', () => {
    const headers = [
      { name: 't', type: HEADER_TYPE.boolTrue, value: true },
      { name: 'f', type: HEADER_TYPE.boolFalse, value: false },
      { name: 'b', type: HEADER_TYPE.byte, value: -5 },
      { name: 's', type: HEADER_TYPE.short, value: -300 },
      { name: 'i', type: HEADER_TYPE.int, value: 70000 },
      { name: 'l', type: HEADER_TYPE.long, value: 2n ** 60n },
      { name: 'by', type: HEADER_TYPE.bytes, value: Uint8Array.of(1, 2, 3) },
      { name: 'st', type: HEADER_TYPE.string, value: 'ünïcode' },
      { name: 'ts', type: HEADER_TYPE.timestamp, value: 1_700_000_000_000 },
      { name: 'u', type: HEADER_TYPE.uuid, value: Uint8Array.from({ length: 16 }, (_, k) => k) },
    ];
    const r = decodeOne(encodeEventStreamMessage(headers, Buffer.from('{}')));
    expect(r.messages[0]!.headers).toEqual(headers);
  });

  it('reads consecutive messages with the time of the chunk that completed each, split anywhere', () => {
    const whole = expectSplitInvariant(harness, three);
    expect(whole.out.map((m) => headerString(m, ':event-type'))).toEqual(['messageStart', 'contentBlockDelta', 'messageStop']);
    expect(JSON.parse(Buffer.from(whole.out[1]!.payload).toString('utf8'))).toEqual({ contentBlockIndex: 0, delta: { text: 'héllo' } });
  });

  it('drops a frame whose message CRC fails and goes on with the next', () => {
    const bad = Buffer.from(encodeEventMessage('contentBlockDelta', { delta: { text: 'x' } }));
    bad.writeUInt8(bad.readUInt8(bad.length - 6) ^ 0xff, bad.length - 6);
    const r = decodeOne(Buffer.concat([encodeEventMessage('messageStart', {}), bad, encodeEventMessage('messageStop', {})]));
    expect(r.messages.map((m) => headerString(m, ':event-type'))).toEqual(['messageStart', 'messageStop']);
    expect(r.anomalies.get('eventstream_message_crc_mismatch')).toBe(1);
    expect(r.stopped).toBeNull();
  });

  it('stops for good after a corrupt prelude: nothing after it is trusted', () => {
    const bad = Buffer.from(encodeEventMessage('contentBlockDelta', {}));
    bad.writeUInt8(bad.readUInt8(1) ^ 0x01, 1);
    const r = decodeOne(Buffer.concat([encodeEventMessage('messageStart', {}), bad, encodeEventMessage('messageStop', {})]));
    expect(r.messages.map((m) => headerString(m, ':event-type'))).toEqual(['messageStart']);
    expect(r.stopped).toBe('prelude_crc_mismatch');
    expect(r.anomalies.entries()).toEqual([['eventstream_prelude_crc_mismatch', 1]]);
  });

  it('stops on impossible lengths behind a valid prelude CRC', () => {
    // headers length larger than the message: the encoder cannot make this, so build it.
    const frame = Buffer.from(encodeEventStreamMessage([], Buffer.from('{}')));
    frame.writeUInt32BE(100, 4);
    frame.writeUInt32BE(crc32Of(frame.subarray(0, 8)), 8);
    const r = decodeOne(frame);
    expect(r.stopped).toBe('bad_length');
    expect(r.anomalies.get('eventstream_bad_length')).toBe(1);
  });

  it('drops a frame whose headers run past their length', () => {
    const frame = Buffer.from(encodeEventStreamMessage([{ name: 'x', type: HEADER_TYPE.string, value: 'abc' }], Buffer.from('{}')));
    // string length 3 → 300: past the headers' end. Both CRCs are recomputed so only the headers are wrong.
    frame.writeUInt16BE(300, 12 + 1 + 1 + 1);
    frame.writeUInt32BE(crc32Of(frame.subarray(0, frame.length - 4)), frame.length - 4);
    const r = decodeOne(Buffer.concat([frame, encodeEventMessage('messageStop', {})]));
    expect(r.anomalies.get('eventstream_bad_headers')).toBe(1);
    expect(r.messages.map((m) => headerString(m, ':event-type'))).toEqual(['messageStop']);
  });

  it('skips a message above the cap and reads the next one', () => {
    const big = encodeEventMessage('contentBlockDelta', { delta: { text: 'y'.repeat(500) } });
    const input = Buffer.concat([big, encodeEventMessage('messageStop', {})]);
    for (const pieces of [[input], Array.from({ length: input.length }, (_, k) => input.subarray(k, k + 1))]) {
      const anomalies = new AnomalyCounter();
      const out: EventStreamMessage[] = [];
      const p = new EventStreamParser((m) => out.push(m), anomalies, { maxMessageBytes: 200 });
      for (const c of pieces) p.push(c, 0 as Micros);
      p.end();
      expect(out.map((m) => headerString(m, ':event-type'))).toEqual(['messageStop']);
      expect(anomalies.entries()).toEqual([['eventstream_message_too_large', 1]]);
    }
  });

  it('names a body that ends inside a frame', () => {
    const r = decodeOne(three.subarray(0, three.length - 5));
    expect(r.messages).toHaveLength(2);
    expect(r.anomalies.get('eventstream_truncated_message')).toBe(1);
  });

  it('never throws on random bytes', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let k = 0; k < 200; k++) {
      const b = Uint8Array.from({ length: rnd() % 100 }, () => rnd() & 0xff);
      expect(() => decodeOne(b)).not.toThrow();
    }
  });
});
