/**
 * Exchange bodies in append-only pack files beside the database (issue 6, README "Bodies in pack
 * files"). DuckDB rewrites the whole last, partly filled row group at every checkpoint, and at
 * agent body sizes a row group is gigabytes of bodies, so bodies in DuckDB made each checkpoint
 * rewrite every body stored so far. Here a body is written once and a row keeps where it lies.
 *
 * `<db>.bodies/NNNNNN.pack` (≤ PACK_MAX_BYTES each) holds bodies back to back, nothing else: a
 * row's (pack, offset, length) is the only index. Crash safety is the write order: a batch's bodies
 * are appended and fdatasync'ed before the DuckDB commit that points at them, so a crash can leave
 * only bytes no row points at, at a pack's end; `recover` cuts them off on open.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, statSync, truncateSync, unlinkSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** A pack is closed once it would pass this size (the task's bound; keeps retention's unit small). */
export const PACK_MAX_BYTES = 256 * 1024 * 1024;
/** Read handles kept open (LRU): a search reads many bodies of few packs. */
const READ_HANDLES_MAX = 8;
const PACK_NAME = /^(\d{6,9})\.pack$/;

export function packDirOf(dbPath: string): string {
  return `${dbPath}.bodies`;
}

function packFile(dir: string, pack: number): string {
  return join(dir, `${String(pack).padStart(6, '0')}.pack`);
}

/** Pack ids present in `dir` (none when it does not exist). */
export function listPacks(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const m = PACK_NAME.exec(n);
    return m ? [Number(m[1])] : [];
  });
}

/** Every file of the store at `dbPath` that exists: the database, its WAL and the body packs
 * (what a copy must take, and what the secret tests scan). */
export function storeFiles(dbPath: string): string[] {
  const dir = packDirOf(dbPath);
  return [dbPath, `${dbPath}.wal`, ...listPacks(dir).map((p) => packFile(dir, p))].filter((f) => sizeOf(f) !== null);
}

/** Bytes in all packs of `dir` (store stats). */
export function packBytes(dir: string): number {
  return listPacks(dir).reduce((n, pack) => n + (sizeOf(packFile(dir, pack)) ?? 0), 0);
}

/** Where one body lies. */
export interface BodyRef {
  at: number;
  len: number;
}

/** Where a row's bodies lie: both in one pack (a row never straddles two). */
export interface RowRefs {
  pack: number;
  request: BodyRef | null;
  response: BodyRef | null;
}

export interface PackedBodies {
  request: Uint8Array | null;
  response: Uint8Array | null;
}

/** The appending side: one per writable, file-backed store; used only under the writer's lock. */
export class PackWriter {
  private nextPack: number;
  private active: { pack: number; file: FileHandle; size: number } | null = null;

  constructor(
    private readonly dir: string,
    /** PACK_MAX_BYTES; smaller in tests, to see packs rotate. */
    private readonly maxBytes = PACK_MAX_BYTES,
  ) {
    // Ids are never reused while this store is open (a reader may hold a deleted pack's handle).
    this.nextPack = Math.max(0, ...listPacks(dir)) + 1;
  }

  /**
   * Append the bodies of `rows` (in order) and make them durable; resolves to where each row's
   * bodies lie. Called before the transaction that stores the rows: a row must never point at bytes
   * that a crash could lose.
   */
  async append(rows: readonly PackedBodies[]): Promise<RowRefs[]> {
    const refs: RowRefs[] = [];
    // One writev per pack touched, fdatasync'ed before anything points at it.
    let bufs: Uint8Array[] = [];
    let start = this.active?.size ?? 0;
    const flush = async (): Promise<void> => {
      const a = this.active;
      if (a === null || bufs.length === 0) return;
      await writeAll(a.file, bufs, start);
      await a.file.datasync();
      bufs = [];
    };
    for (const r of rows) {
      const bytes = (r.request?.byteLength ?? 0) + (r.response?.byteLength ?? 0);
      if (this.active === null || (this.active.size > 0 && this.active.size + bytes > this.maxBytes)) {
        await flush();
        await this.rotate(bytes);
        start = this.active!.size;
      }
      const a = this.active!;
      const ref = (b: Uint8Array | null): BodyRef | null => {
        if (b === null) return null;
        const at = a.size;
        a.size += b.byteLength;
        if (b.byteLength > 0) bufs.push(b);
        return { at, len: b.byteLength };
      };
      refs.push({ pack: a.pack, request: ref(r.request), response: ref(r.response) });
    }
    await flush();
    return refs;
  }

  /** Where the next append will start (opening a pack if none is): cutBack's argument. */
  async mark(): Promise<{ pack: number; size: number }> {
    if (this.active === null) await this.rotate(0);
    return { pack: this.active!.pack, size: this.active!.size };
  }

  /** Undo every append since `mark` (a batch none of whose rows were stored: a capture replayed
   * twice would otherwise leave its bodies twice, unreferenced). */
  async cutBack(mark: { pack: number; size: number }): Promise<void> {
    const a = this.active;
    if (a === null) return;
    if (a.pack !== mark.pack) {
      // The batch went on into a new pack: that one holds only its bytes.
      await a.file.truncate(0);
      a.size = 0;
      const size = sizeOf(packFile(this.dir, mark.pack));
      if (size !== null && size > mark.size) truncateSync(packFile(this.dir, mark.pack), mark.size);
      return;
    }
    if (mark.size >= a.size) return;
    await a.file.truncate(mark.size);
    a.size = mark.size;
  }

