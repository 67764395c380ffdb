import { describe, expect, test } from 'vitest';
import { parseCaptureTool, pickCaptureTool, toolSpeech } from './live-capture-tool.js';
import type { TcpdumpCounters } from './live-tcpdump-text.js';

const on = (...installed: string[]) => (cmd: string): string | null => (installed.includes(cmd) ? `/usr/bin/${cmd}` : null);

describe('which capture process', () => {
  test('--capture-tool takes tcpdump, dumpcap or auto; anything else is refused', () => {
    expect(parseCaptureTool(undefined)).toBe('auto');
    expect(parseCaptureTool('auto')).toBe('auto');
    expect(parseCaptureTool('dumpcap')).toBe('dumpcap');
    expect(parseCaptureTool('tcpdump')).toBe('tcpdump');
    expect(parseCaptureTool('tshark')).toBeNull();
  });

  test('auto: tcpdump while it is installed (continuous drop counters), else dumpcap', () => {
    expect(pickCaptureTool('auto', on('tcpdump', 'dumpcap'))).toEqual({ tool: 'tcpdump', path: '/usr/bin/tcpdump' });
    expect(pickCaptureTool('auto', on('dumpcap'))).toEqual({ tool: 'dumpcap', path: '/usr/bin/dumpcap' });
  });

  test('asked for one: that one or a message saying how to install it, never the other', () => {
    expect(pickCaptureTool('dumpcap', on('tcpdump', 'dumpcap'))).toEqual({ tool: 'dumpcap', path: '/usr/bin/dumpcap' });
    expect(pickCaptureTool('dumpcap', on('tcpdump'))).toBe('dumpcap not found: install it (apt install tshark, dnf install wireshark-cli) or put it on PATH (see `llmtap doctor`)');
    expect(pickCaptureTool('auto', on())).toContain('tcpdump not found: install it (apt install tcpdump');
  });
});

describe('what each tool says', () => {
  const fresh = (): TcpdumpCounters => ({ captured: null, received: null, kernel: null, interface: null });

  test('tcpdump: sentinel on loopback, SIGUSR1 for counters, "listening on" starts it', () => {
    const t = toolSpeech('tcpdump');
    expect(t.loopbackSentinel).toBe(true);
    expect(t.statsSignal).toBe(process.platform === 'linux' ? 'SIGUSR1' : null);
    expect(t.args({ iface: 'lo', loopbackSentinelPort: 7 }).join(' ')).toContain('--immediate-mode');
    const c = fresh();
    expect(t.read('tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes', c)).toBe('listening');
    expect(t.read('tcpdump: 3 packets captured, 5 packets received by filter, 0 packets dropped by kernel', c)).toBe('counters');
    expect(c.kernel).toBe(0);
  });

  test('dumpcap: no sentinel, no signal (it would kill it), lines end at \\r too, defaults filled in', () => {
    const t = toolSpeech('dumpcap');
    expect(t.loopbackSentinel).toBe(false);
    expect(t.statsSignal).toBeNull();
    expect('a\rPackets: 5 \rPackets: 9 \nb'.split(t.lineEnd)).toEqual(['a', 'Packets: 5 ', 'Packets: 9 ', 'b']);
    expect(t.args({ iface: 'any' })).toEqual(['-i', 'any', '-P', '-w', '-', '-s', String(65536 + 20), '-B', '64']);
    expect(t.read('File: -', fresh())).toBe('listening');
  });
});
