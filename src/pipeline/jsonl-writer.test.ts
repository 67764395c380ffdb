import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonlWriter } from './jsonl-writer.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempFile(): string {
  const d = mkdtempSync(join(tmpdir(), 'llmtap-jsonl-'));
  dirs.push(d);
  return join(d, 'out.jsonl');
}

describe('JsonlWriter', () => {
  it('writes each record as one JSON line, byte for byte, across batches and oversized lines', () => {
    const path = tempFile();
    const w = new JsonlWriter(path);
    const records: object[] = [];
    // Small records filling several batches, multi-byte text (2-, 3- and 4-byte UTF-8), and
    // records larger than the whole batch buffer in the worst case (written on their own).
    for (let i = 0; i < 3000; i++) records.push({ i, text: `héllo ✓ 😀 "quoted" \\ ${'x'.repeat(i % 200)}` });
    records.splice(700, 0, { big: '😀'.repeat(400_000) });
    records.splice(1500, 0, { big: 'é'.repeat(700_000) }, { after: true });
    for (const r of records) w.write(r);
    w.close();
    expect(w.records).toBe(records.length);
    const expected = Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');
    expect(readFileSync(path).equals(expected)).toBe(true);
  });

  it('flush writes what is pending; nothing is written twice', () => {
    const path = tempFile();
    const w = new JsonlWriter(path);
    w.write({ a: 1 });
    w.flush();
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    w.flush();
    w.write({ b: 'ü' });
    w.close();
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"b":"ü"}\n');
  });
});
