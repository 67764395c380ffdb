/**
 * A virtualised table (@tanstack/react-virtual): only the rows in view are in the DOM, so a list
 * that has grown to many thousand rows by scrolling stays fast. Asks for the next page when its
 * last rows come into view.
 */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, type ReactNode } from 'react';

export interface Column<T> {
  key: string;
  label: string;
  /** CSS grid track, e.g. "160px" or "minmax(200px, 1fr)". */
  width: string;
  num?: boolean;
  render: (row: T) => ReactNode;
}

interface Props<T> {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  onEndReached?: () => void;
  rowClass?: (row: T) => string;
  onRowClick?: (row: T) => void;
  testId: string;
  footer?: ReactNode;
}

const ROW_HEIGHT = 34;

export function VirtualTable<T>({ rows, columns, rowKey, onEndReached, rowClass, onRowClick, testId, footer }: Props<T>) {
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const template = columns.map((c) => c.width).join(' ');
  // Every row must lay its grid out over the same width, or flexible tracks would follow each
  // row's own content: the sum of the tracks' minimum widths, and at least the table's width.
  const minWidth = columns.reduce((sum, c) => sum + (Number(/(\d+)px/.exec(c.width)?.[1]) || 0), 0);
  // eslint-disable-next-line react-hooks/incompatible-library -- the virtualizer is built for this use
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items[items.length - 1]?.index ?? -1;

  useEffect(() => {
    if (onEndReached && rows.length > 0 && lastIndex >= rows.length - 8) onEndReached();
  }, [lastIndex, rows.length, onEndReached]);


  return (
    <div className="vtable" data-testid={testId}>
      <div className="vtable-scroll" ref={scrollRef}>
        <div className="vtable-head" role="row" style={{ gridTemplateColumns: template, minWidth }}>
          {columns.map((c) => (
            <div key={c.key} className={`vcell${c.num ? ' num' : ''}`} role="columnheader">
              {c.label}
            </div>
          ))}
        </div>
        <div className="vtable-body" style={{ height: `${virtualizer.getTotalSize()}px`, minWidth }}>
          {items.map((vi) => {
            const row = rows[vi.index]!;
            return (
              <Row
                key={rowKey(row)}
                top={vi.start}
                template={template}
                className={`vrow${vi.index % 2 ? ' odd' : ''}${rowClass ? ` ${rowClass(row)}` : ''}${onRowClick ? ' clickable' : ''}`}
                onClick={onRowClick ? () => onRowClick(row) : undefined}
                id={rowKey(row)}
              >
                {columns.map((c) => (
                  <div key={c.key} className={`vcell${c.num ? ' num' : ''}`} data-col={c.key}>
                    {c.render(row)}
                  </div>
                ))}
              </Row>
            );
          })}
        </div>
      </div>
      {footer !== undefined && <div className="vtable-foot">{footer}</div>}
    </div>
  );
}

// React applies `style` through the CSSOM (element.style), which a CSP without 'unsafe-inline'
// allows: style-src governs <style> elements and style attributes parsed from markup, not CSSOM writes.
function Row({ top, template, className, onClick, id, children }: { top: number; template: string; className: string; onClick: (() => void) | undefined; id: string; children: ReactNode }) {
  return (
    <div className={className} role="row" data-row-id={id} onClick={onClick} style={{ transform: `translateY(${top}px)`, gridTemplateColumns: template }}>
      {children}
    </div>
  );
}
