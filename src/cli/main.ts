/**
 * The `llmtap` command (DESIGN §6): the only module that prints. Errors are one line on stderr
 * and a non-zero exit.
 */
import { Command, CommanderError } from 'commander';
import { UserError } from './errors.js';
import { tuneJitForPipeline } from '../pipeline/jit-tuning.js';
import type { ReplayCommandOptions } from './replay-command.js';
import type { CaptureCommandOptions } from './capture-command.js';
import type { CollectCommandOptions } from './collect-command.js';
import type { DoctorCommandOptions } from './doctor-command.js';
import type { ProbeCommandOptions } from './probe-command.js';
import type { RepriceCommandOptions } from './reprice-command.js';
import type { ServeCommandOptions } from './serve-command.js';

/**
 * A pipeline command's module, loaded, then V8's tier-up threshold set for the pipeline
 * (src/pipeline/jit-tuning.ts; worker threads share the flag). In that order because a V8 flag
 * changed at run time changes V8's flag hash, and Node's built-in code cache for its own modules
 * (crypto, zlib, fs/promises, perf_hooks, …: ~30 of them load with a command's module) is then
 * rejected, so each of them is compiled from source (callgrind, demo replay: 30M instructions
 * more, ~3% of the run). The pipeline code itself has not run yet when the flag is set.
 */
async function pipelineCommand<M>(loading: Promise<M>): Promise<M> {
  const m = await loading;
  // The global `performance` loads perf_hooks (8 Node modules) on first use: the replay's timer.
  void performance.now();
  tuneJitForPipeline();
  return m;
}

const program = new Command();
program
  .name('llmtap')
  .description('See every LLM API call on the wire: model, tokens, latency, content. No SDK needed.')
  .version('0.1.0')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

/**
 * The output options every record-producing command takes (DESIGN §6: "the same output options,
 * so users learn them once"). `source` names what --source defaults to; `live` says the key log
 * is followed and the API serves while the input runs. A byte-stream source that sees plaintext
 * (the proxy) has no TLS to decrypt: `tlsKeylog: false` leaves that option out; `listenHelp`
 * replaces --listen's description where the command gives --listen another meaning.
 */
function withOutputOptions(cmd: Command, o: { sourceDefault: string | null; live: boolean; jsonlAlone: string; tlsKeylog?: boolean; listenHelp?: string }): Command {
  cmd
    .option('--config <file>', 'configuration file (YAML; env LLMTAP_CONFIG); flags override it')
    .option('--jsonl <path>', `write records as JSON lines to PATH (- for standard output); alone, ${o.jsonlAlone}`)
    .option('--exchanges', 'with --jsonl: also write every non-LLM HTTP exchange (kind "http_exchange")');
  if (o.tlsKeylog !== false) {
    cmd.option(
      '--tls-keylog <path>',
      o.live
        ? 'decrypt TLS with this NSS key log (SSLKEYLOGFILE), followed as clients append to it'
        : 'decrypt TLS with this NSS key log (SSLKEYLOGFILE); pcapng-embedded secrets are used too',
    );
  }
  cmd
    .option('--db <path>', 'DuckDB database to store calls and exchanges in (default ./llmtap.duckdb)')
    .option('--listen <addr>', o.listenHelp ?? `serve the API and console on [HOST:]PORT${o.live ? ' while running' : ''} (default 127.0.0.1:3000)`)
    .option('--no-retention', 'keep everything (retention would otherwise delete old rows)')
    .option('--token <token>', 'access token for the API (required off loopback; env LLMTAP_TOKEN)')
    .option('--insecure-no-token', 'serve a non-loopback address without a token (not recommended)');
  if (o.sourceDefault !== null) cmd.option('--source <id>', `source id carried on every record (default: ${o.sourceDefault})`);
  return cmd
    .option('--fingerprint-salt <salt>', 'salt for api_key_fingerprint (env LLMTAP_FINGERPRINT_SALT)')
    .option('--no-turns', 'do not stitch agent calls into turns (calls keep agent, session and turn null)')
    .option('--turn-idle-timeout <duration>', 'capture time a silent agent session keeps its turn open (seconds or 15m; default 900)')
    .option('--stall-threshold <duration>', 'a tool gap longer than this flags the turn as stalled (seconds or 1m; default 60)')
    .option('--loop-threshold <count>', 'the same tool call with the same arguments this often flags a loop (default 3)')
    .option('--otlp-endpoint <url>', 'send spans and metrics to this OTLP/HTTP receiver (e.g. http://localhost:4318)')
    .option('--workers <n|auto>', 'worker threads for TCP/TLS/HTTP/decoding (1: all on the main thread; default auto, see docs/workers.md)');
}

withOutputOptions(
  program.command('replay').description('decode a pcap or pcapng capture into LLM call records').argument('<file>', 'capture file (pcap or pcapng)'),
  { sourceDefault: 'the file name', live: false, jsonlAlone: 'a pure conversion' },
)
  .option('--exit-after-drain', 'exit once the capture is read instead of serving until interrupted')
  .option('--pace <capture|factor>', 'replay at capture pace ("capture") or at a speed factor (10: ten times faster, 0.5: half speed), live-like; default as fast as possible')
  .option('-q, --quiet', 'no summary or progress on stderr')
  .action(async (file: string, opts: ReplayCommandOptions) => {
    // Loaded on use like every command: --version, --help and the other commands skip the
    // decoding pipeline's ~110 modules and the price table.
    const { runReplay } = await pipelineCommand(import('./replay-command.js'));
    await runReplay(file, opts);
  });

