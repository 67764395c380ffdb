/**
 * Streams a pcap or pcapng file through CaptureParser in constant memory: one reused read buffer
 * (READ_CHUNK) plus the parser's carry for a record that spans two reads. A 10 GB capture needs no
 * more memory than a 10 KB one.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { AnomalySink } from '../core/anomalies.js';
import { CaptureError } from './capture-error.js';
import { CaptureParser, type CaptureFileSummary, type CaptureInterface } from './capture-parser.js';
import type { CapturedFrame, CapturedPacket } from './types.js';

export { CaptureError } from './capture-error.js';
export { CaptureParser, type CaptureFileSummary, type CaptureInterface, type CaptureParserOptions } from './capture-parser.js';

/**
 * Read size: 4 MiB amortises the syscall and the await per read over thousands of packets while
 * staying small next to V8's heap (the brief's bound for constant-memory replay).
 */
export const READ_CHUNK = 4 * 1024 * 1024;

export interface ReadCaptureOptions {
  /** After each read: bytes read so far and the file size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  anomalies?: AnomalySink;
  /** pcapng Decryption Secrets Blocks (type, copy of the data). */
  onSecrets?: (type: number, data: Uint8Array) => void;
  /** Awaited after each read: where a slower consumer (a database writer) holds the reader back,
   * so memory stays bounded however fast the file can be read. */
  afterChunk?: () => Promise<void> | void;
  /** Each interface as it is declared; throwing here (assertSupportedLinkType) aborts the read. */
  onInterface?: (iface: CaptureInterface, index: number, format: 'pcap' | 'pcapng') => void;
}

export async function readCaptureFile(
  path: string,
  onPacket: (p: CapturedPacket) => void,
  opts: ReadCaptureOptions = {},
): Promise<CaptureFileSummary> {
  return readCapture(path, { onPacket }, opts);
}

/** readCaptureFile for the per-packet path: one reused frame object, no view per packet
 * (CapturedFrame; valid only during the callback). */
export async function readCaptureFrames(
  path: string,
  onFrame: (f: CapturedFrame) => void,
  opts: ReadCaptureOptions = {},
): Promise<CaptureFileSummary> {
  return readCapture(path, { onFrame }, opts);
}

async function readCapture(
  path: string,
  deliver: { onPacket: (p: CapturedPacket) => void } | { onFrame: (f: CapturedFrame) => void },
  opts: ReadCaptureOptions,
): Promise<CaptureFileSummary> {
  const fh = await openCapture(path);
  try {
    const stat = await fh.stat();
    if (stat.isDirectory()) throw new CaptureError(`${path} is a directory, not a capture file`);
    const total = stat.size;
    const parser = new CaptureParser({
      name: path,
      ...deliver,
      ...(opts.anomalies ? { anomalies: opts.anomalies } : {}),
      ...(opts.onSecrets ? { onSecrets: opts.onSecrets } : {}),
      ...(opts.onInterface ? { onInterface: opts.onInterface } : {}),
    });
    const buf = new Uint8Array(READ_CHUNK);
    let done = 0;
    while (true) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      done += bytesRead;
      // The parser copies whatever it keeps past this call, so `buf` can be reused.
      parser.push(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      opts.onProgress?.(done, Math.max(total, done));
      if (opts.afterChunk) await opts.afterChunk();
    }
    return parser.end();
  } finally {
    await fh.close();
  }
}

async function openCapture(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CaptureError(`no such file: ${path}`);
    if (code === 'EACCES' || code === 'EPERM') throw new CaptureError(`cannot read ${path}: permission denied`);
    if (code === 'EISDIR') throw new CaptureError(`${path} is a directory, not a capture file`);
    throw new CaptureError(`cannot open ${path}: ${(err as Error).message}`);
  }
}
