import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { explainLlmtapCaptureFailure, findLlmtapCapture, llmtapCaptureArgs, readLlmtapCaptureLine } from './live-llmtap-capture-text.js';
import type { TcpdumpCounters } from './live-tcpdump-text.js';

const fresh = (): TcpdumpCounters => ({ captured: null, received: null, kernel: null, interface: null });
const at = { iface: 'eth9', path: '/opt/llmtap/dist/native/llmtap-capture' };

describe('llmtap-capture command line', () => {
  test('snaplen, -B in KiB, the 50 ms block timeout, counters every second; the filter after --', () => {
    expect(llmtapCaptureArgs({ iface: 'eth0', snaplen: 9000, bufferKib: 2048, filter: 'tcp port 443' })).toEqual([
      '-i', 'eth0', '-s', '9000', '-B', '2048', '-t', '50', '-S', '1000', '--', 'tcp port 443',
    ]);
  });

  test('defaults as tcpdump’s; a filter that looks like an option stays the filter; a blank one is left out; no sentinel on lo', () => {
    expect(llmtapCaptureArgs({ iface: 'any' }).slice(0, 6)).toEqual(['-i', 'any', '-s', String(65536 + 20), '-B', '65536']);
    expect(llmtapCaptureArgs({ iface: 'lo', filter: '-r /etc/passwd' }).slice(-2)).toEqual(['--', '-r /etc/passwd']);
    expect(llmtapCaptureArgs({ iface: 'lo', filter: '  ' })).not.toContain('--');
    expect(llmtapCaptureArgs({ iface: 'lo', filter: 'tcp', loopbackSentinelPort: 5 }).join(' ')).not.toMatch(/inbound|udp/);
  });
});

describe('llmtap-capture stderr', () => {
  test('"listening on" is the moment it captures', () => {
    const c = fresh();
    expect(readLlmtapCaptureLine('llmtap-capture: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes, buffer 65536 KiB, block timeout 50 ms, inbound only', c)).toBe('listening');
    expect(c).toEqual(fresh());
  });

  test('running and final counters: captured, received (ps_recv), kernel (ps_drop), interface (ps_ifdrop)', () => {
    const c = fresh();
    expect(readLlmtapCaptureLine('llmtap-capture: stats captured=0 received=0 dropped_kernel=0 dropped_interface=0', c)).toBe('counters');
    expect(c).toEqual({ captured: 0, received: 0, kernel: 0, interface: 0 });
    expect(readLlmtapCaptureLine('llmtap-capture: stats captured=120 received=130 dropped_kernel=3 dropped_interface=1\r', c)).toBe('counters');
    expect(c).toEqual({ captured: 120, received: 130, kernel: 3, interface: 1 });
    expect(readLlmtapCaptureLine('llmtap-capture: final captured=18446744073709 received=4294967295 dropped_kernel=7 dropped_interface=0', c)).toBe('counters');
    expect(c).toEqual({ captured: 18446744073709, received: 4294967295, kernel: 7, interface: 0 });
  });

  test('warnings, errors, other programs’ lines and garbage are not counters and change nothing', () => {
    const c = fresh();
    for (const line of [
      '',
      'llmtap-capture: warning: lo: That device doesn\u2019t support promiscuous mode',
      'llmtap-capture: warning: pcap_stats: something',
      'llmtap-capture: lo: capture failed: The interface disappeared',
      'llmtap-capture: stats captured=1 received=2 dropped_kernel=3',
      'llmtap-capture: stats captured=1 received=2 dropped_kernel=3 dropped_interface=x',
      'llmtap-capture: stats captured=-1 received=2 dropped_kernel=3 dropped_interface=4',
      'llmtap-capture: stats captured=99999999999999999999 received=2 dropped_kernel=3 dropped_interface=4',
      'llmtap-capture: stats captured=1 received=2 dropped_kernel=3 dropped_interface=4 extra',
      'llmtap-capture: bogus captured=1 received=2 dropped_kernel=3 dropped_interface=4',
      'xllmtap-capture: stats captured=1 received=2 dropped_kernel=3 dropped_interface=4',
      'tcpdump: 3 packets captured, 5 packets received by filter, 0 packets dropped by kernel',
      'listening on lo',
      '\u0000\uffff',
    ]) {
      expect(readLlmtapCaptureLine(line, c), line).toBe('other');
    }
    expect(c).toEqual(fresh());
  });

  test('random text never throws and never sets a counter to anything but a safe non-negative integer', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (line) => {
        const c = fresh();
        readLlmtapCaptureLine(line, c);
        for (const v of Object.values(c)) if (v !== null) expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('llmtap-capture failures as one line with the fix', () => {
  test('no such device', () => {
    expect(explainLlmtapCaptureFailure('llmtap-capture: eth9: No such device exists (No such device exists)\n', at)).toBe(
      'no such interface: eth9 (list them with `ip link`, or use -i any; see `llmtap doctor`)',
    );
  });

  test('no permission: root, or setcap on the program itself', () => {
    expect(explainLlmtapCaptureFailure("llmtap-capture: eth9: You don't have permission to capture on that device (socket: Operation not permitted)\n", at)).toBe(
      'llmtap-capture may not capture on eth9 here: run llmtap as root, or grant it the capture capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip /opt/llmtap/dist/native/llmtap-capture (see `llmtap doctor`)',
    );
  });

  test('a bad filter, in libpcap’s words; a device that is down', () => {
    expect(explainLlmtapCaptureFailure("llmtap-capture: can't parse filter expression: syntax error\n", at)).toBe('bad --bpf-filter: syntax error (see pcap-filter(7))');
    expect(explainLlmtapCaptureFailure('llmtap-capture: eth9: That device is not up\n', at)).toBe('interface eth9 is down: bring it up (ip link set eth9 up)');
  });

  test('anything else: its own first line, without its counters, clipped', () => {
    const said = `llmtap-capture: listening on eth9, link-type EN10MB (Ethernet)\nllmtap-capture: stats captured=0 received=0 dropped_kernel=0 dropped_interface=0\nllmtap-capture: eth9: capture failed: ${'x'.repeat(500)}\n`;
    const line = explainLlmtapCaptureFailure(said, at);
    expect(line).toMatch(/^llmtap-capture failed: eth9: capture failed: x+…$/);
    expect(line.length).toBeLessThan(260);
    expect(explainLlmtapCaptureFailure('', at)).toBe('llmtap-capture failed: no message');
  });
});

describe('where llmtap-capture is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-capture-find-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const program = join(dir, 'llmtap-capture');
  writeFileSync(program, '#!/bin/sh\n');
  chmodSync(program, 0o755);

  test('LLMTAP_CAPTURE_PROGRAM names it; empty means none; a file that cannot run is none', () => {
    expect(findLlmtapCapture({ LLMTAP_CAPTURE_PROGRAM: program, PATH: '' })).toBe(program);
    expect(findLlmtapCapture({ LLMTAP_CAPTURE_PROGRAM: '', PATH: dir })).toBeNull();
    expect(findLlmtapCapture({ LLMTAP_CAPTURE_PROGRAM: join(dir, 'nothing'), PATH: dir })).toBeNull();
  });

  test('without it: the built one (dist/native) when there is one, else PATH', () => {
    const found = findLlmtapCapture({ PATH: dir });
    expect(found === program || /dist\/native\/llmtap-capture$/.test(found ?? '')).toBe(true);
  });
});
