/**
 * The bpftrace program `llmtap ebpf` runs (issue 9 item 1): uprobes and uretprobes on the TLS
 * library's plaintext entry points, data taken on return with the real byte count.
 *
 * - SSL_write / SSL_read return the byte count (> 0) or ≤ 0 on failure (SSL_write(3), SSL_read(3)).
 *   They return a C int: the upper half of the return register is not defined, so retval is cast
 *   to int32 first (read as 64 bits, a -1 became 4,294,967,295 "bytes" here: hundreds of copies of
 *   garbage per failed read);
 *   SSL_write_ex / SSL_read_ex return 1 and store the count in `*written` / `*readbytes`. Only a
 *   success emits bytes: a write that fails (SSL_ERROR_WANT_WRITE) is retried by the caller with
 *   the same buffer and is seen once, on the call that succeeds.
 * - Arguments are kept per thread between entry and return (a thread is inside one SSL call at a
 *   time); the `--pid`/`--comm` predicate sits on the entry probe, so nothing of an unwanted
 *   process is stored or leaves the kernel.
 * - bpftrace 0.17 copies at most BPFTRACE_STRLEN bytes per buf() (it shortens a longer buf() to
 *   STRLEN with a warning), and each printf's arguments live on the 512-byte BPF stack: measured
 *   here, two 200-byte printfs in one probe fail with "BPF stack limit of 512 bytes is exceeded",
 *   two 160-byte ones load. So a
 *   payload leaves as CHUNK_BYTES-byte chunks (offset, length), full chunks in a bounded `while`
 *   loop (kernel ≥ 5.3 bounded loops) and the tail with its exact length (a fixed 200-byte read
 *   past the end of the buffer could fault and zero the whole tail). MAX_CHUNKS bounds the loop:
 *   1,024 chunks verify in ~330k instructions of the verifier's 1M limit (measured, bpftrace -v);
 *   what lies beyond (160 KiB) is counted by the reader from the total (`ebpf_payload_truncated`).
 * - Bytes print as `%rh` (two hex digits per byte, space separated): `%r` prints printable bytes
 *   raw and others as \xNN, which a literal backslash in the payload makes ambiguous.
 *
 *   Loading costs time: the verifier walks every iteration, ~10 s per probed file at 1,024 chunks
 *   (measured: libssl.so.3 + node, 21 s).
 *
 * Line format (parsed by event-parser.ts):
 *   C <pid> <comm>                                         before each call's chunks (comm may hold spaces)
 *   D <w|r> <pid> <ssl> <nsecs> <total> <offset> <len> <hex bytes>   one per chunk
 *   F <pid> <ssl> <nsecs>                                  SSL_free: the connection ends
 *   READY <nsecs>                                          BEGIN: every probe is attached
 * `nsecs` is bpf_ktime_get_ns (CLOCK_MONOTONIC), the same call's chunks share it.
 */

/** bpftrace 0.17's largest BPFTRACE_STRLEN (above). */
export const CHUNK_BYTES = 160;
/** Chunks per SSL call (above): 163,840 bytes. */
export const MAX_CHUNKS = 1024;
export const MAX_CALL_BYTES = CHUNK_BYTES * MAX_CHUNKS;

export type SslSymbol = 'SSL_write' | 'SSL_write_ex' | 'SSL_read' | 'SSL_read_ex' | 'SSL_free';
export const SSL_SYMBOLS: readonly SslSymbol[] = ['SSL_write', 'SSL_write_ex', 'SSL_read', 'SSL_read_ex', 'SSL_free'];

/** One file to probe and which of the symbols it exports. */
export interface ProbeTarget {
  path: string;
  symbols: ReadonlySet<SslSymbol>;
}

export interface ScriptFilter {
  pids: readonly number[];
  comms: readonly string[];
  /** A process never probed (llmtap's own: its webhook and OTLP TLS are not a workload). */
  excludePid?: number;
}

/** TASK_COMM_LEN is 16 with the NUL (linux/sched.h): a longer name never matches. */
export const MAX_COMM = 15;
/** What a `--comm` may hold: it goes into a bpftrace string literal, so no quote or backslash. */
const COMM_OK = /^[\x20-\x7e]+$/;

