/**
 * Triage on real access-log lines: Istio's text format in its variants (the current one, one
 * without the request id, the pre-1.9 ones without details; IPv6 addresses, "-" fields, quoted user
 * agents with spaces), Istio's JSON encoding, a lab run's access.jsonl; one clear error per input
 * it cannot read; and the ranking: a sticky-503-shaped log names sticky-503 first, one shared flag
 * is no match, and a log with no failures names nothing.
 */
import { describe, expect, it } from 'vitest';
import type { AccessLogEntry } from '../../src/envoy/access-log.js';
import { UsageError } from '../../src/errors.js';
import { loadScenario, scenarioIds } from '../../src/scenario/registry.js';
import { toIstioTextLine } from '../../src/triage/istio-text-log.js';
import { readAccessLine, tokens } from '../../src/triage/read/access-log-line.js';
import { readPaste } from '../../src/triage/read/read-paste.js';
import { refuseUnreadable } from '../../src/triage/read/refuse.js';
import { parseSs, parseStats } from '../../src/triage/shapes.js';
import { bestMatches, cluesOfEntries, triage } from '../../src/triage/triage.js';
import { triageText } from '../../src/triage/triage-text.js';

/** One line read as triage reads it, without the bookkeeping of which fields the line carried. */
const parseIstioTextLine = (line: string) => {
  const { known: _known, whole: _whole, ...entry } = readAccessLine(line)!.entry;
  return entry;
};
const entriesOf = (text: string) => readPaste(text).clues.flatMap((c) => (c.entry ? [c.entry] : []));

// Istio ≥ 1.9's default format (EnvoyTextLogFormat), as a sidecar writes it.
const CURRENT =
  '[2024-05-02T08:14:03.112Z] "GET /api/v1/quote HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{connection_timeout} - "-" 0 91 2003 - "-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" "0f6a2b4e-9d1c-4e61-a2a4-5a4c3b2f1e0d" "quotes.internal:80" "198.18.7.21:80" PassthroughCluster 198.18.7.10:51234 198.18.7.21:80 198.18.7.10:40522 - allow_any';
const TCP = '[2024-05-02T08:14:05.001Z] "- - -" 0 UF,URX - - "-" 0 0 1001 - "-" "-" "-" "-" "198.18.9.30:6379" outbound|6379||redis.default.svc.cluster.local - 198.18.9.30:6379 198.18.9.10:40988 - -';
const IPV6 = '[2024-05-02T08:15:00.000Z] "POST /pay HTTP/2" 200 - via_upstream - "-" 120 14 5 4 "-" "grpc-go/1.60.1" "c1d2" "payments:8080" "[fd00:10::2e]:8080" outbound|8080||payments.prod.svc.cluster.local [fd00:10::7]:44312 [fd00:10::2e]:8080 [fd00:10::7]:38812 - default';
const NO_REQUEST_ID = '[2024-05-02T08:14:03.112Z] "GET / HTTP/1.1" 503 UC upstream_reset_before_response_started{connection_termination} - "-" 0 95 4 - "-" "curl/8.5.0" "app.test:8080" "198.18.1.30:8080" outbound|8080||app.test 198.18.1.10:50000 198.18.1.30:8080 198.18.1.10:41000 - default';
// Istio 1.5-1.8: a quoted mixer status and the transport failure reason where details now are.
const PRE_1_9 = '[2020-11-25T21:26:18.409Z] "GET /status/418 HTTP/1.1" 418 - "-" "-" 0 135 4 4 "-" "curl/7.73.0-DEV" "84961386-6d84-929d-98bd-c5aee93b5c88" "httpbin:8000" "198.18.44.27:80" outbound|8000||httpbin.foo.svc.cluster.local 198.18.44.23:37652 198.18.45.184:8000 198.18.44.23:46520 - default';
// Istio 1.4 and older: no transport failure reason either.
const PRE_1_5 = '[2019-12-09T20:54:04.729Z] "GET /ambassador/v0/check_alive HTTP/1.1" 503 UC "-" 0 95 0 - "-" "ELB-HealthChecker/2.0" "e9b1934b-e62c-488b-a0a3-fb8f7935803b" "checks:32149" "127.0.0.1:8877" inbound|8877|| 127.0.0.1:41000 198.18.0.4:8877 198.18.0.9:51000 - default';

