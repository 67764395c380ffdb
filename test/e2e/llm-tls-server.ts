/**
 * The end-to-end LLM server (llm-server.ts) over HTTPS and over cleartext HTTP/2, with the same
 * request handler, so that the same request gets the same answer whatever carries it:
 * - HTTPS: node:http2 `createSecureServer({ allowHTTP1: true })`, which negotiates `h2` or
 *   `http/1.1` by ALPN (RFC 7301) and hands both to one handler through the compatibility API;
 * - h2c: node:http2 `createServer`, HTTP/2 with prior knowledge (RFC 9113 §3.3), the cleartext
 *   twin of an h2 client's traffic.
 * The certificate is the test-only one in test/fixtures/tls/.
 */
import { readFileSync } from 'node:fs';
import { createSecureServer, createServer, type Http2SecureServer, type Http2Server } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { repoRoot } from '../corpus.js';
import { handleLlmRequest, type LlmRequest, type LlmResponse } from './llm-server.js';

export const TEST_CERT = join(repoRoot, 'test', 'fixtures', 'tls', 'localhost-cert.pem');
const TEST_KEY = join(repoRoot, 'test', 'fixtures', 'tls', 'localhost-key.pem');

export interface VersionedLlmServer {
  readonly port: number;
  /** HTTP version of each request answered so far ("1.1", "2.0"): what ALPN chose. */
  readonly versions: () => string[];
  /** Ends every connection, then stops listening. */
  close(): Promise<void>;
}

/** HTTPS on `host`, h2 or HTTP/1.1 as the client's ALPN asks. */
export function startLlmHttpsServer(host: string): Promise<VersionedLlmServer> {
  return listen(createSecureServer({ key: readFileSync(TEST_KEY), cert: readFileSync(TEST_CERT), allowHTTP1: true }), host);
}

/** Cleartext HTTP/2 with prior knowledge on `host`. */
export function startLlmH2cServer(host: string): Promise<VersionedLlmServer> {
  return listen(createServer(), host);
}

async function listen(server: Http2SecureServer | Http2Server, host: string): Promise<VersionedLlmServer> {
  const versions: string[] = [];
  // Every TCP connection, whatever runs on it, so close() can end keep-alive ones at once.
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.on('request', (req: LlmRequest, res: LlmResponse) => {
    versions.push(req.httpVersion);
    handleLlmRequest(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    versions: () => [...versions],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
