/**
 * `llmtap doctor`, the eBPF part (issue 9 item 4): what `llmtap ebpf` needs here (kernel,
 * BTF, privileges, bpftrace) and which running processes it can read TLS plaintext from, and
 * why not for the others. How a TLS stack is recognised:
 * - OpenSSL (hookable): a mapped libssl.so* (/proc/PID/maps), or an executable that exports
 *   SSL_read in .dynsym (node links OpenSSL statically and exports it);
 * - Go crypto/tls (not hookable: Go's own TLS, no C library): a `.go.buildinfo` section (written
 *   by the Go linker since 1.13, read by `go version -m`) and "crypto/tls" among the binary's
 *   strings;
 * - rustls (not hookable: Rust code, statically linked, no stable symbols): "rustls" among the
 *   binary's strings (its panic and error messages carry the crate name);
 * - BoringSSL linked statically (Chrome, Electron apps, some Envoy builds; not hookable: no
 *   exported symbols): "BoringSSL" among the binary's strings (its version string);
 * - GnuTLS, NSS, wolfSSL, mbed TLS mapped (not hookable by these probes: other function names
 *   and semantics).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { release } from 'node:os';
import { findOnPath } from '../capture/find-program.js';
import { readElfFacts } from './elf-symbols.js';
import { isLibssl, mappedPaths } from './maps-scanner.js';

export interface DoctorCheck {
  ok: boolean | null;
  name: string;
  text: string;
  fix?: string;
}

export type TlsStack =
  | { hookable: true; how: string }
  | { hookable: false; why: string }
  | null; // no TLS library seen

/** What a process's maps and executable say about its TLS stack. */
export interface ProcessTlsFacts {
  mapped: string[];
  exportsSslRead: boolean;
  goBuildInfo: boolean;
  strings: ReadonlySet<string>;
}

const OTHER_LIBS: [RegExp, string][] = [
  [/\/libgnutls\.so/, 'GnuTLS (libgnutls)'],
  [/\/libssl3\.so$|\/libnss3\.so$/, 'NSS (libnss3)'],
  [/\/libwolfssl\.so/, 'wolfSSL'],
  [/\/libmbedtls\.so/, 'mbed TLS'],
];
/** Strings looked for in executables (above). */
export const MARKERS = ['crypto/tls', 'rustls', 'BoringSSL'] as const;

export function classifyTls(f: ProcessTlsFacts): TlsStack {
  const lib = f.mapped.find(isLibssl);
  if (lib !== undefined) return { hookable: true, how: `OpenSSL ${lib}` };
  if (f.exportsSslRead) return { hookable: true, how: 'OpenSSL exported by the executable (node)' };
  if (f.goBuildInfo && f.strings.has('crypto/tls')) return { hookable: false, why: "Go crypto/tls (Go's own TLS: .go.buildinfo, no OpenSSL)" };
  if (f.strings.has('BoringSSL')) return { hookable: false, why: 'BoringSSL linked statically (no exported SSL_read)' };
  if (f.strings.has('rustls')) return { hookable: false, why: 'rustls (Rust TLS, statically linked)' };
  for (const [re, name] of OTHER_LIBS) if (f.mapped.some((p) => re.test(p))) return { hookable: false, why: `${name}: not probed (OpenSSL only)` };
  return null;
}

/** Bytes of one executable searched for the markers (Chrome is ~250 MB). */
const MAX_SCAN_BYTES = 512 * 1024 * 1024;
const CHUNK = 4 * 1024 * 1024;