withOutputOptions(
  program
    .command('capture')
    .description('capture live on a network interface (through tcpdump, which holds the capture privilege) into LLM call records')
    .requiredOption('-i, --interface <iface>', 'interface to capture on (see `ip link`; "any" for all)')
    .option('--bpf-filter <expr>', 'capture only what this BPF filter passes (pcap-filter(7)), e.g. "tcp port 443 or tcp port 8000"')
    .option('--snaplen <bytes>', 'bytes kept of each packet (default 262144, 65556 on -i any: whole packets)')
    .option('--buffer-size <KiB>', "the capture process's kernel buffer in KiB (default 65536)")
    .option('--capture-tool <tool>', 'capture process: llmtap-capture (built with llmtap: TPACKET_V3, drop counters every second), tcpdump (drop counters every second, more CPU per packet), dumpcap (drop counters only when it stops) or auto (default: llmtap-capture when built, else tcpdump, else dumpcap)'),
  { sourceDefault: 'the interface name', live: true, jsonlAlone: 'no database and no API' },
)
  .option('-q, --quiet', 'no summary on stderr')
  .action(async (opts: CaptureCommandOptions) => {
    const { runCapture } = await pipelineCommand(import('./capture-command.js'));
    await runCapture(opts);
  });

// issue 9: TLS plaintext through eBPF uprobes (bpftrace), with the process behind each call.
withOutputOptions(
  program
    .command('ebpf')
    .description('read HTTPS plaintext in OpenSSL (libssl, node) with eBPF uprobes (through bpftrace, which holds the privilege) into LLM call records, with the process of each call')
    .option('--pid <pid>', 'only this process (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--comm <name>', 'only processes of this name, the kernel comm (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--libssl <path>', 'also probe this OpenSSL library or executable (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--bpftrace <path>', 'the bpftrace to run (default: bpftrace on PATH)'),
  { sourceDefault: 'ebpf', live: true, jsonlAlone: 'no database and no API' },
)
  .option('-q, --quiet', 'no summary on stderr')
  .action(async (opts: import('./ebpf-command.js').EbpfCommandOptions) => {
    const { runEbpf } = await pipelineCommand(import('./ebpf-command.js'));
    await runEbpf(opts);
  });

// issue 6 item 3: the configuration's pipelines (docs/live.md "Pipelines"); src/cli/run-command.ts.
withOutputOptions(
  program.command('run').description("run the configuration file's pipelines (files, interfaces, probes; each with its own workers and queue) into one store and API"),
  { sourceDefault: null, live: true, jsonlAlone: 'no database and no API' },
)
  .option('--exit-after-drain', 'when every pipeline reads files only: exit once they are read instead of serving until interrupted')
  .option('-q, --quiet', 'no summary on stderr')
  .action(async (opts: import('./run-command.js').RunCommandOptions) => {
    const { runPipelines } = await pipelineCommand(import('./run-command.js'));
    await runPipelines(opts);
  });

withOutputOptions(
  program
    .command('collect')
    .description('collect packet batches from remote probes (llmtap probe, cloud-probe) over ZeroMQ into LLM call records')
    .requiredOption('--listen-probes <endpoint>', 'ZeroMQ endpoint to bind for probes, tcp://HOST:PORT (e.g. tcp://0.0.0.0:5556)'),
  { sourceDefault: null, live: true, jsonlAlone: 'no database and no API' },
)
  .option('-q, --quiet', 'no summary on stderr')
  .action(async (opts: CollectCommandOptions) => {
    const { runCollect } = await pipelineCommand(import('./collect-command.js'));
    await runCollect(opts);
  });

