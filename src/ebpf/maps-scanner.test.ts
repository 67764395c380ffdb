import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readElfFacts } from './elf-symbols.js';
import { isLibssl, mappedPaths, scanCandidates, TargetFinder } from './maps-scanner.js';

/** A /proc/PID/maps excerpt as Linux prints it (proc(5)): anonymous maps, [heap], a deleted
 * file, a path with a space, libssl and libcrypto. */
const MAPS = `55d0c2a00000-55d0c2a01000 r--p 00000000 fd:01 1311005                    /usr/bin/python3.11
7f1a2c000000-7f1a2c021000 rw-p 00000000 00:00 0
7f1a2d400000-7f1a2d45a000 r--p 00000000 fd:01 1318802                    /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1a2d45a000-7f1a2d4b7000 r-xp 0005a000 fd:01 1318802                    /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1a2d600000-7f1a2d8b0000 r--p 00000000 fd:01 1318790                    /usr/lib/x86_64-linux-gnu/libcrypto.so.3
7f1a2e000000-7f1a2e001000 r--p 00000000 fd:01 99                         /tmp/old lib/libssl.so.1.1 (deleted)
7f1a2e100000-7f1a2e101000 r--p 00000000 fd:01 98                         /opt/my app/libssl.so.1.1
55d0c3000000-55d0c3021000 rw-p 00000000 00:00 0                          [heap]
7ffc0a000000-7ffc0a021000 rw-p 00000000 00:00 0                          [stack]
`;

describe('mappedPaths / isLibssl', () => {
  test('file paths, once each, without deleted files or pseudo-maps; spaces kept', () => {
    expect([...mappedPaths(MAPS)]).toEqual([
      '/usr/bin/python3.11',
      '/usr/lib/x86_64-linux-gnu/libssl.so.3',
      '/usr/lib/x86_64-linux-gnu/libcrypto.so.3',
      '/opt/my app/libssl.so.1.1',
    ]);
  });
  test("OpenSSL's libssl names only (NSS's libssl3.so is not it)", () => {
    expect(['/a/libssl.so', '/a/libssl.so.3', '/a/libssl.so.1.1', '/a/libssl3.so', '/a/libcrypto.so.3', '/a/libssl.so.3.bak'].map(isLibssl)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('scanCandidates and TargetFinder on a fixture /proc', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-maps-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // Two "processes": one maps a libssl (a copy of node's binary, which exports SSL_read, named
  // like a library), the other runs node itself; a third is gone (no maps file).
  const lib = join(dir, 'files', 'libssl.so.3');
  const plain = join(dir, 'files', 'plain');
  mkdirSync(join(dir, 'files'));
  copyFileSync(process.execPath, lib);
  writeFileSync(plain, 'not an ELF file');
  const proc = join(dir, 'proc');
  for (const [pid, maps, exe] of [
    ['100', `7f00-7f01 r-xp 00000000 fd:01 5 ${lib}\n7f02-7f03 r-xp 00000000 fd:01 6 ${plain}\n`, plain],
    ['200', `5500-5501 r-xp 00000000 fd:01 7 ${process.execPath}\n`, process.execPath],
  ] as const) {
    mkdirSync(join(proc, pid), { recursive: true });
    writeFileSync(join(proc, pid, 'maps'), maps);
    symlinkSync(exe, join(proc, pid, 'exe'));
  }
  mkdirSync(join(proc, '300'));
  mkdirSync(join(proc, 'self'));

  test('libssl files and executables, each with the first pid mapping it', () => {
    const { candidates, processes } = scanCandidates(proc);
    expect(processes).toBe(3);
    expect(candidates).toEqual([
      { path: lib, pid: 100, exe: false },
      { path: plain, pid: 100, exe: true },
      { path: process.execPath, pid: 200, exe: true },
    ]);
  });

  test('only files that export SSL_read/SSL_write become probe targets, with the symbols they have', () => {
    const f = new TargetFinder();
    const { candidates } = scanCandidates(proc);
    const targets = candidates.map((c) => f.target(c));
    expect(targets[1]).toBeNull();
    const node = targets[2];
    expect(node?.path).toBe(process.execPath);
    // Node's binary exports OpenSSL for native addons (nm -D node | grep SSL_read).
    expect([...(node?.symbols ?? [])].sort()).toEqual(['SSL_free', 'SSL_read', 'SSL_read_ex', 'SSL_write', 'SSL_write_ex']);
  });
});

describe('readElfFacts', () => {
  test('sections and exported symbols of a real binary; null for what is not ELF', () => {
    const f = readElfFacts(process.execPath, new Set(['SSL_read', 'not_a_symbol']));
    expect(f?.symbols).toEqual(new Set(['SSL_read']));
    expect(f?.sections.has('.dynsym')).toBe(true);
    expect(readElfFacts('/proc/self/status', new Set(['x']))).toBeNull();
    expect(readElfFacts('/nonexistent', new Set(['x']))).toBeNull();
  });
});
