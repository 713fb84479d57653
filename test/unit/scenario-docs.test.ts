import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { README_PATH, SCENARIO_DOCS_DIR } from '../../src/paths.js';
import { incidentReport, scenarioPage, scenarioSource, scenarioTable, withScenarioTable } from '../../src/report/scenario-docs.js';
import { loadScenario, scenarioIds } from '../../src/scenario/registry.js';
import { defineScenario } from '../../src/scenario/scenario.js';
import { check } from '../../src/checks/check.js';

const FIX = 'npm run lab -- docs --write';
const loadAll = () => Promise.all(scenarioIds().map(loadScenario));

describe("the scenarios' generated docs", () => {
  it(`README's scenario table is the one generated from the scenario files (${FIX})`, async () => {
    const readme = readFileSync(README_PATH, 'utf8');
    expect(withScenarioTable(readme, scenarioTable(await loadAll())), `README.md's scenario table is stale: ${FIX}`).toBe(readme);
  });

  it(`every docs/scenarios/<id>.md is the page generated from scenarios/<id>.ts (${FIX})`, async () => {
    for (const s of await loadAll()) {
      const file = join(SCENARIO_DOCS_DIR, `${s.id}.md`);
      expect(existsSync(file), `docs/scenarios/${s.id}.md is missing: ${FIX}`).toBe(true);
      expect(readFileSync(file, 'utf8'), `docs/scenarios/${s.id}.md is stale: ${FIX}`).toBe(scenarioPage(s, await scenarioSource(s.id)));
    }
  });

  it('docs/scenarios/ has no page of a scenario that no longer exists', () => {
    const pages = existsSync(SCENARIO_DOCS_DIR) ? readdirSync(SCENARIO_DOCS_DIR).filter((f) => f.endsWith('.md')) : [];
    expect(pages.filter((f) => !scenarioIds().includes(f.slice(0, -3))), FIX).toEqual([]);
  });

  it('the table has one short line per scenario, linking its page, with its flags and its phase count', async () => {
    const scenarios = await loadAll();
    const lines = scenarioTable(scenarios).split('\n');
    expect(lines).toHaveLength(scenarios.length + 2);
    for (const l of lines) expect(l.length, l).toBeLessThan(300);
    const sticky = scenarios.find((s) => s.id === 'sticky-503')!;
    expect(lines).toContain(`| [\`sticky-503\`](docs/scenarios/sticky-503.md) | ${sticky.title} | \`UF\` | ${sticky.phases.length} |`);
  });

  it("each real scenario's page carries its incident report and every phase", async () => {
    for (const s of await loadAll()) {
      const source = await scenarioSource(s.id);
      const report = incidentReport(source);
      expect(report, `scenarios/${s.id}.ts starts with no /** … */ incident report`).not.toBe('');
      const page = scenarioPage(s, source);
      expect(page).toContain(`## Incident report\n\nFrom the head of [scenarios/${s.id}.ts](../../scenarios/${s.id}.ts):\n\n\`\`\`text\n${report}\n\`\`\``);
      for (const p of s.phases) expect(page).toContain(`### \`${p.name}\` (${p.kind})`);
    }
  });
});

describe('scenarioPage', () => {
  const source = [
    '/**',
    ' * demo-incident: a phase that shows the page.',
    ' *',
    ' * Reported  a ticket (PM-1234).',
    ' * Symptom   every call gets 503 UF,',
    ' *           for as long as the connection lives.',
    ' */',
    "import { defineScenario } from '../src/index.js';",
    '/** not the incident report */',
  ].join('\n');
  const ok = () => ({ pass: true, evidence: '' });
  const scenario = defineScenario({
    id: 'demo-incident',
    title: 'A demo incident',
    seed: 'postmortem-42.md',
    reported: ['https://github.com/istio/istio/issues/1', 'PM-1234, our postmortem'],
    symptom: 'every call gets 503 UF',
    cause: 'a pinned connection',
    timeScaling: '10 s → 1 s',
    world: { upstreams: [], dns: {} },
    responseFlags: { UF: { where: 'before: 503 UF on one connection' } },
    phases: [
      { name: 'before', kind: 'before', title: 'the incident', config: 'broken', run: async () => {}, expect: [check('symptom: every request is a 503', ok), check('the fault fired: blackhole on old', ok)], signature: { none: 'the demo leaves no mark' } },
      { name: 'fix-dns', kind: 'fix', title: 'the fix', config: 'fix-dns', run: async () => {}, expect: [check('recovers: a 200 from new', ok)], requires: { envoy: '1.37.0', why: 'a newer filter' } },
    ],
  });
  const page = scenarioPage(scenario, source);

  it("carries the file's leading comment as the incident report, without its ` * ` prefixes", () => {
    expect(incidentReport(source)).toBe(['demo-incident: a phase that shows the page.', '', 'Reported  a ticket (PM-1234).', 'Symptom   every call gets 503 UF,', '          for as long as the connection lives.'].join('\n'));
    expect(page).toContain(`## Incident report\n\nFrom the head of [scenarios/demo-incident.ts](../../scenarios/demo-incident.ts):\n\n\`\`\`text\n${incidentReport(source)}\n\`\`\``);
    expect(page).not.toContain('not the incident report');
  });

  it("lists each phase with its kind, title, config variant and every check's label", () => {
    expect(page).toContain('### `before` (before)\n\nthe incident\n\n- config variant: `broken`');
    expect(page).toContain('  - symptom: every request is a 503\n  - the fault fired: blackhole on old');
    expect(page).toContain('### `fix-dns` (fix)\n\nthe fix\n\n- config variant: `fix-dns`\n- needs Envoy ≥ 1.37.0: a newer filter');
    expect(page).toContain('  - recovers: a 200 from new');
    expect(page).toContain('- no signature (triage): the demo leaves no mark');
  });

  it('shows the header fields, the reported sources (URLs as links), the seed as text and the flags with where', () => {
    expect(page).toContain('# `demo-incident`: A demo incident');
    expect(page).toContain('**Symptom.** every call gets 503 UF');
    expect(page).toContain('**Cause.** a pinned connection');
    expect(page).toContain('**Time scaling.** 10 s → 1 s');
    expect(page).toContain('- <https://github.com/istio/istio/issues/1>\n- PM-1234, our postmortem');
    expect(page).toContain('**Seed.** postmortem-42.md');
    expect(page).toContain('- `UF`: before: 503 UF on one connection');
  });

  it('escapes what Markdown would take as HTML or emphasis, but not inside code spans', () => {
    const odd = defineScenario({ ...scenario, title: 'a *.example.com cert for <ip>_443 | `a <b>`' });
    expect(scenarioPage(odd, source)).toContain('# `demo-incident`: a \\*.example.com cert for &lt;ip>_443 | `a <b>`');
    expect(scenarioTable([odd])).toContain('| a \\*.example.com cert for &lt;ip>_443 \\| `a <b>` |');
  });
});

describe('withScenarioTable', () => {
  it('replaces only what is between the markers, and refuses a README without them', () => {
    const begin = '<!-- scenarios: generated by `npm run lab -- docs --write` from the scenario files -->';
    const readme = `# x\n\n${begin}\nold table\n<!-- scenarios: end -->\n\nafter\n`;
    expect(withScenarioTable(readme, '| new |')).toBe(`# x\n\n${begin}\n| new |\n<!-- scenarios: end -->\n\nafter\n`);
    expect(() => withScenarioTable('# no markers', '| t |')).toThrow(/no scenario-table markers/);
  });
});
