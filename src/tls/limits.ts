/**
 * Caps of the TLS layer (DESIGN §1 "Bounded memory"). Every number names where it came from.
 */

/**
 * Largest TLS record body we accept: 2^14 + 2048 bytes. RFC 5246 §6.2.3 allows a TLSCiphertext of
 * up to 2^14 + 2048 bytes (TLS 1.3, RFC 8446 §5.2, only 2^14 + 256); a longer length field is not
 * TLS, and the record buffer never holds more than one record.
 */
export const MAX_RECORD_BODY = 16384 + 2048;

/** TLS record header: type(1) ‖ legacy_version(2) ‖ length(2) (RFC 8446 §5.1). */
export const RECORD_HEADER = 5;

/**
 * Handshake messages whose body we parse (ClientHello, ServerHello, EncryptedExtensions,
 * NewSessionTicket) are buffered up to 64 KiB. Real ClientHellos are 0.5-2 KB (Chrome's with an
 * X25519MLKEM768 key share is ~1.8 KB) and a 1.2 session ticket a few hundred bytes; the protocol
 * allows 2^24, which a passive observer must not buffer. Certificates and other messages we do not
 * read are skipped without buffering. Over it: `tls_handshake_too_large`.
 */
export const MAX_PARSED_HANDSHAKE = 64 * 1024;

/**
 * Ciphertext held per connection while its keys are not known yet (a followed key log is read
 * by polling, so the handshake can be on the wire before its line reaches us): 256 KiB, the
 * handshake flights plus a long first request. Only while the key log can still grow
 * (KeyLog.mayGrow); over it the connection is reported as `tls_no_keys`.
 */
export const MAX_WAITING_CIPHERTEXT = 256 * 1024;

/**
 * Plaintext held per connection until ALPN is known (TLS 1.3 names it in EncryptedExtensions,
 * which the client's first data can overtake when reassembly delivers the two directions out of
 * step, or with 0-RTT): 256 KiB. Over it the HTTP layer is chosen without ALPN.
 */
export const MAX_PENDING_PLAINTEXT = 256 * 1024;

/**
 * TLS 1.3 early-data records skipped in the client direction when the server rejected 0-RTT (the
 * server itself skips undecryptable records up to max_early_data_size, RFC 8446 §4.2.10). 64
 * records x 16 KiB is 1 MiB, far above the one request a client sends as 0-RTT.
 */
export const MAX_SKIPPED_EARLY_RECORDS = 64;
