/**
 * Vitest global setup of the real-agent suite: installs the pinned CLIs once, before the suite
 * files run (in parallel they would race on one node_modules).
 */
import { ensureClientsInstalled } from './install.js';

export default function setup(): void {
  const started = Date.now();
  ensureClientsInstalled();
  process.stderr.write(`real agents: CLIs ready in ${Date.now() - started} ms\n`);
}
