/**
 * `llmtap doctor` (DESIGN §6, "pre-flight"): what a live capture needs here, each failed check
 * with how to fix it, and a short sample of traffic showing which ports carry LLM-looking
 * traffic (decoded LLM calls, or TLS to a known provider by its SNI). Exit 1 when live capture
 * cannot work, 0 otherwise. The report goes to stdout: it is this command's output.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { pickCaptureTool, type CaptureTool } from '../capture/live-capture-tool.js';
import { dumpcapFix } from '../capture/live-dumpcap-text.js';
import { findLlmtapCapture } from '../capture/live-llmtap-capture-text.js';
import { findOnPath } from '../capture/find-program.js';
import { LiveCaptureError, startLiveCapture } from '../capture/live-tcpdump.js';
import { setcapFix } from '../capture/live-tcpdump-text.js';
import type { LlmCallRecord } from '../core/record.js';
import { replayStream, type PipelineOptions } from '../pipeline/replay.js';
import { UserError } from './errors.js';

export interface DoctorCommandOptions {
  interface?: string;
  /** Seconds of traffic to sample (default 3, 0 skips). */
  sample?: string;
}

/** Long enough to see a streamed completion finish on a busy host, short enough for a pre-flight. */
const DEFAULT_SAMPLE_S = 3;
/** Bound on a `tcpdump --version` / `dumpcap --version` / `getcap` run. */
const CMD_TIMEOUT_MS = 5_000;
/** Ports listed in the report: it is a hint, not an inventory. */
const MAX_PORTS = 20;
/** Snapshot length of the sample: headers and the TLS ClientHello are in the first bytes, but LLM
 * calls are only recognised from whole HTTP bodies, so whole loopback-sized packets. */
const SAMPLE_SNAPLEN = 65_600;
/** Kernel capture bits (capabilities(7)): CAP_NET_ADMIN 12, CAP_NET_RAW 13. */
const CAP_NET_ADMIN = 12n;
const CAP_NET_RAW = 13n;

/**
 * TLS server names of hosted LLM APIs (each provider's API reference); a name equal to one or
 * ending in "." + one matches (Azure OpenAI resources); regional Bedrock
 * (bedrock-runtime.REGION.amazonaws.com) and Vertex (REGION-aiplatform.googleapis.com) hosts are
 * matched by their pattern.
 */
export const LLM_PROVIDER_HOSTS = [
  'api.openai.com',
  'api.anthropic.com',
  'generativelanguage.googleapis.com',
  'aiplatform.googleapis.com',
  'amazonaws.com', // bedrock-runtime.<region>.amazonaws.com, filtered below
  'openai.azure.com',
  'api.cohere.com',
  'api.cohere.ai',
  'api.mistral.ai',
  'api.groq.com',
  'api.together.xyz',
  'api.deepseek.com',
  'api.x.ai',
  'openrouter.ai',
  'api.fireworks.ai',
  'api.perplexity.ai',
];

export function isLlmProviderHost(sni: string): boolean {
  const name = sni.toLowerCase().replace(/\.$/, '');
  if (name.endsWith('.amazonaws.com')) return /^bedrock-runtime[.-]/.test(name);
  // Vertex AI regional endpoints: REGION-aiplatform.googleapis.com.
  if (/^[a-z0-9-]+-aiplatform\.googleapis\.com$/.test(name)) return true;
  return LLM_PROVIDER_HOSTS.some((h) => h !== 'amazonaws.com' && (name === h || name.endsWith(`.${h}`)));
}

/** Ports with LLM-looking traffic, found while a capture runs through the pipeline. */
export class LlmTrafficFinder {
  /** "ip:port" → what was seen there. Capped at MAX_PORTS entries. */
  readonly ports = new Map<string, { what: Set<string>; count: number }>();

  private note(ip: string, port: number, what: string): void {
    const key = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
    let e = this.ports.get(key);
    if (e === undefined) {
      if (this.ports.size >= MAX_PORTS) return;
      this.ports.set(key, (e = { what: new Set(), count: 0 }));
    }
    e.count++;
    if (e.what.size < 4) e.what.add(what);
  }

  /** Pipeline callbacks that feed the finder (the calls go nowhere else). */
  options(source: string): PipelineOptions {
    return {
      source,
      fingerprintSalt: 'llmtap-doctor',
      onCall: (r: LlmCallRecord) => this.note(r.server.ip, r.server.port, `${r.api} (HTTP${r.server.host ? `, ${r.server.host}` : ''})`),
      onTlsUndecrypted: (info, facts) => {
        if (facts.sni !== null && isLlmProviderHost(facts.sni)) this.note(info.server.ip, info.server.port, `TLS to ${facts.sni}`);
      },
    };
  }

  lines(): string[] {
    return [...this.ports]
      .sort((a, b) => b[1].count - a[1].count)
      .map(([port, e]) => `${port}: ${[...e.what].join(', ')} (${e.count} ${e.count === 1 ? 'connection or call' : 'connections or calls'})`);
  }
}

interface Check {
  ok: boolean | null; // null: information only
  name: string;
  text: string;
  fix?: string;
}

