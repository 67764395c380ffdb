import { describe, expect, test } from 'vitest';
import { explainTcpdumpFailure, listeningLinkType, loopbackFilter, readCounters, tcpdumpArgs, type TcpdumpCounters } from './live-tcpdump-text.js';

const fresh = (): TcpdumpCounters => ({ captured: null, received: null, kernel: null, interface: null });
const at = { iface: 'eth9', tcpdumpPath: '/usr/bin/tcpdump' };

describe('tcpdump command line', () => {
  test('pcap to stdout, packet-buffered, immediate, whole packets; the filter after --', () => {
    expect(tcpdumpArgs({ iface: 'any', filter: 'tcp port 443' })).toEqual([
      '-i', 'any', '-n', '-U', '-w', '-', '--immediate-mode', '-s', '65556', '-B', '65536', '--', 'tcp port 443',
    ]);
  });

  test('default snapshot length: whole packets; on any, the largest non-BIG-TCP packet plus SLL2 (4x the ring slots)', () => {
    expect(tcpdumpArgs({ iface: 'lo' })).toContain('262144');
    expect(tcpdumpArgs({ iface: 'any' })).toContain(String(65536 + 20));
    expect(tcpdumpArgs({ iface: 'any', snaplen: 262144 })).toContain('262144');
  });

  test('a filter that looks like an option stays a filter; a blank one is left out', () => {
    expect(tcpdumpArgs({ iface: 'lo', filter: '-r /etc/passwd' }).slice(-2)).toEqual(['--', '-r /etc/passwd']);
    expect(tcpdumpArgs({ iface: 'lo', filter: '  ', snaplen: 1500, bufferKib: 4096 })).toEqual(['-i', 'lo', '-n', '-U', '-w', '-', '--immediate-mode', '-s', '1500', '-B', '4096']);
  });
});

describe('loopback filter', () => {
  test('received copies only; the sentinel datagram passes beside the user filter, which stays one operand', () => {
    expect(loopbackFilter(undefined, 40000)).toBe('inbound');
    expect(loopbackFilter(' ', 40000)).toBe('inbound');
    expect(loopbackFilter('tcp or udp', 40000)).toBe('inbound and ((tcp or udp) or (udp and src host 127.0.0.1 and src port 40000 and dst port 40000))');
  });

  test('tcpdump gets it after --', () => {
    const args = tcpdumpArgs({ iface: 'lo', filter: 'port 8000', loopbackSentinelPort: 5 });
    expect(args.slice(-2)).toEqual(['--', 'inbound and ((port 8000) or (udp and src host 127.0.0.1 and src port 5 and dst port 5))']);
  });
});

describe('drop counters', () => {
  test('the SIGUSR1 line (tcpdump 4.99.3) carries all three; no interface drops means 0', () => {
    const c = fresh();
    expect(readCounters('tcpdump: 12 packets captured, 15 packets received by filter, 3 packets dropped by kernel', c)).toBe(true);
    expect(c).toEqual({ captured: 12, received: 15, kernel: 3, interface: 0 });
  });

  test('the exit report comes one counter a line, interface drops only when non-zero', () => {
    const c = fresh();
    for (const line of ['1 packet captured', '2 packets received by filter', '0 packets dropped by kernel', '7 packets dropped by interface']) readCounters(line, c);
    expect(c).toEqual({ captured: 1, received: 2, kernel: 0, interface: 7 });
  });

  test('other lines are not counters', () => {
    const c = fresh();
    expect(readCounters('tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes', c)).toBe(false);
    expect(c).toEqual(fresh());
  });

  test('the link type tcpdump announces', () => {
    expect(listeningLinkType('tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes')).toBe('LINUX_SLL2 (Linux cooked v2)');
    expect(listeningLinkType('nothing')).toBeNull();
  });
});

describe('failures explained in one line, with the fix', () => {
  test('no such interface', () => {
    expect(explainTcpdumpFailure('tcpdump: eth9: No such device exists\n(No such device exists)\n', at)).toBe(
      'no such interface: eth9 (list them with `ip link`, or use -i any; see `llmtap doctor`)',
    );
  });

  test('no permission names both fixes', () => {
    const line = explainTcpdumpFailure("tcpdump: eth9: You don't have permission to perform this capture on that device\n(socket: Operation not permitted)\n", at);
    expect(line).toContain('run llmtap as root');
    expect(line).toContain('sudo setcap cap_net_raw,cap_net_admin=eip /usr/bin/tcpdump');
    expect(line).not.toContain('\n');
  });

  test('a bad filter quotes what tcpdump found wrong', () => {
    expect(explainTcpdumpFailure("tcpdump: unknown port 'x'\n", at)).toBe("bad --bpf-filter: unknown port 'x' (see pcap-filter(7))");
    expect(explainTcpdumpFailure("tcpdump: can't parse filter expression: syntax error\n", at)).toBe('bad --bpf-filter: syntax error (see pcap-filter(7))');
  });

  test('an interface that is down', () => {
    expect(explainTcpdumpFailure('tcpdump: eth9: That device is not up\n', at)).toBe('interface eth9 is down: bring it up (ip link set eth9 up)');
  });

  test("anything else is tcpdump's own first line, clipped", () => {
    const line = explainTcpdumpFailure(`tcpdump: WARNING: ignore me\ntcpdump: ${'x'.repeat(500)}\n`, at);
    expect(line.startsWith('tcpdump failed: xxx')).toBe(true);
    expect(line.length).toBeLessThan(230);
  });
});
