/**
 * A small HPACK encoder (RFC 7541) for tests and generators: exact matches become indexed fields
 * (§6.1), known names name references, everything else literals with incremental indexing
 * (§6.2.1), Huffman-coded when shorter (§5.2). Its dynamic table evicts like a real one (§4.4), so
 * the decoder under test meets both insertions and evictions.
 */
import { huffmanEncode } from './huffman.js';
import { STATIC_COUNT, STATIC_TABLE } from './static-table.js';

export type Field = [string, string];

export class HpackTestEncoder {
  private table: { name: string; value: string; size: number }[] = []; // newest first
  private size = 0;
  private pendingSizeUpdate: number | null = null;

  constructor(
    private maxSize = 4096,
    /** false: never Huffman-code (to check both literal forms). */
    private readonly huffman = true,
  ) {}

  /** Emits a dynamic table size update (§6.3) at the start of the next block. */
  resize(n: number): void {
    this.maxSize = n;
    this.pendingSizeUpdate = n;
    this.evict(0);
  }

  encode(fields: Field[], opts: { neverIndex?: string[] } = {}): Uint8Array {
    const out: number[] = [];
    if (this.pendingSizeUpdate !== null) {
      integer(out, this.pendingSizeUpdate, 5, 0x20);
      this.pendingSizeUpdate = null;
    }
    for (const [name, value] of fields) {
      const full = this.find(name, value);
      if (full.exact) {
        integer(out, full.index, 7, 0x80);
        continue;
      }
      if (opts.neverIndex?.includes(name)) {
        // §6.2.3 never indexed, with a name reference when there is one.
        integer(out, full.index, 4, 0x10);
        if (full.index === 0) this.string(out, name);
        this.string(out, value);
        continue;
      }
      integer(out, full.index, 6, 0x40);
      if (full.index === 0) this.string(out, name);
      this.string(out, value);
      this.insert(name, value);
    }
    return Uint8Array.from(out);
  }

  private find(name: string, value: string): { index: number; exact: boolean } {
    let nameIndex = 0;
    for (let i = 1; i <= STATIC_COUNT; i++) {
      const [n, v] = STATIC_TABLE[i]!;
      if (n !== name) continue;
      if (v === value) return { index: i, exact: true };
      if (nameIndex === 0) nameIndex = i;
    }
    for (let i = 0; i < this.table.length; i++) {
      const e = this.table[i]!;
      if (e.name !== name) continue;
      if (e.value === value) return { index: STATIC_COUNT + 1 + i, exact: true };
      if (nameIndex === 0) nameIndex = STATIC_COUNT + 1 + i;
    }
    return { index: nameIndex, exact: false };
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + 32;
    if (size > this.maxSize) {
      this.table = [];
      this.size = 0;
      return;
    }
    this.evict(size);
    this.table.unshift({ name, value, size });
    this.size += size;
  }

  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.table.length > 0) this.size -= this.table.pop()!.size;
  }

  private string(out: number[], s: string): void {
    const raw = Buffer.from(s, 'latin1');
    const h = huffmanEncode(s);
    if (this.huffman && h.length < raw.length) {
      integer(out, h.length, 7, 0x80);
      for (const b of h) out.push(b);
    } else {
      integer(out, raw.length, 7, 0);
      for (const b of raw) out.push(b);
    }
  }
}

/** §5.1 integer with an N-bit prefix; `flags` fills the bits above the prefix. */
export function integer(out: number[], value: number, prefixBits: number, flags: number): void {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
}