describe("Istio's text format", () => {
  it('splits bracketed time, quoted strings with spaces and bare IPv6 addresses', () => {
    const t = tokens(IPV6);
    expect(t[0]).toEqual({ quoted: false, text: '[2024-05-02T08:15:00.000Z]' });
    expect(t.find((x: { text: string }) => x.text.startsWith('grpc-go'))?.quoted).toBe(true);
    expect(t.map((x: { text: string }) => x.text)).toContain('[fd00:10::7]:44312');
  });

  it('reads the current format, "-" fields as absent', () => {
    expect(parseIstioTextLine(CURRENT)).toEqual({
      ts: '2024-05-02T08:14:03.112Z',
      kind: 'http',
      method: 'GET',
      protocol: 'HTTP/1.1',
      code: 503,
      flags: 'UF,URX',
      details: 'upstream_reset_before_response_started{connection_timeout}',
      duration_ms: 2003,
      authority: 'quotes.internal:80',
      up_host: '198.18.7.21:80',
      up_cluster: 'PassthroughCluster',
      up_local: '198.18.7.10:51234',
      ds_local: '198.18.7.21:80',
      ds_remote: '198.18.7.10:40522',
    });
  });

  it('reads a TCP line, an IPv6 line, a line without the request id, and the pre-1.9 formats', () => {
    expect(parseIstioTextLine(TCP)).toMatchObject({ kind: 'tcp', code: 0, flags: 'UF,URX', up_host: '198.18.9.30:6379', up_cluster: 'outbound|6379||redis.default.svc.cluster.local', duration_ms: 1001 });
    expect(parseIstioTextLine(IPV6)).toMatchObject({ method: 'POST', code: 200, up_host: '[fd00:10::2e]:8080', ds_remote: '[fd00:10::7]:38812', authority: 'payments:8080' });
    expect(parseIstioTextLine(NO_REQUEST_ID)).toMatchObject({ code: 503, flags: 'UC', authority: 'app.test:8080', up_host: '198.18.1.30:8080', up_cluster: 'outbound|8080||app.test' });
    expect(parseIstioTextLine(PRE_1_9)).toMatchObject({ code: 418, authority: 'httpbin:8000', up_host: '198.18.44.27:80' });
    expect(parseIstioTextLine(PRE_1_9).details).toBeUndefined();
    expect(parseIstioTextLine(PRE_1_5)).toMatchObject({ code: 503, flags: 'UC', up_host: '127.0.0.1:8877', up_cluster: 'inbound|8877||' });
  });

  it('reads back what toIstioTextLine writes from a lab entry', () => {
    const e: AccessLogEntry = { ts: '2026-01-01T00:00:00.000Z', kind: 'http', method: 'GET', code: 503, flags: 'UF', details: 'upstream_reset_before_response_started{connection_timeout}', up_cluster: 'PassthroughCluster', up_host: '198.18.0.21:80', ds_remote: '198.18.0.10:40000', duration_ms: 1000, authority: 'a.test' };
    expect(parseIstioTextLine(toIstioTextLine(e, { requestId: 'r1' }))).toMatchObject(e);
  });
});

