/**
 * startLiveCapture against a stand-in for tcpdump (a small node script speaking tcpdump's stderr
 * and writing pcap bytes packet by packet, as `-U` does), so the reader thread, the stop and the
 * error paths are checked without root. The real tcpdump: test/e2e/live-*.test.ts.
 * The reader thread's script comes from dist/ (tests build first, as src/workers' do).
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DUMPCAP_STOP_DELAY_MS } from './live-capture-tool.js';
import { isLoopback, LiveCaptureError, startLiveCapture } from './live-tcpdump.js';

/** Stand-in tcpdump: FAKE_DIR gets its argv (args.json) and, after its last write, `done`. */
const FAKE = String.raw`
const fs = require('node:fs');
const dir = process.env.FAKE_DIR;
fs.writeFileSync(dir + '/args.json', JSON.stringify(process.argv.slice(2)));
if (process.env.FAKE_MODE === 'nodevice') {
  process.stderr.write('tcpdump: eth9: No such device exists\n(SIOCGIFHWADDR: No such device)\n');
  process.exit(1);
}
const packets = Number(process.env.FAKE_PACKETS);
let captured = 0;
const report = (sep) => process.stderr.write(captured + ' packets captured' + sep + (captured + 3) + ' packets received by filter' + sep + '2 packets dropped by kernel\n');
process.on('SIGUSR1', () => report(', '));
process.on('SIGINT', () => { report('\n'); process.exit(0); });
process.stderr.write('tcpdump: listening on ' + process.argv[3] + ', link-type EN10MB (Ethernet), snapshot length 262144 bytes\n');
const header = Buffer.alloc(24);
header.writeUInt32LE(0xa1b2c3d4, 0); header.writeUInt16LE(2, 4); header.writeUInt16LE(4, 6);
header.writeUInt32LE(262144, 16); header.writeUInt32LE(1, 20);
fs.writeSync(1, header);
for (let i = 0; i < packets; i++) {
  const rec = Buffer.alloc(16 + 1000, i & 0xff);
  rec.writeUInt32LE(1700000000 + i, 0); rec.writeUInt32LE(0, 4); rec.writeUInt32LE(1000, 8); rec.writeUInt32LE(1000, 12);
  fs.writeSync(1, rec); // one write per packet, as tcpdump -U
  captured++;
}
fs.writeFileSync(dir + '/done', '');
setInterval(() => {}, 1000);
`;

/** Stand-in dumpcap (4.0.17's stderr): dies on SIGUSR1 as the real one does (no handler), writes
 * "\rPackets: N " while it runs and its one-line report at SIGINT; `stopped-at` records when. */
const FAKE_DUMPCAP = String.raw`
const fs = require('node:fs');
const dir = process.env.FAKE_DIR;
fs.writeFileSync(dir + '/dumpcap-args.json', JSON.stringify(process.argv.slice(2)));
process.stderr.write("Capturing on 'Loopback: lo'\n");
setTimeout(() => {
  process.stderr.write('File: -\n');
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0); header.writeUInt16LE(2, 4); header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16); header.writeUInt32LE(1, 20);
  fs.writeSync(1, header);
  process.stderr.write('\rPackets: 5 ');
  setTimeout(() => process.stderr.write('\rPackets: 7 '), 20);
}, 50);
// dumpcap has no SIGUSR1 handler: the default action ends it (node's own default would not).
process.on('SIGUSR1', () => process.exit(138));
process.on('SIGINT', () => {
  fs.writeFileSync(dir + '/stopped-at', String(Date.now()));
  process.stderr.write("\rPackets captured: 7\nPackets received/dropped on interface 'Loopback: lo': 7/9 (pcap:6/dumpcap:1/flushed:2/ps_ifdrop:0) (43.8%)\n");
  process.exit(0);
});
setInterval(() => {}, 1000);
`;

let dir: string;
let fake: string;
let fakeDumpcap: string;
const distWorker = new URL('../../dist/src/capture/live-tcpdump-worker.js', import.meta.url);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmtap-fake-tcpdump-'));
  fake = join(dir, 'tcpdump');
  writeFileSync(fake, `#!${process.execPath}\n${FAKE}`);
  chmodSync(fake, 0o755);
  fakeDumpcap = join(dir, 'dumpcap');
  writeFileSync(fakeDumpcap, `#!${process.execPath}\n${FAKE_DUMPCAP}`);
  chmodSync(fakeDumpcap, 0o755);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function expected(packets: number): string {
  const h = createHash('sha256');
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  h.update(header);
  for (let i = 0; i < packets; i++) {
    const rec = Buffer.alloc(16 + 1000, i & 0xff);
    rec.writeUInt32LE(1700000000 + i, 0);
    rec.writeUInt32LE(0, 4);
    rec.writeUInt32LE(1000, 8);
    rec.writeUInt32LE(1000, 12);
    h.update(rec);
  }
  return h.digest('hex');
}