export async function runDoctor(o: DoctorCommandOptions): Promise<void> {
  const iface = o.interface ?? 'any';
  const sampleS = o.sample === undefined ? DEFAULT_SAMPLE_S : Number(o.sample);
  if (!Number.isFinite(sampleS) || sampleS < 0 || sampleS > 60) throw new UserError(`--sample takes seconds from 0 to 60 (got "${String(o.sample).slice(0, 40)}")`, 2);
  const checks: Check[] = [];
  const out = (c: Check): void => {
    checks.push(c);
    const tag = c.ok === null ? 'info' : c.ok ? 'ok  ' : 'FAIL';
    process.stdout.write(`  ${tag}  ${c.name}: ${c.text}\n${c.fix ? `        fix: ${c.fix}\n` : ''}`);
  };
  process.stdout.write('llmtap doctor: what live capture (llmtap capture -i IFACE) needs here\n');

  // 1. The capture program: llmtap-capture, tcpdump, dumpcap (live-capture-tool.ts says why in that order).
  const own = findLlmtapCapture();
  const tcpdump = findOnPath('tcpdump');
  const dumpcap = findOnPath('dumpcap');
  const picked = pickCaptureTool('auto', (t) => (t === 'llmtap-capture' ? own : t === 'tcpdump' ? tcpdump : dumpcap));
  const used = typeof picked === 'string' ? null : picked;
  // llmtap-capture: TPACKET_V3 blocks and drop counters every second; optional, built from source.
  out({
    ok: used?.tool === 'llmtap-capture' ? true : null,
    name: 'llmtap-capture',
    text:
      own === null
        ? 'not built (optional, the fastest capture process with drop counters every second: needs a C compiler and libpcap headers, apt install gcc libpcap-dev, then npm run build:capture)'
        : `${own} (${toolVersion(own)})`,
  });
  if (tcpdump === null) {
    const other = used === null ? null : used.tool;
    out({
      ok: other === null ? false : null,
      name: 'tcpdump',
      text: other === null ? 'not found on PATH' : `not found on PATH; ${other} captures instead${other === 'dumpcap' ? ' (its drop counters come only when it stops)' : ''}`,
      fix: 'install it: apt install tcpdump (Debian/Ubuntu), dnf install tcpdump (Fedora/RHEL), apk add tcpdump (Alpine)',
    });
  } else {
    out({ ok: true, name: 'tcpdump', text: `${tcpdump} (${toolVersion(tcpdump)})` });
  }
  // dumpcap: a packed ring (issue 6's packet rates) but drop counters only at its exit;
  // information unless it is the one used.
  out({
    ok: used?.tool === 'dumpcap' ? true : null,
    name: 'dumpcap',
    text:
      dumpcap === null
        ? 'not found (optional: apt install tshark, dnf install wireshark-cli; with --capture-tool dumpcap it packs ~100x the packets into the same kernel ring, but reports drops only when it stops)'
        : `${dumpcap} (${toolVersion(dumpcap)})${used?.tool === 'dumpcap' ? '' : ': --capture-tool dumpcap packs ~100x the packets into the kernel ring, drops reported only when it stops'}`,
  });

  // 2. The capture privilege: the capture process's, not ours (DESIGN §2).
  const priv = privileges(used?.path ?? null, used?.tool ?? 'tcpdump');
  out(priv);

  // 3. Interfaces.
  const ifaces = interfaces();
  const known = iface === 'any' || ifaces.some((i) => i.name === iface);
  out({
    ok: ifaces.length === 0 ? null : known,
    name: 'interfaces',
    text: ifaces.length === 0 ? 'cannot list (/sys/class/net is not readable)' : ifaces.map((i) => `${i.name} (${i.state})`).join(', '),
    ...(known ? {} : { fix: `no interface ${iface} here: pick one of the above, or -i any` }),
  });

  // 4. The real test: tcpdump captures a few seconds, through the same pipeline as `capture`.
  const captured = used !== null && known && sampleS > 0 ? await sample(iface, sampleS, out) : false;

  // A capture that worked outranks the privilege guess (tcpdump may be setuid, or allowed by a
  // security module the guess does not read).
  const failed = checks.filter((c) => c.ok === false && !(captured && c.name === 'privileges'));
  if (failed.length === 0) {
    process.stdout.write(`live capture can work here: llmtap capture -i ${iface === 'any' ? 'IFACE (or any)' : iface}\n`);
  } else {
    process.stdout.write(`live capture cannot work here yet: fix the ${failed.length === 1 ? 'check' : `${failed.length} checks`} marked FAIL\n`);
    process.exitCode = 1;
  }
  // issue 9: the eBPF source's needs and the processes it can read (its own verdict line).
  (await import('../ebpf/doctor-checks.js')).printEbpfDoctor((s) => void process.stdout.write(s));
}

