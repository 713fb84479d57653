/**
 * idle-timeout: the sidecar closes idle connections to an external redis under the app's pool.
 *
 * Reported  seed 002 (../shared/seeds/002_def8ad761a90e687.txt): tcp_proxy idle_timeout (default
 *           1 h) closes idle connections to external redis / mysql / memcached; Go clients then
 *           report "invalid connection"; the fix was an EnvoyFilter setting idle_timeout.
 * Symptom   After a quiet period the app's first command on a pooled connection fails or has to
 *           reconnect. A raw TCP connection through the sidecar is closed exactly idle_timeout
 *           after its last byte.
 * Cause     tcp_proxy's idle timer: no bytes in either direction for idle_timeout → Envoy closes
 *           both sides (tcp.<prefix>.idle_timeout). The app's pool keeps connections longer.
 * Fixes     An idle_timeout above the pool's idle time; an application-level keepalive (PING)
 *           shorter than idle_timeout.
 * Control   TCP keepalive (app socket and Envoy's upstream) does NOT reset the timer: probes carry
 *           no payload, and only payload resets it.
 * Live      Pushing a longer idle_timeout by LDS does not reach an open connection: it stays on the
 *           old filter chain, which is drained (and closed after --drain-time-s).
 *
 * The redis is a real redis-server; the app's client is ioredis with one pooled connection.
 * Time scaling: idle_timeout 1 h → 3 s; the pool's idle gap 4 s; drain time (Istio 45 s) → 2 s.
 */
import {
  check,
  compareVersions,
  counterGrew,
  counterShapes,
  counterStayedZero,
  defineScenario,
  describeAccess,
  variantPath,
  type Check,
  type Evidence,
  type Lab,
  type RequestEntry,
} from '../src/index.js';

const REDIS = { host: 'redis-ext.test', port: 6379 };
const PREFIX = 'outbound|6379||redis-ext.test';
const IDLE_TIMEOUT_MS = 3000;
const TOLERANCE_MS = 300;
const POOL_IDLE_MS = 4000;
const DRAIN_MS = 2000; // the lab's --drain-time-s

interface AppOptions {
  /** TCP keepalive on the app's sockets (ms). */
  tcpKeepAliveMs?: number;
  /** ioredis PINGs this often (ms). */
  pingEveryMs?: number;
  /** Also watch a raw TCP connection (the seed's view). */
  rawProbe?: boolean;
}

/** The app: one raw TCP connection left idle, and an ioredis pool used, left idle 4 s, used again. */
function poolIdlesThenUses(o: AppOptions = {}) {
  return async (lab: Lab) => {
    const probesBefore = await lab.hosts.kernelCounter('pod', 'TcpExtTCPKeepAlive');
    const raw = o.rawProbe === false ? undefined : lab.app.tcpProbe({ ...REDIS, send: 'PING\r\n', maxWaitMs: IDLE_TIMEOUT_MS + 2000, tcpKeepAliveMs: o.tcpKeepAliveMs });
    await lab.app.redis.connect({ ...REDIS, tcpKeepAliveMs: o.tcpKeepAliveMs, pingEveryMs: o.pingEveryMs });
    await lab.app.redis.command({ args: ['SET', 'session', 'alive'] });
    lab.timeline.mark('note', `pool idle for ${POOL_IDLE_MS} ms`);
    await lab.sleep(POOL_IDLE_MS);
    await lab.hosts.snapshotConnections('end of the idle gap');
    await lab.app.redis.command({ args: ['GET', 'session'] });
    await raw;
    await lab.app.redis.close();
    // redis-server's own count; a PING it never saw is absent from commandstats (then 0 calls).
    const stats = await lab.hosts.run('redis', ['redis-cli', 'info', 'commandstats']);
    const pings = stats.exitCode !== 0 ? 'unreadable' : (/cmdstat_ping:calls=(\d+)/.exec(stats.stdout)?.[1] ?? '0');
    lab.note('redis-server PING calls', pings);
    lab.note('keepalive probes sent in the pod', String((await lab.hosts.kernelCounter('pod', 'TcpExtTCPKeepAlive')) - probesBefore));
  };
}

