/**
 * The scenario suite (test/scenarios/scenarios-<backend>.test.ts): every phase of every scenario on real Envoy, on every backend under test
 * (test/support/backends.ts: CI requires both). `before` must reproduce the failure with its
 * mechanism; each fix must make it go away; a phase that needs a newer Envoy shows as skipped
 * with its reason. Then, per scenario, the checks are cross-judged on the other phases' stored
 * evidence: a `before` check set that passes on a fixed world (or the reverse) fails the suite.
 *   LAB_BACKENDS=netns,docker   which backends (CI: both, required)
 *   LAB_REPEAT=3                each phase N times, N/N required
 *   ENVOY_VERSION=1.36.4        another Envoy
 *   LAB_PARALLEL=2              phase runs at once, each in its own lab (default: the machine's
 *                               scheduler packs them, as npm run scenario does)
 * All phase runs of a backend happen first (in beforeAll, as the machine's scheduler packs them,
 * beside the other test files' runs); each test then judges one phase's runs.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendKind } from '../../src/backends/backend.js';
import { ensureEnvoy, type EnvoyBinary } from '../../src/envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../../src/envoy/version.js';
import type { Evidence } from '../../src/evidence/evidence.js';
import { loadEvidence } from '../../src/evidence/store.js';
import { escapeHtml } from '../../src/report/html/html.js';
import { phaseAnchor } from '../../src/report/html/phase-section.js';
import { writeRunFiles } from '../../src/report/run-files.js';
import { STATUS_WORD, verdictLines } from '../../src/report/verdict-text.js';
import { httpClientChoice } from '../../src/lab/app-client.js';
import { crossJudge } from '../../src/scenario/cross-judge.js';
import { loadScenario, scenarioIds } from '../../src/scenario/registry.js';
import { OK_STATUSES, notApplicable, runPhase, type PhaseResult } from '../../src/scenario/run-phase.js';
import { defaultRunDir } from '../../src/scenario/run-scenario.js';
import { phaseLoadKey } from '../../src/scheduler/phase-load.js';
import { runScheduled } from '../../src/scheduler/run-scheduled.js';
import type { AccessLogEntry } from '../../src/envoy/access-log.js';
import { toIstioTextLine } from '../../src/triage/istio-text-log.js';
import { readPaste } from '../../src/triage/read/read-paste.js';
import { LAB_LOG_ONLY, isSignature, type NoSignature } from '../../src/triage/signature.js';
import { bestMatches, podEvidence, triage } from '../../src/triage/triage.js';
import { marksOf, readRun, triageRun } from './triage-run.js';
import { backendsUnderTest } from './backends.js';

const repeat = Number(process.env.LAB_REPEAT ?? 1);
const envoyVersion = process.env.ENVOY_VERSION ?? DEFAULT_ENVOY_VERSION;
/** Phase runs at once, each in its own lab (npm run scenario's --parallel); unset: the machine's scheduler decides. */
const parallel = process.env.LAB_PARALLEL ? Number(process.env.LAB_PARALLEL) : undefined;
const scenarios = await Promise.all(scenarioIds().map(loadScenario));

/** Request dots in a report section's timeline SVG (the `requests` layer's marks). */
const plottedRequests = (section: string) => (section.split('requests_marks')[1]?.split('</g>')[0]?.match(/<path/g) ?? []).length;
const plottedEvents = (section: string) => (section.split('events_marks')[1]?.split('</g>')[0]?.match(/<path/g) ?? []).length;

interface PhaseOutcome {
  ok: number;
  lines: string[];
}

const THIRD_PARTY = ['curl', 'go', 'openssl', 'redis-cli'] as const;
type Client = (typeof THIRD_PARTY)[number];

function recordOutcome(outcomes: Map<string, PhaseOutcome>, key: string, r: PhaseResult, i: number, where: string): void {
  const o = outcomes.get(key) ?? { ok: 0, lines: [] };
  if (OK_STATUSES.includes(r.status)) o.ok++;
  o.lines.push(`run ${i}/${repeat}: ${r.status.toUpperCase()} (Envoy ${r.envoyVersion}, ${where})`, ...verdictLines(r).map((l) => `  ${l}`));
  outcomes.set(key, o);
  console.log(`[${where}] ${key.replace(' ', ' › ')} run ${i}/${repeat}: ${r.status.toUpperCase()}`);
}

