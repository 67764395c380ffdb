/**
 * An error about the capture as a whole that the user can act on (missing file, not a capture,
 * empty, an unsupported link type): one clear line, printed by the CLI. Bad bytes *inside* a
 * capture are never a CaptureError: they are counted anomalies (DESIGN §1).
 */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}
