import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { classifyTls, fileStrings, MARKERS, type ProcessTlsFacts } from './doctor-checks.js';

const none: ProcessTlsFacts = { mapped: ['/usr/lib/x86_64-linux-gnu/libc.so.6'], exportsSslRead: false, goBuildInfo: false, strings: new Set() };

describe('classifyTls', () => {
  test('OpenSSL mapped or exported: hookable, saying how', () => {
    expect(classifyTls({ ...none, mapped: [...none.mapped, '/usr/lib/x86_64-linux-gnu/libssl.so.3'] })).toEqual({ hookable: true, how: 'OpenSSL /usr/lib/x86_64-linux-gnu/libssl.so.3' });
    expect(classifyTls({ ...none, exportsSslRead: true })).toMatchObject({ hookable: true });
  });
  test('Go, BoringSSL, rustls, GnuTLS and NSS: not hookable, with the reason', () => {
    expect(classifyTls({ ...none, goBuildInfo: true, strings: new Set(['crypto/tls']) })).toMatchObject({ hookable: false, why: expect.stringContaining('Go crypto/tls') });
    expect(classifyTls({ ...none, strings: new Set(['BoringSSL']) })).toMatchObject({ hookable: false, why: expect.stringContaining('BoringSSL') });
    expect(classifyTls({ ...none, strings: new Set(['rustls']) })).toMatchObject({ hookable: false, why: expect.stringContaining('rustls') });
    expect(classifyTls({ ...none, mapped: ['/usr/lib/x86_64-linux-gnu/libgnutls.so.30'] })).toMatchObject({ hookable: false, why: expect.stringContaining('GnuTLS') });
    expect(classifyTls({ ...none, mapped: ['/usr/lib/x86_64-linux-gnu/libnss3.so'] })).toMatchObject({ hookable: false, why: expect.stringContaining('NSS') });
  });
  test('a Go program without crypto/tls, or nothing TLS at all: not listed', () => {
    expect(classifyTls({ ...none, goBuildInfo: true })).toBeNull();
    expect(classifyTls(none)).toBeNull();
  });
});

describe('fileStrings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmtap-doctor-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  test('markers anywhere in the file, also across the 4 MiB read boundary', () => {
    const f = join(dir, 'bin');
    const b = Buffer.alloc(4 * 1024 * 1024 + 100, 0x2e);
    b.write('Boring', 4 * 1024 * 1024 - 6, 'latin1');
    b.write('SSL', 4 * 1024 * 1024, 'latin1');
    b.write('rustls', 10, 'latin1');
    writeFileSync(f, b);
    expect(fileStrings(f, MARKERS)).toEqual(new Set(['BoringSSL', 'rustls']));
    expect(fileStrings(join(dir, 'absent'), MARKERS)).toEqual(new Set());
  });
});
