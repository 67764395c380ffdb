import { appendFileSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../test-helpers.test-support.js';
import { listPacks, PackReader, PackWriter, type PackedBodies } from './packs.js';

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const text = (b: Uint8Array | string): string => (typeof b === 'string' ? `<${b}>` : Buffer.from(b).toString('utf8'));

function rows(n: number, tag: string): PackedBodies[] {
  return Array.from({ length: n }, (_, i) => ({
    request: enc(`req ${tag} ${i} ${'x'.repeat(i * 7)}`),
    response: i % 3 === 0 ? null : enc(i % 3 === 1 ? '' : `rés ${tag} ${i}`),
  }));
}

describe('pack files', () => {
  test('batches append after each other and read back exactly; null and empty bodies stay apart', async () => {
    const dir = join(tempDir(), 'db.bodies');
    const w = new PackWriter(dir);
    const r = new PackReader(dir);
    const all: { given: PackedBodies; refs: Awaited<ReturnType<PackWriter['append']>>[number] }[] = [];
    for (const tag of ['a', 'b', 'c']) {
      const given = rows(1500, tag); // more than one writev's 1,024 buffers
      const refs = await w.append(given);
      given.forEach((g, i) => all.push({ given: g, refs: refs[i]! }));
    }
    for (const { given, refs } of all) {
      for (const side of ['request', 'response'] as const) {
        const ref = refs[side];
        if (given[side] === null) {
          expect(ref).toBeNull();
          continue;
        }
        expect(text(await r.read(refs.pack, ref!))).toBe(text(given[side]!));
      }
    }
    expect(listPacks(dir)).toEqual([1]);
    await w.closeActive();
    await r.forget();
  });

  test('a pack is closed before it passes its bound; a row never straddles two', async () => {
    const dir = join(tempDir(), 'db.bodies');
    const w = new PackWriter(dir, 1000);
    const given = Array.from({ length: 30 }, (_, i) => ({ request: enc('q'.repeat(100 + i)), response: enc('r'.repeat(50)) }));
    const refs = await w.append(given);
    const packs = listPacks(dir).sort((a, b) => a - b);
    expect(packs.length).toBeGreaterThan(4);
    for (const p of packs) expect(statSync(join(dir, `${String(p).padStart(6, '0')}.pack`)).size).toBeLessThanOrEqual(1000);
    const r = new PackReader(dir);
    for (let i = 0; i < given.length; i++) {
      expect(refs[i]!.response!.at).toBe(refs[i]!.request!.at + refs[i]!.request!.len);
      expect(text(await r.read(refs[i]!.pack, refs[i]!.response!))).toBe('r'.repeat(50));
    }
    // A new writer (the store reopened) continues the newest pack while it has room.
    await w.closeActive();
    const again = new PackWriter(dir, 1000);
    const [next] = await again.append([{ request: enc('z'), response: null }]);
    expect(next!.pack).toBe(packs[packs.length - 1]);
    await again.closeActive();
    await r.forget();
  });

  test('cutBack undoes a batch that stored nothing', async () => {
    const dir = join(tempDir(), 'db.bodies');
    const w = new PackWriter(dir);
    await w.append(rows(10, 'kept'));
    const mark = await w.mark();
    await w.append(rows(10, 'dropped'));
    await w.cutBack(mark);
    expect(statSync(join(dir, '000001.pack')).size).toBe(mark.size);
    const [ref] = await w.append([{ request: enc('after'), response: null }]);
    expect(ref!.request!.at).toBe(mark.size);
    await w.closeActive();
  });

  test('reconcile cuts what no row points at: a tail, a whole pack', async () => {
    const dir = join(tempDir(), 'db.bodies');
    const w = new PackWriter(dir, 200);
    const refs = await w.append(Array.from({ length: 6 }, () => ({ request: enc('b'.repeat(90)), response: null })));
    await w.closeActive();
    expect(listPacks(dir).sort()).toEqual([1, 2, 3]);
    appendFileSync(join(dir, '000002.pack'), 'crash leftover');
    const before = readFileSync(join(dir, '000001.pack'));
    // Pack 1 fully referenced, pack 2 up to its first row only, pack 3 by nothing.
    const out = await new PackWriter(dir, 200).reconcile(new Map([[1, 180], [2, refs[2]!.request!.len]]));
    expect(out).toEqual({ deleted: [3], truncated: [2] });
    expect(listPacks(dir).sort()).toEqual([1, 2]);
    expect(readFileSync(join(dir, '000001.pack'))).toEqual(before);
    expect(statSync(join(dir, '000002.pack')).size).toBe(90);
  });

  test('a pack shorter than a row says, or gone, reads as a named failure, not an error', async () => {
    const dir = join(tempDir(), 'db.bodies');
    const w = new PackWriter(dir);
    const [ref] = await w.append([{ request: enc('0123456789'), response: null }]);
    await w.closeActive();
    truncateSync(join(dir, '000001.pack'), 4);
    const r = new PackReader(dir);
    expect(await r.read(1, ref!.request!)).toBe('short');
    expect(await r.read(2, ref!.request!)).toBe('missing');
    // Created later (a new store's first pack): not remembered as missing.
    writeFileSync(join(dir, '000002.pack'), '0123456789');
    expect(text(await r.read(2, { at: 2, len: 3 }))).toBe('234');
    await r.forget();
  });
});
