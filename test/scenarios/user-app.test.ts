// --app: the user's own client in the lab. curl, reusing one connection for a paced list of URLs
// (as a Go client's pool would), reproduces sticky-503 by itself: 200s, then 503s on the very
// same connection after the old IP dies and DNS moves. Its own output is the evidence.
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { goHttpBinary } from '../../src/lab/app-client.js';
import { RUNS_DIR } from '../../src/paths.js';
import { loadScenario } from '../../src/scenario/registry.js';
import { runPhase } from '../../src/scenario/run-phase.js';
import { nodeImage } from '../../src/backends/docker/images.js';
import { backendsUnderTest, netnsUnderTest } from '../support/backends.js';

const verdictText = (r: { verdicts: Array<{ status: string; label: string; evidence: string }> }) => r.verdicts.map((v) => `${v.status} ${v.label}: ${v.evidence}`).join('\n');

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

  // The seed's own client: a Go service with net/http's default transport (lab/clients/go-http,
  // built with the machine's Go). Given with --app, its own output shows the incident and a fix.
  it('a Go client given with --app: 503s on one reused connection after the DNS switch (the before PASSes with it beside the lab client); with the DNS-cluster fix, 200s from new', async () => {
    const goHttp = await goHttpBinary();
    const scenario = await loadScenario('sticky-503');
    const seen: Record<string, { codes: string[]; ports: Set<string>; servedBy: string[] }> = {};
    for (const name of ['before', 'fix-dns-cluster']) {
      const phase = scenario.phases.find((p) => p.name === name)!;
      const artifactsDir = `${RUNS_DIR}/user-app-test/go-${name}`;
      const r = await runPhase(scenario, phase, { envoy, backend: 'netns', artifactsDir, appCommand: `${goHttp} -url http://test-com.test/ -every 250ms -n 60 -connect-timeout 1s -idle-conn-timeout 30s` });
      expect(r.status, r.error).not.toBe('error');
      // Your app beside the lab's client: the checks judge each app's own downstream connection
      // (two pinned connections, one each), so the incident shown by both is a PASS.
      if (name === 'before') expect(r.status, verdictText(r)).toBe('pass');
      // "#12 503 upstream connect error … local port 40016 served by  (1001 ms)"
      const lines = (await readFile(`${artifactsDir}/app-command.log`, 'utf8')).split('\n').map((l) => /^#\d+ (\d{3}) .*local port (\d+) served by (\S*)/.exec(l)).filter((m) => m !== null);
      seen[name] = { codes: lines.map((m) => m[1]!), ports: new Set(lines.map((m) => m[2]!)), servedBy: lines.map((m) => m[3] || '-') };
      console.log(`go-http in ${name}: ${seen[name].codes.join(' ')} on local port(s) ${[...seen[name].ports].join(', ')}; served by ${seen[name].servedBy.join(' ')}`);
    }
    const before = seen.before!;
    expect(before.codes[0]).toBe('200');
    expect(before.codes.slice(-3)).toEqual(['503', '503', '503']); // still failing at the end, after the switch
    expect(before.ports.size, 'one kept-alive connection throughout').toBe(1);
    const fixed = seen['fix-dns-cluster']!;
    expect(fixed.codes.slice(-3)).toEqual(['200', '200', '200']);
    expect(fixed.servedBy.at(-1)).toBe('new');
  });

  it("--app-only: curl alone is the app; Envoy's and the kernel's checks judge it, the lab client's checks say UNKNOWN", async () => {
    const scenario = await loadScenario('sticky-503');
    const before = scenario.phases.find((p) => p.name === 'before')!;
    const r = await runPhase(scenario, before, { envoy, backend: 'netns', artifactsDir: `${RUNS_DIR}/user-app-test/app-only`, appCommand: CURL, appOnly: true });
    const by = (status: string) => r.verdicts.filter((v) => v.status === status).map((v) => v.label);
    console.log(`--app-only: ${r.status}; pass: ${by('pass').length}, unknown: ${by('unknown').join(' / ')}, fail: ${by('fail').join(' / ')}`);
    expect(by('fail')).toEqual([]);
    expect(by('pass')).toEqual(expect.arrayContaining([expect.stringMatching(/^mechanism: Envoy answers 503 UF/), expect.stringMatching(/^the seed's view/), expect.stringMatching(/^the fault fired/)]));
    expect(by('unknown').length).toBeGreaterThan(0);
    expect(r.verdicts.find((v) => v.status === 'unknown')!.evidence).toContain('--app-only');
    expect(r.status).toBe('unknown');
  });
});

const docker = (await backendsUnderTest()).find((b) => b.kind === 'docker') ?? { kind: 'docker', unavailable: 'LAB_BACKENDS leaves docker out' };

describe.skipIf(!!docker.unavailable)('--app-image: your own image as the app (docker, real Envoy)', () => {
  it('curl in another image, in the pod\'s network namespace, is intercepted and shows sticky-503 itself', async () => {
    const envoy = await ensureEnvoy();
    const scenario = await loadScenario('sticky-503');
    const before = scenario.phases.find((p) => p.name === 'before')!;
    const artifactsDir = `${RUNS_DIR}/user-app-test/app-image`;
    const r = await runPhase(scenario, before, { envoy, backend: 'docker', artifactsDir, appCommand: CURL, appImage: nodeImage(), appOnly: true });
    expect(r.status, r.error).not.toBe('error');
    const log = await readFile(`${artifactsDir}/app-command.log`, 'utf8');
    // 000: no response, what curl prints for a request cut off when the lab stops it at the end.
    const lines = log.split('\n').filter((l) => /^(200|503) \d+$/.test(l));
    console.log(`curl in ${nodeImage()}: ${log.split('\n').filter((l) => /^\d{3} \d+$/.test(l)).map((l) => l.split(' ')[0]).join(' ')}`);
    expect(log).toContain(`# in image ${nodeImage()}`);
    expect(lines[0]?.split(' ')[0]).toBe('200');
    expect(lines.filter((l) => l.startsWith('503')).length).toBeGreaterThanOrEqual(3);
    expect(new Set(lines.map((l) => l.split(' ')[1])).size).toBe(1);
    expect(r.verdicts.find((v) => v.label.startsWith('mechanism: Envoy answers 503 UF'))?.status).toBe('pass'); // Envoy saw its traffic: it was intercepted
  });
});
