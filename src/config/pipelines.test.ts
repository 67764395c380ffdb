import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseConfigText } from './load.js';
import { parseByteSize } from './pipelines-schema.js';
import type { PipelineConfig } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'llmtap-pipelines-'));
const a = join(dir, 'a.pcap');
const b = join(dir, 'b.pcap');
writeFileSync(a, '');
writeFileSync(b, '');

function load(yaml: string): PipelineConfig[] {
  return parseConfigText(yaml, 'llmtap.yaml', {}).pipelines;
}

/** The one-line message loading `yaml` gives. */
function errorOf(yaml: string): string {
  try {
    parseConfigText(yaml, 'llmtap.yaml', {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('the configuration loaded');
}

const lines = (...l: string[]): string => l.join('\n');

describe('pipelines: what loads', () => {
  it('none by default', () => {
    expect(load('')).toEqual([]);
  });

  it('every kind of source, with ids defaulting as the CLI does and the docs defaults filled', () => {
    const p = load(
      lines(
        'pipelines:',
        '  - name: bulk',
        '    workers: 2',
        `    sources: [{kind: file, path: ${a}}, {kind: file, path: ${b}, pace: capture, id: b-paced}]`,
        '  - name: live',
        '    queue: {bytes: 4MiB, rounds: 64}',
        '    sources:',
        '      - {kind: interface, iface: eth0, bpf_filter: tcp port 443, snaplen: 65535, buffer_size: 2048}',
        '      - {kind: interface, iface: eth1, capture_tool: dumpcap}',
        '      - {kind: probes, listen: "tcp://0.0.0.0:5556"}',
      ),
    );
    expect(p).toEqual([
      {
        name: 'bulk',
        workers: 2,
        queue: { bytes: 8 * 1024 * 1024, rounds: 1024 },
        sources: [
          { kind: 'file', id: 'a.pcap', path: a, pace: null },
          { kind: 'file', id: 'b-paced', path: b, pace: 1 },
        ],
      },
      {
        name: 'live',
        workers: null,
        queue: { bytes: 4 * 1024 * 1024, rounds: 64 },
        sources: [
          { kind: 'interface', id: 'eth0', iface: 'eth0', bpf_filter: 'tcp port 443', snaplen: 65535, buffer_size_kib: 2048, capture_tool: 'auto' },
          { kind: 'interface', id: 'eth1', iface: 'eth1', bpf_filter: null, snaplen: null, buffer_size_kib: null, capture_tool: 'dumpcap' },
          { kind: 'probes', id: 'probes@tcp://0.0.0.0:5556', listen: 'tcp://0.0.0.0:5556' },
        ],
      },
    ]);
  });

  it('pace as a speed factor', () => {
    expect(load(`pipelines: [{name: x, sources: [{kind: file, path: ${a}, pace: 0.5}]}]`)[0]!.sources[0]).toMatchObject({ pace: 0.5 });
    expect(load(`pipelines: [{name: x, sources: [{kind: file, path: ${a}, pace: "10"}]}]`)[0]!.sources[0]).toMatchObject({ pace: 10 });
  });

  it('sizes', () => {
    expect(parseByteSize('8MiB')).toBe(8 * 1024 * 1024);
    expect(parseByteSize('512 KiB')).toBe(512 * 1024);
    expect(parseByteSize('1GB')).toBe(1e9);
    expect(parseByteSize(4096)).toBe(4096);
    expect(parseByteSize('8 mebibytes')).toBeNull();
    expect(parseByteSize(-1)).toBeNull();
  });
});

describe('pipelines: what is refused, in one line naming the key', () => {
  const one = (source: string, extra = ''): string => `pipelines: [{name: p, ${extra}sources: [${source}]}]`;

  it('a source id used twice (defaults included)', () => {
    expect(errorOf(`pipelines: [{name: p, sources: [{kind: file, path: ${a}}]}, {name: q, sources: [{kind: file, path: ${a}}]}]`)).toBe(
      'llmtap.yaml: pipelines[1].sources[0].id: source id "a.pcap" is already the id of pipelines[0].sources[0] (the default is the file name, the interface or probes@ENDPOINT): give one an id',
    );
    expect(errorOf(one(`{kind: file, path: ${a}, id: x}, {kind: file, path: ${b}, id: x}`))).toMatch(/sources\[1\]\.id: source id "x" is already the id of pipelines\[0\]\.sources\[0\]/);
  });

  it('a file that does not exist, or a directory', () => {
    expect(errorOf(one(`{kind: file, path: ${join(dir, 'nope.pcap')}}`))).toBe(`llmtap.yaml: pipelines[0].sources[0].path: "${join(dir, 'nope.pcap')}" does not exist`);
    expect(errorOf(one(`{kind: file, path: ${dir}}`))).toMatch(/sources\[0\]\.path: ".*" is a directory, not a capture file/);
  });

  it('two interface sources on one interface in one pipeline (another pipeline may)', () => {
    expect(errorOf(one('{kind: interface, iface: lo}, {kind: interface, iface: lo, id: lo-2}'))).toMatch(
      /pipelines\[0\]\.sources\[1\]\.iface: "lo" is captured by sources\[0\] of this pipeline already/,
    );
    expect(load('pipelines: [{name: p, sources: [{kind: interface, iface: lo}]}, {name: q, sources: [{kind: interface, iface: lo, id: lo-2}]}]')).toHaveLength(2);
  });

  it('one probe endpoint bound twice', () => {
    expect(errorOf('pipelines: [{name: p, sources: [{kind: probes, listen: "tcp://127.0.0.1:1"}]}, {name: q, sources: [{kind: probes, listen: "tcp://127.0.0.1:1", id: other}]}]')).toMatch(
      /pipelines\[1\]\.sources\[0\]\.listen: "tcp:\/\/127\.0\.0\.1:1" is bound by pipelines\[0\]\.sources\[0\] already/,
    );
  });

  it('files and live sources in one pipeline', () => {
    expect(errorOf(one(`{kind: file, path: ${a}}, {kind: interface, iface: lo}`))).toMatch(/pipelines\[0\]\.sources: mixes capture files with live sources/);
  });

  it('pipeline names twice', () => {
    expect(errorOf(`pipelines: [{name: p, sources: [{kind: file, path: ${a}}]}, {name: p, sources: [{kind: file, path: ${b}}]}]`)).toBe(
      'llmtap.yaml: pipelines[1].name: "p" is already the name of pipelines[0]',
    );
  });

  it('kinds, keys and values', () => {
    expect(errorOf(one('{kind: fil, path: x}'))).toBe('llmtap.yaml: pipelines[0].sources[0].kind: kind must be one of file, interface, probes');
    expect(errorOf(one('{path: x}'))).toBe('llmtap.yaml: pipelines[0].sources[0]: needs a kind: file, interface or probes');
    expect(errorOf(one(`{kind: file, paht: ${a}}`))).toMatch(/pipelines\[0\]\.sources\[0\]: unknown key "paht" for a file source \(did you mean "path"\?\)/);
    expect(errorOf(one(`{kind: file, path: ${a}, pace: fast}`))).toMatch(/sources\[0\]\.pace: .*must be "capture" or a speed factor above 0/);
    expect(errorOf(one('{kind: interface, iface: "eth 0"}'))).toMatch(/sources\[0\]\.iface: "eth 0" is not an interface name/);
    expect(errorOf(one('{kind: interface, iface: lo, capture_tool: tshark}'))).toMatch(/sources\[0\]\.capture_tool: "tshark" is not one of llmtap-capture, tcpdump, dumpcap, auto$/);
    expect(errorOf(one('{kind: probes, listen: "udp://x:1"}'))).toMatch(/sources\[0\]\.listen: .*is not a ZeroMQ endpoint/);
    expect(errorOf(one(`{kind: file, path: ${a}}`, 'queue: {bytes: 12}, '))).toMatch(/pipelines\[0\]\.queue\.bytes: .*must be from 64KiB to 1GiB/);
    expect(errorOf(one(`{kind: file, path: ${a}}`, 'wrokers: 2, '))).toMatch(/pipelines\[0\]: unknown key "wrokers" \(did you mean "workers"\?\)/);
    expect(errorOf('pipelines: [{name: p, sources: []}]')).toBe('llmtap.yaml: pipelines[0].sources: needs at least one source');
    expect(errorOf(one(`{kind: file, path: ${a}}`, 'workers: 0, '))).toMatch(/pipelines\[0\]\.workers/);
  });
});
