/**
 * HPACK decoder (RFC 7541) for one direction of one HTTP/2 connection.
 *
 * A passive observer may not know the dynamic table: it joined the connection mid-way, or a
 * header block was lost or corrupt. Indices count from the newest entry (§2.3.3), so whatever we
 * insert after losing track is still at a known index: the table keeps the entries we know,
 * newest first, and `complete` says whether it holds all of them. A reference past the known
 * entries is then an unknown field (counted, the block goes on), not an error. After a decoding
 * error the positions of the entries we hold are unknown (the failed block may have inserted
 * more), so they are dropped and knowledge starts again from the next block: a corrupt block
 * never poisons the ones after it with wrong headers.
 *
 * Eviction (§4.4) uses the sizes we know; when the table is incomplete the real table holds at
 * least as much, so we keep a superset of what the encoder can still reference.
 */
import type { HeaderList } from '../types.js';
import { huffmanDecode } from './huffman.js';
import { STATIC_COUNT, STATIC_TABLE } from './static-table.js';

export interface HpackLimits {
  /**
   * Largest dynamic table accepted whatever SETTINGS say: 1 MiB. The table costs about its size
   * in memory; Chrome advertises SETTINGS_HEADER_TABLE_SIZE 65536, the largest in common use, and
   * the RFC default is 4096 (RFC 9113 §6.5.2), so this is 16x the largest seen.
   */
  maxTableSize: number;
  /**
   * Decoded header list size, counted as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113
   * §6.5.2: name + value + 32 per field). Fields past it are dropped (still decoded, to keep the
   * table in step): `h2_header_list_too_large`. Default: the HTTP/1 head cap (HttpLimits
   * .maxHeaderBytes, 256 KiB), which is also what Chrome advertises as MAX_HEADER_LIST_SIZE.
   */
  maxHeaderListSize: number;
}

export const DEFAULT_HPACK_LIMITS: Readonly<HpackLimits> = {
  maxTableSize: 1024 * 1024,
  maxHeaderListSize: 256 * 1024,
};

/** RFC 7541 §4.2 / RFC 9113 §6.5.2: the initial SETTINGS_HEADER_TABLE_SIZE. */
export const DEFAULT_TABLE_SIZE = 4096;

/** §4.1: an entry's size is its name and value lengths plus 32. */
const ENTRY_OVERHEAD = 32;

export interface HpackResult {
  /** Fields in order; names lower-cased. Fields we could not resolve are left out. */
  headers: HeaderList;
  /** Fields whose name or value was in table state we do not know. */
  unknownFields: number;
  /** The block was corrupt (RFC 7541 COMPRESSION_ERROR): fields before the damage are kept. */
  failed: boolean;
  /** Anomaly names met in this block. */
  anomalies: string[];
}

interface Entry {
  /** null: inserted with a name we could not resolve. */
  name: string | null;
  value: string;
  size: number;
}

/** A decoding error inside a block: thrown and caught within this module only. */
class HpackError extends Error {
  constructor(readonly anomaly: string) {
    super(anomaly);
  }
}

export class HpackDecoder {
  /** Known entries, oldest first from `first` (newest is last). */
  private entries: Entry[] = [];
  private first = 0;
  private size = 0;
  /** Current maximum set by the encoder's size updates (§4.2, §6.3). */
  private maxSize: number;
  /** Largest size the decoding side allowed in SETTINGS (null: not seen). */
  private settingsLimit: number | null = null;
  /** True when `entries` is the whole dynamic table (we saw every block from the start). */
  complete: boolean;
  private readonly limits: HpackLimits;

  constructor(opts: { complete: boolean; limits?: Partial<HpackLimits> }) {
    this.complete = opts.complete;
    this.limits = { ...DEFAULT_HPACK_LIMITS, ...opts.limits };
    this.maxSize = Math.min(DEFAULT_TABLE_SIZE, this.limits.maxTableSize);
  }

  /** Entries held (for tests and memory accounting). */
  get tableLength(): number {
    return this.entries.length - this.first;
  }

  get tableSize(): number {
    return this.size;
  }

  /**
   * SETTINGS_HEADER_TABLE_SIZE sent by the peer that decodes this direction: the most the encoder
   * may use. The table itself changes only with the encoder's size update (§4.2).
   */
  setSettingsLimit(n: number): void {
    this.settingsLimit = n;
  }

  /** Table state is lost (a block we could not decode, a gap): keep decoding what we can. */
  forget(): void {
    this.entries = [];
    this.first = 0;
    this.size = 0;
    this.complete = false;
  }

