// The docker backend's two wirings (src/backends/docker/docker-backend.ts): the lab's own (each
// container started with no network, one veth into the lab's hub namespace) and Docker's internal
// network (where the lab cannot make namespaces). Each runs sticky-503's before to PASS and lets a
// host reach its peers. Wired by the lab, a host's only route is its lab's /24 (an address outside
// it, still in the lab range, is unreachable before a packet exists); on Docker's network it has a
// default route to the engine's bridge, which an internal network forwards nowhere.
import { afterEach, describe, expect, it } from 'vitest';
import { DockerBackend, dockerNetworkWiring } from '../../src/backends/docker/docker-backend.js';
import { ensureEnvoy } from '../../src/envoy/install.js';
import { RUNS_DIR } from '../../src/paths.js';
import { loadScenario } from '../../src/scenario/registry.js';
import { runPhase } from '../../src/scenario/run-phase.js';
import { podWithUpstreams } from '../../src/topology/topology.js';
import { backendsUnderTest } from '../support/backends.js';

const docker = (await backendsUnderTest()).find((b) => b.kind === 'docker') ?? { kind: 'docker', unavailable: 'LAB_BACKENDS leaves docker out' };
const chosen = process.env.LAB_DOCKER_NETWORK;

describe.skipIf(!!docker.unavailable)('[docker] who wires the lab: the lab itself, or Docker', () => {
  afterEach(() => {
    if (chosen === undefined) delete process.env.LAB_DOCKER_NETWORK;
    else process.env.LAB_DOCKER_NETWORK = chosen;
  });

  it('as root on Linux the lab wires the containers itself', () => {
    delete process.env.LAB_DOCKER_NETWORK;
    expect(dockerNetworkWiring()).toBe('lab');
  });

  for (const wiring of ['lab', 'docker'] as const) {
    it(`${wiring}: sticky-503's before reproduces; a host reaches its peers and no further`, async () => {
      process.env.LAB_DOCKER_NETWORK = wiring;
      const envoy = await ensureEnvoy();
      const scenario = await loadScenario('sticky-503');
      const r = await runPhase(scenario, scenario.phases.find((p) => p.kind === 'before')!, { envoy, backend: 'docker', artifactsDir: `${RUNS_DIR}/docker-network-test/${wiring}` });
      expect(r.status, r.reason ?? r.error).toBe('pass');

      await using backend = await DockerBackend.create(envoy);
      await backend.up(podWithUpstreams([{ name: 'old', octet: 21 }]));
      // A peer in the lab answers (a refused connect is its kernel's RST).
      const peer = await backend.exec('pod', [backend.nodePath, '-e', `require('net').connect(9, '${backend.plan.ip({ octet: 21 })}').on('error', (e) => console.log(e.code))`]);
      expect(peer.stdout.trim()).toBe('ECONNREFUSED');
      const routes = (await backend.exec('pod', ['ip', '-4', 'route'])).stdout.trim();
      if (wiring === 'lab') {
        // Only the lab's /24: any other address is unreachable in the host itself, before a packet exists.
        expect(routes).toBe(`${backend.plan.cidr} dev eth0 proto kernel scope link src ${backend.plan.ip({ octet: 10 })}`);
        expect((await backend.exec('pod', ['ip', 'route', 'get', '198.19.255.1'])).stderr).toMatch(/unreachable/);
      } else {
        // Docker gives a default route to its bridge on the machine; the network is internal, so
        // the engine forwards nothing from it (its isolation rules), which the lab does not test by sending.
        expect(routes).toMatch(/^default via \S+ dev eth0/);
        const networks = await backend.docker.listNetworks({ filters: JSON.stringify({ name: [backend.name('net')] }) });
        expect(networks.map((n) => n.Internal)).toEqual([true]);
      }
    });
  }
});
