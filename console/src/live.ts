/**
 * The live feed (GET /api/v1/live, Server-Sent Events): one EventSource for the whole console.
 * Pages subscribe to new calls (event `call`) and to turns as they start, grow and end (event
 * `turn`, the whole turn record each time); the browser reconnects by itself after a drop.
 */
import { useEffect, useState } from 'react';
import type { AgentTurnRecord, CallListItem } from './api.js';

type Listener<T> = (item: T) => void;
const callListeners = new Set<Listener<CallListItem>>();
const turnListeners = new Set<Listener<AgentTurnRecord>>();
let source: EventSource | null = null;
let connected = false;
/** Whether the feed was open before: the next open is then a reconnect. */
let opened = false;
const reconnectListeners = new Set<() => void>();
const stateListeners = new Set<(c: boolean) => void>();

function setConnected(c: boolean): void {
  connected = c;
  for (const fn of stateListeners) fn(c);
}

/** Hands each event's JSON to the listeners; a line that is not JSON is dropped, not thrown. */
function dispatch<T>(listeners: Set<Listener<T>>, data: string): void {
  let item: T;
  try {
    item = JSON.parse(data) as T;
  } catch {
    return;
  }
  for (const fn of listeners) fn(item);
}

function ensure(): void {
  if (source !== null) return;
  source = new EventSource('/api/v1/live', { withCredentials: true });
  source.onopen = () => {
    setConnected(true);
    // The feed does not replay what was committed while it was down (docs/api.md, "live"):
    // the lists refetch their first page.
    if (opened) for (const fn of reconnectListeners) fn();
    opened = true;
  };
  source.onerror = () => setConnected(false);
  source.addEventListener('call', (e: MessageEvent<string>) => dispatch(callListeners, e.data));
  source.addEventListener('turn', (e: MessageEvent<string>) => dispatch(turnListeners, e.data));
}

export function startLive(): void {
  ensure();
}

function useLive<T>(listeners: Set<Listener<T>>, fn: Listener<T>): void {
  useEffect(() => {
    ensure();
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }, [listeners, fn]);
}

/** `fn` must be stable (useCallback): a new function re-subscribes. */
export function useLiveCalls(fn: Listener<CallListItem>): void {
  useLive(callListeners, fn);
}

/** Every turn event: a new turn, a turn that gained a call, a turn that ended. */
export function useLiveTurns(fn: Listener<AgentTurnRecord>): void {
  useLive(turnListeners, fn);
}

/** Called each time the feed opens again after a drop; `fn` must be stable (useCallback). */
export function useLiveReconnect(fn: () => void): void {
  useEffect(() => {
    ensure();
    reconnectListeners.add(fn);
    return () => {
      reconnectListeners.delete(fn);
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