/** The suite on one backend (one file per backend, so vitest runs them side by side). */
export async function defineScenarioSuite(kind: BackendKind): Promise<void> {
  const backend = (await backendsUnderTest(envoyVersion)).find((b) => b.kind === kind) ?? { kind, unavailable: `LAB_BACKENDS=${process.env.LAB_BACKENDS} leaves ${kind} out` };
  describe.skipIf(!!backend.unavailable)(`[${backend.kind}]`, () => {
    let envoy: EnvoyBinary;
    const outcomes = new Map<string, PhaseOutcome>();
    /** The first run's evidence of each phase that ran, per scenario, for the cross-judgement. */
    const evidence = new Map<string, Map<string, Evidence>>(scenarios.map((s) => [s.id, new Map()]));
    /** Where each of those runs kept its artifacts (Envoy's log among them), by scenario and phase. */
    const artifacts = new Map<string, string>();
    /** Each scenario's phase results and the report.html written from them, as `npm run scenario` writes it. */
    const results = new Map<string, PhaseResult[]>(scenarios.map((s) => [s.id, []]));
    const reports = new Map<string, string>();

    // Every phase run of every scenario, `parallel` at a time; the tests below read the outcomes.
    beforeAll(async () => {
      envoy = await ensureEnvoy(envoyVersion, (l) => console.log(l));
      const choices = new Map(await Promise.all(THIRD_PARTY.map(async (c) => [c, await httpClientChoice(c, (l) => console.log(l))] as const)));
      const plain = scenarios.flatMap((scenario) => scenario.phases.filter((p) => !notApplicable(p, envoy.version)).map((phase) => ({ scenario, phase, client: undefined as Client | undefined })));
      // The third-party clients each scenario lists play its before and fix phases too.
      const withClients = scenarios.flatMap((scenario) =>
        (scenario.clients ?? []).flatMap((client) => scenario.phases.filter((p) => ['before', 'fix'].includes(p.kind) && !notApplicable(p, envoy.version, choices.get(client))).map((phase) => ({ scenario, phase, client }))),
      );
      const runs = [...plain, ...withClients].flatMap((run) =>
        Array.from({ length: repeat }, (_, k) => ({ ...run, i: k + 1, sc: run.scenario, of: run.phase, backend: backend.kind, scenario: run.scenario.id, phase: phaseLoadKey(run.phase.name, { client: run.client }), load: run.phase.load })),
      );
      const runDirs = new Map(scenarios.map((s) => [s.id, `${defaultRunDir(s.id)}-${backend.kind}`]));
      await runScheduled(runs, parallel, async ({ sc: scenario, of: phase, i, client }, schedule) => {
        const artifactsDir = `${runDirs.get(scenario.id)}/${client ? `client-${client}/` : ''}${phase.name}${repeat > 1 ? `-${i}` : ''}`;
        const r = await runPhase(scenario, phase, { envoy, backend: backend.kind, artifactsDir, iteration: i, httpClient: client && choices.get(client), forcedParallel: schedule.forced, teardownInBackground: schedule.background });
        if (client) {
          recordOutcome(outcomes, `${scenario.id} ${phase.name} --client ${client}`, r, i, `${backend.kind}, --client ${client}`);
          return;
        }
        results.get(scenario.id)!.push(r);
        if (i === 1 && r.status !== 'error') {
          evidence.get(scenario.id)!.set(phase.name, await loadEvidence(artifactsDir));
          artifacts.set(`${scenario.id} ${phase.name}`, artifactsDir);
        }
        recordOutcome(outcomes, `${scenario.id} ${phase.name}`, r, i, backend.kind);
      });
      for (const scenario of scenarios) {
        const rs = results.get(scenario.id)!;
        if (rs.length) reports.set(scenario.id, await writeRunFiles(runDirs.get(scenario.id)!, { scenario: scenario.id, backend: backend.kind, envoy: envoy.banner, envoyBinary: envoy.bin, repeat, results: rs }, scenario));
      }
    }, 3_600_000);

    for (const scenario of scenarios) {
      describe(`${scenario.id}: ${scenario.title}`, () => {
        for (const phase of scenario.phases) {
          it(`${phase.name} [${phase.kind}]: ${phase.title}`, (ctx) => {
            const na = notApplicable(phase, envoy.version);
            if (na) ctx.skip(`N/A: ${na}`);
            const o = outcomes.get(`${scenario.id} ${phase.name}`) ?? { ok: 0, lines: ['never ran'] };
            console.log(`[${backend.kind}] ${scenario.id} › ${phase.name}: ${o.ok}/${repeat}\n${o.lines.join('\n')}`);
            expect(o.ok, o.lines.join('\n')).toBe(repeat);
          });
        }

        for (const client of scenario.clients ?? []) {
          describe(`--client ${client}: the incident and its fixes with ${client} as the app`, () => {
            for (const phase of scenario.phases.filter((p) => ['before', 'fix'].includes(p.kind))) {
              it(`${phase.name} [${phase.kind}]`, (ctx) => {
                const o = outcomes.get(`${scenario.id} ${phase.name} --client ${client}`);
                if (!o) ctx.skip(`N/A with ${client}: ${phase.notFor?.[client] ?? phase.requires?.why ?? 'not run'}`);
                console.log(`[${backend.kind}] ${scenario.id} › ${phase.name} --client ${client}: ${o!.ok}/${repeat}\n${o!.lines.join('\n')}`);
                expect(o!.ok, o!.lines.join('\n')).toBe(repeat);
              });
            }
          });
        }

        it('report.html has a section for every phase run, with its verdict and a timeline plot of its traffic', (ctx) => {
          const file = reports.get(scenario.id);
          if (!file) ctx.skip('no phase ran');
          const page = readFileSync(file!, 'utf8');
          for (const r of results.get(scenario.id)!) {
            const section = page.slice(page.indexOf(`id="${phaseAnchor(r, repeat)}"`)).split('<section')[0]!;
            expect(section, `${r.phase}'s section`).toContain(STATUS_WORD[r.status]);
            for (const v of r.verdicts) expect(section).toContain(escapeHtml(v.label));
            const hadRequests = /[.ox!]/.test(r.strip.replace(/\^\S+|\(1 char.*\)/g, ''));
            if (r.status !== 'error' && hadRequests) expect(plottedRequests(section), `${r.phase}: requests plotted (strip ${r.strip})`).toBeGreaterThan(0);
            // No guessed value in a label, and every WebSocket echo on the timeline (the frames stop where the connection went).
            expect(section, `${r.phase}: a "?" in the connection lifetimes`).not.toMatch(/after \? ms/);
            const e = evidence.get(scenario.id)!.get(r.phase);
            const echoed = e?.timeline.requests().reduce((n, q) => n + (q.framesEchoed ?? 0), 0) ?? 0;
            if (echoed) expect(plottedEvents(section), `${r.phase}: ${echoed} WebSocket echoes`).toBeGreaterThanOrEqual(echoed);
          }
        });

        it("triage names it first from its before's evidence (its access log in the lab's and Istio's text format; all it left, each declared mark in it), and not from its fixes'", (ctx) => {
          const ran = evidence.get(scenario.id)!;
          const befores = scenario.phases.filter((p) => p.kind === 'before' && ran.has(p.name));
          if (!befores.some((p) => isSignature(p.signature))) ctx.skip(`no before declares a signature: ${befores.map((p) => `${p.name}: ${(p.signature as NoSignature | undefined)?.none ?? 'none declared'}`).join('; ')}`);
          const lines: string[] = [];
          const dir = (phase: string) => artifacts.get(`${scenario.id} ${phase}`)!;
          for (const p of befores) {
            const sig = p.signature;
            if (!isSignature(sig)) continue;
            const e = ran.get(p.name)!;
            if (sig.entries) {
              const log = e.accessLog;
              const labOnly = LAB_LOG_ONLY.some((f) => sig.entries![f] !== undefined);
              const forms: Array<[string, AccessLogEntry[]]> = [['lab', log]];
              if (!labOnly && log.length) forms.push(["Istio's text", readPaste(log.map((a) => toIstioTextLine(a)).join('\n')).clues.flatMap((c) => (c.entry ? [c.entry as AccessLogEntry] : []))]);
              // With the pod's config_dump and /stats too: the signature's config and counter shapes must hold.
              forms.push(['lab, with its config_dump and /stats', log]);
              for (const [form, entries] of forms) {
                const pod = form.includes('config_dump') ? podEvidence(e) : {};
                const best = bestMatches(triage(entries, scenarios, pod)).map((c) => c.scenario);
                lines.push(`${p.name} (${form} format): best ${best.join(', ') || 'none'}`);
                expect(best, lines.join('\n')).toContain(scenario.id);
              }
            }
            // Each mark the signature declares is in the run itself: the app's errors, Envoy's debug log, the counters.
            const seen = marksOf(readRun(e, dir(p.name)));
            const missing = (sig.marks ?? []).filter((m) => !seen.has(m));
            lines.push(`${p.name}: marks in the run ${[...seen].join(', ') || 'none'}`);
            expect(missing, `${lines.join('\n')}\ndeclared but not in the run: ${missing.join(', ')}`).toEqual([]);
            const best = bestMatches(triageRun(e, dir(p.name), scenarios)).map((c) => c.scenario);
            lines.push(`${p.name} (all it left): best ${best.join(', ') || 'none'}`);
            expect(best, lines.join('\n')).toContain(scenario.id);
          }
          for (const p of scenario.phases.filter((x) => x.kind === 'fix' && ran.has(x.name))) {
            const named = triageRun(ran.get(p.name)!, dir(p.name), scenarios).candidates.filter((c) => c.isMatch).map((c) => c.scenario);
            lines.push(`${p.name} (fix, all it left): matches ${named.join(', ') || 'none'}`);
            expect(named, lines.join('\n')).not.toContain(scenario.id);
          }
          console.log(`[${backend.kind}] ${scenario.id} › triage:\n  ${lines.join('\n  ')}`);
        });

        it('the checks tell the broken world from the fixed one (cross-judged on stored evidence)', (ctx) => {
          const judgements = crossJudge(scenario, evidence.get(scenario.id)!);
          if (judgements.length === 0) ctx.skip('no before/fix pair ran');
          const passed = judgements.filter((j) => j.status === 'pass');
          console.log(`[${backend.kind}] ${scenario.id} › cross-judgement:\n${judgements.map((j) => `  ${j.checksOf}'s checks on ${j.evidenceOf}'s evidence: ${j.status.toUpperCase()}`).join('\n')}`);
          expect(passed.map((j) => `${j.checksOf}'s checks PASS on ${j.evidenceOf}'s evidence (${j.passing.length} checks passed)`)).toEqual([]);
        });
      });
    }
  });
}
