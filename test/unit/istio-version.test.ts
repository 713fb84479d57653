// Istio arrives from the Go module proxy as pseudo-versions; a phase's requiresIstio compares them by commit time.
import { describe, expect, it } from 'vitest';
import { compareIstioVersions } from '../../src/istio/istio-version.js';

const PINNED = 'v0.0.0-20260423205519-b01690e6db7d';
const NEWER = 'v0.0.0-20260827124520-eed52ebb66ad';

describe('compareIstioVersions', () => {
  it('orders pseudo-versions by commit time, not by their commit hash', () => {
    expect(compareIstioVersions(PINNED, NEWER)).toBeLessThan(0);
    expect(compareIstioVersions(NEWER, PINNED)).toBeGreaterThan(0);
    expect(compareIstioVersions(NEWER, NEWER)).toBe(0);
    expect(compareIstioVersions('v0.0.0-20260827124520-000000000000', 'v0.0.0-20260423205519-ffffffffffff')).toBeGreaterThan(0);
  });
});
