/**
 * Process attribution (issue 9 item 2): `{pid, comm, exe}` for every call of this source. comm
 * comes from the probe (the kernel's task name when the call was made); exe is read from
 * /proc/PID/exe at the pid's first sight and cached: a process that exits before llmtap looks
 * keeps exe null, and a pid reused by another program later is seen by its new comm.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import type { ProcessInfo } from '../core/record.js';

/** Pids remembered; beyond it the oldest is forgotten (read again if seen again). 4,096: the
 * kernel's default pid_max is 32,768 (proc(5)); a host with more TLS clients than this at once
 * pays one readlink per forgotten pid. */
export const MAX_PIDS = 4096;

export class ProcessCache {
  private readonly byPid = new Map<number, ProcessInfo>();

  constructor(private readonly procRoot = '/proc') {}

  /** The comm the probe printed for `pid` (its `C` line), newest first. */
  noteComm(pid: number, comm: string): void {
    const p = this.byPid.get(pid);
    if (p !== undefined && p.comm !== comm) {
      // exec'd into another program (or a reused pid): exe is read again.
      this.byPid.delete(pid);
    }
    if (!this.byPid.has(pid)) this.remember({ pid, comm, exe: this.readExe(pid) });
  }

  get(pid: number): ProcessInfo {
    const known = this.byPid.get(pid);
    if (known !== undefined) return { ...known };
    const info = { pid, comm: this.readComm(pid), exe: this.readExe(pid) };
    this.remember(info);
    return { ...info };
  }

  private remember(p: ProcessInfo): void {
    if (this.byPid.size >= MAX_PIDS) {
      const oldest = this.byPid.keys().next().value;
      if (oldest !== undefined) this.byPid.delete(oldest);
    }
    this.byPid.set(p.pid, p);
  }

  private readExe(pid: number): string | null {
    try {
      // " (deleted)" when the file was replaced since: still the program it runs.
      return readlinkSync(`${this.procRoot}/${pid}/exe`);
    } catch {
      return null;
    }
  }

  private readComm(pid: number): string {
    try {
      return readFileSync(`${this.procRoot}/${pid}/comm`, 'utf8').replace(/\n$/, '');
    } catch {
      return '';
    }
  }
}
