/**
 * Checks across the `pipelines:` section (pipelines-schema.ts validates each entry): names and
 * source ids unique, files that exist, no interface captured twice by one pipeline, no probe
 * endpoint bound twice, and no pipeline mixing files with live sources.
 */
import { statSync } from 'node:fs';
import type { ConfigProblem } from './errors.js';
import type { PipelineConfig } from './types.js';

export function checkPipelines(pipelines: readonly PipelineConfig[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = new Map<string, number>();
  // Ids are carried on records: two sources with one id could not be told apart afterwards.
  const ids = new Map<string, string>();
  const endpoints = new Map<string, string>();
  pipelines.forEach((p, i) => {
    const before = names.get(p.name);
    if (before !== undefined) problems.push({ path: ['pipelines', i, 'name'], message: `"${p.name}" is already the name of pipelines[${before}]` });
    else names.set(p.name, i);
    const ifaces = new Map<string, number>();
    let files = 0;
    let live = 0;
    p.sources.forEach((s, j) => {
      const at = ['pipelines', i, 'sources', j];
      const where = `pipelines[${i}].sources[${j}]`;
      const other = ids.get(s.id);
      if (other !== undefined) {
        problems.push({ path: [...at, 'id'], message: `source id "${clip(s.id)}" is already the id of ${other} (the default is the file name, the interface or probes@ENDPOINT): give one an id` });
      } else ids.set(s.id, where);
      if (s.kind === 'file') {
        files++;
        const why = notAFile(s.path);
        if (why !== null) problems.push({ path: [...at, 'path'], message: `"${clip(s.path)}" ${why}` });
      } else live++;
      if (s.kind === 'interface') {
        // tcpdump twice on one interface in one pipeline captures every packet twice.
        const k = ifaces.get(s.iface);
        if (k !== undefined) problems.push({ path: [...at, 'iface'], message: `"${s.iface}" is captured by sources[${k}] of this pipeline already (one capture per interface; use a BPF filter, or another pipeline)` });
        else ifaces.set(s.iface, j);
      }
      if (s.kind === 'probes') {
        const e = endpoints.get(s.listen);
        if (e !== undefined) problems.push({ path: [...at, 'listen'], message: `"${clip(s.listen)}" is bound by ${e} already` });
        else endpoints.set(s.listen, where);
      }
    });
    if (files > 0 && live > 0) {
      // A file waits for room in the queue; a live source drops when it is full: one queue cannot
      // do both (docs/workers.md "Backpressure").
      problems.push({ path: ['pipelines', i, 'sources'], message: 'mixes capture files with live sources (interface, probes): put them in separate pipelines (a file waits for its queue, a live source drops)' });
    }
  });
  return problems;
}

/** Why the path is not a readable capture file, or null. Relative paths are from the working
 * directory, as `db:` and the command line's paths. */
function notAFile(path: string): string | null {
  try {
    const st = statSync(path);
    if (st.isDirectory()) return 'is a directory, not a capture file';
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? 'error'})`;
  }
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}
