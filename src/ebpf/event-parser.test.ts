import { describe, expect, test } from 'vitest';
import { AnomalyCounter } from '../core/anomalies.js';
import { CHUNK_BYTES } from './bpftrace-script.js';
import { LineSplitter, MAX_LINE, parseEventLine, type EbpfEvent } from './event-parser.js';

const hex = (s: string | Uint8Array): string => [...(typeof s === 'string' ? Buffer.from(s, 'latin1') : s)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
const dataLine = (dir: 'w' | 'r', pid: number, ssl: string, ns: string, total: number, offset: number, bytes: string): string =>
  `D ${dir} ${pid} ${ssl} ${ns} ${total} ${offset} ${bytes.length} ${hex(bytes)}`;

function parseAll(lines: string[]): { events: EbpfEvent[]; anomalies: AnomalyCounter } {
  const anomalies = new AnomalyCounter();
  const events = lines.map((l) => parseEventLine(l, anomalies)).filter((e): e is EbpfEvent => e !== null);
  return { events, anomalies };
}

describe('parseEventLine', () => {
  test('reads each line kind, bytes exactly (a backslash and \\x-looking text stay what they are)', () => {
    const payload = 'POST /v1 HTTP/1.1\r\n\\x41\x00\xff';
    const { events, anomalies } = parseAll([
      'READY 33743181461904',
      'C 4242 my agent 1',
      dataLine('w', 4242, '94836516183376', '33755592529589', 500, 160, payload),
      'F 4242 94836516183376 33755592900000',
      'Lost 12 events',
      'Attaching 19 probes...',
    ]);
    expect(anomalies.total).toBe(0);
    expect(events).toHaveLength(5);
    expect(events[0]).toEqual({ kind: 'ready', mono: 33743181461 });
    expect(events[1]).toEqual({ kind: 'comm', pid: 4242, comm: 'my agent 1' });
    const d = events[2]!;
    expect(d.kind === 'data' && [d.dir, d.pid, d.ssl, d.mono, d.total, d.offset]).toEqual(['w', 4242, '94836516183376', 33755592529, 500, 160]);
    expect(d.kind === 'data' && Buffer.from(d.bytes).toString('latin1')).toBe(payload);
    expect(events[3]).toEqual({ kind: 'free', pid: 4242, ssl: '94836516183376', mono: 33755592900 });
    expect(events[4]).toEqual({ kind: 'lost', count: 12 });
  });

  test('garbage and inconsistent lines are counted, never thrown', () => {
    const good = dataLine('r', 1, '77', '1000000', 3, 0, 'abc');
    const bad = [
      'hello',
      'D x 1 77 1000000 3 0 3 61 62 63', // direction
      'D r 1 77 1000000 3 0 2 61 62 63', // length says 2, three bytes
      'D r 1 77 1000000 2 0 3 61 62 63', // past the total
      'D r 1 77 1000000 400 7 3 61 62 63', // offset off the chunk grid
      `D r 1 77 1000000 999 0 ${CHUNK_BYTES + 1} ${hex('a'.repeat(CHUNK_BYTES + 1))}`, // longer than a chunk
      'D r 1 77 1000000 3 0 3 61 6g 63', // not hex
      'D r 1 77 1000000 3 0 3 61  62 63',
      'F 1 77',
      'C notapid x',
      'READY soon',
      good.slice(0, -1),
      '\u0000\u00ff',
    ];
    const { events, anomalies } = parseAll([...bad, good]);
    expect(events).toHaveLength(1);
    expect(anomalies.get('ebpf_bad_line')).toBe(bad.length);
  });
});

describe('LineSplitter', () => {
  const text = [
    'READY 1000000',
    'C 9 python3',
    dataLine('w', 9, '5', '2000000', 5, 0, 'hello'),
    dataLine('r', 9, '5', '3000000', 2, 0, 'ok'),
    'F 9 5 4000000',
    '',
  ].join('\n');
  const expected = text.split('\n').slice(0, -1);

  test('the same lines whatever the split: at every offset, and byte by byte', () => {
    for (let cut = 0; cut <= text.length; cut++) {
      const a = new AnomalyCounter();
      const s = new LineSplitter(a);
      const got: string[] = [];
      s.push(text.slice(0, cut), (l) => got.push(l));
      s.push(text.slice(cut), (l) => got.push(l));
      expect(got, `cut at ${cut}`).toEqual(expected);
      expect(a.total).toBe(0);
    }
    const s = new LineSplitter(new AnomalyCounter());
    const got: string[] = [];
    for (const ch of text) s.push(ch, (l) => got.push(l));
    expect(got).toEqual(expected);
  });

  test('a line longer than any event is cut and counted; the next line is read', () => {
    const a = new AnomalyCounter();
    const s = new LineSplitter(a);
    const got: string[] = [];
    const long = 'x'.repeat(MAX_LINE + 10);
    s.push(long.slice(0, 100), (l) => got.push(l));
    s.push(long.slice(100), (l) => got.push(l));
    s.push('\nREADY 1000000\n', (l) => got.push(l));
    expect(got).toEqual(['READY 1000000']);
    expect(a.get('ebpf_line_too_long')).toBe(1);
    s.push('READY 2', () => undefined);
    s.end();
    expect(a.get('ebpf_truncated_line')).toBe(1);
  });
});