describe('reading a log: its forms mixed, and one clear error per input it cannot read', () => {
  it('reads kubectl --timestamps lines, Istio JSON and a lab access.jsonl in one paste', () => {
    const json = JSON.stringify({ start_time: '2024-05-02T08:14:03.112Z', method: 'GET', protocol: 'HTTP/1.1', response_code: 503, response_flags: 'UO', response_code_details: 'upstream_reset_before_response_started{overflow}', upstream_cluster: 'outbound|8080||app.test;' });
    const entries = entriesOf(`2024-05-02T08:14:03.200000000Z ${CURRENT}\n${json}\n{"kind":"http","code":200,"up_cluster":"x","ts":"t"}\n`);
    expect(entries).toHaveLength(3);
    expect(entries[0]).toMatchObject({ code: 503, flags: 'UF,URX', up_cluster: 'PassthroughCluster' });
    expect(entries[1]).toMatchObject({ kind: 'http', code: 503, flags: 'UO', up_cluster: 'outbound|8080||app.test' });
    expect(entries[2]).toMatchObject({ kind: 'http', code: 200, up_cluster: 'x' });
  });

  it("reads Envoy's own messages between entries as Envoy's log, not as entries", () => {
    const read = readPaste(`${CURRENT}\n2024-05-02T08:14:04.000000Z\twarning\tenvoy config\tgRPC config stream closed\n${TCP}\n`);
    expect(read.clues.filter((c) => c.entry)).toHaveLength(2);
    expect(read.clues.filter((c) => c.kind === 'envoy-log')).toHaveLength(1);
    expect(read.unread).toEqual([]);
  });

  for (const [what, text, message] of [
    ['an empty file', '\n\n', /is empty/],
    ['a config_dump given as the paste', '{\n  "configs": [\n', /is a config_dump, not a log/],
    ['a one-line config_dump', '{"configs":[]}', /is a config_dump/],
    ['a binary file', '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x00\x01\x02', /is binary/],
  ] as const) {
    it(`${what}: a UsageError with the fix`, () => {
      let err: unknown;
      try {
        refuseUnreadable(text, 'x.log');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as UsageError).message).toMatch(message);
      expect((err as UsageError).fix).toBeTruthy();
    });
  }

  it('what no rule reads is reported line by line, never refused as a whole', () => {
    const read = readPaste('GET / 200 12ms\nhello there\n');
    expect(read.clues.filter((c) => c.entry || c.mark)).toEqual([]);
    expect(read.unread.map((u) => u.n)).toEqual([1, 2]);
  });
});

