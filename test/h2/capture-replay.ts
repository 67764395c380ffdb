/**
 * Test helper: a capture file through the project's reader, link decoder and FlowTable (as
 * src/pipeline/replay.ts wires them) into the sniffing sink, collecting HTTP exchanges.
 */
import { AnomalyCounter } from '../../src/core/anomalies.js';
import { readCaptureFrames } from '../../src/capture/file-reader.js';
import { PacketDecoder } from '../../src/capture/link.js';
import { createHttp1Sink } from '../../src/http/h1/connection.js';
import { createHttp2Sink } from '../../src/http/h2/connection.js';
import { createSniffingSink } from '../../src/http/sniff.js';
import type { HttpExchange } from '../../src/http/types.js';
import { FlowTable } from '../../src/reassembly/flow-table.js';

export async function exchangesOf(path: string): Promise<{ exchanges: HttpExchange[]; anomalies: AnomalyCounter }> {
  const anomalies = new AnomalyCounter();
  const exchanges: HttpExchange[] = [];
  const onExchange = (ex: HttpExchange): void => {
    exchanges.push(ex);
  };
  const flows = new FlowTable(
    (info) =>
      createSniffingSink(info, {
        h1: (i) => createHttp1Sink(i, onExchange, anomalies),
        h2: (i) => createHttp2Sink(i, onExchange, anomalies),
        anomalies,
      }),
    anomalies,
  );
  const decoder = new PacketDecoder(anomalies);
  let last = 0;
  await readCaptureFrames(
    path,
    (pkt) => {
      if (pkt.ts > last) last = pkt.ts;
      decoder.decodeFrame(pkt, (seg) => flows.onSegment(seg));
    },
    { anomalies },
  );
  decoder.flush();
  flows.flush(last);
  return { exchanges, anomalies };
}
