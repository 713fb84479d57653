import { describe, expect, it } from 'vitest';
import { Timeline } from '../../src/timeline/timeline.js';

describe('Timeline', () => {
  it('keeps entries ordered by time and summarises them as a strip', () => {
    const t = new Timeline(0);
    t.add(30, { kind: 'request', seq: 2, at: 30, latencyMs: 1, status: 503 });
    t.add(10, { kind: 'request', seq: 1, at: 10, latencyMs: 1, status: 200 });
    t.add(20, { kind: 'marker', category: 'dns', label: 'switch' });
    t.add(40, { kind: 'request', seq: 3, at: 40, latencyMs: 1, error: 'ECONNRESET' });
    expect(t.entries.map((e) => e.t)).toEqual([10, 20, 30, 40]);
    expect(t.strip()).toBe('. ^dns x!');
  });

  it('keeps the strip short under load: a character per run of requests, the worst of each run', () => {
    const t = new Timeline(0);
    for (let i = 0; i < 8; i++) t.add(i, { kind: 'request', seq: i, at: i, latencyMs: 1, status: i === 5 ? 429 : 200 });
    expect(t.strip(4)).toBe('..o.  (1 char = 2 requests)');
  });

  it('waitFor resolves on the entry that makes the predicate true', async () => {
    const t = new Timeline();
    const waiting = t.waitFor('one request', (x) => x.requests().length === 1, 1000);
    setTimeout(() => t.add(Date.now(), { kind: 'request', seq: 1, at: Date.now(), latencyMs: 1, status: 200 }), 10);
    await expect(waiting).resolves.toBeUndefined();
  });

  it('waitFor rejects with what it saw', async () => {
    const t = new Timeline();
    t.add(Date.now(), { kind: 'request', seq: 1, at: Date.now(), latencyMs: 1, status: 503 });
    await expect(t.waitFor('a 200', (x) => x.requests().some((r) => r.status === 200), 30)).rejects.toMatchObject({ message: 'waited 30 ms for a 200', evidence: 'timeline: x' });
  });
});
