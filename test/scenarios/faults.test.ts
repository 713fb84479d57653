// Each kernel-level fault, end to end through the sidecar (sticky-503's Istio config, real Envoy):
// what the app gets, what Envoy logs, and the kernel's proof that the fault fired.
import { beforeAll, describe, expect, it } from 'vitest';
import { variantPath } from '../../src/envoy/config.js';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { blackhole } from '../../src/faults/blackhole.js';
import type { Fault } from '../../src/faults/fault.js';
import { refuse } from '../../src/faults/refuse.js';
import { stop } from '../../src/faults/stop.js';
import { NetnsBackend } from '../../src/backends/netns/netns-backend.js';
import { Evidence } from '../../src/evidence/evidence.js';
import { Lab } from '../../src/lab/lab.js';
import { RUNS_DIR } from '../../src/paths.js';
import { netnsUnderTest } from '../support/backends.js';

// Envoy's own words (measured on 1.40; connection_timeout also on 1.36.4): a dropped SYN times out,
// a refused connect is a remote connection failure.
const REFUSED = /^upstream_reset_before_response_started\{remote_connection_failure\|delayed_connect_error:_Connection_refused\}$/;
const cases: Array<[Fault, RegExp]> = [
  [blackhole, /^upstream_reset_before_response_started\{connection_timeout\}$/],
  [refuse, REFUSED],
  [stop, REFUSED],
];

const netns = await netnsUnderTest();

describe.skipIf(!!netns.unavailable)('faults, through the sidecar', () => {
  let envoy: EnvoyBinary;
  beforeAll(async () => {
    envoy = await ensureEnvoy();
  });

  for (const [fault, details] of cases) {
    it(`${fault.type}: the app gets 503 UF with the documented details, and the kernel counted the fault`, async () => {
      await using lab = await Lab.start(
        await NetnsBackend.create(),
        { upstreams: [{ name: 'old', octet: 21, ports: [80] }, { name: 'new', octet: 22, ports: [80] }], dns: { 'test-com.test': 'old' }, sidecar: { config: variantPath('sticky-503', 'broken') } },
        { envoy, artifactsDir: `${RUNS_DIR}/faults-test/${fault.type}` },
      );
      await lab.app.start({ url: 'http://test-com.test/', everyMs: 100, maxRequests: 30, maxDurationMs: 10_000, requestTimeoutMs: 3000, connectTimeoutMs: 1000, keepAliveTimeoutMs: 30_000 });
      await lab.waitFor('2 OK', (t) => t.requests().filter((r) => r.status === 200).length >= 2, 5000);
      await lab.hosts.inject(fault, 'old');
      await lab.waitFor('2 failures', (t) => t.requests().filter((r) => r.t > t.marker('fault')!.t && r.status === 503).length >= 2, 8000);
      await lab.app.stop();
      const e = new Evidence(await lab.collect());
      // A request Envoy puts on its kept-alive upstream connection in the instant the fault closes
      // it gets 503 UC connection_termination instead (seen once in a full suite): at most the first.
      const failed = e.accessLog.filter((a) => a.code === 503);
      const racedTheClose = failed.filter((a, i) => i === 0 && a.flags === 'UC' && a.details === 'upstream_reset_before_response_started{connection_termination}');
      const uf = failed.slice(racedTheClose.length);
      expect(uf.length).toBeGreaterThanOrEqual(2);
      for (const a of uf) {
        expect(a.flags).toBe('UF');
        expect(a.details).toMatch(details);
      }
      expect(e.faults.find((f) => f.fault === fault.type)!.fired).toBeGreaterThan(0);
    });
  }
});
