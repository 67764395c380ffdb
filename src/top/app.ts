/**
 * The Ink (React for terminals) component of `llmtap top`: it paints the lines of
 * view-model.ts, follows the terminal's size, and turns keys into controller actions. No JSX:
 * the project compiles src/ with plain tsc, so elements are made with createElement.
 */
import { Box, Text, useApp, useInput, useStdout, type Key as InkKey } from 'ink';
import { createElement as h, useEffect, useState, useSyncExternalStore, type ReactElement } from 'react';
import type { Key, TopController } from './controller.js';
import { screenOf, type Line, type Size, type Tone } from './view-model.js';

const TONES: Record<Tone, { color?: string; bold?: boolean; dimColor?: boolean; inverse?: boolean }> = {
  normal: {},
  dim: { dimColor: true },
  title: { bold: true, color: 'cyan' },
  header: { bold: true },
  good: { color: 'green' },
  warn: { color: 'yellow' },
  bad: { color: 'red', bold: true },
  selected: { inverse: true },
};

/** Keys as the controller names them; null for keys top does not use. */
export function keyOf(input: string, key: Pick<InkKey, 'upArrow' | 'downArrow' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'return' | 'escape' | 'backspace' | 'delete' | 'leftArrow'>): Key | null {
  if (key.upArrow || input === 'k') return 'up';
  if (key.downArrow || input === 'j') return 'down';
  if (key.pageUp) return 'pageUp';
  if (key.pageDown || input === ' ') return 'pageDown';
  if (key.home || input === 'g') return 'home';
  if (key.end || input === 'G') return 'end';
  if (key.return) return 'enter';
  if (key.escape || key.backspace || key.delete || key.leftArrow || input === 'h') return 'back';
  return null;
}

const NO_KEY = {
  upArrow: false,
  downArrow: false,
  pageUp: false,
  pageDown: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  backspace: false,
  delete: false,
  leftArrow: false,
};

function sizeOf(stdout: NodeJS.WriteStream): Size {
  // 80×24 is what a terminal without a size report is assumed to be (the VT100's screen).
  return { columns: stdout.columns || 80, rows: stdout.rows || 24 };
}

export function TopApp(props: { controller: TopController; now?: () => number }): ReactElement {
  const { controller } = props;
  const now = props.now ?? Date.now;
  const { exit } = useApp();
  const { stdout } = useStdout();
  const state = useSyncExternalStore(
    (fn) => controller.subscribe(fn),
    () => controller.get(),
  );
  const [size, setSize] = useState<Size>(() => sizeOf(stdout));
  const [tick, setTick] = useState(0);

  useEffect(() => {
    const onResize = (): void => setSize(sizeOf(stdout));
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout]);

  // "updated 3s ago" and "retrying in 4s" count on their own between refreshes.
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, []);

  useInput((input, key) => {
    // Keys typed faster than they are read (key repeat, a paste, tmux send-keys) arrive as one
    // chunk ("jj\r"): take its characters one by one.
    const chars = input.length > 1 && !key.ctrl && !key.meta ? [...input] : [input];
    for (const ch of chars) {
      const single = chars.length > 1;
      if (ch === 'q' || (key.ctrl && ch === 'c')) {
        controller.close();
        exit();
        return;
      }
      if (ch === 'r') {
        void controller.refresh();
        continue;
      }
      const k = single ? keyOf(ch, { ...NO_KEY, return: ch === '\r' || ch === '\n' }) : keyOf(ch, key);
      if (k !== null) controller.key(k);
    }
  });

  const lines = screenOf(state, size, now());
  return h(
    Box,
    { flexDirection: 'column', width: size.columns, key: tick % 1 },
    ...lines.map((line, i) => lineElement(line, i)),
  );
}

function lineElement(line: Line, i: number): ReactElement {
  return h(
    Text,
    { key: i, wrap: 'truncate-end' },
    ...line.map((s, j) => h(Text, { key: j, ...TONES[s.tone] }, s.text === '' ? ' ' : s.text)),
  );
}