  decode(block: Uint8Array): HpackResult {
    const res: HpackResult = { headers: [], unknownFields: 0, failed: false, anomalies: [] };
    let listSize = 0;
    let listCapped = false;
    let pos = 0;
    let fieldsSeen = false;
    const n = block.length;
    const readInt = (prefixBits: number): number => {
      const r = decodeInteger(block, pos, prefixBits);
      if (r === null) throw new HpackError('h2_hpack_bad_integer');
      pos = r.next;
      return r.value;
    };
    const readString = (): string => {
      if (pos >= n) throw new HpackError('h2_hpack_truncated');
      const huffman = (block[pos]! & 0x80) !== 0;
      const len = readInt(7);
      if (len > n - pos) throw new HpackError('h2_hpack_truncated');
      const start = pos;
      pos += len;
      if (!huffman) return latin1(block, start, pos);
      const s = huffmanDecode(block, start, pos);
      if (s === null) throw new HpackError('h2_hpack_bad_huffman');
      return s;
    };
    const emit = (name: string | null, value: string | null): void => {
      if (name === null || value === null) {
        res.unknownFields++;
        return;
      }
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      if (listSize > this.limits.maxHeaderListSize) {
        if (!listCapped) res.anomalies.push('h2_header_list_too_large');
        listCapped = true;
        return;
      }
      res.headers.push([lowerName(name), trimOws(value)]);
    };

    try {
      while (pos < n) {
        const b = block[pos]!;
        if (b & 0x80) {
          // §6.1 Indexed Header Field.
          const idx = readInt(7);
          const f = this.lookup(idx);
          emit(f.name, f.value);
          fieldsSeen = true;
        } else if ((b & 0xe0) === 0x20) {
          // §6.3 Dynamic Table Size Update: only at the start of a block (§4.2).
          if (fieldsSeen) res.anomalies.push('h2_hpack_late_size_update');
          this.resize(readInt(5), res);
        } else {
          // §6.2.1 with incremental indexing (01), §6.2.2 without (0000), §6.2.3 never (0001).
          const indexing = (b & 0xc0) === 0x40;
          const idx = readInt(indexing ? 6 : 4);
          let name: string | null;
          if (idx === 0) name = readString();
          else name = this.lookup(idx).name;
          const value = readString();
          emit(name, value);
          if (indexing) this.insert(name, value);
          fieldsSeen = true;
        }
      }
    } catch (e) {
      if (!(e instanceof HpackError)) throw e;
      res.failed = true;
      res.anomalies.push(e.anomaly);
      this.forget();
    }
    return res;
  }

  /** Field at `idx` (static then dynamic, §2.3.3); null parts are unknown. */
  private lookup(idx: number): { name: string | null; value: string | null } {
    if (idx === 0) throw new HpackError('h2_hpack_bad_index');
    if (idx <= STATIC_COUNT) {
      const [name, value] = STATIC_TABLE[idx]!;
      return { name, value };
    }
    const d = idx - STATIC_COUNT - 1; // 0 = newest
    const held = this.entries.length - this.first;
    if (d < held) {
      const e = this.entries[this.entries.length - 1 - d]!;
      return { name: e.name, value: e.value };
    }
    if (this.complete) throw new HpackError('h2_hpack_bad_index');
    return { name: null, value: null };
  }

  private resize(n: number, res: HpackResult): void {
    if (n > this.limits.maxTableSize) throw new HpackError('h2_hpack_bad_table_size');
    // Both directions are delivered independently, so the SETTINGS allowing this size may not
    // have been read yet: honour the update, but say when it goes past what we saw allowed.
    const allowed = Math.max(this.settingsLimit ?? 0, DEFAULT_TABLE_SIZE);
    if (this.settingsLimit !== null && n > allowed) res.anomalies.push('h2_hpack_table_size_over_settings');
    this.maxSize = n;
    this.evict(0);
    // An empty table is known exactly, however little we knew before.
    if (n === 0) this.complete = true;
  }

  private insert(name: string | null, value: string): void {
    // An unknown name counts as empty: the real entry is at least as large, so we evict no more
    // than the encoder does (we keep a superset).
    const size = (name?.length ?? 0) + value.length + ENTRY_OVERHEAD;
    if (size > this.maxSize) {
      // §4.4: an entry larger than the table empties it and is not added. Without the whole
      // history (a size update may have been missed) we cannot tell whether it was added, and so
      // where our entries now sit: forget them rather than guess.
      if (this.complete && name !== null) {
        this.entries = [];
        this.first = 0;
        this.size = 0;
      } else {
        this.forget();
      }
      return;
    }
    this.evict(size);
    this.entries.push({ name, value, size });
    this.size += size;
  }

  /**
   * Evicts oldest entries until `room` more bytes fit (§4.4). Keeping an entry the encoder has
   * evicted costs memory only (it is never referenced again); dropping one it still uses loses
   * headers. So we evict against the largest the encoder could be using: its last size update
   * or what SETTINGS allow, whichever is larger, and when we lack the history, our hard cap.
   */
  private evict(room: number): void {
    const max = this.complete ? Math.max(this.maxSize, Math.min(this.settingsLimit ?? 0, this.limits.maxTableSize)) : this.limits.maxTableSize;
    while (this.size + room > max && this.first < this.entries.length) {
      this.size -= this.entries[this.first]!.size;
      this.first++;
    }
    if (this.first > 64 && this.first * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.first);
      this.first = 0;
    }
  }
}

/**
 * §5.1 integer with an N-bit prefix starting at `pos`. Null when truncated or larger than 2^31
 * (no legitimate length, index or size comes near it; bounding it keeps the arithmetic exact).
 */
export function decodeInteger(b: Uint8Array, pos: number, prefixBits: number): { value: number; next: number } | null {
  if (pos >= b.length) return null;
  const mask = (1 << prefixBits) - 1;
  let value = b[pos]! & mask;
  pos++;
  if (value < mask) return { value, next: pos };
  let m = 1;
  while (pos < b.length) {
    const byte = b[pos++]!;
    value += (byte & 0x7f) * m;
    if (value > 0x7fffffff) return null;
    if ((byte & 0x80) === 0) return { value, next: pos };
    m *= 128;
  }
  return null;
}

function latin1(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

function lowerName(name: string): string {
  // RFC 9113 §8.2.1: names are lower case on the wire; lower-case anyway, as HTTP/1 does.
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return name.toLowerCase();
  }
  return name;
}

/** SP / HTAB only (RFC 9110 §5.6.3), as the HTTP/1 layer trims. */
function trimOws(s: string): string {
  let a = 0;
  let z = s.length;
  while (a < z && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (z > a && (s.charCodeAt(z - 1) === 0x20 || s.charCodeAt(z - 1) === 0x09)) z--;
  return a === 0 && z === s.length ? s : s.slice(a, z);
}