describe.skipIf(!existsSync(distWorker))(`tcpdump from a reader thread${existsSync(distWorker) ? '' : ' [skipped: build first (npm run build)]'}`, () => {
  test('the pipe is drained while the main thread is busy, every byte arrives in order, and Ctrl-C ends it cleanly', async () => {
    const packets = 4000; // 4 MB: 64 times what the pipe holds (pipe(7))
    const env = { ...process.env, FAKE_DIR: dir, FAKE_PACKETS: String(packets) };
    rmSync(join(dir, 'done'), { force: true });
    const live = await startLiveCapture({ iface: 'eth-test', tool: 'tcpdump', tcpdump: fake, env });
    expect(live.linkType).toBe('EN10MB (Ethernet)');
    // The main thread does not read for a while (a long decode, a major GC): with the pipe read on
    // this thread the writer would block after 64 KiB and never finish meanwhile.
    const deadline = Date.now() + 20_000;
    while (!existsSync(join(dir, 'done')) && Date.now() < deadline) {
      /* busy: the event loop does not run */
    }
    expect(existsSync(join(dir, 'done'))).toBe(true);
    const h = createHash('sha256');
    let n = 0;
    const reading = (async () => {
      for await (const chunk of live.bytes) {
        h.update(chunk);
        n += chunk.length;
      }
    })();
    while (n < 24 + packets * 1016) await new Promise((r) => setTimeout(r, 10));
    await live.stop();
    await reading;
    expect(n).toBe(24 + packets * 1016);
    expect(h.digest('hex')).toBe(expected(packets));
    expect(await live.ended).toBeNull();
    // The final report (one counter a line) was read before the exit was reported.
    expect(live.counters()).toEqual({ captured: packets, received: packets + 3, kernel: 2, interface: 0 });
    expect(JSON.parse(readFileSync(join(dir, 'args.json'), 'utf8'))).not.toContain('inbound');
  });

  test('through dumpcap: started at "File:", the running count read, never signalled for counters, stopped after its block timeout with the final counters', async () => {
    const env = { ...process.env, FAKE_DIR: dir };
    rmSync(join(dir, 'stopped-at'), { force: true });
    const live = await startLiveCapture({ iface: 'lo', filter: 'tcp', tool: 'dumpcap', tcpdump: fakeDumpcap, env });
    expect(live.tool).toBe('dumpcap');
    // Longer than STATS_EVERY_MS: a SIGUSR1 would have killed it (ended would then say why).
    await new Promise((r) => setTimeout(r, 1_300));
    expect(live.counters()).toEqual({ captured: 7, received: null, kernel: null, interface: null, process: null });
    const asked = Date.now();
    const reading = (async () => {
      for await (const _ of live.bytes) {
        // header only
      }
    })();
    await live.stop();
    await reading;
    expect(await live.ended).toBeNull();
    expect(Number(readFileSync(join(dir, 'stopped-at'), 'utf8')) - asked).toBeGreaterThanOrEqual(DUMPCAP_STOP_DELAY_MS - 50);
    expect(live.counters()).toEqual({ captured: 7, received: null, kernel: 6, interface: 0, process: 3 });
    // No `inbound` and no sentinel on loopback with dumpcap (live-dumpcap-text.ts says why).
    expect(JSON.parse(readFileSync(join(dir, 'dumpcap-args.json'), 'utf8'))).toEqual(['-i', 'lo', '-P', '-w', '-', '-s', '262144', '-B', '64', '-f', 'tcp']);
  });

  test('tcpdump failing at start is one line saying how to fix it', async () => {
    const env = { ...process.env, FAKE_DIR: dir, FAKE_MODE: 'nodevice' };
    const err = await startLiveCapture({ iface: 'eth9', tool: 'tcpdump', tcpdump: fake, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LiveCaptureError);
    expect((err as Error).message).toMatch(/^no such interface: eth9 /);
  });

  test.skipIf(process.platform !== 'linux')('on loopback the kernel filter keeps received copies only, and admits the sentinel datagram', async () => {
    const env = { ...process.env, FAKE_DIR: dir, FAKE_PACKETS: '1' };
    const live = await startLiveCapture({ iface: 'lo', filter: 'tcp port 8000', tool: 'tcpdump', tcpdump: fake, env });
    for await (const _ of live.bytes) {
      await live.stop();
    }
    const args = JSON.parse(readFileSync(join(dir, 'args.json'), 'utf8')) as string[];
    const filter = args[args.indexOf('--') + 1] ?? '';
    expect(filter).toMatch(/^inbound and \(\(tcp port 8000\) or \(udp and src host 127\.0\.0\.1 and src port (\d+) and dst port \1\)\)$/);
  });
});

describe('loopback devices', () => {
  test('lo is one; a name with a path in it is never read from sysfs', () => {
    expect(isLoopback('lo')).toBe(process.platform === 'linux');
    expect(isLoopback('../../etc')).toBe(false);
    expect(isLoopback('no-such-interface-x')).toBe(false);
  });

  test('a device whose sysfs type is ARPHRD_LOOPBACK (772) is one, whatever its name', () => {
    const sys = mkdtempSync(join(tmpdir(), 'llmtap-sysfs-'));
    try {
      // sysfs layout: DIR/IFACE/type
      for (const [name, type] of [['lo2', '772\n'], ['eth0', '1\n']] as const) {
        mkdirSync(join(sys, name));
        writeFileSync(join(sys, name, 'type'), type);
      }
      expect(isLoopback('lo2', sys)).toBe(process.platform === 'linux');
      expect(isLoopback('eth0', sys)).toBe(false);
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });
});
