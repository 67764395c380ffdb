/**
 * A small history-API router: the server answers every page path with index.html
 * (src/api/console-static.ts), so /calls/<id> is a real, shareable address.
 */
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

export interface Location {
  path: string;
  search: URLSearchParams;
}

function current(): Location {
  return { path: window.location.pathname, search: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => {
  for (const fn of listeners) fn();
});

/**
 * The global time range (time-range.ts): in-app navigation keeps these parameters of the current
 * address unless the target names its own, so the range follows the user from page to page.
 */
export const RANGE_PARAMS = ['from', 'to', 'range'] as const;

/** `to` with the current address's range parameters added, when `to` has none of its own. */
export function withRange(to: string, search: URLSearchParams = new URLSearchParams(window.location.search)): string {
  const hash = to.indexOf('#');
  const base = hash < 0 ? to : to.slice(0, hash);
  const q = base.indexOf('?');
  const path = q < 0 ? base : base.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : base.slice(q + 1));
  if (RANGE_PARAMS.some((k) => params.has(k))) return to;
  let added = false;
  for (const k of RANGE_PARAMS) {
    const v = search.get(k);
    if (v !== null && v !== '') {
      params.set(k, v);
      added = true;
    }
  }
  if (!added) return to;
  return `${path}?${params.toString()}${hash < 0 ? '' : to.slice(hash)}`;
}

/** Goes to `to` in place; `keepRange: false` only for the range picker, which sets the range itself. */
export function navigate(target: string, replace = false, keepRange = true): void {
  const to = keepRange ? withRange(target) : target;
  if (to === `${window.location.pathname}${window.location.search}`) return;
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  for (const fn of listeners) fn();
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const fn = (): void => setLoc(current());
    listeners.add(fn);
    return () => {
      listeners.delete(fn);
    };
  }, []);
  return loc;
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { to: string; children: ReactNode };

/** An ordinary link (open in a new tab works) that navigates in place on a plain click. */
export function Link({ to: target, children, onClick, ...rest }: LinkProps) {
  const { search } = useLocation();
  const to = withRange(target, search);
  const click = (e: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to, false, false);
    window.scrollTo(0, 0);
  };
  return (
    <a href={to} onClick={click} {...rest}>
      {children}
    </a>
  );
}
