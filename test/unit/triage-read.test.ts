/**
 * The paste reader, one shape at a time: what each reading rule takes, and the marks and entries
 * it reads out. The corpus (triage-corpus.test.ts) holds real pastes; these are the shapes it has
 * too few of (key=value logs, Kubernetes events, ss and /clusters tables, Prometheus stats, the
 * clients' errors), written with lab addresses.
 */
import { describe, expect, it } from 'vitest';
import { readPaste } from '../../src/triage/read/read-paste.js';
import { pasteLines } from '../../src/triage/read/paste.js';
import { replyOfBody, repliesOfLength } from '../../src/triage/read/envoy-replies.js';
import { envoyOfIstio } from '../../src/triage/envoy-of-istio.js';

const marks = (text: string) => readPaste(text).clues.flatMap((c) => (c.mark ? [c.mark] : []));
const entries = (text: string) => readPaste(text).clues.flatMap((c) => (c.entry ? [c.entry] : []));

describe('unwrapping a paste', () => {
  it("takes off Docker's json-file wrapper, a cloud export's textPayload, a pod prefix, Markdown and curly quotes, and names each", () => {
    const lines = pasteLines(
      [
        '{"log":"[2026-01-01T00:00:00.000Z] \\"GET / HTTP/1.1\\" 503 UF - - \\"-\\" 0 91 1000 - \\"-\\" \\"curl\\" \\"id\\" \\"a.test\\" \\"198.18.0.21:80\\" PassthroughCluster 198.18.0.10:1 198.18.0.21:80 198.18.0.10:2 - allow_any\\n","stream":"stdout","time":"2026-01-01T00:00:00Z"}',
        '"textPayload": "2026-01-01T00:00:01.000000Z\\tinfo\\tAgent draining Proxy\\n",',
        'checkout-7d9f8-abcde istio-proxy [2026-01-01T00:00:02.000Z] "GET / HTTP/1.1" 503 UC - - "-" 0 95 1 - "-" "-" "-" "-" "-" - - - - - -',
        '**outbound\\|80\\|\\|a.test**',
        '\u201cstream timeout\u201d',
      ].join('\n'),
    );
    expect(lines.map((l) => l.rules)).toEqual([
      ['Docker\'s json-file wrapper {"log":…}'],
      ['a cloud logging export\'s "textPayload" field'],
      ['a pod or container prefix'],
      ["Markdown's bold and code marks", "Markdown's \\| escapes"],
      ['curly quotes'],
    ]);
    expect(lines[3]!.text).toBe('outbound|80||a.test');
    expect(lines[1]!.text).toBe('2026-01-01T00:00:01.000000Z\tinfo\tAgent draining Proxy');
  });
});

describe('access-log entries in any form', () => {
  it('a line cut at the front, a key=value line, a Markdown table of counts', () => {
    expect(entries('0" 503 UF upstream_reset_before_response_started{connection_timeout} - "-" 0 91 1001')).toEqual([]);
    expect(entries(' 503 UF upstream_reset_before_response_started{connection_timeout} - "-" 0 91 1001 - "-"')[0]).toMatchObject({ code: 503, flags: 'UF', details: 'upstream_reset_before_response_started{connection_timeout}' });
    expect(entries('ts=2026-01-01T00:00:00Z method=GET response_code=503 response_flags=UO upstream_cluster=outbound|80||a.test')[0]).toMatchObject({ code: 503, flags: 'UO', up_cluster: 'outbound|80||a.test' });
    const table = entries('| response_code | response_flags | count |\n|---|---|---|\n| 503 | NC | 12 |\n| 200 | - | 400 |');
    expect(table).toMatchObject([{ code: 503, flags: 'NC', count: 12 }, { code: 200, count: 400 }]);
  });

  it('a field a line does not carry is unknown, not absent: known lists what it carried', () => {
    const [frag] = entries(' 503 UF,URX "-" "TLS error: 268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER"');
    expect(frag).toMatchObject({ code: 503, flags: 'UF,URX', up_fail: 'TLS error: 268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER' });
    expect(frag!.known).not.toContain('up_cluster');
  });
});

