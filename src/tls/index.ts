/** TLS decryption from key logs (DESIGN §2): the public surface the pipeline and the CLI use. */
export { createTlsSink, type TlsSinkDeps, type UndecryptedFacts, type UndecryptedReason } from './tls-sink.js';
export { looksLikeTls } from './records.js';
export {
  DSB_TLS_KEY_LOG,
  KeyLog,
  secretsFromDsb,
  type FollowOptions,
  type KeyLogFollower,
  type KeyLogOptions,
  type KeyLogStats,
  type SessionSecrets,
} from './keylog.js';
