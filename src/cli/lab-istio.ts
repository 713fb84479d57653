/**
 * `npm run lab -- <command>`: istio mode's config source: build lab/istiod, render Istio YAML, and
 * hold the hand-written variants against what Istio generates.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { istioIptablesBinary } from '../interception/istio-iptables.js';
import { pilotAgentBinary } from '../istio/pilot-agent.js';
import { UsageError } from '../errors.js';
import { configsDir } from '../envoy/configs-dir.js';
import { PROXY_CONFIG_VIEWS, proxyConfigText, type ProxyConfigView } from '../envoy/proxy-config.js';
import { builtIstios, istiodBinary, latestIstio, pinnedIstio } from '../istio/istiod-binary.js';
import { renderIstio } from '../istio/render.js';
import { istioInput, scenarioOfIstioFile } from '../istio/istio-variant.js';
import { scenarioDrift } from '../istio/drift.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import { labIo } from './lab-io.js';

const { say, progress } = labIo;

export function addIstioCommands(program: Command): void {
  const istio = program.command('istio').description("Istio mode's config source: lab/istiod runs istiod's real config generation (no Kubernetes)");

  istio
    .command('versions')
    .description('the Istio lab/istiod pins, the newest the Go module proxy serves, and the ones built here')
    .action(async () => {
      const pinned = await pinnedIstio();
      const built = await builtIstios();
      say(`pinned (lab/istiod/go.mod, --istio):  ${pinned}${built.some((b) => b.version === pinned) ? '  built' : ''}`);
      const latest = await latestIstio().catch((e: Error) => `unknown (${e.message})`);
      say(`newest on the Go module proxy (latest): ${latest}${latest !== pinned && built.some((b) => b.version === latest) ? '  built' : ''}`);
      for (const b of built.filter((x) => x.version !== pinned && x.version !== latest)) say(`built: ${b.version}`);
      say('The proxy serves Istio as pseudo-versions only (its release tags are not Go semver): install one by its version, or latest.');
    });

  istio
    .command('install [version]')
    .description('build lab/istiod (Istio from the Go module proxy) into the lab cache: the pinned Istio, another pseudo-version, or latest; first time a few minutes')
    .addHelpText('after', '\nExamples:\n  npm run lab -- istio install\n  npm run lab -- istio install latest\n  npm run scenario -- sticky-503 --istio latest\n')
    .action(async (version?: string) => {
      const v = version === 'latest' ? await latestIstio() : (version ?? (await pinnedIstio()));
      say(`${await istiodBinary(progress, v)} (Istio ${v})`);
      // The pod's interception is Istio's capture code from the pinned module: built beside it.
      if (v === (await pinnedIstio())) {
        say(`${(await istioIptablesBinary(progress)) ?? 'no Go: lab/istio-iptables.sh stands in for'} (Istio's capture code, istio-iptables)`);
        // …and its sidecar agent: under --istio, pilot-agent starts the sidecar.
        say(`${(await pilotAgentBinary(progress)) ?? "no Go: the lab's own ADS bootstrap stands in for"} (Istio's sidecar agent, pilot-agent)`);
      }
    });

  istio
    .command('render <yaml...>')
    .description('what Istio generates for the pod from Istio YAML files (or directories of them), as proxy-config tables')
    .option('--view <view>', `${PROXY_CONFIG_VIEWS.join(' | ')}`, 'all')
    .option('--pod-ip <ip>', "the sidecar's pod IP", '198.18.0.10')
    .option('--out <file>', 'also write the config_dump JSON (npm run lab -- import-config takes it)')
    .option('--istio <version>', 'render with another Istio (a pseudo-version, or latest; default: the pinned one)')
    .addHelpText('after', '\nExample:\n  npm run lab -- istio render envoy-configs/catch-all-cert/istio/broken.yaml --view listeners\n')
    .action(async (files: string[], o: { view: string; podIp: string; out?: string; istio?: string }) => {
      const version = o.istio === 'latest' ? await latestIstio() : o.istio;
      if (!PROXY_CONFIG_VIEWS.includes(o.view as ProxyConfigView)) throw new UsageError(`no view "${o.view}"`, { fix: `one of: ${PROXY_CONFIG_VIEWS.join(', ')}` });
      const missing = files.filter((f) => !existsSync(f));
      if (missing.length) throw new UsageError(`no such file: ${missing.join(', ')}`, { fix: 'give Istio YAML files, e.g. envoy-configs/catch-all-cert/istio/broken.yaml' });
      const variantsDir = files.find((f) => /envoy-configs\/[^/]+\/istio\/?$/.test(resolve(f)));
      if (variantsDir) throw new UsageError(`${variantsDir} holds one file per config variant (and mesh settings), not one mesh: render a variant`, { fix: `e.g. npm run lab -- istio render ${join(variantsDir, 'broken.yaml')}` });
      // A scenario's Istio YAML has the lab's placeholders (${UPSTREAM_SVC_IP}, …): filled with the
      // fixed address plan, and rendered with the scenario's mesh settings, as --istio does.
      const tmp = await mkdtemp(join(tmpdir(), 'efl-istio-render-'));
      let meshFiles: string[] | undefined;
      const inputs = await Promise.all(
        files.map(async (f, i) => {
          const id = scenarioOfIstioFile(resolve(f));
          if (!id || !scenarioIds().includes(id)) return resolve(f);
          const input = await istioInput(await loadScenario(id), resolve(f), join(tmp, `${i}.yaml`));
          meshFiles ??= input.meshFiles;
          return input.filled;
        }),
      );
      const dump = await renderIstio(inputs, { podIp: o.podIp, progress, meshFiles, version }).finally(() => rm(tmp, { recursive: true, force: true }));
      if (o.out) await writeFile(o.out, JSON.stringify(dump, null, 1));
      say(`# generated by Istio ${version ?? (await pinnedIstio())} (lab/istiod) from ${files.join(', ')}`);
      say(proxyConfigText(dump, o.view as ProxyConfigView));
    });

  istio
    .command('drift [scenario...]')
    .option('--istio <version>', 'render with another Istio (a pseudo-version, or latest; default: the pinned one)')
    .description("compare each hand-written variant with what Istio generates from the scenario's Istio YAML (listeners, filter chain matches, default chains, clusters, timeouts, retries, routes); exit 1 on drift")
    .addHelpText('after', '\nExample:\n  npm run lab -- istio drift keepalive-race\n')
    .action(async (ids: string[], o: { istio?: string }) => {
      const version = o.istio === 'latest' ? await latestIstio() : o.istio;
      const withIstio = scenarioIds().filter((id) => existsSync(join(configsDir(id), 'istio')));
      const unknown = ids.filter((id) => !withIstio.includes(id));
      if (unknown.length) throw new UsageError(`no Istio YAML for ${unknown.join(', ')}`, { fix: `scenarios with Istio YAML: ${withIstio.join(', ')}` });
      let drifted = 0;
      for (const id of ids.length ? ids : withIstio) {
        for (const r of await scenarioDrift(await loadScenario(id), progress, version)) {
          const bad = r.unexpected.length + r.stale.length;
          if (bad) say(`✗ ${id}/${r.variant}.yaml differs from what Istio ${version ?? (await pinnedIstio())} generates from istio/${r.variant}.yaml:`);
          else if (r.known.length) say(`≈ ${id}/${r.variant}.yaml differs from Istio only as declared in istio/known-drift.yaml (${r.known.map((d) => d.what).join('; ')}): ${r.why}`);
          else say(`✓ ${id}/${r.variant}.yaml matches what Istio generates from istio/${r.variant}.yaml`);
          for (const d of r.unexpected) say(`    ${d.what}: hand-written ${d.handWritten}; Istio ${d.generated}`);
          for (const w of r.stale) say(`    ${w}: declared in istio/known-drift.yaml, but no longer differs (remove it there)`);
          drifted += bad ? 1 : 0;
        }
      }
      if (drifted) {
        say(`${drifted} variant(s) drifted: make the hand-written variant say what Istio generates, or declare the difference with why in envoy-configs/<scenario>/istio/known-drift.yaml`);
        labIo.exitCode = 1;
      }
    });
}