/** True when tcpdump captured. */
async function sample(iface: string, seconds: number, out: (c: Check) => void): Promise<boolean> {
  const finder = new LlmTrafficFinder();
  let live;
  try {
    live = await startLiveCapture({ iface, snaplen: SAMPLE_SNAPLEN });
  } catch (err) {
    if (!(err instanceof LiveCaptureError)) throw err;
    out({ ok: false, name: 'capture', text: err.message.replace(/ \(see `llmtap doctor`\)$/, '') });
    return false;
  }
  const timer = setTimeout(() => void live.stop(), seconds * 1000);
  let packets = 0;
  try {
    const s = await replayStream(live.bytes, { ...finder.options(`doctor:${iface}`), name: `${live.tool} -i ${iface}` });
    packets = s.packets;
  } catch (err) {
    out({ ok: false, name: 'capture', text: `could not read what ${live.tool} wrote: ${err instanceof Error ? err.message : String(err)}` });
    return false;
  } finally {
    clearTimeout(timer);
    await live.stop();
  }
  const c = live.counters();
  out({ ok: true, name: 'capture', text: `${seconds} s on ${iface}: ${packets} packets, kernel drops ${c.kernel ?? 'unknown'}` });
  const lines = finder.lines();
  out({
    ok: null,
    name: 'LLM-looking traffic',
    text:
      lines.length === 0
        ? `none in ${seconds} s (plain HTTP LLM calls are recognised when a whole call is seen; TLS by the server name of a known provider, at a new connection)`
        : lines.join('; '),
  });
  return true;
}

function toolVersion(path: string): string {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  // tcpdump: "tcpdump version 4.99.3" + libpcap's line; dumpcap: "Dumpcap (Wireshark) 4.0.17 (…)";
  // llmtap-capture: "llmtap-capture version 1" + libpcap's line.
  const lines = text.split('\n').filter((l) => /^(tcpdump|libpcap|llmtap-capture) version|^Dumpcap /i.test(l.trim())).slice(0, 2);
  return lines.length > 0 ? lines.map((l) => l.trim()).join(', ') : 'version unknown';
}

/** Effective capabilities of this process (proc(5), /proc/self/status CapEff), null if unknown. */
function effectiveCaps(): bigint | null {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : null;
  } catch {
    return null;
  }
}

function hasCap(set: bigint, bit: bigint): boolean {
  return ((set >> bit) & 1n) === 1n;
}

function privileges(tcpdump: string | null, tool: CaptureTool): Check {
  const name = 'privileges';
  const fixFor = (p: string): string =>
    tool === 'dumpcap'
      ? `run llmtap as root (sudo llmtap capture …), or let dumpcap capture: ${dumpcapFix(p)}`
      : tool === 'llmtap-capture'
        ? `run llmtap as root (sudo llmtap capture …), or grant llmtap-capture the capture capabilities once (again after it is rebuilt; not on a file system mounted nosuid, where LLMTAP_CAPTURE_PROGRAM can name a copy elsewhere): ${setcapFix(p)}`
        : `run llmtap as root (sudo llmtap capture …), or grant tcpdump the capture capabilities once: ${setcapFix(p)}`;
  const uid = process.getuid?.() ?? -1;
  if (uid === 0) {
    const caps = effectiveCaps();
    if (caps === null || (hasCap(caps, CAP_NET_RAW) && hasCap(caps, CAP_NET_ADMIN))) {
      return { ok: true, name, text: `running as root (${tool} inherits CAP_NET_RAW and CAP_NET_ADMIN)` };
    }
    return {
      ok: false,
      name,
      text: 'running as root without CAP_NET_RAW/CAP_NET_ADMIN (a restricted container?)',
      fix: 'give the container NET_RAW and NET_ADMIN (docker run --cap-add NET_RAW --cap-add NET_ADMIN)',
    };
  }
  if (tcpdump === null) return { ok: false, name, text: 'not root, and no tcpdump or dumpcap to grant capabilities to', fix: 'install tcpdump, then: ' + fixFor('$(command -v tcpdump)') };
  const getcap = findOnPath('getcap');
  if (getcap === null) {
    return { ok: null, name, text: `not root; cannot read ${tool}'s capabilities (getcap not found: apt install libcap2-bin); the capture check below decides` };
  }
  const r = spawnSync(getcap, [tcpdump], { encoding: 'utf8', timeout: CMD_TIMEOUT_MS });
  const caps = (r.stdout ?? '').toLowerCase();
  // getcap(8): "/usr/bin/tcpdump cap_net_admin,cap_net_raw=eip" (older: " = cap_…+eip").
  const effective = /=\s*[a-z]*e|\+[a-z]*e/.test(caps);
  if (caps.includes('cap_net_raw') && caps.includes('cap_net_admin') && effective) {
    return { ok: true, name, text: `not root; ${tcpdump} has ${caps.trim().replace(`${tcpdump.toLowerCase()} `, '')}` };
  }
  return { ok: false, name, text: `not root, and ${tcpdump} has no capture capabilities`, fix: fixFor(tcpdump) };
}

function interfaces(): { name: string; state: string }[] {
  try {
    return readdirSync('/sys/class/net')
      .sort()
      .map((name) => {
        let state = 'unknown';
        try {
          state = readFileSync(`/sys/class/net/${name}/operstate`, 'utf8').trim();
        } catch {
          // a device that vanished meanwhile
        }
        return { name, state };
      });
  } catch {
    return [];
  }
}
