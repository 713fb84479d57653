// --app: the user's own client in the lab. curl, reusing one connection for a paced list of URLs
// (as a Go client's pool would), reproduces sticky-503 by itself: 200s, then 503s on the very
// same connection after the old IP dies and DNS moves. Its own output is the evidence.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { RUNS_DIR } from '../../src/paths.js';
import { loadScenario } from '../../src/scenario/registry.js';
import { runPhase } from '../../src/scenario/run-phase.js';
import { netnsUnderTest } from '../support/backends.js';

const netns = await netnsUnderTest();
// One curl, one connection: 60 requests at 5 per second; after each body a line "<status> <local port>".
const CURL = `curl -s --rate 5/s -w '\\n%{http_code} %{local_port}\\n' $(for i in $(seq 60); do printf 'http://test-com.test/ '; done)`;

describe.skipIf(!!netns.unavailable)('--app: your own client in the lab (netns, real Envoy)', () => {
  let envoy: EnvoyBinary;
  beforeAll(async () => {
    envoy = await ensureEnvoy();
  });

  it('curl given with --app shows sticky-503 itself: 200 then 503 on one local port', async () => {
    const scenario = await loadScenario('sticky-503');
    const before = scenario.phases.find((p) => p.name === 'before')!;
    const artifactsDir = `${RUNS_DIR}/user-app-test/before`;
    const steps: string[] = [];
    const r = await runPhase(scenario, before, { envoy, backend: 'netns', artifactsDir, appCommand: CURL, log: (l) => steps.push(l) });
    // The phase's own checks see curl's traffic too (a second stuck downstream connection), so
    // they are not what this test judges: curl's own view is.
    expect(r.status, steps.join('\n')).not.toBe('error');
    const lines = (await readFile(`${artifactsDir}/app-command.log`, 'utf8')).split('\n').filter((l) => /^\d{3} \d+$/.test(l));
    const codes = lines.map((l) => l.split(' ')[0]);
    const ports = new Set(lines.map((l) => l.split(' ')[1]));
    console.log(`curl's view: ${codes.join(' ')} on local port(s) ${[...ports].join(', ')}\n${steps.at(-1)}`);
    expect(codes[0]).toBe('200');
    expect(codes.filter((c) => c === '503').length).toBeGreaterThanOrEqual(3);
    expect(ports.size, 'curl kept one connection throughout').toBe(1);
    expect(steps.some((s) => s.startsWith('your app printed'))).toBe(true);
  });
});
