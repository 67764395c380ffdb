/**
 * IP fragment reassembly, for IPv4 (RFC 791 §3.2, RFC 815) and IPv6 (RFC 8200 §4.5): one class,
 * named by its layer for anomalies (`ipv4_fragment_*`, `ipv6_fragment_*`).
 *
 * The caller keys datagrams (IPv4: src, dst, id, protocol; IPv6: src, dst, id) and passes each
 * fragment's payload with its byte offset and More-Fragments flag; the fragment that completes a
 * datagram gets the whole payload back. Fragments may come in any order and be duplicated.
 *
 * Overlap: overlapping fragments whose bytes agree (a retransmitted or re-fragmented duplicate)
 * are accepted; overlapping fragments that disagree drop the whole datagram, as RFC 5722 §4
 * requires for IPv6. For IPv4 we take the same choice: which copy a host keeps differs between
 * stacks, so conflicting overlaps are an evasion trick (Ptacek & Newsham 1998) and any pick could
 * show different bytes from what the endpoint saw.
 *
 * Time is capture time: a datagram not complete `timeoutUs` after its first fragment is dropped.
 * Memory is capped by datagram count and by held bytes; over a cap the oldest datagram goes.
 */
import type { AnomalySink } from '../core/anomalies.js';
import type { Micros } from '../core/time.js';

export interface DefragLimits {
  /** Reassembly timeout in capture µs. */
  timeoutUs: number;
  /** Datagrams in progress at once. */
  maxDatagrams: number;
  /** Fragment bytes held across all datagrams. */
  maxBytes: number;
  /** Fragments held for one datagram. */
  maxFragments: number;
}

/** Linux defaults: net.ipv4.ipfrag_time = 30 s, ipfrag_high_thresh = 4 MiB. 1024 datagrams and
 * 512 fragments each (a 64 KiB datagram at IPv6's 1280-byte minimum MTU is 52 fragments) are
 * far above legitimate use: TCP avoids fragmentation with path MTU discovery. */
export const IPV4_DEFRAG_LIMITS: DefragLimits = {
  timeoutUs: 30_000_000,
  maxDatagrams: 1024,
  maxBytes: 4 * 1024 * 1024,
  maxFragments: 512,
};

/** RFC 8200 §4.5: reassembly is abandoned 60 s after the first-arriving fragment. */
export const IPV6_DEFRAG_LIMITS: DefragLimits = { ...IPV4_DEFRAG_LIMITS, timeoutUs: 60_000_000 };

/** IPv4 total length and IPv6 payload length are 16-bit: no datagram payload is larger. */
const MAX_DATAGRAM = 65_535;

interface Fragment {
  off: number;
  data: Uint8Array;
}

interface Datagram {
  first: Micros;
  /** Sorted by offset. */
  frags: Fragment[];
  /** Payload length, known once the last fragment (MF = 0) arrived; -1 before. */
  total: number;
  bytes: number;
}

export class FragmentReassembler {
  private readonly datagrams = new Map<string, Datagram>();
  private heldBytes = 0;

  constructor(
    private readonly layer: 'ipv4' | 'ipv6',
    private readonly anomalies: AnomalySink,
    private readonly limits: DefragLimits = layer === 'ipv4' ? IPV4_DEFRAG_LIMITS : IPV6_DEFRAG_LIMITS,
  ) {}

  /** Datagrams in progress. */
  get size(): number {
    return this.datagrams.size;
  }