/** Null when the name can be used, else why not. */
export function checkComm(name: string): string | null {
  if (name.length === 0 || name.length > MAX_COMM) return `--comm ${JSON.stringify(name)}: a process name is 1 to ${MAX_COMM} characters (the kernel's comm)`;
  if (!COMM_OK.test(name) || name.includes('"') || name.includes('\\')) return `--comm ${JSON.stringify(name)}: printable ASCII without quotes or backslashes`;
  return null;
}

/** The entry probes' predicate: a process is watched when it matches any `--pid` or `--comm`
 * (none given: every process), and is not llmtap itself. */
export function predicate(f: ScriptFilter): string {
  const parts: string[] = [];
  const any = [...f.pids.map((p) => `pid == ${Math.trunc(p)}`), ...f.comms.map((c) => `comm == "${c}"`)];
  if (any.length > 0) parts.push(`(${any.join(' || ')})`);
  if (f.excludePid !== undefined) parts.push(`pid != ${Math.trunc(f.excludePid)}`);
  return parts.length === 0 ? '' : ` /${parts.join(' && ')}/`;
}

/** The printf of the chunks of `$n` bytes at `$b` (direction `dir`), `$s` the SSL*, `$t` the time. */
function emitChunks(dir: 'w' | 'r'): string {
  const cap = MAX_CALL_BYTES;
  return [
    `printf("C %d %s\\n", pid, comm);`,
    `$o = (int64)0;`,
    `while ($o + ${CHUNK_BYTES} <= $n && $o < ${cap}) { printf("D ${dir} %d %lu %lu %ld %ld ${CHUNK_BYTES} %rh\\n", pid, $s, $t, $n, $o, buf($b + (uint64)$o, ${CHUNK_BYTES})); $o += ${CHUNK_BYTES}; }`,
    `if ($o < $n && $o < ${cap}) { $r = $n - $o; printf("D ${dir} %d %lu %lu %ld %ld %ld %rh\\n", pid, $s, $t, $n, $o, $r, buf($b + (uint64)$o, $r)); }`,
  ].join('\n  ');
}

function probesFor(t: ProbeTarget, pred: string): string[] {
  const out: string[] = [];
  const p = t.path;
  // Maps per direction and variant, keyed by thread id.
  const pair = (sym: SslSymbol, dir: 'w' | 'r', ex: boolean): void => {
    if (!t.symbols.has(sym)) return;
    const m = `${dir}${ex ? 'x' : ''}`;
    out.push(`uprobe:${p}:${sym}${pred} { @${m}s[tid] = arg0; @${m}b[tid] = arg1;${ex ? ` @${m}n[tid] = arg3;` : ''} }`);
    const count = ex ? `if ((int32)retval == 1) { $n = (int64)*(uint64*)@${m}n[tid]; }` : `$n = (int64)(int32)retval;`;
    out.push(
      [
        `uretprobe:${p}:${sym} /@${m}s[tid]/ {`,
        `  $s = @${m}s[tid]; $b = @${m}b[tid]; $t = nsecs; $n = (int64)0;`,
        `  ${count}`,
        `  if ($n > 0) {`,
        `  ${emitChunks(dir)}`,
        `  }`,
        `  delete(@${m}s[tid]); delete(@${m}b[tid]);${ex ? ` delete(@${m}n[tid]);` : ''}`,
        `}`,
      ].join('\n'),
    );
  };
  pair('SSL_write', 'w', false);
  pair('SSL_write_ex', 'w', true);
  pair('SSL_read', 'r', false);
  pair('SSL_read_ex', 'r', true);
  if (t.symbols.has('SSL_free')) out.push(`uprobe:${p}:SSL_free${pred} { printf("F %d %lu %lu\\n", pid, arg0, nsecs); }`);
  return out;
}

/** The whole program for these files (each path a file bpftrace can open: no spaces or quotes,
 * see maps-scanner.ts). */
export function generateScript(targets: readonly ProbeTarget[], filter: ScriptFilter): string {
  const pred = predicate(filter);
  const probes = targets.flatMap((t) => probesFor(t, pred));
  return [`BEGIN { printf("READY %lu\\n", nsecs); }`, ...probes, ''].join('\n');
}

/** Environment for the bpftrace child: the chunk size above, and a larger perf ring per CPU
 * (bpftrace's default is 64 pages; 1,024 pages = 4 MiB holds a burst of ~5,000 chunk lines). */
export function bpftraceEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...base, BPFTRACE_STRLEN: String(CHUNK_BYTES), BPFTRACE_PERF_RB_PAGES: '1024' };
}
