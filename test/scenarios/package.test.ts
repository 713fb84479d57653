/**
 * The lab as a user's project has it (#26): packed, installed from the tarball on disk into an
 * empty project, an incident of the user's own (test/package/project/incidents/payments-504.ts,
 * importing only from 'envoy-fault-lab', its variants beside it) run with the package's bin, from
 * the project's own vitest file, and through `matrix --scenarios`. Bad scenario files get one
 * exit-2 error naming the file and line. actionlint checks the upgrade workflow the lab ships.
 */
import { existsSync, readdirSync } from 'node:fs';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionlint } from '../../src/go-tools/actionlint.js';
import { REPO_ROOT } from '../../src/paths.js';
import { backendsUnderTest } from '../support/backends.js';
import { scratchProject, userEnv } from '../support/scratch-project.js';

const WORKFLOW = join(REPO_ROOT, '.github/workflows/envoy-upgrade.yml');

describe('the package in a user project', () => {
  let dir: string;
  const lab = (...args: string[]) => execa('npx', ['envoy-fault-lab', ...args], { cwd: dir, reject: false, all: true, env: userEnv() });

  beforeAll(async () => {
    dir = (await scratchProject()).dir;
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dirname(dir), { recursive: true, force: true });
  });

  it('installs what a user runs: the bin, compiled JavaScript with declarations, no TypeScript sources', async () => {
    const pkg = join(dir, 'node_modules/envoy-fault-lab');
    for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/vitest.js', 'dist/scenarios/sticky-503.js', 'envoy-configs/common/mesh-service-app.yaml', 'lab/istiod/go.mod', '.ci/setup', '.ci/setup.mjs']) expect(existsSync(join(pkg, f)), f).toBe(true);
    expect(existsSync(join(pkg, 'src')), 'src/ (TypeScript) is not shipped').toBe(false);
    const help = await lab('--help');
    expect(help.exitCode, help.all).toBe(0);
    expect(help.all).toMatch(/scenario .*\n.*matrix/s);
    const unknown = await lab('frobnicate');
    expect(unknown.exitCode).toBe(2);
    expect(unknown.all).toMatch(/unknown command "frobnicate"/);
  });

  it("runs the user's incident file with npx envoy-fault-lab scenario on each backend: exit 0 and report.html", async () => {
    const backends = (await backendsUnderTest()).filter((b) => !b.unavailable).map((b) => b.kind);
    expect(backends.length).toBeGreaterThan(0);
    for (const backend of backends) {
      const before = new Set(existsSync(join(dir, '.lab-runs')) ? readdirSync(join(dir, '.lab-runs')) : []);
      const r = await lab('scenario', './incidents/payments-504.ts', '--backend', backend);
      expect(r.exitCode, r.all).toBe(0);
      expect(r.all).toMatch(new RegExp(`backend: ${backend}`));
      expect(r.all).toMatch(/before\s+before\s+PASS\s+1\/1/);
      expect(r.all).toMatch(/fix-timeout-5s\s+fix\s+PASS\s+1\/1/);
      const runs = readdirSync(join(dir, '.lab-runs')).filter((d) => d.endsWith('-payments-504') && !before.has(d));
      expect(runs, backend).toHaveLength(1);
      const report = await readFile(join(dir, '.lab-runs', runs[0]!, 'report.html'), 'utf8');
      expect(report).toContain('PM-1234, our postmortem');
    }
  });

  it("runs it from the project's own vitest file (phaseTests): every phase a passing test", async () => {
    const r = await execa('npx', ['vitest', 'run'], { cwd: dir, reject: false, all: true, env: userEnv() });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/Tests\s+.*2 passed/);
  });

  it("fails a regressed fix with the verdict's evidence as the test's message", async () => {
    await execa('cp', ['-r', join(dir, 'incidents/payments-504'), join(dir, 'regressed')]);
    const fix = join(dir, 'regressed/fix.yaml');
    await writeFile(fix, (await readFile(fix, 'utf8')).replace('timeout: 5s', 'timeout: 1s'));
    await writeFile(join(dir, 'regressed.test.ts'), "import { phaseTests } from 'envoy-fault-lab/vitest';\nimport payments504 from './incidents/payments-504.js';\nphaseTests(payments504, { configs: './regressed', phases: ['fix-timeout-5s'], backend: 'netns' });\n");
    const r = await execa('npx', ['vitest', 'run', 'regressed.test.ts'], { cwd: dir, reject: false, all: true, env: userEnv() });
    await rm(join(dir, 'regressed.test.ts'));
    expect(r.exitCode, r.all).toBe(1);
    expect(r.all).toMatch(/fix-timeout-5s: 0\/1 as documented/);
    expect(r.all).toMatch(/✗ fix in force: the route times out at 5 s\s+route "8080" app\.test: timeout = "1s"/);
  });

  it('matrix --scenarios adds the folder to the catalogue (the workflow runs it so)', async () => {
    const r = await execa('npx', ['envoy-fault-lab', 'matrix', '--scenarios', './incidents', '--scenario', 'payments-504', '--backend', 'netns'], { cwd: dir, reject: false, all: true, env: userEnv() });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/payments-504/);
  });

  it("triage --scenarios holds a paste against the team's own incidents beside the catalogue's", async () => {
    const paste = join(dir, 'paste.txt');
    await writeFile(paste, '[2026-11-30T10:02:11.532Z] "POST /charge HTTP/1.1" 504 UT response_timeout - "-" 0 24 1001 - "-" "checkout/2.3" "4f1c" "payments:8080" "198.18.3.30:8080" outbound|8080||payments.shop.svc.cluster.local 198.18.3.10:41220 198.18.3.30:8080 198.18.3.10:52314 - default\n');
    const r = await lab('triage', paste, '--scenarios', './incidents');
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/This looks like payments-504/);
    expect(r.all).toContain('npx envoy-fault-lab scenario payments-504 --phase before --scenarios ./incidents');
  });

  it("runs a catalogue incident copied into the team's repository as it is (its Istio-only phases and shared bases included)", async () => {
    // What a team does first: copy sticky-503 and its configs, change the imports and the id.
    const from = join(REPO_ROOT, 'scenarios/sticky-503.ts');
    await writeFile(join(dir, 'incidents/copy-of-sticky.ts'), (await readFile(from, 'utf8')).replace("from '../src/index.js'", "from 'envoy-fault-lab'").replace("id: 'sticky-503'", "id: 'copy-of-sticky'"));
    await cp(join(REPO_ROOT, 'envoy-configs/sticky-503'), join(dir, 'incidents/copy-of-sticky'), { recursive: true });
    const r = await lab('scenario', './incidents/copy-of-sticky.ts', '--phase', 'before,fix-dns-cluster', '--backend', 'netns');
    await rm(join(dir, 'incidents/copy-of-sticky.ts'));
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/before\s+before\s+PASS/);
  });

  it('names the file and line of a bad scenario, exit 2, before any lab starts', async () => {
    const good = await readFile(join(dir, 'incidents/payments-504.ts'), 'utf8');
    const cases: [string, string, RegExp][] = [
      ['typed.ts', good.replace("timeScaling: 'none", "timeScaling: 15, x: 'none"), /typed\.ts:\d+: the scenario does not type-check/],
      ['variant.ts', good.replace("config: 'fix',", "config: 'fix-v2',"), /variant\.ts:\d+: phase "fix-timeout-5s" runs config "fix-v2", and neither .*variant\/fix-v2\.yaml nor .*variant\/istio\/fix-v2\.yaml exists/],
      ['unchecked.ts', good.replace(/expect: \[\n\s+routeHas\('fix in force[\s\S]*?\n      \],/, 'expect: [],'), /unchecked\.ts:\d+: scenario payments-504: phase "fix-timeout-5s" has no checks/],
    ];
    for (const [name, text, message] of cases) {
      expect(text, `${name} differs from the good file`).not.toBe(good);
      await writeFile(join(dir, 'incidents', name), text);
      await execa('cp', ['-r', join(dir, 'incidents/payments-504'), join(dir, 'incidents', name.replace(/\.ts$/, ''))]);
      const r = await lab('scenario', `./incidents/${name}`, '--backend', 'netns');
      expect(r.exitCode, r.all).toBe(2);
      expect(r.all).toMatch(message);
      expect(r.all, 'no stack trace').not.toMatch(/\n\s+at /);
      expect(r.all, 'no lab started').not.toMatch(/lab \w+ up/);
    }
    // A project without "type": "module" loads .ts as CommonJS: said plainly, with both ways out.
    await execa('mkdir', ['-p', join(dir, 'cjs')]);
    await writeFile(join(dir, 'cjs/package.json'), '{"name": "cjs-part"}');
    await writeFile(join(dir, 'cjs/payments-504.ts'), good);
    const cjs = await lab('scenario', './cjs/payments-504.ts', '--backend', 'netns');
    expect(cjs.exitCode, cjs.all).toBe(2);
    expect(cjs.all).toMatch(/cjs\/payments-504\.ts: loads as CommonJS \(cjs\/package\.json has no "type": "module"\)[\s\S]*or name the file payments-504\.mts/);
  });
});

describe('the upgrade workflow (.github/workflows/envoy-upgrade.yml)', () => {
  it('passes actionlint, which fails a broken copy of it', async () => {
    const r = await actionlint(WORKFLOW);
    expect(r.ok, r.output).toBe(true);
    const broken = join(dirname(WORKFLOW), '..', '..', '.lab-runs', 'envoy-upgrade-broken.yml');
    await execa('mkdir', ['-p', dirname(broken)]);
    await writeFile(broken, (await readFile(WORKFLOW, 'utf8')).replace('needs: shard', 'needs: shards'));
    const bad = await actionlint(broken);
    await rm(broken, { force: true });
    expect(bad.ok).toBe(false);
    expect(bad.output).toMatch(/shards/);
  }, 300_000);

  it('calls the same .ci/setup as CI, and runs the matrix sharded, merged, with JUnit and matrix.html kept', async () => {
    const text = await readFile(WORKFLOW, 'utf8');
    expect(text).toContain('node_modules/envoy-fault-lab/.ci/setup');
    expect(text).toMatch(/matrix --scenarios \.\/incidents .*--shard/);
    expect(text).toMatch(/matrix merge/);
    expect(text).toMatch(/junit\.xml/);
    // Beside the matrix: the Istio upgrade check on the team's ./istio, gated by their accepted changes.
    expect(text).toMatch(/upgrade-check --from "\$ISTIO_FROM" --istio-yaml \.\/istio "\$\{accept\[@\]\}"/);
    expect(text).toContain('istio-upgrade-accepted.yaml');
  });
});