/** Which of `markers` occur in the file (a bounded streaming search, overlapping chunks). */
export function fileStrings(path: string, markers: readonly string[]): Set<string> {
  const found = new Set<string>();
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return found;
  }
  try {
    const overlap = Math.max(...markers.map((m) => m.length));
    const buf = Buffer.alloc(CHUNK + overlap);
    let pos = 0;
    let carry = 0;
    while (pos < MAX_SCAN_BYTES && found.size < markers.length) {
      const n = readSync(fd, buf, carry, CHUNK, pos);
      if (n <= 0) break;
      const view = buf.subarray(0, carry + n);
      for (const m of markers) if (!found.has(m) && view.includes(m, 0, 'latin1')) found.add(m);
      carry = Math.min(overlap, view.length);
      view.copy(buf, 0, view.length - carry);
      pos += n;
    }
  } catch {
    // unreadable: what was found so far
  } finally {
    closeSync(fd);
  }
  return found;
}

/** Processes listed in the report at most (grouped by executable). */
const MAX_LISTED = 40;

function procTlsReport(procRoot = '/proc'): DoctorCheck[] {
  const byExe = new Map<string, { stack: NonNullable<TlsStack>; pids: number[]; comm: string }>();
  const facts = new Map<string, { exportsSslRead: boolean; goBuildInfo: boolean; strings: Set<string> }>();
  let names: string[] = [];
  try {
    names = readdirSync(procRoot).filter((n) => /^\d+$/.test(n));
  } catch {
    return [{ ok: null, name: 'processes', text: `cannot list ${procRoot}` }];
  }
  for (const n of names) {
    const pid = Number(n);
    let maps: string;
    let exe: string;
    try {
      maps = readFileSync(`${procRoot}/${pid}/maps`, 'utf8');
      exe = readlinkSync(`${procRoot}/${pid}/exe`);
    } catch {
      continue;
    }
    let comm = '';
    try {
      comm = readFileSync(`${procRoot}/${pid}/comm`, 'utf8').trim();
    } catch {
      // gone
    }
    const mapped = [...mappedPaths(maps)];
    let f = facts.get(exe);
    if (f === undefined) {
      const path = existsSync(exe) ? exe : `${procRoot}/${pid}/exe`;
      const elf = readElfFacts(path, new Set(['SSL_read']));
      const exportsSslRead = elf?.symbols.has('SSL_read') ?? false;
      const goBuildInfo = elf?.sections.has('.go.buildinfo') ?? false;
      // The string search only where it can tell something: not for a hookable executable.
      const strings = exportsSslRead || mapped.some(isLibssl) ? new Set<string>() : fileStrings(path, MARKERS);
      f = { exportsSslRead, goBuildInfo, strings };
      facts.set(exe, f);
    }
    const stack = classifyTls({ mapped, ...f });
    if (stack === null) continue;
    const key = `${exe}|${stack.hookable ? stack.how : stack.why}`;
    const e = byExe.get(key) ?? { stack, pids: [], comm };
    e.pids.push(pid);
    byExe.set(key, e);
  }
  const out: DoctorCheck[] = [];
  for (const [key, e] of [...byExe].slice(0, MAX_LISTED)) {
    const exe = key.slice(0, key.indexOf('|'));
    const pids = `pid ${e.pids.slice(0, 5).join(', ')}${e.pids.length > 5 ? ` and ${e.pids.length - 5} more` : ''}`;
    out.push(
      e.stack.hookable
        ? { ok: true, name: `${e.comm} (${pids})`, text: `hookable: ${e.stack.how}; ${exe}` }
        : { ok: null, name: `${e.comm} (${pids})`, text: `not hookable: ${e.stack.why}; ${exe}` },
    );
  }
  if (byExe.size > MAX_LISTED) out.push({ ok: null, name: 'processes', text: `${byExe.size - MAX_LISTED} more executables not listed` });
  if (out.length === 0) out.push({ ok: null, name: 'processes', text: 'no running process uses a TLS library llmtap recognises' });
  return out;
}

function capEff(): bigint | null {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : null;
  } catch {
    return null;
  }
}

/** linux/capability.h. */
const CAPS: [string, bigint][] = [
  ['CAP_SYS_ADMIN', 21n],
  ['CAP_PERFMON', 38n],
  ['CAP_BPF', 39n],
];

