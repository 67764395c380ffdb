/**
 * A capture with many small concurrent connections for the worker tests: every wire API, and the
 * cases whose records the single pipeline makes outside a packet of their own connection, where
 * the workers' merge must still put them in the same place: connections that never close (their
 * close-delimited responses end at idle expiry, 5 minutes of capture time later, or at end of
 * input), interrupted streams, mid-stream joins, and lost, reordered and duplicated segments.
 */
import { APIS, buildSession, type Session } from '../gen/llm-traffic.js';
import { openCaptureFile } from '../gen/pcap-writer.js';
import { Rng } from '../gen/rng.js';
import { interleave, type PacketSource } from '../gen/tcp-conversation.js';

const START = Date.UTC(2026, 0, 15, 9) * 1000;

export interface ManyConnections {
  sessions: number;
  calls: number;
  /** Connections left open at their end (closed by idle expiry or end of input). */
  open: number;
}

export function writeManyConnections(path: string, sessions: number, seed = 11): ManyConnections {
  const rng = new Rng(seed);
  const w = openCaptureFile(path, { kind: 'pcap' });
  const meta: ManyConnections = { sessions, calls: 0, open: 0 };
  let start = START;
  function* all(): Generator<PacketSource> {
    for (let n = 1; n <= sessions; n++) {
      // ~3 s apart: the capture spans well over the 5-minute idle timeout.
      start += rng.int(500_000, 5_500_000);
      const api = rng.pick(APIS);
      const open = rng.chance(0.2);
      const ncalls = rng.int(1, 4);
      const calls = Array.from({ length: ncalls }, (_, i) => ({
        api,
        requestBytes: rng.int(1_500, 6_000),
        outputTokens: rng.int(10, 120),
        stream: rng.chance(0.7),
        toolCalls: rng.chance(0.5) ? rng.int(1, 2) : 0,
        gzip: rng.chance(0.2),
        // A connection that stays open ends its last answer by closing: that answer completes
        // only when the flow table gives the connection up.
        ...(open && i === ncalls - 1 ? { framing: 'close' as const } : {}),
        ...(!open && i === ncalls - 1 && rng.chance(0.05) ? { stream: true, interruptAfter: rng.next() } : {}),
      }));
      const s: Session = buildSession({
        seed: rng.u32(),
        client: { ip: `10.30.${(n >> 8) & 255}.${n & 255}`, port: 20000 + n },
        start,
        calls,
        thinkUs: 400_000,
        tcp: {
          rttUs: rng.int(2_000, 30_000),
          handshake: !rng.chance(0.1),
          close: open ? 'none' : rng.pick(['client-fin', 'server-fin', 'client-fin', 'client-rst'] as const),
          impair: rng.chance(0.3) ? { reorder: 0.05, duplicate: 0.05, retransmit: 0.03, lose: 0.005 } : {},
        },
      });
      meta.calls += ncalls;
      if (open) meta.open++;
      yield s.connection;
    }
  }
  for (const p of interleave(all())) w.writePacket(p);
  w.close();
  return meta;
}
