import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { toolSpeech, type CaptureTool } from './live-capture-tool.js';
import type { TcpdumpCounters } from './live-tcpdump-text.js';
import { CaptureStderr, MAX_STDERR_KEEP } from './live-stderr.js';

const fresh = (tool: CaptureTool): TcpdumpCounters => ({ captured: null, received: null, kernel: null, interface: null, ...(tool === 'dumpcap' ? { process: null } : {}) });

/** What each tool writes on stderr over a capture: its start, its counters, its last words. */
const TRANSCRIPTS: Record<CaptureTool, string> = {
  tcpdump: [
    'tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes',
    '120 packets captured',
    '130 packets received by filter',
    '3 packets dropped by kernel',
    'tcpdump: pcap_loop: something went wrong',
    '200 packets captured',
    '210 packets received by filter',
    '7 packets dropped by kernel',
    '',
  ].join('\n'),
  'llmtap-capture': [
    'llmtap-capture: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes, buffer 65536 KiB, block timeout 50 ms, inbound only',
    'llmtap-capture: stats captured=0 received=0 dropped_kernel=0 dropped_interface=0',
    'llmtap-capture: stats captured=5000 received=5100 dropped_kernel=12 dropped_interface=4',
    'llmtap-capture: lo: capture failed: The interface disappeared',
    'llmtap-capture: final captured=5001 received=5101 dropped_kernel=13 dropped_interface=4',
    '',
  ].join('\n'),
  dumpcap: [
    "Capturing on 'Loopback: lo'",
    'File: -',
    '\rPackets: 77 \rPackets: 1234 \rPackets: 5000 ',
    '\nPackets captured: 5001',
    "Packets received/dropped on interface 'Loopback: lo': 5001/17 (pcap:12/dumpcap:2/flushed:3/ps_ifdrop:4) (100.0%)",
    'dumpcap: a last word',
    '',
  ].join('\n'),
};

function readAll(tool: CaptureTool, pieces: readonly string[]): { c: CaptureStderr; listened: number } {
  let listened = 0;
  const c = new CaptureStderr(toolSpeech(tool), fresh(tool), () => listened++);
  for (const p of pieces) c.push(p);
  return { c, listened };
}

describe('the capture process stderr, in pieces of any size', () => {
  for (const tool of ['llmtap-capture', 'tcpdump', 'dumpcap'] as const) {
    test(`${tool}: the same counters, "capturing" line and kept text however the pipe cuts it`, () => {
      const text = TRANSCRIPTS[tool];
      const whole = readAll(tool, [text]);
      expect(whole.listened).toBe(1);
      expect(whole.c.listening).not.toBeNull();
      expect(whole.c.said()).toContain({ tcpdump: 'pcap_loop: something went wrong', dumpcap: 'dumpcap: a last word', 'llmtap-capture': 'The interface disappeared' }[tool]);
      expect(whole.c.said()).not.toMatch(/packets captured|Packets: |captured=/);
      for (let i = 0; i <= text.length; i++) {
        for (let j = i; j <= text.length; j += 7) {
          const cut = readAll(tool, [text.slice(0, i), text.slice(i, j), text.slice(j)]);
          expect(cut.c.counters, `cut at ${i}, ${j}`).toEqual(whole.c.counters);
          expect(cut.c.listening).toBe(whole.c.listening);
          expect(cut.listened).toBe(1);
          expect(cut.c.said()).toBe(whole.c.said());
        }
      }
      const bytewise = readAll(tool, [...text]);
      expect(bytewise.c.counters).toEqual(whole.c.counters);
    });
  }

  test('the running count is read before its line ends (dumpcap writes the next \\r only with the next count)', () => {
    const { c } = readAll('dumpcap', ['File: -\n', '\rPackets: 42 ']);
    expect(c.counters.captured).toBe(42);
  });

  test('random text never throws, never listens twice, and what it keeps stays bounded', () => {
    fc.assert(
      fc.property(fc.constantFrom<CaptureTool>('llmtap-capture', 'tcpdump', 'dumpcap'), fc.array(fc.string({ unit: 'binary', maxLength: 3000 }), { maxLength: 20 }), (tool, pieces) => {
        const { c, listened } = readAll(tool, pieces);
        expect(listened).toBeLessThanOrEqual(1);
        expect(c.partial.length).toBeLessThanOrEqual(MAX_STDERR_KEEP);
        // A line may end the kept text past the cap, but only by one line of what was pushed.
        expect(c.kept.length).toBeLessThanOrEqual(MAX_STDERR_KEEP + pieces.reduce((n, p) => n + p.length, 0) + 1);
        for (const v of Object.values(c.counters)) if (v !== null) expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