// `llmtap proxy` (issue 8): here `--listen` is the proxy's own address, as the issue names it;
// the API and console move to `--api-listen` (src/cli/proxy-command.ts says why).
withOutputOptions(
  program
    .command('proxy')
    .description('forward LLM API calls to their upstream and record them: base URL http://HOST:PORT/proxy/{env}/{scheme}/{host}, or --upstream URL')
    .option('--upstream <url>', 'forward every request to this origin (a plain reverse proxy), e.g. https://api.openai.com')
    .option('--api-listen <addr>', 'serve the API and console on [HOST:]PORT while running (default 127.0.0.1:3000)')
    .option('--upstream-ca <file>', 'also trust these PEM CA certificates for HTTPS upstreams (NODE_EXTRA_CA_CERTS works too)')
    .option('--max-connections <n>', 'client connections open at once (default 1024)')
    .option(
      '--allow-host <pattern>',
      "upstream hosts /proxy/ URLs may name (repeatable; globs like '*.openai.azure.com', host:port); required off loopback, '*' allows any",
      (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
    ),
  // The proxy sees plaintext (clients speak HTTP to it; it makes the upstream TLS itself): no key log.
  { sourceDefault: 'proxy', live: true, jsonlAlone: 'no database and no API', tlsKeylog: false, listenHelp: 'the proxy listens on [HOST:]PORT (default 127.0.0.1:8080)' },
)
  .option('-q, --quiet', 'no summary on stderr')
  .action(async (opts: import('./proxy-command.js').ProxyCommandOptions) => {
    const { runProxy } = await pipelineCommand(import('./proxy-command.js'));
    await runProxy(opts);
  });

program
  .command('probe')
  .description('capture on this host (through tcpdump) and send the packets to a collecting llmtap (llmtap collect) over ZeroMQ')
  .requiredOption('-i, --interface <iface>', 'interface to capture on (see `ip link`; "any" for all)')
  .requiredOption('--send <endpoint>', 'the collector, tcp://HOST:PORT')
  .option('--bpf-filter <expr>', 'capture only what this BPF filter passes (pcap-filter(7)); the probe never captures its own batches')
  .option('--snaplen <bytes>', 'bytes kept of each packet (default 262144, 65556 on -i any: whole packets)')
  .option('--buffer-size <KiB>', "the capture process's kernel buffer in KiB (default 65536)")
  .option('--capture-tool <tool>', 'capture process: llmtap-capture (built with llmtap: TPACKET_V3, drop counters every second), tcpdump (drop counters every second, more CPU per packet), dumpcap (drop counters only when it stops) or auto (default: llmtap-capture when built, else tcpdump, else dumpcap)')
  .option('--probe-id <uuid>', 'source id of this probe (default: a UUID made once, kept in $XDG_STATE_HOME/llmtap/probe-id)')
  .option('-q, --quiet', 'no summary on stderr')
  .action(async (opts: ProbeCommandOptions) => {
    const { runProbe } = await pipelineCommand(import('./probe-command.js'));
    await runProbe(opts);
  });

program
  .command('doctor')
  .description('check what live capture needs here (tcpdump, privileges, interfaces) and look for LLM traffic')
  .option('-i, --interface <iface>', 'interface to check and sample (default any)')
  .option('--sample <seconds>', 'seconds of traffic to sample for LLM-looking ports (default 3; 0 to skip)')
  .action(async (opts: DoctorCommandOptions) => {
    const { runDoctor } = await pipelineCommand(import('./doctor-command.js'));
    await runDoctor(opts);
  });

program
  .command('serve')
  .description('browse a database made by an earlier run: API and console')
  .option('--config <file>', 'configuration file (YAML; env LLMTAP_CONFIG); flags override it')
  .option('--db <path>', 'DuckDB database (default ./llmtap.duckdb)')
  .option('--listen <addr>', 'serve on [HOST:]PORT (default 127.0.0.1:3000)')
  .option('--no-retention', 'do not apply retention to the database')
  .option('--token <token>', 'access token for the API (required off loopback; env LLMTAP_TOKEN)')
  .option('--insecure-no-token', 'serve a non-loopback address without a token (not recommended)')
  .action(async (opts: ServeCommandOptions) => {
    const { runServe } = await import('./serve-command.js');
    await runServe(opts);
  });

program
  .command('top')
  .description('live terminal dashboard of a running llmtap (reads its API: no privileges, no database)')
  .option('--url <url>', 'address of the running llmtap (default http://127.0.0.1:3000)')
  .option('--token <token>', 'its access token, if it has one (env LLMTAP_TOKEN)')
  .option('--window <duration>', 'live metrics window: one the server keeps (default 1m; its default if it has no such window)')
  .option('--interval <seconds>', 'refresh period (default 2)')
  .action(async (opts: import('./top-command.js').TopCommandOptions) => {
    // Ink and React load only for this command.
    const { runTop } = await import('./top-command.js');
    await runTop(opts);
  });

/** Commander collects repeated --model / --provider flags into lists. */
const collect = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

program
  .command('reprice')
  .description('price the stored calls again (after a price table update or a pricing change in the configuration)')
  .option('--db <path>', 'DuckDB database (default ./llmtap.duckdb)')
  .option('--config <file>', 'configuration file (its pricing: overrides and custom models)')
  .option('--from <time>', 'only calls at or after this time (ISO 8601 or epoch ms)')
  .option('--to <time>', 'only calls before this time')
  .option('--model <name>', 'only calls of this model (request or response model; repeatable)', collect)
  .option('--provider <name>', 'only calls of this provider (repeatable)', collect)
  .option('--dry-run', 'count what would change; write nothing')
  .option('-q, --quiet', 'no summary on stderr')
  .action(async (opts: RepriceCommandOptions) => {
    // The store and the API's time parser load only for this command.
    const { runReprice } = await import('./reprice-command.js');
    await runReprice(opts);
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander already printed its message (usage errors, --help, --version).
    process.exitCode = err.exitCode;
  } else if (err instanceof UserError) {
    process.stderr.write(`llmtap: ${err.message}\n`);
    process.exitCode = err.code;
  } else {
    process.stderr.write(`llmtap: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70; // EX_SOFTWARE
  }
}