const commands = (e: Evidence) => e.timeline.requests().filter((r) => r.op?.startsWith('SET') || r.op?.startsWith('GET'));
const rawProbe = (e: Evidence) => e.timeline.requests().find((r) => r.op?.startsWith('TCP'));
/** ioredis close events between the SET and the GET (the app's own disconnect at the end does not count). */
const closeEvents = (e: Evidence) => {
  const [set, get] = commands(e);
  return e.timeline.events('redis close').filter((x) => set && get && x.t > set.t && x.t < get.t);
};

const rawClosedAtIdleTimeout = check(`the raw TCP connection is closed ${IDLE_TIMEOUT_MS} ± ${TOLERANCE_MS} ms after its last byte`, (e) => {
  const p = rawProbe(e);
  const pass = p?.closedBy === 'fin' && Math.abs((p.closedAfterIdleMs ?? 0) - IDLE_TIMEOUT_MS) <= TOLERANCE_MS;
  return { pass, evidence: p ? `closed by ${p.closedBy} ${p.closedAfterIdleMs ?? '-'} ms after the last byte (local port ${p.localPort})` : 'no raw probe ran' };
});

/** redis-cli (--client redis-cli) learns of a close only at its next command: its own words on stderr. */
const cliSawClose = (e: Evidence) => e.timeline.events('redis-cli stderr').filter((x) => /closed the connection|Connection reset|Broken pipe/i.test(x.detail));
const playedByRedisCli = (e: Evidence) => e.timeline.events('app client').some((x) => x.detail.startsWith('redis-cli'));

/** What redis-cli reported: the server closed its connection, found only at the GET. */
const cliConnectionLost = check('redis-cli: "Server closed the connection" at the command after the gap (that command fails, or runs on a new server connection)', (e) => {
  const [set, get] = commands(e) as [RequestEntry?, RequestEntry?];
  const said = cliSawClose(e);
  return {
    pass: !!set?.ok && said.length > 0 && !!get && (get.ok === false || get.clientId !== set.clientId),
    evidence: `SET on CLIENT ID ${set?.clientId}; redis-cli said: ${said.map((x) => `"${x.detail}"`).join(', ') || 'nothing'}; GET ${get?.ok ? `ok on CLIENT ID ${get.clientId}` : `failed: ${get?.error}`}`,
  };
});

/** What ioredis reported: its connection closed under it at the idle timeout, and it reconnected. */
const ioredisConnectionLost = check('ioredis: its pooled connection was closed at the idle timeout; the next command ran on a new server connection', (e) => {
  const [set, get] = commands(e) as [RequestEntry?, RequestEntry?];
  const close = closeEvents(e)[0];
  const idleAtClose = close && set ? close.t - (set.t + set.latencyMs) : NaN;
  const events = e.timeline.events().filter((x) => x.source === 'svc' && x.what.startsWith('redis') && set && get && x.t > set.t && x.t < get.t).map((x) => x.what.replace('redis ', ''));
  const pass = !!set && !!get && Math.abs(idleAtClose - IDLE_TIMEOUT_MS) <= TOLERANCE_MS + 100 && (get.ok === false || get.clientId !== set.clientId);
  return {
    pass,
    evidence: `SET on CLIENT ID ${set?.clientId}; ioredis events after it: ${events.join(' → ') || 'none'} (close ${Number.isNaN(idleAtClose) ? 'never' : `${idleAtClose} ms into the idle gap`}); GET ${get?.ok ? `ok on CLIENT ID ${get.clientId}` : `failed: ${get?.error}`}`,
  };
});

/** The app's view of the lost connection, in the words of whatever client played it. */
const poolConnectionLost: Check = Object.assign((e: Evidence) => (playedByRedisCli(e) ? cliConnectionLost(e) : ioredisConnectionLost(e)), { label: 'the app: its pooled connection was closed; the next command ran on a new server connection' });

const poolConnectionSurvived = check(`the app: the same server connection served the command after ${POOL_IDLE_MS / 1000} s idle, no close seen`, (e) => {
  const [set, get] = commands(e) as [RequestEntry?, RequestEntry?];
  const closes = closeEvents(e).length + cliSawClose(e).length;
  return {
    pass: !!set?.ok && !!get?.ok && set.clientId === get.clientId && closes === 0,
    evidence: `SET on CLIENT ID ${set?.clientId}, GET on CLIENT ID ${get?.clientId}; ${closes} close(s) seen by the client`,
  };
});

