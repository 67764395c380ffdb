/**
 * llmtap-capture itself (native/llmtap-capture.c), run as llmtap runs it, on lo: what it promises
 * that llmtap's end-to-end tests cannot pin down without luck in the timing.
 *   - Ctrl-C right after packets loses none of them: it reads on for two block timeouts before it
 *     leaves (dumpcap leaves at once and loses the open TPACKET_V3 block).
 *   - On loopback the sent copies stay out of the kernel ring (received = captured, not twice),
 *     and the very first packets are not lost to libpcap's user-space filtering of the first block.
 *   - Counters while it runs (every -S ms), and final ones at exit; bad arguments are refused.
 *
 * Needs root and the program built (npm run build:capture); skipped with the reason otherwise,
 * except under CI (CI=true), where a missing prerequisite fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { findLlmtapCapture } from '../../src/capture/live-llmtap-capture-text.js';
import { pcapStats } from './tcpdump.js';

const inCi = process.env['CI'] === 'true';
const program = findLlmtapCapture();
const skip = process.getuid?.() !== 0 ? 'needs root (packet capture)' : program === null ? 'llmtap-capture not built (apt-get install gcc libpcap-dev; npm run build:capture)' : null;
if (skip !== null && !inCi) process.stderr.write(`live-llmtap-capture e2e skipped: ${skip}\n`);

const dir = mkdtempSync(join(tmpdir(), 'llmtap-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  file: string;
  stderr: () => string;
  exited: Promise<number | null>;
  pid: number;
}

/** Starts it on lo into a file; resolves once it says it listens. */
async function start(args: string[]): Promise<Run> {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.pcap`);
  const fd = openSync(file, 'w');
  const child = spawn(program!, ['-i', 'lo', ...args], { stdio: ['ignore', fd, 'pipe'] });
  closeSync(fd);
  let err = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 10_000;
  while (!err.includes('listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`llmtap-capture did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { file, stderr: () => err, exited, pid: child.pid! };
}

/** Sends `n` UDP datagrams to 127.0.0.1:port and resolves once the kernel has them. */
async function send(port: number, n: number): Promise<void> {
  const s = createSocket('udp4');
  for (let i = 0; i < n; i++) await new Promise<void>((resolve, reject) => s.send(Uint8Array.of(i & 0xff), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  s.close();
}

const counters = (line: string | undefined): number[] => {
  const m = /captured=(\d+) received=(\d+) dropped_kernel=(\d+) dropped_interface=(\d+)$/.exec(line ?? '');
  return m === null ? [] : m.slice(1).map(Number);
};

describe.skipIf(skip !== null && !inCi)(`llmtap-capture on lo${skip ? ` [skipped: ${skip}]` : ''}`, () => {
  test('Ctrl-C right after packets: every one is written, received = captured (inbound only), final counters, exit 0', async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    for (let trial = 0; trial < 3; trial++) {
      const port = 40_000 + Math.floor(Math.random() * 20_000);
      const run = await start(['-S', '0', '--', `udp port ${port}`]);
      expect(run.stderr()).toMatch(/listening on lo, link-type EN10MB \(Ethernet\), .*block timeout 50 ms, inbound only/);
      // No pause before the signal: the packets sit in a block the kernel has not handed over yet.
      await send(port, 5);
      process.kill(run.pid, 'SIGINT');
      expect(await run.exited, run.stderr()).toBe(0);
      expect(pcapStats(run.file).packets, `trial ${trial}`).toBe(5);
      const lines = run.stderr().split('\n');
      // -S 0: no periodic counters, but the ones at its start (all 0) and at its exit.
      expect(lines.filter((l) => l.startsWith('llmtap-capture: stats ')).map(counters)).toEqual([[0, 0, 0, 0]]);
      const final = lines.filter((l) => l.startsWith('llmtap-capture: final '));
      expect(final).toHaveLength(1);
      expect(counters(final[0])).toEqual([5, 5, 0, 0]);
    }
  });

  test('counters every -S ms while it runs; then the final ones', async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    const port = 40_000 + Math.floor(Math.random() * 20_000);
    const run = await start(['-S', '200', '--', `udp port ${port}`]);
    await send(port, 3);
    await new Promise((r) => setTimeout(r, 700));
    const running = run.stderr().split('\n').filter((l) => l.startsWith('llmtap-capture: stats '));
    expect(running.length).toBeGreaterThanOrEqual(3);
    expect(counters(running.at(-1))).toEqual([3, 3, 0, 0]);
    process.kill(run.pid, 'SIGTERM');
    expect(await run.exited).toBe(0);
    expect(counters(run.stderr().split('\n').find((l) => l.startsWith('llmtap-capture: final ')))).toEqual([3, 3, 0, 0]);
  });

  test('signals while llmtap does not read (the pipe full, its write blocked) lose nothing and fail nothing', async () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    const port = 40_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(program!, ['-i', 'lo', '-S', '0', '--', `udp port ${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => (err += s));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    while (!err.includes('listening on')) await new Promise((r) => setTimeout(r, 20));
    child.stdout!.pause();
    // ~700 KB of pcap: ten times what a pipe holds (pipe(7)), so its write blocks.
    const s = createSocket('udp4');
    for (let i = 0; i < 3000; i++) await new Promise<void>((resolve, reject) => s.send(Buffer.alloc(200, i & 0xff), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    s.close();
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++) {
      child.kill('SIGUSR1');
      await new Promise((r) => setTimeout(r, 50));
    }
    const chunks: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => chunks.push(b));
    child.stdout!.resume();
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    expect(await exited, err).toBe(0);
    const file = join(dir, 'blocked.pcap');
    writeFileSync(file, Buffer.concat(chunks));
    expect(pcapStats(file).packets).toBe(3000);
    expect(err).not.toMatch(/cannot write/);
  });

  test('bad arguments and filters: a line on stderr and a non-zero exit, nothing captured', () => {
    if (skip !== null) throw new Error(`CI must provide the e2e prerequisites: ${skip}`);
    const run = (args: string[]): { code: number | null; stderr: string } => {
      const r = spawnSync(program!, args, { encoding: 'utf8', timeout: 10_000 });
      return { code: r.status, stderr: r.stderr };
    };
    expect(run(['-i', 'lo', '-s', '0'])).toEqual({ code: 2, stderr: 'llmtap-capture: -s 0: out of range\n' });
    expect(run(['-i', 'lo', '-t', '5000']).code).toBe(2);
    expect(run(['-i', 'lo', 'tcp', 'extra']).code).toBe(2);
    expect(run([]).code).toBe(2);
    expect(run(['-i', 'lo', '--', 'tcp prot 80'])).toEqual({ code: 1, stderr: "llmtap-capture: can't parse filter expression: syntax error\n" });
    expect(run(['-i', 'llmtap-nosuch0']).stderr).toMatch(/^llmtap-capture: llmtap-nosuch0: No such device exists/);
  });
});
