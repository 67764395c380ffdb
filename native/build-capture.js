/**
 * `npm run build:capture`: compiles llmtap's own capture process (native/llmtap-capture.c) into
 * dist/native/llmtap-capture, where llmtap finds it (src/capture/live-llmtap-capture-text.ts).
 *
 * It needs a C compiler and libpcap's headers. Without them it says what to install and exits 0:
 * llmtap then captures through tcpdump or dumpcap, as before (docs/live.md "Capture process").
 * A binary newer than its source is left alone, so the capabilities granted to it (setcap) survive
 * `npm run build`; a rebuilt binary has none and needs them granted again (said below).
 * Under CI (CI=true) a compiler error fails the build: there it must be built and tested.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'native', 'llmtap-capture.c');
const out = join(root, 'dist', 'native', 'llmtap-capture');
const header = '#include <pcap/pcap.h>\n';
/** Preprocesses an include of pcap.h: tries the compiler and the header in one go. */
const probeWith = (cc) => spawnSync(cc, ['-E', '-x', 'c', '-', '-o', '/dev/null'], { input: header, encoding: 'utf8' });
// $CC, else cc, else gcc (a system with gcc but no cc alternative).
const candidates = process.env.CC ? [process.env.CC] : ['cc', 'gcc'];
let cc = candidates[0];
let probe = probeWith(cc);
for (const next of candidates.slice(1)) {
  if (probe.error === undefined) break;
  cc = next;
  probe = probeWith(cc);
}
const say = (s) => process.stdout.write(`build:capture: ${s}\n`);
const fallback = 'llmtap will capture through tcpdump or dumpcap instead';

if (process.platform === 'win32') {
  say(`not built on Windows (live capture is for Linux and macOS); ${fallback}`);
  process.exit(0);
}
if (probe.error !== undefined) {
  say(`not built: no C compiler (${cc}); install one (apt install gcc, dnf install gcc) and libpcap's headers, then npm run build:capture; ${fallback}`);
  process.exit(0);
}
if (probe.status !== 0) {
  say(`not built: libpcap's headers (pcap/pcap.h) are missing; install them (apt install libpcap-dev, dnf install libpcap-devel), then npm run build:capture; ${fallback}`);
  process.exit(0);
}
if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) {
  say(`${relative(root, out)} is up to date`);
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp`;
const built = spawnSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-o', tmp, src, '-lpcap'], { encoding: 'utf8' });
if (built.error !== undefined || built.status !== 0) {
  rmSync(tmp, { force: true });
  process.stderr.write(`${built.stderr ?? ''}${built.error?.message ?? ''}\n`);
  say(`not built: ${cc} failed on native/llmtap-capture.c (above); ${fallback}`);
  process.exit(process.env.CI === 'true' ? 1 : 0);
}
// Replaced in one step: a running capture keeps its old file.
renameSync(tmp, out);
const privileged = process.getuid?.() === 0 ? '' : `; to capture without root, grant it the capture capabilities once: sudo setcap cap_net_raw,cap_net_admin=eip ${out}`;
say(`built ${relative(root, out)}${privileged}`);