describe("the caller's view", () => {
  it("Envoy's reply bodies, with and without a reason, and old Envoy's reasonless body", () => {
    // A reset's body does not say the flags (UC, or URX,UC after retries): Envoy ≥ 1.22 says "retried" instead.
    expect(replyOfBody('upstream connect error or disconnect/reset before headers. reset reason: connection termination')).toEqual({ code: 503, details: 'upstream_reset_before_response_started{connection_termination}', retried: false });
    expect(replyOfBody('upstream connect error or disconnect/reset before headers. retried and the latest reset reason: remote connection failure, transport failure reason: delayed connect error: 111')).toMatchObject({ retried: true, details: 'upstream_reset_before_response_started{remote_connection_failure,delayed_connect_error:_111}' });
    expect(replyOfBody('no healthy upstream')).toMatchObject({ code: 503, flags: 'UH' });
    expect(repliesOfLength(503, 57)).toEqual([{ code: 503, details: 'upstream_reset_before_response_started' }]);
    expect(repliesOfLength(429, 18)).toEqual([{ code: 429, flags: 'RL', details: 'local_rate_limited' }]);
    expect(repliesOfLength(418, 18)).toEqual([{ code: 418, flags: 'FI', details: 'fault_filter_abort' }]);
  });

  it("the clients' errors: Go, Node, Java, database drivers, WebSocket libraries", () => {
    expect(marks('dial tcp 198.18.0.30:5432: connect: connection refused')).toEqual(['refused']);
    expect(marks('Error: read ECONNRESET')).toEqual(['reset']);
    expect(marks('Error: socket hang up')).toEqual(['closedUnderIt']);
    expect(marks('[mysql] 2026/01/01 00:00:00 packets.go:122: closing bad idle connection: EOF')).toContain('poolConnectionClosed');
    expect(marks('x509: certificate is valid for *.example.com, example.com, not api.test')).toEqual(['certForAnotherName']);
    expect(marks("Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: api.test. is not in the cert's altnames: DNS:*.example.com")).toEqual(['certForAnotherName']);
    expect(marks('Error: Unexpected server response: 403')).toEqual(['websocketRefused']);
    expect(entries('Error: Unexpected server response: 403')[0]).toMatchObject({ code: 403 });
  });

  it('curl -v: the certificate against the host dialled, a joined Content-Type, and the shell time', () => {
    const read = readPaste(['$ curl -v https://api.test/x', '* Server certificate:', '*  subject: CN=*.example.com', '< HTTP/1.1 200 OK', '< content-type: application/json,text/plain', '< server: envoy', '<', '{}'].join('\n'));
    expect(read.clues.flatMap((c) => (c.mark ? [c.mark] : []))).toEqual(expect.arrayContaining(['certForAnotherName', 'contentTypeJoined']));
    const timed = entries(['< HTTP/2 504', '< content-length: 24', '< server: envoy', '<', '* Connection #0 to host api.test left intact', 'upstream request timeout', 'real\t0m15,012s'].join('\n'));
    expect(timed[0]).toMatchObject({ code: 504, flags: 'UT', duration_ms: 15012 });
  });

  it("the app's own log: callers at 127.0.0.6, header names all in lower case", () => {
    expect(marks('127.0.0.6 - - [01/Jan/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 2')).toEqual(['callerIsLoopback']);
    expect(marks('{"peer":"127.0.0.6:41234","headerNames":["host","user-agent","x-forwarded-proto","x-request-id","content-type"]}')).toEqual(expect.arrayContaining(['callerIsLoopback', 'headersLowercased']));
  });
});

