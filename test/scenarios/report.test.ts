/// <reference lib="dom" />
// A workshop run and its report, as a presenter would do it: `npm run scenario -- sticky-503
// --phase before --step` with Enter fed on stdin tells the story step by step (the scenario's own
// words, the app's requests live, the seed's `ss` view) and still reproduces the incident; its
// output links report.html, which headless Chromium (the Debian package, driven by
// puppeteer-core) opens from its file:// URL: the story must be on screen as SVG, a lane of
// request dots turning from 200 to 503 UF on one connection, with the fault and DNS markers.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import puppeteer from 'puppeteer-core';
import { offlineExecutable } from '../../src/backends/offline.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../src/paths.js';
import { netnsUnderTest } from '../support/backends.js';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const netns = await netnsUnderTest();
const why = netns.unavailable ?? (existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_BIN)`);
if (why && process.env.CI) throw new Error(`the report's browser test must run under CI: ${why}`);

describe.skipIf(!!why)('a workshop run (--step) and its report.html in headless Chromium', () => {
  let run: { exitCode?: number; stdout: string; stderr: string };
  beforeAll(async () => {
    run = await execa('npm', ['run', '-s', 'scenario', '--', 'sticky-503', '--phase', 'before', '--backend', 'netns', '--step'], { cwd: REPO_ROOT, reject: false, env: { NO_COLOR: '1' }, input: '\n'.repeat(20) });
  });

  it('--step tells the story before each step, waits for Enter, shows the requests and the seed\'s ss view, and still reproduces', () => {
    const said = run.stderr;
    console.log(said.split('\n').filter((l) => /→|app ▸|\[Enter\]/.test(l)).join('\n'));
    expect(run.exitCode, said + run.stdout).toBe(0);
    expect(said).toContain('The incident as it happened, with its original config');
    expect(said).toMatch(/→ fault: blackhole on old/);
    expect(said).toMatch(/→ DNS: point test-com\.test at new/);
    expect(said).toContain("The seed's view: in the pod"); // lab.say, the scenario's own words
    expect(said).toMatch(/app ▸ [.x ]*x/); // the live view saw the 503s
    expect(said).toMatch(/SYN-SENT .*:80/); // the connection table at the moment it matters
    expect(said.match(/\[Enter\]/g)?.length ?? 0).toBeGreaterThanOrEqual(5);
  });

  it('report.html shows the sticky-503 timeline: 200s then a lane of 503 UF on one connection, the fault and DNS markers, no console errors', async () => {
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    const url = /report:\s+(file:\S+report\.html)/.exec(run.stdout)?.[1];
    expect(url, `the terminal links the report:\n${run.stdout}`).toBeDefined();

    // Chromium in a namespace with loopback only (it phones Google otherwise); puppeteer talks to it over pipes.
    const browser = await puppeteer.launch({ executablePath: await offlineExecutable(CHROMIUM), pipe: true, args: ['--no-sandbox', '--disable-gpu'], headless: true });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const fetched: string[] = [];
      page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
      page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
      page.on('request', (r) => fetched.push(r.url()));
      await page.setViewport({ width: 1200, height: 1600 });
      await page.goto(url!, { waitUntil: 'load' });
      const seen = await page.evaluate(() => {
        const dots = [...document.querySelectorAll('#phase-before g.requests_marks path')].map((p) => p.getAttribute('aria-label') ?? '');
        return {
          dots,
          markers: [...document.querySelectorAll('#phase-before g.markers_marks line')].map((l) => l.getAttribute('aria-label') ?? ''),
          badge: document.querySelector('#phase-before .badge')?.textContent,
          accessRows: document.querySelectorAll('#phase-before table.access-log tr').length - 1,
        };
      });
      await page.screenshot({ path: url!.replace('file://', '').replace(/report\.html$/, 'report.png'), fullPage: false });
      const uf = seen.dots.filter((d) => d.includes('503 UF'));
      const lanes = new Set(uf.map((d) => /connection: ([^;]+)/.exec(d)?.[1]));
      console.log(`report: ${seen.dots.length} request dots (${uf.length} × 503 UF on ${[...lanes].join(', ')}), markers: ${seen.markers.length}, access-log rows: ${seen.accessRows}`);
      expect(problems).toEqual([]);
      expect(fetched.filter((u) => !u.startsWith('file://')), 'the page fetches nothing from the network').toEqual([]);
      expect(seen.badge).toBe('PASS');
      expect(seen.dots.some((d) => /outcome: 200\b/.test(d))).toBe(true);
      expect(uf.length).toBeGreaterThanOrEqual(3);
      expect(lanes.size, 'the stuck connection is one lane').toBe(1);
      expect(seen.markers.some((m) => m.includes('category: fault')) && seen.markers.some((m) => m.includes('category: dns'))).toBe(true);
      expect(seen.accessRows).toBeGreaterThan(0);
    } finally {
      await browser.close();
    }
  });
});
