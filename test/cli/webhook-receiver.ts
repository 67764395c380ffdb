/**
 * A local alert webhook for tests: records every POST, and answers with the status `reply`
 * gives for the request's 0-based index (200 unless told otherwise).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookRequest {
  index: number;
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export class WebhookReceiver {
  readonly requests: WebhookRequest[] = [];
  private server: Server | null = null;
  reply: (index: number) => number = () => 200;

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) throw new Error('receiver not started');
    return `http://127.0.0.1:${a.port}/hook`;
  }

  /** Bodies of the requests answered 2xx, parsed. */
  accepted<T>(): T[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300).map((r) => JSON.parse(r.body) as T);
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const index = this.requests.length;
        const status = this.reply(index);
        this.requests.push({ index, status, headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'unavailable');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
