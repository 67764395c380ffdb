import { describe, expect, test } from 'vitest';
import { checkComm, generateScript, predicate, type SslSymbol } from './bpftrace-script.js';

const all = new Set<SslSymbol>(['SSL_write', 'SSL_write_ex', 'SSL_read', 'SSL_read_ex', 'SSL_free']);

describe('generateScript', () => {
  test('entry and return probes for each symbol the file has, nothing for those it lacks', () => {
    const s = generateScript([{ path: '/lib/libssl.so.3', symbols: new Set<SslSymbol>(['SSL_read', 'SSL_write']) }], { pids: [], comms: [] });
    expect(s.match(/^uprobe:\/lib\/libssl\.so\.3:SSL_(read|write) \{/gm)).toHaveLength(2);
    expect(s.match(/^uretprobe:/gm)).toHaveLength(2);
    expect(s).not.toContain('_ex');
    expect(s).not.toContain('SSL_free');
    expect(s.startsWith('BEGIN { printf("READY %lu\\n", nsecs); }')).toBe(true);
  });

  test('data is taken on return, only on success: retval > 0, or 1 with *written/*readbytes for _ex', () => {
    const s = generateScript([{ path: '/x/node', symbols: all }], { pids: [], comms: [] });
    const writeRet = s.slice(s.indexOf('uretprobe:/x/node:SSL_write {'.replace(' {', ' /')), s.indexOf('uprobe:/x/node:SSL_write_ex'));
    // retval is a C int: its sign is in the low 32 bits (a -1 read as 64 bits is 4 GiB).
    expect(writeRet).toContain('$n = (int64)(int32)retval;');
    expect(writeRet).toContain('if ($n > 0) {');
    const exRet = s.slice(s.indexOf('uretprobe:/x/node:SSL_write_ex'));
    expect(exRet).toMatch(/if \(\(int32\)retval == 1\) \{ \$n = \(int64\)\*\(uint64\*\)@wxn\[tid\]; \}/);
    // No printf of payload in an entry probe: a failed write prints nothing.
    for (const line of s.split('\n').filter((l) => l.startsWith('uprobe:'))) expect(line).not.toContain('printf("D');
  });

  test('--pid and --comm become the entry predicate (unwanted processes never leave the kernel)', () => {
    expect(predicate({ pids: [], comms: [] })).toBe('');
    // Any selector matches (pid 12, pid 34, or any python3); llmtap's own pid never.
    expect(predicate({ pids: [12, 34], comms: ['python3'], excludePid: 5 })).toBe(' /(pid == 12 || pid == 34 || comm == "python3") && pid != 5/');
    const s = generateScript([{ path: '/x/node', symbols: all }], { pids: [12], comms: [] });
    for (const line of s.split('\n').filter((l) => l.startsWith('uprobe:'))) expect(line).toContain('/(pid == 12)/');
  });

  test('a --comm that cannot be a comm or would break the script is refused', () => {
    expect(checkComm('python3')).toBeNull();
    expect(checkComm('a name with sp')).toBeNull();
    expect(checkComm('')).not.toBeNull();
    expect(checkComm('sixteen-chars-xx')).not.toBeNull();
    expect(checkComm('a"b')).not.toBeNull();
    expect(checkComm('a\\b')).not.toBeNull();
    expect(checkComm('tab\there')).not.toBeNull();
  });
});
