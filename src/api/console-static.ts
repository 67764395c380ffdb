/**
 * Serves the built console (DESIGN §6: built once, served by the same process). A deliberately
 * small file server: GET only, paths resolved strictly inside the console directory, a fixed set
 * of content types, and the single-page app's index.html for any other page path.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, relative, resolve, sep, isAbsolute } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { errorBody } from './errors.js';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** A file inside `root` for a URL path, or null when the path would leave it or is malformed. */
export function resolveInside(root: string, urlPath: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const full = resolve(root, `.${decoded.startsWith('/') ? decoded : `/${decoded}`}`);
  const rel = relative(root, full);
  if (rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) return null;
  return full;
}

export function registerConsole(app: FastifyInstance, consoleDir: string | undefined): void {
  if (consoleDir === undefined) {
    app.get('/', async (_req, reply) =>
      reply.code(404).send(errorBody('not_found', 'the console is not built into this server; the API is under /api/v1')),
    );
    return;
  }
  const root = resolve(consoleDir);
  const index = join(root, 'index.html');

  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (path.startsWith('/api/')) {
      return reply.code(404).send(errorBody('not_found', `no route for GET ${path.slice(0, 200)}`));
    }
    let file = resolveInside(root, path === '/' ? '/index.html' : path);
    if (file === null) return reply.code(404).send(errorBody('not_found', 'not found'));
    let info = await stat(file).catch(() => null);
    if (info === null || !info.isFile()) {
      // Client-side routes (/calls/…) get the app; missing assets (with an extension) get a 404.
      if (extname(path) !== '') return reply.code(404).send(errorBody('not_found', 'not found'));
      file = index;
      info = await stat(file).catch(() => null);
      if (info === null) return reply.code(404).send(errorBody('not_found', 'the console is not built'));
    }
    const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    // Built assets carry a content hash in their name and never change; index.html must be re-read.
    const immutable = file !== index && /[.-][0-9a-zA-Z_-]{8,}\.(js|css|woff2|svg|png)$/.test(file);
    reply.header('content-type', type);
    reply.header('content-length', info.size);
    reply.header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    return reply.send(createReadStream(file));
  });
}
