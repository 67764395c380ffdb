/**
 * A one-line progress bar on stderr, only when stderr is a terminal (DESIGN §6: no bar in logs or
 * pipes). Redrawn at most five times a second.
 */
export class ProgressBar {
  private lastDraw = 0;
  private readonly started = performance.now();
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly label: string,
  ) {}

  static forStderr(label: string): ProgressBar | null {
    return process.stderr.isTTY ? new ProgressBar(process.stderr, label) : null;
  }

  update(done: number, total: number, extra: string): void {
    const now = performance.now();
    if (now - this.lastDraw < 200) return;
    this.lastDraw = now;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const width = 24;
    const filled = Math.round(frac * width);
    const mbps = done / 1e6 / Math.max(0.001, (now - this.started) / 1000);
    const line = `${this.label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${mbps.toFixed(1)} MB/s ${extra}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns || 100) - 1)}\x1b[K`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
  }
}
