import { describe, expect, test } from 'vitest';
import { parseCaptureTool, pickCaptureTool, toolSpeech } from './live-capture-tool.js';
import type { TcpdumpCounters } from './live-tcpdump-text.js';

const on = (...installed: string[]) => (cmd: string): string | null => (installed.includes(cmd) ? `/usr/bin/${cmd}` : null);

describe('which capture process', () => {
  test('--capture-tool takes llmtap-capture, tcpdump, dumpcap or auto; anything else is refused', () => {
    expect(parseCaptureTool(undefined)).toBe('auto');
    expect(parseCaptureTool('llmtap-capture')).toBe('llmtap-capture');
    expect(parseCaptureTool('auto')).toBe('auto');
    expect(parseCaptureTool('dumpcap')).toBe('dumpcap');
    expect(parseCaptureTool('tcpdump')).toBe('tcpdump');
    expect(parseCaptureTool('tshark')).toBeNull();
  });

  test('auto: llmtap-capture when built, else tcpdump (continuous drop counters), else dumpcap', () => {
    expect(pickCaptureTool('auto', on('llmtap-capture', 'tcpdump', 'dumpcap'))).toEqual({ tool: 'llmtap-capture', path: '/usr/bin/llmtap-capture' });
    expect(pickCaptureTool('auto', on('tcpdump', 'dumpcap'))).toEqual({ tool: 'tcpdump', path: '/usr/bin/tcpdump' });
    expect(pickCaptureTool('auto', on('dumpcap'))).toEqual({ tool: 'dumpcap', path: '/usr/bin/dumpcap' });
  });

  test('asked for one: that one or a message saying how to install it, never the other', () => {
    expect(pickCaptureTool('dumpcap', on('tcpdump', 'dumpcap'))).toEqual({ tool: 'dumpcap', path: '/usr/bin/dumpcap' });
    expect(pickCaptureTool('dumpcap', on('tcpdump'))).toBe('dumpcap not found: install it (apt install tshark, dnf install wireshark-cli) or put it on PATH (see `llmtap doctor`)');
    expect(pickCaptureTool('auto', on())).toContain('tcpdump not found: install it (apt install tcpdump');
    expect(pickCaptureTool('llmtap-capture', on('tcpdump'))).toBe(
      'llmtap-capture is not built: build it (apt install gcc libpcap-dev, dnf install gcc libpcap-devel, then npm run build:capture) (see `llmtap doctor`)',
    );
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

  test('llmtap-capture: no sentinel, no signal (it reports every second), nothing to wait for at stop, 50 ms late at most', () => {
    const t = toolSpeech('llmtap-capture');
    expect(t.loopbackSentinel).toBe(false);
    expect(t.statsSignal).toBeNull();
    expect(t.stopDelayMs).toBe(0);
    expect(t.deliveryLagMs).toBe(50);
    expect(t.args({ iface: 'lo', loopbackSentinelPort: 7 }).join(' ')).not.toMatch(/immediate|inbound/);
    const c = fresh();
    const listening = 'llmtap-capture: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes, buffer 65536 KiB, block timeout 50 ms';
    expect(t.read(listening, c)).toBe('listening');
    expect(t.linkType(listening)).toBe('EN10MB (Ethernet)');
    expect(t.read('llmtap-capture: stats captured=3 received=3 dropped_kernel=0 dropped_interface=0', c)).toBe('counters');
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
