import { describe, expect, it } from 'vitest';
import { syntheticTurnOf } from '../store/synthetic-records.js';
import { sampleRecord } from './fake-store.test-support.js';
import { callListItem, LiveFeed, type LiveClient } from './live-feed.js';

/** A client whose socket takes `accepts` bytes, then holds the rest pending (a slow reader). */
class FakeClient implements LiveClient {
  frames: string[] = [];
  pending = 0;
  closed = false;
  constructor(private accepts = Infinity) {}
  write(frame: string): void {
    this.frames.push(frame);
    const taken = Math.min(this.accepts, frame.length);
    this.accepts -= taken;
    this.pending += frame.length - taken;
  }
  pendingBytes(): number {
    return this.pending;
  }
  close(): void {
    this.closed = true;
  }
}

/** Parses SSE frames the way EventSource would (WHATWG HTML §9.2.6), enough for our output. */
function events(frames: string[]): { event: string; id: string; data: string }[] {
  return frames
    .join('')
    .split('\n\n')
    .filter((b) => b.includes('data:'))
    .map((block) => {
      const e = { event: 'message', id: '', data: '' };
      for (const line of block.split('\n')) {
        const i = line.indexOf(':');
        const field = line.slice(0, i);
        const value = line.slice(i + 1).replace(/^ /, '');
        if (field === 'event') e.event = value;
        else if (field === 'id') e.id = value;
        else if (field === 'data') e.data += value;
      }
      return e;
    });
}

describe('LiveFeed', () => {
  it('sends each published call to every client as an `event: call` with the list row as data', () => {
    const feed = new LiveFeed({ heartbeatMs: 0 });
    const a = new FakeClient();
    const b = new FakeClient();
    feed.subscribe(a);
    feed.subscribe(b);
    const rec = sampleRecord('019bc1a4-0000-7000-8000-000000000001', 'line one\nline two\r\n</script><script>alert(1)</script>');
    feed.publish(rec);
    for (const c of [a, b]) {
      const [e] = events(c.frames);
      expect(e!.event).toBe('call');
      expect(e!.id).toBe(rec.id);
      expect(JSON.parse(e!.data)).toEqual(JSON.parse(JSON.stringify(callListItem(rec))));
    }
    expect(feed.stats).toEqual({ published: 1, delivered: 2, dropped: 0, turns_published: 0 });
  });

  it('sends each turn snapshot as an `event: turn` with the turn record as data, calls and turns in publish order', () => {
    const feed = new LiveFeed({ heartbeatMs: 0 });
    const a = new FakeClient();
    feed.subscribe(a);
    const done = syntheticTurnOf(0, { start: Date.UTC(2026, 0, 1) * 1000, stepUs: 1_000_000 }, { user_preview: 'line\nbreak\r\nand data: fake' })!;
    const running = { ...done, status: 'in_progress' as const, steps: done.steps.slice(0, 2), call_count: 2 };
    feed.publishTurn(running);
    feed.publish(sampleRecord('019bc1a4-0000-7000-8000-000000000009'));
    feed.publishTurn(done);
    const got = events(a.frames);
    expect(got.map((e) => [e.event, e.id])).toEqual([
      ['turn', done.id],
      ['call', '019bc1a4-0000-7000-8000-000000000009'],
      ['turn', done.id],
    ]);
    expect(JSON.parse(got[0]!.data)).toEqual(running);
    expect(JSON.parse(got[2]!.data)).toEqual(done);
    expect(feed.stats).toEqual({ published: 1, delivered: 3, dropped: 0, turns_published: 2 });
  });

  it('list rows carry no content, only a preview', () => {
    const row = callListItem(sampleRecord('019bc1a4-0000-7000-8000-000000000001', 'x'.repeat(1000)));
    expect('content' in row).toBe(false);
    expect(row.output_preview).toBe('x'.repeat(200));
  });

  it('drops a client whose pending bytes would pass the cap, and keeps serving the others', () => {
    const feed = new LiveFeed({ heartbeatMs: 0, maxPendingBytes: 10_000 });
    const slow = new FakeClient(0);
    const fast = new FakeClient();
    feed.subscribe(slow);
    feed.subscribe(fast);
    for (let i = 0; i < 50; i++) feed.publish(sampleRecord(`019bc1a4-0000-7000-8000-${String(i).padStart(12, '0')}`));
    expect(slow.closed).toBe(true);
    expect(slow.pending).toBeLessThanOrEqual(10_000);
    expect(fast.closed).toBe(false);
    expect(events(fast.frames)).toHaveLength(50);
    expect(feed.clientCount).toBe(1);
    expect(feed.stats.dropped).toBe(1);
  });

  it('drops a client whose write throws', () => {
    const feed = new LiveFeed({ heartbeatMs: 0 });
    const broken: LiveClient & { closed: boolean } = {
      closed: false,
      write: () => {
        throw new Error('EPIPE');
      },
      pendingBytes: () => 0,
      close() {
        this.closed = true;
      },
    };
    feed.subscribe(broken);
    expect(() => feed.publish(sampleRecord('019bc1a4-0000-7000-8000-000000000001'))).not.toThrow();
    expect(broken.closed).toBe(true);
    expect(feed.clientCount).toBe(0);
  });

  it('sends heartbeats as comments, unsubscribes, limits clients and closes everyone', () => {
    const feed = new LiveFeed({ heartbeatMs: 0, maxClients: 2 });
    const a = new FakeClient();
    const unsubscribe = feed.subscribe(a);
    feed.beat();
    expect(a.frames).toEqual([': heartbeat\n\n']);
    unsubscribe();
    feed.publish(sampleRecord('019bc1a4-0000-7000-8000-000000000001'));
    expect(a.frames).toHaveLength(1);
    const b = new FakeClient();
    const c = new FakeClient();
    feed.subscribe(b);
    expect(feed.hasRoom()).toBe(true);
    feed.subscribe(c);
    expect(feed.hasRoom()).toBe(false);
    feed.close();
    expect(b.closed && c.closed).toBe(true);
    expect(feed.hasRoom()).toBe(false);
  });

  it('beats on its own timer', async () => {
    const feed = new LiveFeed({ heartbeatMs: 5 });
    const got = new Promise<string>((resolve) => feed.subscribe({ write: resolve, pendingBytes: () => 0, close: () => undefined }));
    expect(await got).toBe(': heartbeat\n\n');
    feed.close();
  });
});
