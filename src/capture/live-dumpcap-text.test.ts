import { describe, expect, test } from 'vitest';
import { dumpcapArgs, explainDumpcapFailure, readDumpcapLine } from './live-dumpcap-text.js';
import type { TcpdumpCounters } from './live-tcpdump-text.js';

const fresh = (): TcpdumpCounters => ({ captured: null, received: null, kernel: null, interface: null, process: null });
const at = { iface: 'eth9', dumpcapPath: '/usr/bin/dumpcap' };

describe('dumpcap command line', () => {
  test('classic pcap to stdout; -B in MiB, rounded up; the filter is -f’s argument', () => {
    expect(dumpcapArgs({ iface: 'eth0', snaplen: 262144, bufferKib: 65536, filter: 'tcp port 443' })).toEqual([
      '-i', 'eth0', '-P', '-w', '-', '-s', '262144', '-B', '64', '-f', 'tcp port 443',
    ]);
    expect(dumpcapArgs({ iface: 'eth0', snaplen: 1500, bufferKib: 1500 })).toContain('2');
    expect(dumpcapArgs({ iface: 'eth0', snaplen: 1500, bufferKib: 1 }).slice(-2)).toEqual(['-B', '1']);
  });

  test('a filter that looks like an option stays -f’s value; a blank one is left out', () => {
    expect(dumpcapArgs({ iface: 'lo', snaplen: 9000, bufferKib: 2048, filter: '-r /etc/passwd' }).slice(-2)).toEqual(['-f', '-r /etc/passwd']);
    expect(dumpcapArgs({ iface: 'lo', snaplen: 9000, bufferKib: 2048, filter: '  ' })).not.toContain('-f');
  });

  test('on loopback no `inbound` and no sentinel: with TPACKET_V3 the first block, not one frame, is filtered in user space', () => {
    const args = dumpcapArgs({ iface: 'lo', snaplen: 262144, bufferKib: 65536, filter: 'tcp', loopbackSentinelPort: 5 });
    expect(args.slice(-2)).toEqual(['-f', 'tcp']);
    expect(args.join(' ')).not.toContain('inbound');
  });
});

describe('dumpcap stderr (4.0.17)', () => {
  test('"File: -" is the moment it captures; "Capturing on" comes before the device is even opened', () => {
    const c = fresh();
    expect(readDumpcapLine("Capturing on 'Loopback: lo'", c)).toBe('other');
    expect(readDumpcapLine('File: -', c)).toBe('listening');
    expect(c).toEqual(fresh());
  });

  test('the running count (after a \\r) is packets written; drops stay unknown while it runs', () => {
    const c = fresh();
    expect(readDumpcapLine('Packets: 77 ', c)).toBe('counters');
    expect(readDumpcapLine('Packets: 1234 ', c)).toBe('counters');
    expect(c).toEqual({ ...fresh(), captured: 1234 });
  });

  test('the exit report: kernel = pcap, interface = ps_ifdrop, its own losses = dumpcap + flushed; an interface name with ": " in it', () => {
    const c = fresh();
    expect(readDumpcapLine('Packets captured: 509289', c)).toBe('counters');
    expect(readDumpcapLine("Packets received/dropped on interface 'Loopback: lo': 509289/17 (pcap:12/dumpcap:2/flushed:3/ps_ifdrop:4) (100.0%)", c)).toBe('counters');
    expect(c).toEqual({ captured: 509289, received: null, kernel: 12, interface: 4, process: 5 });
  });

  test('odd text never throws and is not a counter', () => {
    const c = fresh();
    for (const line of ['', 'Packets: ', 'Packets: 99999999999999999999', "Packets received/dropped on interface 'x': 1/2 (pcap:a/dumpcap:0/flushed:0/ps_ifdrop:0)", 'dumpcap: something', '\u0000\uffff']) {
      expect(readDumpcapLine(line, c)).toBe('other');
    }
    expect(c).toEqual(fresh());
  });
});

describe('dumpcap failures as one line with the fix', () => {
  test('no such interface', () => {
    expect(explainDumpcapFailure("Capturing on 'eth9'\ndumpcap: There is no device named \"eth9\".\n(No such device exists)\n", at)).toBe(
      'no such interface: eth9 (list them with `ip link`, or use -i any; see `llmtap doctor`)',
    );
  });

  test('no permission names root, setcap and the wireshark group', () => {
    const msg = explainDumpcapFailure("Capturing on 'Loopback: lo'\ndumpcap: You do not have permission to capture on device \"lo\".\n(socket: Operation not permitted)\n", at);
    expect(msg).toContain('dumpcap may not capture on eth9 here: run llmtap as root');
    expect(msg).toContain('sudo setcap cap_net_raw,cap_net_admin=eip /usr/bin/dumpcap');
    expect(msg).toContain('usermod -aG wireshark');
  });

  test('a bad filter quotes what libpcap found wrong', () => {
    const said = "Capturing on 'Loopback: lo'\ndumpcap: Invalid capture filter \"tcp porrt 80\" for interface 'lo'.\n\nThat string isn't a valid capture filter (can't parse filter expression: syntax error).\nSee the User's Guide for a description of the capture filter syntax.\n";
    expect(explainDumpcapFailure(said, at)).toBe('bad --bpf-filter: syntax error (see pcap-filter(7))');
  });

  test("anything else is dumpcap's own first line, clipped", () => {
    expect(explainDumpcapFailure(`Capturing on 'x'\ndumpcap: ${'z'.repeat(300)}\n`, at)).toBe(`dumpcap failed: ${'z'.repeat(200)}…`);
    expect(explainDumpcapFailure('', at)).toBe('dumpcap failed: no message');
  });
});
