/**
 * `npm run lab -- <command>`: the machine and what runs leave on it: what it can run (doctor),
 * removing what dead runs left (clean), the compose playground, and the leak check that proves the
 * safety rule.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sweepStaleLabs } from '../backends/reaper.js';
import { assertInstallable, ensureEnvoy } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { PrerequisiteError } from '../errors.js';
import { RUNS_DIR, VALIDATED_DIR } from '../paths.js';
import { configsDir } from '../envoy/configs-dir.js';
import { hasCommand } from '../backends/capabilities.js';
import { CAPTURE_FILTER, labNames, leaksIn, startHostCapture, stopHostCapture } from '../safety/host-capture.js';
import { renderPlayground } from '../playground/render.js';
import { renderIstio } from '../istio/render.js';
import { istioInput } from '../istio/istio-variant.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import { validateVariantFile } from '../scenario/validate-variant.js';
import { doctor, fixWithApt } from './doctor.js';
import { labIo } from './lab-io.js';

const { say, progress } = labIo;

export function addHousekeepingCommands(program: Command): void {
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
      await rm(VALIDATED_DIR, { recursive: true, force: true });
      const capture = await startHostCapture(join(RUNS_DIR, `${stamp}-leak-check`));
      progress(`tcpdump on ${capture.tcpdumps.map((t) => t.interface).join(', ')}; validation cache emptied`);
      let done = 0;
      try {
        for (const id of scenarioIds()) {
          const dir = configsDir(id);
          if (!existsSync(dir)) continue;
          for (const f of (await readdir(dir)).filter((f) => f.endsWith('.yaml') && !f.startsWith('imported-'))) {
            await validateVariantFile(envoy, join(dir, f));
            done++;
          }
          if (o.istio && existsSync(join(dir, 'istio'))) {
            for (const f of (await readdir(join(dir, 'istio'))).filter((f) => f.endsWith('.yaml') && !f.includes('mesh') && f !== 'known-drift.yaml')) {
              const tmp = await mkdtemp(join(tmpdir(), 'efl-leak-'));
              const input = await istioInput(await loadScenario(id), join(dir, 'istio', f), join(tmp, f));
              await renderIstio([input.filled], { podIp: input.vars.POD_IP, meshFiles: input.meshFiles, progress }).finally(() => rm(tmp, { recursive: true, force: true }));
              done++;
            }
          }
          progress(`  ${id}: done (${done} so far)`);
        }
      } finally {
        const stats = await stopHostCapture(capture);
        const { leaks, packets } = await leaksIn(capture.dir, await labNames());
        say(`${done} config(s) validated or rendered; tcpdump kept ${Object.entries(stats).map(([i, n]) => `${n ?? '?'} on ${i}`).join(', ')} (filter "${CAPTURE_FILTER}"); ${packets} read back; ${leaks.length} leak(s)`);
        for (const l of leaks) say(`  LEAK ${l.interface}: ${l.why}: ${l.line}`);
        say(`capture: ${capture.dir}`);
        labIo.exitCode = leaks.length ? 1 : 0;
      }
    });
}
