/**
 * The capture process's stderr, read as it arrives in pieces of any size (a pipe cuts where it
 * likes): lines go to the tool's reader (counters, the "capturing" line); other lines are kept,
 * capped, for the error message should the tool fail. dumpcap's running count is the text after
 * its last \r with no end yet, so for it the unterminated rest is read for counters too.
 */
import type { ToolSpeech } from './live-capture-tool.js';
import type { TcpdumpCounters } from './live-tcpdump-text.js';

/** The stderr of a capture tool is a few lines; a partial line longer than this is cut and the
 * lines kept for an error message stop here (it is never ours to hold more). */
export const MAX_STDERR_KEEP = 8 * 1024;

export class CaptureStderr {
  /** Lines that were neither counters nor the "capturing" line (capped). */
  kept = '';
  /** The text after the last line end (capped). */
  partial = '';
  /** The "capturing" line, once seen. */
  listening: string | null = null;

  constructor(
    private readonly speech: Pick<ToolSpeech, 'read' | 'lineEnd' | 'countsInPartialLine'>,
    readonly counters: TcpdumpCounters,
    private readonly onListening: () => void = () => undefined,
  ) {}

  push(text: string): void {
    const lines = (this.partial + text).split(this.speech.lineEnd);
    this.partial = lines.pop() ?? '';
    if (this.partial.length > MAX_STDERR_KEEP) this.partial = this.partial.slice(0, MAX_STDERR_KEEP);
    for (const line of lines) {
      const read = this.speech.read(line, this.counters);
      if (read === 'counters') continue;
      if (read === 'listening') {
        if (this.listening === null) {
          this.listening = line;
          this.onListening();
        }
        continue;
      }
      if (this.kept.length < MAX_STDERR_KEEP && line.trim() !== '') this.kept += `${line}\n`;
    }
    if (this.speech.countsInPartialLine && this.partial !== '') this.speech.read(this.partial, this.counters);
  }

  /** Everything it said that was not counters: for the error message. */
  said(): string {
    return `${this.kept}${this.partial}`;
  }
}
