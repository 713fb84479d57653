/**
 * npm run bench:triage -- [--lines N]: how long triage takes on a big mixed paste (the issue's
 * target: 100,000 lines in ≤ 2 s on a 2-core machine). The paste is built from the triage corpus's
 * real pastes and lines in the shapes a pod's log has (Istio access-log lines, mostly successes,
 * Envoy's debug lines), shuffled with a fixed seed; the time is the median of three runs of reading
 * and judging it against every scenario.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../paths.js';
import { loadScenario, scenarioIds } from '../scenario/registry.js';
import { readPaste } from '../triage/read/read-paste.js';
import { triagePaste } from '../triage/triage.js';
import { median } from '../util/median.js';
import { cliCommand, main, wholeNumber } from './main.js';

const TARGET_MS = 2000;

/** A deterministic pseudo-random sequence (mulberry32): the same paste every run. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function mixedPaste(lines: number): string {
  const corpus = join(PROJECT_ROOT, 'test/triage/corpus/pastes');
  const pastes = readdirSync(corpus).map((f) => readFileSync(join(corpus, f), 'utf8').trimEnd());
  const rnd = random(42);
  const out: string[] = [];
  for (let i = 0; out.length < lines; i++) {
    const ms = String(i % 1000).padStart(3, '0');
    const ts = `2026-12-01T10:${String(Math.floor(i / 60000) % 60).padStart(2, '0')}:${String(Math.floor(i / 1000) % 60).padStart(2, '0')}.${ms}Z`;
    const r = rnd();
    if (r < 0.6) out.push(`[${ts}] "GET /api/v1/items/${i % 97} HTTP/1.1" 200 - via_upstream - "-" 0 ${200 + (i % 50)} ${i % 30} ${i % 29} "-" "client/1.0" "${i.toString(16)}" "items:8080" "198.18.4.30:8080" outbound|8080||items.shop.svc.cluster.local 198.18.4.10:${40000 + (i % 20000)} 198.18.4.30:8080 198.18.4.10:${30000 + (i % 20000)} - default`);
    else if (r < 0.62) out.push(`[${ts}] "GET /api/v1/items/${i % 97} HTTP/1.1" 503 UC upstream_reset_before_response_started{connection_termination} - "-" 0 95 ${i % 9} - "-" "client/1.0" "${i.toString(16)}" "items:8080" "198.18.4.30:8080" outbound|8080||items.shop.svc.cluster.local 198.18.4.10:${40000 + (i % 20000)} 198.18.4.30:8080 198.18.4.10:${30000 + (i % 20000)} - default`);
    else if (r < 0.95) out.push(`${ts.replace('Z', '123Z')}\tdebug\tenvoy http external/envoy/source/common/http/conn_manager_impl.cc:1150\t[Tags: "ConnectionId":"${i % 300}","StreamId":"${i}"] request end stream\tthread=21`);
    else if (r < 0.999) out.push(`${ts.replace('Z', '123Z')}\tdebug\tenvoy pool external/envoy/source/common/conn_pool/conn_pool_base.cc:215\t[Tags: "ConnectionId":"${i % 300}"] using existing fully connected connection\tthread=21`);
    else out.push(pastes[Math.floor(rnd() * pastes.length)]!);
  }
  return out.slice(0, lines).join('\n');
}


const program = cliCommand('npm run bench:triage --', 'How long triage takes on a big mixed paste (target: 100,000 lines in ≤ 2 s)')
  .option('--lines <N>', 'lines in the paste', wholeNumber(1, 10_000_000), 100_000)
  .action(async (o: { lines: number }) => {
    const scenarios = await Promise.all(scenarioIds().map(loadScenario));
    const text = mixedPaste(o.lines);
    const times: Array<{ read: number; judge: number }> = [];
    let answer = '';
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      const read = readPaste(text);
      const t1 = performance.now();
      const t = triagePaste(read, scenarios);
      const t2 = performance.now();
      times.push({ read: t1 - t0, judge: t2 - t1 });
      answer = `${t.answer.kind}${t.answer.kind === 'named' ? ` ${t.answer.best.scenario}` : t.answer.kind === 'undecided' ? ` ${t.answer.tied.map((c) => c.scenario).join(', ')}` : ''}; ${read.clues.length} clues, ${read.unread.length} lines not understood`;
    }
    const total = median(times.map((x) => x.read + x.judge));
    process.stdout.write(
      [
        `${o.lines} lines (${(text.length / 1e6).toFixed(1)} MB): read ${median(times.map((x) => x.read)).toFixed(0)} ms + judge ${median(times.map((x) => x.judge)).toFixed(0)} ms = ${total.toFixed(0)} ms (median of 3; target ${TARGET_MS} ms: ${total <= TARGET_MS ? 'met' : 'NOT met'})`,
        `answer: ${answer}`,
        '',
      ].join('\n'),
    );
  });

await main(program, () => 0);
