import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { MAX_PIDS, ProcessCache } from './process-info.js';

describe('ProcessCache', () => {
  const proc = mkdtempSync(join(tmpdir(), 'llmtap-proc-'));
  afterAll(() => rmSync(proc, { recursive: true, force: true }));
  const fake = (pid: number, comm: string, exe: string): void => {
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'comm'), `${comm}\n`);
    symlinkSync(exe, join(proc, String(pid), 'exe'));
  };
  fake(10, 'python3', '/usr/bin/python3.11');
  fake(11, 'node', '/usr/bin/node');

  test("comm from the probe, exe read once at first sight; a process gone keeps exe null", () => {
    const c = new ProcessCache(proc);
    c.noteComm(10, 'my-agent');
    expect(c.get(10)).toEqual({ pid: 10, comm: 'my-agent', exe: '/usr/bin/python3.11' });
    // Without a probe comm: /proc/PID/comm.
    expect(c.get(11)).toEqual({ pid: 11, comm: 'node', exe: '/usr/bin/node' });
    expect(c.get(99)).toEqual({ pid: 99, comm: '', exe: null });
    // Cached: the process exiting afterwards does not change what was seen.
    rmSync(join(proc, '11'), { recursive: true });
    expect(c.get(11).exe).toBe('/usr/bin/node');
  });

  test('a new comm for a pid (exec, or a reused pid) reads exe again', () => {
    const c = new ProcessCache(proc);
    c.noteComm(10, 'bash');
    rmSync(join(proc, '10', 'exe'));
    symlinkSync('/usr/bin/curl', join(proc, '10', 'exe'));
    c.noteComm(10, 'curl');
    expect(c.get(10)).toEqual({ pid: 10, comm: 'curl', exe: '/usr/bin/curl' });
  });

  test(`at most ${MAX_PIDS} pids are remembered`, () => {
    const c = new ProcessCache(join(proc, 'none'));
    for (let pid = 1; pid <= MAX_PIDS + 10; pid++) c.noteComm(pid, `p${pid}`);
    // The oldest were forgotten: read again from /proc (absent here: empty comm).
    expect(c.get(1).comm).toBe('');
    expect(c.get(MAX_PIDS + 10).comm).toBe(`p${MAX_PIDS + 10}`);
  });
});
