/**
 * `npm run lab -- <command>`: the machine and what runs leave on it: what it can run (doctor),
 * removing what dead runs left (clean), the compose playground, and the leak check that proves the
 * safety rule.
 */
import type { Command } from 'commander';
import { join } from 'node:path';
import { sweepStaleLabs } from '../backends/reaper.js';
import { assertInstallable, ensureEnvoy } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { PrerequisiteError } from '../errors.js';
import { RUNS_DIR } from '../paths.js';
import { hasCommand } from '../backends/capabilities.js';
import { leakCheck } from '../safety/leak-check.js';
import { renderPlayground } from '../playground/render.js';
import { doctor, fixWithApt } from './doctor.js';
import { istioIptablesBinary } from '../interception/istio-iptables.js';
import { pilotAgentBinary } from '../istio/pilot-agent.js';
import { goHttpBinary } from '../lab/app-client.js';
import { actionlintBinary } from '../go-tools/actionlint.js';
import { labIo } from './lab-io.js';

const { say, progress } = labIo;

export function addHousekeepingCommands(program: Command): void {
  program
    .command('go-tools')
    .description("build the lab's Go tools into the lab cache, each keyed by its source and module versions (built on first use otherwise): Istio's capture code and sidecar agent, the go-http client, actionlint")
    .action(async () => {
      // One after the other: each build keeps the cores busy, and they share Go's build cache.
      const tools: Array<[string, () => Promise<string | undefined>]> = [
        ["Istio's capture code (istio-iptables)", () => istioIptablesBinary(progress)],
        ["Istio's sidecar agent (pilot-agent)", () => pilotAgentBinary(progress)],
        ['the go-http client (--client go)', () => goHttpBinary(progress)],
        ['actionlint (the upgrade workflow\'s linter)', () => actionlintBinary(progress)],
      ];
      for (const [what, build] of tools) {
        const bin = await build();
        if (!bin) throw new PrerequisiteError(`${what} needs Go to build`, { fix: 'apt-get install -y golang-go (or put go on PATH)' });
        say(`${bin}  ${what}`);
      }
    });
  program
    .command('clean')
    .description('remove what dead runs left behind: namespaces, their processes and rules, Docker containers and networks, files')
    .action(async () => {
      const report = await sweepStaleLabs();
      say(report.swept.length ? `removed ${report.swept.length} stale lab(s): ${report.swept.join(', ')}` : 'nothing to clean');
      if (report.live.length) say(`left ${report.live.length} lab(s) whose run is still going: ${report.live.join(', ')}`);
    });
  program
    .command('playground [variant]')
    .description('render a sticky-503 config variant (default broken) for docker-compose.yml; a running playground applies it live')
    .option('--envoy <version>', 'Envoy the playground runs', DEFAULT_ENVOY_VERSION)
    .action(async (variant: string | undefined, o: { envoy: string }) => {
      const what = await renderPlayground({ variant, envoyVersion: o.envoy });
      say(`rendered envoy-configs/${what}.yaml into lab/playground/envoy/ (a running playground picks it up live)`);
      say('start it: docker compose up -d   (Debian: docker-compose up -d); see docs/playground.md');
    });
  program
    .command('doctor')
    .description('what this machine can run (root, iptables, Docker, images, Envoy) and how to fix the rest')
    .option('--fix', 'install the missing Debian packages (apt-get, as root)', false)
    .option('--envoy <version>', 'the Envoy version to check for', DEFAULT_ENVOY_VERSION)
    .action(async (o: { fix: boolean; envoy: string }) => {
      let report = await doctor(o.envoy);
      if (o.fix && report.missingPackages.length) {
        await fixWithApt(report.missingPackages, progress);
        report = await doctor(o.envoy);
      }
      for (const line of report.lines) say(line);
      if (!o.fix && report.missingPackages.length) say(`\nfix: apt-get install -y ${report.missingPackages.join(' ')}   (or: npm run lab -- doctor --fix)`);
      labIo.exitCode = report.ok ? 0 : 3;
    });
  program
    .command('leak-check')
    .description("prove the safety rule on this machine: validate every variant from an empty cache (and with --istio render every Istio YAML) while tcpdump watches the host's own interfaces; exit 1 on any packet to or from 198.18.0.0/15 or DNS query for a lab name")
    .option('--envoy <version>', 'Envoy used (ENVOY_BIN overrides)', DEFAULT_ENVOY_VERSION)
    .option('--istio', 'also render every Istio YAML with lab/istiod', false)
    .action(async (o: { envoy: string; istio: boolean }) => {
      if (process.getuid?.() !== 0) throw new PrerequisiteError('tcpdump needs root to capture', { fix: 'sudo npm run lab -- leak-check' });
      if (!hasCommand('tcpdump')) throw new PrerequisiteError('tcpdump is not installed', { fix: 'apt-get install -y tcpdump' });
      await assertInstallable(o.envoy);
      const envoy = await ensureEnvoy(o.envoy, progress);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
      const r = await leakCheck({ envoy, istio: o.istio, captureDir: join(RUNS_DIR, `${stamp}-leak-check`), progress });
      say(`${r.done} config(s) validated or rendered; tcpdump kept ${Object.entries(r.kept).map(([i, n]) => `${n ?? '?'} on ${i}`).join(', ')} (filter "${r.filter}"); ${r.packets} read back; ${r.leaks.length} leak(s)`);
      for (const l of r.leaks) say(`  LEAK ${l.interface}: ${l.why}: ${l.line}`);
      say(`capture: ${r.captureDir}`);
      labIo.exitCode = r.leaks.length ? 1 : 0;
      if (r.failure !== undefined) throw r.failure;
    });
}