/** Kernel ≥ 5.3: bounded loops in BPF programs (the probes' chunk loop; bpftrace `while`). */
function kernelCheck(): DoctorCheck {
  const r = release();
  const m = /^(\d+)\.(\d+)/.exec(r);
  const ok = m !== null && (Number(m[1]) > 5 || (Number(m[1]) === 5 && Number(m[2]) >= 3));
  return ok ? { ok: true, name: 'kernel', text: r } : { ok: false, name: 'kernel', text: `${r}: the probes need 5.3 or later (bounded loops in BPF)`, fix: 'run llmtap ebpf on a newer kernel' };
}

export function ebpfChecks(procRoot = '/proc'): DoctorCheck[] {
  const checks: DoctorCheck[] = [kernelCheck()];
  checks.push(
    existsSync('/sys/kernel/btf/vmlinux')
      ? { ok: true, name: 'BTF', text: '/sys/kernel/btf/vmlinux' }
      : { ok: null, name: 'BTF', text: 'no /sys/kernel/btf/vmlinux (the uprobes do not need it; bpftrace warns)' },
  );
  const root = process.getuid?.() === 0;
  const eff = capEff();
  const held = eff === null ? [] : CAPS.filter(([, bit]) => ((eff >> bit) & 1n) === 1n).map(([n]) => n);
  checks.push(
    root
      ? { ok: true, name: 'privileges', text: `root (${held.join(', ') || 'capabilities unknown'})` }
      : {
          ok: false,
          name: 'privileges',
          text: `not root; this process holds ${held.join(', ') || 'none of CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN'}`,
          fix: 'run llmtap ebpf with sudo, or give bpftrace the capabilities: setcap cap_bpf,cap_perfmon,cap_sys_admin,cap_dac_read_search+ep "$(command -v bpftrace)"',
        },
  );
  const bt = findOnPath('bpftrace');
  if (bt === null) {
    checks.push({ ok: false, name: 'bpftrace', text: 'not found on PATH', fix: 'apt install bpftrace (Debian/Ubuntu), dnf install bpftrace (Fedora/RHEL)' });
  } else {
    const r = spawnSync(bt, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const v = /v?(\d+)\.(\d+)(?:\.\d+)?/.exec(`${r.stdout ?? ''}`);
    // %rh (hex dump of a buffer) and BPFTRACE_STRLEN 160 were checked with 0.17.
    const ok = v !== null && (Number(v[1]) > 0 || Number(v[2]) >= 17);
    checks.push({ ok, name: 'bpftrace', text: `${bt} (${(r.stdout ?? '').trim() || 'version unknown'})`, ...(ok ? {} : { fix: 'bpftrace 0.17 or later is needed' }) });
  }
  checks.push(
    existsSync('/sys/kernel/tracing/uprobe_events') || existsSync('/sys/kernel/debug/tracing/uprobe_events')
      ? { ok: true, name: 'tracefs', text: 'mounted' }
      : { ok: null, name: 'tracefs', text: 'not mounted: the probes work, bpftrace prints detach warnings', fix: 'mount -t tracefs nodev /sys/kernel/tracing' },
  );
  return [...checks, ...procTlsReport(procRoot)];
}

/** The doctor's eBPF section, printed with the doctor's own line format. */
export function printEbpfDoctor(write: (s: string) => void): void {
  write('llmtap doctor: what llmtap ebpf needs here, and which processes it can read\n');
  const checks = ebpfChecks();
  for (const c of checks) {
    const tag = c.ok === null ? 'info' : c.ok ? 'ok  ' : 'FAIL';
    write(`  ${tag}  ${c.name}: ${c.text}\n${c.fix ? `        fix: ${c.fix}\n` : ''}`);
  }
  const failed = checks.filter((c) => c.ok === false);
  write(failed.length === 0 ? 'llmtap ebpf can work here\n' : `llmtap ebpf cannot work here yet: fix the checks marked FAIL\n`);
}