  /** Continue the newest pack while `bytes` fit, else start the next (its directory entry synced:
   * a pack the database points at must survive a crash). */
  private async rotate(bytes: number): Promise<void> {
    await this.closeActive();
    mkdirSync(this.dir, { recursive: true });
    const last = this.nextPack - 1;
    const lastSize = last >= 1 ? sizeOf(packFile(this.dir, last)) : null;
    if (lastSize !== null && (lastSize === 0 || lastSize + bytes <= this.maxBytes)) {
      this.active = { pack: last, file: await open(packFile(this.dir, last), 'r+'), size: lastSize };
      return;
    }
    const pack = this.nextPack++;
    this.active = { pack, file: await open(packFile(this.dir, pack), 'w'), size: 0 };
    syncDir(this.dir);
  }

  /** Forget the active pack (retention deleted it, or the store closes). */
  async closeActive(): Promise<void> {
    const a = this.active;
    this.active = null;
    await a?.file.close();
  }

  /**
   * Make the packs match the database (on open, and after retention): a pack no row points at is
   * deleted, bytes past the largest end a row points at are cut off. `ends` maps pack → that end.
   * Runs under the writer's lock, so no batch is between its append and its commit.
   */
  async reconcile(ends: ReadonlyMap<number, number>): Promise<{ deleted: number[]; truncated: number[] }> {
    const deleted: number[] = [];
    const truncated: number[] = [];
    for (const pack of listPacks(this.dir)) {
      const file = packFile(this.dir, pack);
      const end = ends.get(pack);
      if (this.active?.pack === pack && (end === undefined || end < this.active.size)) await this.closeActive();
      if (end === undefined) {
        unlinkSync(file);
        deleted.push(pack);
        continue;
      }
      const size = sizeOf(file);
      if (size !== null && size > end) {
        truncateSync(file, end);
        truncated.push(pack);
      }
    }
    if (deleted.length > 0 || truncated.length > 0) syncDir(this.dir);
    return { deleted, truncated };
  }
}

/** libuv splits a writev past IOV_MAX buffers and loops over partial writes; it stops short only
 * when the disk is full, so the rest is written again to get the system's reason. */
async function writeAll(file: FileHandle, bufs: Uint8Array[], position: number): Promise<void> {
  let pos = position;
  let rest = bufs;
  try {
    while (rest.length > 0) {
      const want = rest.reduce((n, b) => n + b.byteLength, 0);
      const { bytesWritten } = await file.writev(rest, pos);
      if (bytesWritten === want) return;
      if (bytesWritten <= 0) throw new Error('write to a body pack made no progress');
      pos += bytesWritten;
      let skip = bytesWritten;
      let i = 0;
      while (skip >= rest[i]!.byteLength) skip -= rest[i++]!.byteLength;
      rest = [rest[i]!.subarray(skip), ...rest.slice(i + 1)];
    }
  } catch (err) {
    // The one line a user sees (as DuckDB words it), not Node's "ENOSPC: no space left on device, write".
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') throw new Error('No space left on device', { cause: err });
    throw err;
  }
}

function sizeOf(file: string): number | null {
  try {
    return statSync(file).size;
  } catch {
    return null;
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Why a body could not be read back; the exchange reports it as an anomaly. */
export type ReadFailure = 'missing' | 'short';

/** The reading side: any store with packs (read-only ones too). Never throws on a bad pack. */
export class PackReader {
  private readonly handles = new Map<number, Promise<FileHandle | null>>();

  constructor(private readonly dir: string) {}

  /** `len` bytes at `at` of `pack`, or why not (a pack deleted or cut short by hand, disk trouble). */
  async read(pack: number, ref: BodyRef): Promise<Uint8Array | ReadFailure> {
    const h = await this.handle(pack);
    if (h === null) return 'missing';
    const buf = Buffer.allocUnsafe(ref.len);
    let got = 0;
    try {
      while (got < ref.len) {
        const { bytesRead } = await h.read(buf, got, ref.len - got, ref.at + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    } catch {
      return 'missing';
    }
    return got === ref.len ? buf : 'short';
  }

  private handle(pack: number): Promise<FileHandle | null> {
    let h = this.handles.get(pack);
    if (h !== undefined) {
      // Most recently used last.
      this.handles.delete(pack);
      this.handles.set(pack, h);
      return h;
    }
    h = open(packFile(this.dir, pack), 'r').catch(() => null);
    this.handles.set(pack, h);
    if (this.handles.size > READ_HANDLES_MAX) {
      const [oldest, old] = this.handles.entries().next().value as [number, Promise<FileHandle | null>];
      this.handles.delete(oldest);
      void old.then((f) => f?.close()).catch(() => undefined);
    }
    // A pack that is missing now may be created later (a new store's first pack): do not cache the miss.
    void h.then((f) => {
      if (f === null && this.handles.get(pack) === h) this.handles.delete(pack);
    });
    return h;
  }

  /** Drop the handles of `packs` (deleted) or of all. */
  async forget(packs?: readonly number[]): Promise<void> {
    const ids = packs ?? [...this.handles.keys()];
    for (const p of ids) {
      const h = this.handles.get(p);
      this.handles.delete(p);
      await h?.then((f) => f?.close()).catch(() => undefined);
    }
  }
}