  /**
   * Adds one fragment (`data` is copied if kept). Returns the reassembled payload when this
   * fragment completes the datagram, else null.
   */
  add(key: string, ts: Micros, offset: number, more: boolean, data: Uint8Array): Uint8Array | null {
    const end = offset + data.length;
    if (end > MAX_DATAGRAM) {
      this.fail(key, 'too_large');
      return null;
    }
    // RFC 791 §3.1 / RFC 8200 §4.5: every fragment but the last carries a multiple of 8 bytes.
    if (more && (data.length === 0 || data.length % 8 !== 0)) {
      this.anomalies.add(`${this.layer}_fragment_bad_length`);
      return null;
    }
    let d = this.datagrams.get(key);
    if (!d) {
      if (this.datagrams.size >= this.limits.maxDatagrams) this.evictOldest(key, 0, true);
      d = { first: ts, frags: [], total: -1, bytes: 0 };
      this.datagrams.set(key, d);
    }
    if (!more) {
      if (d.total !== -1 && d.total !== end) return this.fail(key, 'inconsistent');
      d.total = end;
    }
    if (d.total !== -1) {
      const last = d.frags[d.frags.length - 1];
      if (end > d.total || (last && last.off + last.data.length > d.total)) return this.fail(key, 'inconsistent');
    }
    // Find the insertion point and check overlaps with the neighbours that can overlap.
    let at = 0;
    while (at < d.frags.length && d.frags[at]!.off <= offset) at++;
    let covered = false;
    for (let i = 0; i < d.frags.length; i++) {
      const f = d.frags[i]!;
      const fEnd = f.off + f.data.length;
      if (fEnd <= offset) continue;
      if (f.off >= end) break;
      if (!sameOverlap(f, offset, data)) return this.fail(key, 'overlap');
      if (f.off <= offset && fEnd >= end) covered = true;
    }
    if (covered) return null; // an exact or contained duplicate adds nothing
    if (d.frags.length >= this.limits.maxFragments) return this.fail(key, 'too_many');
    if (this.heldBytes + data.length > this.limits.maxBytes) {
      this.evictOldest(key, data.length, false);
      // Alone over the cap (overlapping copies piling up): give this datagram up too.
      if (this.heldBytes + data.length > this.limits.maxBytes) return this.fail(key, 'memory_cap');
    }
    d.frags.splice(at, 0, { off: offset, data: data.slice() });
    d.bytes += data.length;
    this.heldBytes += data.length;
    if (d.total === -1) return null;

    let reach = 0;
    for (const f of d.frags) {
      if (f.off > reach) return null;
      reach = Math.max(reach, f.off + f.data.length);
    }
    if (reach < d.total) return null;
    const whole = new Uint8Array(d.total);
    for (const f of d.frags) whole.set(f.data, f.off);
    this.remove(key, d);
    return whole;
  }

  /** Drops datagrams whose first fragment is older than the timeout at capture time `now`. */
  expire(now: Micros): void {
    for (const [key, d] of this.datagrams) {
      // Map order is arrival order of first fragments: stop at the first one still in time.
      if (now - d.first <= this.limits.timeoutUs) break;
      this.anomalies.add(`${this.layer}_fragment_timeout`);
      this.remove(key, d);
    }
  }

  /** End of input: whatever is still incomplete never will be. */
  flush(): void {
    if (this.datagrams.size > 0) this.anomalies.add(`${this.layer}_fragment_incomplete`, this.datagrams.size);
    this.datagrams.clear();
    this.heldBytes = 0;
  }

  /** Oldest first, drops other datagrams until `incoming` bytes (and, with needSlot, one more
   * datagram) fit. */
  private evictOldest(keep: string, incoming: number, needSlot: boolean): void {
    for (const [key, d] of this.datagrams) {
      const slotOk = !needSlot || this.datagrams.size < this.limits.maxDatagrams;
      if (slotOk && this.heldBytes + incoming <= this.limits.maxBytes) return;
      if (key === keep) continue;
      this.anomalies.add(`${this.layer}_fragment_evicted`);
      this.remove(key, d);
    }
  }

  private fail(key: string, why: string): null {
    this.anomalies.add(`${this.layer}_fragment_${why}`);
    const d = this.datagrams.get(key);
    if (d) this.remove(key, d);
    return null;
  }

  private remove(key: string, d: Datagram): void {
    this.heldBytes -= d.bytes;
    this.datagrams.delete(key);
  }
}

/** Whether fragment `f` and the new bytes agree where they overlap. */
function sameOverlap(f: Fragment, offset: number, data: Uint8Array): boolean {
  const from = Math.max(f.off, offset);
  const to = Math.min(f.off + f.data.length, offset + data.length);
  for (let p = from; p < to; p++) {
    if (f.data[p - f.off] !== data[p - offset]) return false;
  }
  return true;
}
