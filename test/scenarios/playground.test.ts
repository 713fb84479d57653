// The docker-compose playground comes up from the repo and carries a request through the sidecar:
// the app's curl is intercepted by iptables, Envoy routes it, the upstream named by the lab DNS answers.
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerCapability } from '../../src/backends/capabilities.js';
import { PLAYGROUND_TAGS } from '../../src/backends/docker/images.js';
import { ensureEnvoy } from '../../src/envoy/install.js';
import { REPO_ROOT } from '../../src/paths.js';
import { renderPlayground } from '../../src/playground/render.js';
import { delay } from '../../src/util/time.js';

const compose = ['/usr/bin/docker-compose', '/usr/local/bin/docker-compose'].find(existsSync);
const project = ['-p', `efl-playground-test-${process.pid}`];
const dc = (...args: string[]) => execa(compose!, [...project, ...args], { cwd: REPO_ROOT, reject: false, all: true });

describe.skipIf(!compose || !(await dockerCapability('', [PLAYGROUND_TAGS.node, PLAYGROUND_TAGS.envoy])).ok)('docker-compose playground', () => {
  afterAll(async () => {
    await dc('down', '-t', '0', '-v');
  });

  it('comes up and the app reaches old through the sidecar (access log proves Envoy carried it)', async () => {
    await renderPlayground({ envoyVersion: (await ensureEnvoy()).version });
    const up = await dc('up', '-d');
    expect(up.exitCode, up.all).toBe(0);
    let r = await dc('exec', '-T', '-u', '1000', 'pod', 'curl', '-s', '--max-time', '3', 'http://test-com.test/');
    for (let i = 0; i < 20 && !r.stdout.startsWith('old'); i++) {
      await delay(250); // Envoy and the servers start in the background
      r = await dc('exec', '-T', '-u', '1000', 'pod', 'curl', '-s', '--max-time', '3', 'http://test-com.test/');
    }
    expect(r.stdout, r.all).toMatch(/^old \(198\.18\.200\.21:80\)/);
    const logs = await dc('logs', '--no-color', 'sidecar');
    expect(logs.stdout).toMatch(/"up_cluster":"PassthroughCluster"/);
    expect(logs.stdout).toMatch(/"authority":"test-com.test"/);
  });
});
