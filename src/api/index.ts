/**
 * The API's public entry (DESIGN §6): the CLI creates the server with a store, the pipeline's
 * health callback and a live feed it publishes committed calls to.
 */
export { createServer, DEFAULT_HOST, DEFAULT_PORT, ServerConfigError } from './server.js';
export type { ApiServer, ListenOptions, ServerOptions } from './server.js';
export { callListItem, LIVE_DEFAULTS, LiveFeed } from './live-feed.js';
export type { LiveClient, LiveFeedOptions } from './live-feed.js';
export { isLoopbackAddress, TOKEN_COOKIE } from './security.js';
export type { HealthInfo, HealthResponse, PipelineCounts, SourceHealth, WriterHealth } from './types.js';