describe('triage ranks the scenarios by their signatures', async () => {
  const scenarios = await Promise.all(scenarioIds().map(loadScenario));
  const at = (i: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString();
  const sticky = Array.from({ length: 6 }, (_, i): AccessLogEntry => ({ ts: at(i), kind: 'http', method: 'GET', code: 503, flags: 'UF', details: 'upstream_reset_before_response_started{connection_timeout}', up_cluster: 'PassthroughCluster', up_host: '198.18.7.21:80', ds_remote: '198.18.7.10:40522', duration_ms: 1000 }));

  it('a sticky-503-shaped log names sticky-503 first, with what matched', () => {
    const t = triage(sticky, scenarios);
    expect(t.candidates[0]).toMatchObject({ scenario: 'sticky-503', isMatch: true, matched: 6 });
    const text = triageText(cluesOfEntries(sticky), t, { envoyVersion: '1.36.4' });
    expect(text).toMatch(/all on one downstream connection/);
    expect(text).toMatch(/npm run scenario -- sticky-503 --phase before --envoy 1\.36\.4/);
  });

  it('the same entries moving between connections and hosts are not sticky-503 (its facts fail)', () => {
    const moving = sticky.map((a, i) => ({ ...a, ds_remote: `198.18.7.10:${40000 + i}`, up_host: `198.18.7.${20 + i}:80` }));
    const t = triage(moving, scenarios);
    expect(t.candidates.find((c) => c.scenario === 'sticky-503')?.isMatch).toBe(false);
    expect(t.candidates.filter((c) => c.isMatch)).toEqual([]);
  });

  it('one shared flag is no match: a 503 UF to an outbound cluster with other details names nothing', () => {
    const uf = sticky.map((a) => ({ ...a, details: 'upstream_reset_before_response_started{local_reset}', up_cluster: 'outbound|80||x' }));
    expect(triage(uf, scenarios).candidates.filter((c) => c.isMatch)).toEqual([]);
  });

  // The pod's own config and counters, when given, must show what the incident needs: ALLOW_ANY's
  // route on :80 to PassthroughCluster, and PassthroughCluster failing to connect.
  const dump = (toPassthrough: boolean) => ({
    configs: [
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
        dynamic_route_configs: [{ route_config: { name: '80', virtual_hosts: [{ name: 'allow_any', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: toPassthrough ? 'PassthroughCluster' : 'BlackHoleCluster' } }] }] } }],
      },
    ],
  });
  it("with the pod's config_dump and /stats: their shapes make the match, or rule it out", () => {
    const stats = parseStats('cluster.PassthroughCluster.upstream_cx_connect_timeout: 6\ncluster.PassthroughCluster.upstream_rq_total: 6\nserver.state: 0');
    const both = triage(sticky, scenarios, { configDump: dump(true), stats });
    expect(bestMatches(both).map((c) => c.scenario)).toEqual(['sticky-503']);
    expect(both.candidates[0]!.facts.map((f) => `${f.holds} ${f.says}`)).toEqual(expect.arrayContaining(['true config: route 80 sends hosts it does not know to PassthroughCluster', 'true counters: PassthroughCluster could not connect (timeouts or failures)']));
    // REGISTRY_ONLY sends unknown hosts to BlackHoleCluster: not this incident, whatever the log says.
    expect(triage(sticky, scenarios, { configDump: dump(false) }).candidates.find((c) => c.scenario === 'sticky-503')?.isMatch).toBe(false);
    expect(triage(sticky, scenarios, { stats: parseStats('{"stats":[{"name":"cluster.PassthroughCluster.upstream_cx_connect_timeout","value":0}]}') }).candidates.find((c) => c.scenario === 'sticky-503')?.isMatch).toBe(false);
  });

  it("with the pod's ss -tanp: the app's connection ESTAB where Envoy is stuck dialling is the seed's view", () => {
    const ss = (envoyState: string) =>
      parseSs(
        [
          'State     Recv-Q Send-Q Local Address:Port  Peer Address:Port Process',
          'LISTEN    0      4096         0.0.0.0:15001      0.0.0.0:*     users:(("envoy",pid=9,fd=28))',
          `${envoyState}  0      1       198.18.7.10:41464 198.18.7.21:80    users:(("envoy",pid=9,fd=32)) timer:(on,480ms,0)`,
          'ESTAB     0      0       198.18.7.10:55178 198.18.7.21:80    users:(("node",pid=8,fd=18)) timer:(keepalive,55sec,0)',
        ].join('\n'),
      );
    expect(ss('SYN-SENT')).toHaveLength(2);
    const stuck = triage(sticky, scenarios, { sockets: ss('SYN-SENT') }).candidates.find((c) => c.scenario === 'sticky-503')!;
    expect(stuck.isMatch).toBe(true);
    expect(stuck.facts.at(-1)).toMatchObject({ holds: true, evidence: 'app ESTAB to 198.18.7.21:80, envoy SYN-SENT to 198.18.7.21:80' });
    expect(triage(sticky, scenarios, { sockets: ss('ESTAB') }).candidates.find((c) => c.scenario === 'sticky-503')?.isMatch).toBe(false);
  });

  it('reads /stats as Envoy writes it: text, JSON, and a lab run\'s stats-after.json', () => {
    expect([...parseStats('cluster.outbound|80||a.test.upstream_rq_total: 3\nhistogram: P0(nan,1)\n')]).toEqual([['cluster.outbound|80||a.test.upstream_rq_total', 3]]);
    expect(parseStats('{"stats":[{"name":"a","value":2},{"name":"b","histograms":{}}]}').get('a')).toBe(2);
    expect(parseStats('{"a": 1, "b": "x"}').size).toBe(1);
  });

  it('a log without failures names nothing', () => {
    const ok = sticky.map((a) => ({ ...a, code: 200, flags: undefined, details: 'via_upstream' }));
    const t = triage(ok, scenarios);
    expect(t.failing).toBe(0);
    expect(t.candidates.filter((c) => c.isMatch)).toEqual([]);
    expect(triageText(cluesOfEntries(ok), t, {})).toMatch(/Needs more: no failure in it/);
  });
});