const idleTimeoutCounter = (expected: 'fired' | 'never'): Check =>
  expected === 'fired'
    ? counterGrew("mechanism: Envoy's idle timer closed the connections", `tcp.${PREFIX}.idle_timeout`, 2)
    : counterStayedZero("Envoy's idle timer never fired", `tcp.${PREFIX}.idle_timeout`);

/** On Envoy ≥ 1.38 the access log also says why Envoy closed the app's connection. */
const closeReasonLogged = check('mechanism: the access log gives the close reason tcp_session_idle_timeout (Envoy ≥ 1.38)', (e) => {
  const tcp = e.accessLog.filter((a) => a.kind === 'tcp' && a.up_cluster === PREFIX);
  if (compareVersions(e.envoyVersion, '1.38.0') < 0) return { pass: tcp.length > 0, evidence: `Envoy ${e.envoyVersion} has no %DOWNSTREAM_LOCAL_CLOSE_REASON%; ${tcp.length} tcp entries` };
  const idle = tcp.filter((a) => a.ds_close === 'tcp_session_idle_timeout');
  return { pass: idle.length >= 2, evidence: `${idle.length}/${tcp.length} tcp entries closed with tcp_session_idle_timeout; ${describeAccess(tcp)}` };
});

export default defineScenario({
  id: 'idle-timeout',
  title: "tcp_proxy idle_timeout closes the app's idle pooled connection to an external redis",
  seed: '"Istio Idle Timeout问题复现和解决" (2024-03-25), a write-up in Chinese whose author\'s reproduction is in reported',
  reported: ['https://github.com/yeqown/playground/tree/master/k8s/istio-idle-timeout (the seed author\'s reproduction)'],
  symptom: "after a quiet period the app's pooled redis connection is gone: closed by the sidecar exactly idle_timeout after its last byte",
  cause: "tcp_proxy's idle timer (default 1 h) counts only payload bytes; the app's pool keeps connections idle longer",
  timeScaling: 'idle_timeout 1 h → 3 s; pool idle gap 4 s; drain time 45 s → 2 s',
  clients: ['redis-cli'],
  world: {
    upstreams: [{ name: 'redis', octet: 40, kind: 'redis', port: 6379 }],
    dns: { [REDIS.host]: 'redis' },
  },
  phases: [
    {
      name: 'before',
      title: 'idle_timeout 3 s, pool idle 4 s: Envoy closes the idle connections; ioredis reconnects',
      config: 'broken',
      signature: {
        says: "Envoy closed idle TCP connections at the tcp_proxy idle_timeout (close reason tcp_session_idle_timeout, Envoy ≥ 1.38; Istio's default format does not log it)",
        entries: { kind: 'tcp', closeReason: /tcp_session_idle_timeout/ },
        counters: [counterShapes.counted(/^tcp\..+\.idle_timeout$/, 'tcp_proxy closed idle connections (tcp.<cluster>.idle_timeout)')],
      },
      run: poolIdlesThenUses(),
      expect: [rawClosedAtIdleTimeout, poolConnectionLost, idleTimeoutCounter('fired'), closeReasonLogged],
    },
    {
      name: 'fix-longer-idle-timeout',
      title: 'idle_timeout 30 s (DestinationRule tcp.idleTimeout): the pool connection survives the gap',
      config: 'fix-longer-idle-timeout',
      run: poolIdlesThenUses(),
      expect: [
        poolConnectionSurvived,
        check('the raw TCP connection is still open past the old timeout', (e) => {
          const p = rawProbe(e);
          return { pass: p?.closedBy === 'still-open', evidence: p ? `${p.closedBy} after ${IDLE_TIMEOUT_MS + 2000} ms` : 'no raw probe ran' };
        }),
        idleTimeoutCounter('never'),
      ],
    },
    {
      name: 'fix-app-keepalive',
      title: 'Application keepalive: ioredis PINGs every 1 s, so the connection is never idle 3 s',
      config: 'broken',
      run: poolIdlesThenUses({ pingEveryMs: 1000, rawProbe: false }),
      expect: [
        poolConnectionSurvived,
        check('fix path: redis-server itself counted the PINGs that kept the connection busy', (e) => {
          const pings = e.noteNumber('redis-server PING calls');
          return { pass: pings >= 3, evidence: `redis-server INFO commandstats: cmdstat_ping calls=${pings}` };
        }),
        idleTimeoutCounter('never'),
      ],
    },
    {
      name: 'control-tcp-keepalive',
      notFor: { 'redis-cli': 'redis-cli sets its own TCP keepalive (15 s, not settable from the command line), so the app side of this control cannot be reproduced with it' },
      title: "Not a fix: TCP keepalive on the app's sockets and Envoy's upstream (real probes, timer not reset)",
      config: 'control-tcp-keepalive',
      run: poolIdlesThenUses({ tcpKeepAliveMs: 500 }),
      expect: [
        check('the probes were real: the pod\'s kernel sent TCP keepalive probes during the idle gap', (e) => {
          const probes = e.noteNumber('keepalive probes sent in the pod');
          return { pass: probes >= 2, evidence: `nstat TcpExtTCPKeepAlive in the pod: +${probes}` };
        }),
        rawClosedAtIdleTimeout,
        poolConnectionLost,
        idleTimeoutCounter('fired'),
      ],
    },
    {
      name: 'live-idle-timeout',
      title: 'idle_timeout 3 s → 30 s pushed by LDS while a connection is open: does the open one get it?',
      config: 'broken',
      run: async (lab) => {
        const old = lab.app.tcpProbe({ ...REDIS, send: 'PING\r\n', maxWaitMs: 6000 });
        await lab.sleep(500);
        await lab.push.variant(variantPath('idle-timeout', 'fix-longer-idle-timeout'), 'DestinationRule tcp.idleTimeout 30s pushed');
        lab.note('filter chains draining', await lab.sidecar.stat('listener_manager.total_filter_chains_draining'));
        const fresh = lab.app.tcpProbe({ ...REDIS, send: 'PING\r\n', maxWaitMs: IDLE_TIMEOUT_MS + 1500 });
        await Promise.all([old, fresh]);
      },
      // What real Envoy does: the open connection stays on the old filter chain, which is drained;
      // tcp_proxy has no graceful drain, so the connection is closed when the drain time ends,
      // before even its old idle timeout. The new timeout applies only to new connections.
      expect: [
        check(`the open connection did not get the new timeout: closed by the drain, ${DRAIN_MS} ms after the push`, (e) => {
          const [old] = e.timeline.requests().filter((r) => r.op?.startsWith('TCP'));
          const pushT = e.markerAt('config') - e.timeline.startedAt;
          const closedAt = old && old.closedAfterIdleMs !== undefined ? old.t + old.latencyMs : NaN;
          const afterPush = closedAt - pushT;
          return {
            pass: old?.closedBy === 'fin' && Math.abs(afterPush - DRAIN_MS) <= 500 && (old.closedAfterIdleMs ?? 0) < IDLE_TIMEOUT_MS,
            evidence: `the connection open during the push: ${old?.closedBy} ${Number.isNaN(afterPush) ? '' : `${Math.round(afterPush)} ms after the push, `}${old?.closedAfterIdleMs} ms after its last byte`,
          };
        }),
        check('a connection opened after the push has the new timeout (still open past 3 s)', (e) => {
          const fresh = e.timeline.requests().filter((r) => r.op?.startsWith('TCP'))[1];
          return { pass: fresh?.closedBy === 'still-open', evidence: fresh ? `${fresh.closedBy} after ${IDLE_TIMEOUT_MS + 1500} ms` : 'no second connection' };
        }),
        check('mechanism: the old filter chain was draining after the push', (e) => {
          const n = e.noteNumber('filter chains draining');
          return { pass: n >= 1, evidence: `listener_manager.total_filter_chains_draining = ${n} right after the push` };
        }),
        counterGrew('fix path: the LDS push was accepted', 'listener_manager.lds.update_success', 1),
      ],
    },
  ],
});