describe("Envoy's, pilot-agent's and Kubernetes' lines", () => {
  it("Envoy's bracketed and Istio's tab-separated formats, a reply's status from the codec's lines below it", () => {
    const read = readPaste(
      [
        "[2026-01-01 00:00:00.000][12][debug][router] [source/common/router/router.cc:454] [C1][S2] unknown cluster 'outbound|80|v2|a.test'",
        '[2026-01-01 00:00:00.000][12][debug][http] [source/common/http/filter_manager.cc:960] [C1][S2] Sending local reply with details cluster_not_found',
        "':status', '503'",
        '2026-01-01T00:00:00.000000Z\tdebug\tenvoy config\tdraining 1 filter chains in listener virtualInbound\tthread=1',
      ].join('\n'),
    );
    expect(read.clues.flatMap((c) => (c.mark ? [c.mark] : []))).toEqual(['unknownCluster', 'filterChainsDraining']);
    expect(read.clues.find((c) => c.entry)?.entry).toMatchObject({ code: 503, flags: 'NC', details: 'cluster_not_found' });
    expect(read.unread).toEqual([]);
  });

  it('pilot-agent at shutdown and start-up, a post-start hook event', () => {
    expect(marks('2026-01-01T00:00:00.000000Z\tinfo\tGraceful termination period is 5s, starting...')).toEqual(['sidecarTerminating']);
    expect(marks('2026-01-01T00:00:00.000000Z\twarn\tEnvoy proxy is NOT ready: config not received from XDS server (is Istiod running?)')).toEqual(['sidecarNotReady']);
    expect(marks('  Warning  FailedPostStartHook  12s  kubelet  PostStartHook failed')).toEqual(['sidecarNotReady']);
  });
});

describe('admin and machine tables', () => {
  it('/stats (text and Prometheus), /clusters, ss and netstat rows', () => {
    const read = readPaste(
      [
        'cluster.outbound|80||a.test.outlier_detection.ejections_active: 2',
        'envoy_cluster_upstream_rq_pending_overflow{cluster_name="outbound|80||a.test"} 7',
        'outbound|80||a.test::198.18.0.30:80::health_flags::/failed_outlier_check',
        'ESTAB  0  0  198.18.0.10:41464  198.18.0.21:80  users:(("envoy",pid=9,fd=32))',
        'tcp        0      0 198.18.0.10:41466       198.18.0.21:80          ESTABLISHED 8/node',
      ].join('\n'),
    );
    const stats = read.clues.find((c) => c.counters)!.counters!;
    expect(stats.get('cluster.outbound|80||a.test.upstream_rq_pending_overflow')).toBe(7);
    expect(read.clues.find((c) => c.sockets)?.sockets).toHaveLength(2);
    expect(read.clues.flatMap((c) => (c.mark ? [c.mark] : []))).toEqual(expect.arrayContaining(['outlierEjected', 'poolOverflow']));
  });

  it("maps an Istio version to its proxy's Envoy", () => {
    expect(envoyOfIstio('1.21.0')).toBe('1.29.0');
    expect(envoyOfIstio('v1.4.3')).toBe('1.13.0');
    expect(envoyOfIstio('latest')).toBeUndefined();
  });
});

describe('damaged input never throws', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { loadScenario, scenarioIds } = await import('../../src/scenario/registry.js');
  const { triagePaste } = await import('../../src/triage/triage.js');
  const scenarios = await Promise.all(scenarioIds().map(loadScenario));
  const dir = join(import.meta.dirname, '../triage/corpus/pastes');
  const pastes = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));

  it('every corpus paste cut at 200 places, joined with its neighbour, its quotes and braces taken out', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let k = 0; k < 200; k++) {
      const a = pastes[k % pastes.length]!;
      const b = pastes[(k + 1) % pastes.length]!;
      const cut = Math.floor(rnd() * a.length);
      for (const text of [a.slice(cut), a.slice(0, cut) + b.slice(Math.floor(rnd() * b.length)), a.replace(/["{}]/g, ''), a.replace(/\n/g, k % 2 ? '' : '\r\n')]) {
        expect(() => triagePaste(readPaste(text), scenarios), text.slice(0, 200)).not.toThrow();
      }
    }
  });
});
