import { describe, expect, it } from 'vitest';
import { mergeOverlay } from '../../src/envoy/overlay.js';

describe('mergeOverlay', () => {
  it('merges objects key by key and deletes keys set to null', () => {
    expect(mergeOverlay({ a: 1, b: { c: 2, d: 3 } }, { b: { c: 9, d: null }, e: 5 })).toEqual({ a: 1, b: { c: 9 }, e: 5 });
  });

  it('merges named lists by name and appends new items', () => {
    const base = [{ name: 'x', v: 1 }, { name: 'y', v: 2 }];
    expect(mergeOverlay(base, [{ name: 'y', w: 3 }, { name: 'z' }])).toEqual([{ name: 'x', v: 1 }, { name: 'y', v: 2, w: 3 }, { name: 'z' }]);
  });

  it('places a new item before the one named by $insert_before, and strips the directive', () => {
    const base = [{ name: 'envoy.filters.http.router' }];
    const out = mergeOverlay(base, [{ name: 'lua', $insert_before: 'envoy.filters.http.router' }]);
    expect(out).toEqual([{ name: 'lua' }, { name: 'envoy.filters.http.router' }]);
  });

  it('explains an $insert_before anchor that does not exist', () => {
    expect(() => mergeOverlay([{ name: 'a' }], [{ name: 'b', $insert_before: 'zzz' }])).toThrow(/"zzz", which the base does not have \(it has: a\)/);
  });

  it('removes a named item marked $delete, and explains a delete of something absent', () => {
    expect(mergeOverlay([{ name: 'a' }, { name: 'b' }], [{ name: 'a', $delete: true }])).toEqual([{ name: 'b' }]);
    expect(() => mergeOverlay([{ name: 'a' }], [{ name: 'zzz', $delete: true }])).toThrow(/deletes "zzz", which the base does not have/);
  });

  it('replaces lists that are not named, and keeps the base when the overlay is absent', () => {
    expect(mergeOverlay({ l: [1, 2] }, { l: [3] })).toEqual({ l: [3] });
    expect(mergeOverlay([{ name: 'a' }], undefined)).toEqual([{ name: 'a' }]);
  });
});
