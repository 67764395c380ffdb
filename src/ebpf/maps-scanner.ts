/**
 * Which files to probe (issue 9 item 1): every OpenSSL-compatible library mapped by a running
 * process, found in /proc/PID/maps (proc(5)): shared libraries named libssl.so*, and executables
 * that export SSL_read themselves (node links OpenSSL statically and exports its symbols for
 * native addons). A uprobe is set on a file (its inode): it fires in every process that maps it,
 * now and later, so each file is probed once; a path seen in a container's mount namespace is
 * reached through /proc/PID/root.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { SSL_SYMBOLS, type ProbeTarget, type SslSymbol } from './bpftrace-script.js';
import { readElfFacts } from './elf-symbols.js';

/** The file names that are OpenSSL's libssl (libssl.so, libssl.so.3, libssl.so.1.1, libssl3.so
 * is NSS's and not it). */
const LIBSSL = /\/libssl\.so(\.\d+)*$/;
/** bpftrace's probe syntax takes a path up to ':' and breaks on spaces and quotes. */
const SAFE_PATH = /^\/[A-Za-z0-9._+/@-]+$/;
/** Processes read per scan; beyond it the rest wait for the next scan. */
export const MAX_PROCESSES = 65_536;
/** Bytes of one maps file read (a process with a huge map list is cut, counted by the caller). */
const MAX_MAPS_BYTES = 8 * 1024 * 1024;

/** The file paths of a /proc/PID/maps text (the sixth column), without "(deleted)" ones. */
export function mappedPaths(maps: string): Set<string> {
  const out = new Set<string>();
  for (const line of maps.split('\n')) {
    // address perms offset dev inode pathname (the path may hold spaces: it is the rest).
    const m = /^\S+ \S+ \S+ \S+ \d+\s+(\/.*)$/.exec(line);
    if (m === null) continue;
    const path = m[1]!;
    if (path.endsWith(' (deleted)')) continue;
    out.add(path);
  }
  return out;
}

export function isLibssl(path: string): boolean {
  return LIBSSL.test(path);
}

/** A file found, with the first pid seen mapping it. */
export interface Candidate {
  path: string;
  pid: number;
  /** The main executable of that process (not a library). */
  exe: boolean;
}

/** Every libssl and every process's executable, one per file (dev:inode). */
export function scanCandidates(procRoot = '/proc'): { candidates: Candidate[]; processes: number } {
  const seen = new Map<string, Candidate>();
  let processes = 0;
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return { candidates: [], processes: 0 };
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    if (++processes > MAX_PROCESSES) break;
    const pid = Number(name);
    let maps: string;
    try {
      maps = readFileSync(`${procRoot}/${pid}/maps`, 'utf8');
    } catch {
      continue; // gone, or a kernel thread
    }
    if (maps.length > MAX_MAPS_BYTES) maps = maps.slice(0, MAX_MAPS_BYTES);
    let exe: string | null = null;
    try {
      // The link's text: the path as the process's own maps name it.
      exe = readlinkSync(`${procRoot}/${pid}/exe`);
    } catch {
      exe = null;
    }
    for (const path of mappedPaths(maps)) {
      const isExe = path === exe;
      if (!isExe && !isLibssl(path)) continue;
      const reach = reachable(path, pid, procRoot);
      if (reach === null) continue;
      if (!seen.has(reach.id)) seen.set(reach.id, { path: reach.path, pid, exe: isExe });
    }
  }
  return { candidates: [...seen.values()], processes };
}

/** The path as llmtap can open it, and its file identity; null when it cannot be reached. */
function reachable(path: string, pid: number, procRoot: string): { path: string; id: string } | null {
  for (const p of [path, `${procRoot}/${pid}/root${path}`]) {
    try {
      const st = statSync(p);
      if (st.isFile()) return { path: p, id: `${st.dev}:${st.ino}` };
    } catch {
      // next
    }
  }
  return null;
}

const WANTED = new Set<string>(SSL_SYMBOLS);

/** Cache of files already read: their identity (path, size, mtime) to what they export. */
export class TargetFinder {
  private readonly facts = new Map<string, ReadonlySet<SslSymbol> | null>();

  /** The probe target for a candidate, or null when it exports no SSL_read/SSL_write or its path
   * cannot go into a probe. */
  target(c: Candidate): ProbeTarget | null {
    let id: string;
    try {
      const st = statSync(c.path);
      id = `${c.path}|${st.size}|${st.mtimeMs}`;
    } catch {
      return null;
    }
    let symbols = this.facts.get(id);
    if (symbols === undefined) {
      const f = readElfFacts(c.path, WANTED);
      symbols = f === null ? null : (new Set([...f.symbols].filter((s): s is SslSymbol => WANTED.has(s))) as ReadonlySet<SslSymbol>);
      // Bounded by the files on the host that are executables or libssl: small; still capped.
      if (this.facts.size >= 10_000) this.facts.clear();
      this.facts.set(id, symbols);
    }
    if (symbols === null) return null;
    const io = ['SSL_read', 'SSL_read_ex', 'SSL_write', 'SSL_write_ex'].some((s) => symbols.has(s as SslSymbol));
    if (!io || !SAFE_PATH.test(c.path)) return null;
    return { path: c.path, symbols };
  }
}
