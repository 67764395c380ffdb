/**
 * `llmtap top`: a live terminal dashboard of a running llmtap, read through its API. Drawn on
 * the terminal's alternate screen (as top(1) and less(1) do), so the shell's scrollback is left
 * as it was when it quits. Loaded only by this command (src/cli/top-command.ts imports it lazily):
 * Ink and React stay out of every other command's start-up.
 */
import { render } from 'ink';
import { createElement } from 'react';
import { TopApi } from './api-client.js';
import { TopApp } from './app.js';
import { TopController } from './controller.js';

export interface TopOptions {
  url: string;
  token: string | undefined;
  intervalMs: number;
  window: string | null;
}

// DEC private mode 1049: save the cursor and switch to the alternate screen (xterm ctlseqs).
const ENTER_ALT_SCREEN = '\x1b[?1049h';
const LEAVE_ALT_SCREEN = '\x1b[?1049l';

/** Runs until the user quits (q, Ctrl-C) or a SIGTERM/SIGHUP; resolves with the exit code. */
export async function runTopScreen(o: TopOptions): Promise<number> {
  const api = new TopApi({ url: o.url, token: o.token });
  const controller = new TopController({ api, intervalMs: o.intervalMs, window: o.window, callLimit: 200 });
  process.stdout.write(ENTER_ALT_SCREEN);
  const instance = render(createElement(TopApp, { controller }), { exitOnCtrlC: false, patchConsole: false, maxFps: 20 });
  const stop = (): void => {
    controller.close();
    instance.unmount();
  };
  process.once('SIGTERM', stop);
  process.once('SIGHUP', stop);
  controller.start();
  try {
    await instance.waitUntilExit();
  } finally {
    controller.close();
    process.off('SIGTERM', stop);
    process.off('SIGHUP', stop);
    process.stdout.write(LEAVE_ALT_SCREEN);
  }
  return 0;
}
