/**
 * Streams a pcap or pcapng byte stream (a pipe from a capture process, `tcpdump -w -`) through
 * CaptureParser as the chunks arrive: the live twin of file-reader.ts. Memory is the parser's
 * carry plus whatever chunk the stream hands over; a slow consumer holds the stream back through
 * `afterChunk` (the stream is not read while it is awaited, so the pipe fills and the writer
 * waits: for a live capture that shows up as kernel drops, counted by the capture process).
 */
import { CaptureParser, type CaptureFileSummary } from './capture-parser.js';
import type { ReadCaptureOptions } from './file-reader.js';
import type { CapturedFrame } from './types.js';

export interface ReadStreamOptions extends Omit<ReadCaptureOptions, 'onProgress'> {
  /** Name for error messages ("tcpdump -i lo"). */
  name: string;
  /** After each chunk: bytes read so far. */
  onBytes?: (bytesRead: number) => void;
}

/**
 * Reads `chunks` to their end. Each chunk is only read during the call that receives it (the
 * parser copies what it keeps), so a stream may reuse its buffers.
 */
export async function readCaptureStream(
  chunks: AsyncIterable<Uint8Array>,
  onFrame: (f: CapturedFrame) => void,
  opts: ReadStreamOptions,
): Promise<CaptureFileSummary> {
  const parser = new CaptureParser({
    name: opts.name,
    onFrame,
    ...(opts.anomalies ? { anomalies: opts.anomalies } : {}),
    ...(opts.onSecrets ? { onSecrets: opts.onSecrets } : {}),
    ...(opts.onInterface ? { onInterface: opts.onInterface } : {}),
  });
  let done = 0;
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    done += chunk.length;
    parser.push(chunk);
    opts.onBytes?.(done);
    if (opts.afterChunk) await opts.afterChunk();
  }
  return parser.end();
}
