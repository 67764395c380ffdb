/**
 * The live feed (GET /api/v1/live, Server-Sent Events): one EventSource for the whole console.
 * Pages subscribe to new calls; the browser reconnects by itself after a drop.
 */
import { useEffect, useState } from 'react';
import type { CallListItem } from './api.js';

type Listener = (call: CallListItem) => void;
const listeners = new Set<Listener>();
let source: EventSource | null = null;
let connected = false;
const stateListeners = new Set<(c: boolean) => void>();

function setConnected(c: boolean): void {
  connected = c;
  for (const fn of stateListeners) fn(c);
}

function ensure(): void {
  if (source !== null) return;
  source = new EventSource('/api/v1/live', { withCredentials: true });
  source.onopen = () => setConnected(true);
  source.onerror = () => setConnected(false);
  source.addEventListener('call', (e: MessageEvent<string>) => {
    let call: CallListItem;
    try {
      call = JSON.parse(e.data) as CallListItem;
    } catch {
      return;
    }
    for (const fn of listeners) fn(call);
  });
}

export function startLive(): void {
  ensure();
}

export function useLiveCalls(fn: Listener): void {
  useEffect(() => {
    ensure();
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }, [fn]);
}

export function useLiveConnected(): boolean {
  const [c, setC] = useState(connected);
  useEffect(() => {
    ensure();
    stateListeners.add(setC);
    return () => {
      stateListeners.delete(setC);
    };
  }, []);
  return c;
}
