/**
 * idle-timeout-databases: "invalid connection" from pooled MariaDB and memcached clients behind
 * the sidecar, and who really closed the connection.
 *
 * Reported  seed 002 (../shared/seeds/002_def8ad761a90e687.txt) and its 2024-04-01 update: after
 *           raising tcp_proxy's idle_timeout, redis and mongo were fine, but mysql and memcached
 *           clients still reported "invalid connection"; `netstat -o` showed the app's socket with
 *           keepalive timers and Envoy's upstream socket without. The seed's workaround:
 *           excludeOutboundIPRanges / excludeOutboundPorts.
 * Symptom   After a quiet period the app's first query on a pooled connection fails.
 * Cause     Two different closers with the same symptom in the app: Envoy's tcp_proxy idle_timeout,
 *           or the server's own idle timeout (MariaDB wait_timeout, memcached idle_timeout). Either
 *           way Envoy closes the app's side, so the app cannot tell which; the evidence can:
 *           Envoy's idle_timeout counter and which side of Envoy closed first (upstream_cx_destroy
 *           local or remote), the server's own account (MariaDB's error log, memcached's
 *           idle_kicks), and, on Envoy >= 1.38, the access log's close reason.
 * Fixes     Envoy the closer: idle_timeout above the pool's idle time (or bypass the sidecar).
 *           The server the closer: the pool retires connections before the server's timeout
 *           (Go: SetConnMaxIdleTime); raising Envoy's idle_timeout does nothing for it.
 * Control   TCP keepalive on Envoy's upstream sockets too: both netstat lines show timers, and
 *           Envoy still closes at idle_timeout (probes carry no payload).
 *
 * Real servers: Debian's mariadb-server and memcached. The app's clients keep one connection
 * each and reuse it without a liveness check, as Go's pools do (src/clients/pooled-connection.ts).
 * Time scaling: idle timeouts (Envoy's, wait_timeout, memcached's) → 2 s; the pool's idle gap 5 s.
 */
import { check, compareVersions, connectionTableShows, counterGrew, counterShapes, counterStayedZero, defineScenario, type Check, type Evidence, type Lab, type RequestEntry } from '../src/index.js';

const DB = { host: 'db.test', port: 3306, cluster: 'outbound|3306||db.test', server: 'mariadb' };
const CACHE = { host: 'cache.test', port: 11211, cluster: 'outbound|11211||cache.test', server: 'memcached' };
type Target = typeof DB;
/** memcached checks for idle connections about once a second: its kick lands 2-3.6 s after the last use. */
const POOL_IDLE_MS = 5000;
/** The servers' own timeouts in the phases where they are the closer (seconds, as they take them). */
const SERVER_TIMEOUT_S = 2;
const TIMEOUT_LINE = 'Got timeout reading communication packets';
const GONE_LINE = 'Got an error reading communication packets';

interface PoolOptions {
  tcpKeepAliveMs?: number;
  /** The pool-side fix: retire connections idle longer than this. */
  maxIdleMs?: number;
}

/** The app: one query on each pooled connection, a quiet period, the same again; then the servers' own accounts. */
const poolsIdleThenQuery = (o: PoolOptions = {}) => async (lab: Lab) => {
  const rstsBefore = await Promise.all([DB, CACHE].map((t) => lab.hosts.kernelCounter(t.server, 'TcpOutRsts')));
  await lab.app.mysql.connect({ host: DB.host, port: DB.port, ...o });
  await lab.app.memcached.connect({ host: CACHE.host, port: CACHE.port, ...o });
  lab.timeline.mark('note', `pools idle for ${POOL_IDLE_MS} ms`);
  const gapStart = Date.now();
  await lab.sleep(800);
  await lab.hosts.snapshotConnections('during the idle gap'); // before any timeout: the seed's `netstat -o` view
  await lab.sleep(POOL_IDLE_MS - (Date.now() - gapStart));
  await lab.app.mysql.command({ sql: 'SELECT CONNECTION_ID()' });
  await lab.app.memcached.command({ op: 'get session' });
  // Who sent FIN first: the side that closes first keeps its socket in TIME-WAIT (60 s).
  for (const host of ['pod', DB.server, CACHE.server]) await lab.hosts.snapshotConnections(`after the gap: ${host}`, undefined, host);
  for (const [i, t] of [DB, CACHE].entries()) lab.note(`${t.server}: RSTs its kernel sent`, String((await lab.hosts.kernelCounter(t.server, 'TcpOutRsts')) - rstsBefore[i]!));
  await lab.app.mysql.close();
  await lab.app.memcached.close();
  const log = await lab.hosts.serverLog('mariadb', DB.server);
  lab.note('MariaDB: aborted connections (wait_timeout)', log !== undefined ? String(log.split(TIMEOUT_LINE).length - 1) : 'unreadable');
  lab.note('MariaDB: aborted connections (client side gone)', log !== undefined ? String(log.split(GONE_LINE).length - 1) : 'unreadable');
  lab.note('memcached: idle_kicks', await memcachedStat(lab, 'idle_kicks'));
};

/** One of memcached's own `stats` counters, asked over its text protocol on its host. */
async function memcachedStat(lab: Lab, name: string): Promise<string> {
  const r = await lab.hosts.run(CACHE.server, ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${CACHE.port}; printf 'stats\\r\\nquit\\r\\n' >&3; timeout 2 cat <&3`]);
  return new RegExp(`STAT ${name} (\\d+)`).exec(r.stdout)?.[1] ?? `unreadable: no "STAT ${name}" in ${r.stdout.length} bytes of stats`;
}

const ops = (e: Evidence, t: Target) => e.timeline.requests().filter((r) => (t === DB ? r.op?.startsWith('SELECT') : r.op?.includes(' session')));
const describeOp = (r?: RequestEntry) => (!r ? 'never ran' : r.ok ? `ok on connection ${r.clientId}` : `failed: ${r.error} "${r.errorMessage}"`);

/** The app's second operation failed on the connection the pool kept: the seed's "invalid connection". */
const appGotInvalidConnection = (t: Target): Check =>
  check(`symptom: after ${POOL_IDLE_MS / 1000} s idle the app's ${t.server} client failed on its pooled connection`, (e) => {
    const [first, second] = ops(e, t);
    const closed = e.timeline.events(`${t === DB ? 'mysql' : 'memcached'} close`)[0];
    return { pass: !!first?.ok && second?.ok === false, evidence: `first: ${describeOp(first)}; after the gap: ${describeOp(second)}; the app's socket: ${closed?.detail ?? 'never closed'}` };
  });

/** The second operation ran on the very connection of the first: nothing closed it. */
const sameConnectionSurvived = (t: Target): Check =>
  check(`the app's ${t.server} connection survived ${POOL_IDLE_MS / 1000} s idle: same connection before and after`, (e) => {
    const [first, second] = ops(e, t);
    return { pass: !!first?.ok && !!second?.ok && first.clientId === second.clientId, evidence: `first: ${describeOp(first)}; after the gap: ${describeOp(second)}` };
  });

/** The pool retired the idle connection itself and the query ran on a fresh one. */
const poolRetiredIt = (t: Target): Check =>
  check(`fix path: the app's pool retired the idle ${t.server} connection itself and used a new one`, (e) => {
    const [first, second] = ops(e, t);
    const retired = e.timeline.events(`${t === DB ? 'mysql' : 'memcached'} retire`)[0];
    return { pass: !!retired && !!first?.ok && !!second?.ok && first.clientId !== second.clientId, evidence: `${retired?.detail ?? 'no retirement'}; first: ${describeOp(first)}; after the gap: ${describeOp(second)}` };
  });

/**
 * Who closed first, from the kernels: a FIN-first closer keeps its socket in TIME-WAIT (60 s); an
 * abortive close is a RST its kernel counts (TcpOutRsts). Envoy first: a TIME-WAIT socket to the
 * server in the pod, none on the server, no RST from it. The server first: TIME-WAIT or a RST on
 * the server's side, no TIME-WAIT in the pod. (Envoy's upstream_cx_destroy_local/remote cannot
 * say: tcp_proxy half-closes, and memcached's own idle kick counts as destroy_local; measured, 1.40.)
 */
const closedFirstBy = (t: Target, who: 'envoy' | 'server'): Check =>
  check(`who closed the ${t.server} connection first: ${who === 'envoy' ? `Envoy (TIME-WAIT in the pod; nothing from ${t.server})` : `${t.server} itself (TIME-WAIT or a RST on its side; no TIME-WAIT in the pod)`}`, (e) => {
    const peer = ` ${e.ip(t.server)}:${t.port} `;
    const timeWait = (label: string) => e.snapshot(label).split('\n').filter((l) => l.startsWith('TIME-WAIT') && l.includes(peer)).length;
    const pod = timeWait('after the gap: pod');
    const server = timeWait(`after the gap: ${t.server}`);
    const rsts = e.noteNumber(`${t.server}: RSTs its kernel sent`);
    const pass = who === 'envoy' ? pod >= 1 && server === 0 && rsts === 0 : (server >= 1 || rsts >= 1) && pod === 0;
    return { pass, evidence: `TIME-WAIT sockets of the ${t.server} connection: ${pod} in the pod, ${server} on ${t.server}; RSTs ${t.server}'s kernel sent: ${rsts}` };
  });

/** Envoy as the closer: its idle timer fired and it closed first. */
const envoyClosed = (t: Target): Check[] => [counterGrew(`mechanism: Envoy's idle timer closed the ${t.server} connection`, `tcp.${t.cluster}.idle_timeout`, 1), closedFirstBy(t, 'envoy')];

/** The server as the closer: Envoy's idle timer never fired; the server closed first. */
const serverClosed = (t: Target): Check[] => [counterStayedZero("Envoy's idle timer never fired", `tcp.${t.cluster}.idle_timeout`), closedFirstBy(t, 'server')];

const mariadbSays = (what: 'wait_timeout' | 'client side gone', min: number, max = Infinity): Check =>
  check(`MariaDB's own account: ${min === 0 ? 'no' : `${min}+`} connection(s) aborted for "${what === 'wait_timeout' ? TIMEOUT_LINE : GONE_LINE}"`, (e) => {
    const n = e.noteNumber(`MariaDB: aborted connections (${what})`);
    return { pass: n >= min && n <= max, evidence: `mariadbd's error log: ${n} × "${what === 'wait_timeout' ? TIMEOUT_LINE : GONE_LINE}"` };
  });

const memcachedKicks = (min: number, max = Infinity): Check =>
  check(`memcached's own account: idle_kicks ${max === 0 ? '= 0 (it closed nothing for idleness)' : `≥ ${min} (it closed the idle connection itself)`}`, (e) => {
    const n = e.noteNumber('memcached: idle_kicks');
    return { pass: n >= min && n <= max, evidence: `memcached stats: idle_kicks ${n}` };
  });

/** On Envoy ≥ 1.38 the access log says why Envoy closed the app's connection (if it was its idle timer). */
const closeReason = (reason: 'tcp_session_idle_timeout' | 'not idle'): Check =>
  check(`access log close reason of the app's connections: ${reason === 'not idle' ? 'never tcp_session_idle_timeout' : reason} (Envoy ≥ 1.38)`, (e) => {
    const tcp = e.accessLog.filter((a) => a.kind === 'tcp' && (a.up_cluster === DB.cluster || a.up_cluster === CACHE.cluster));
    if (compareVersions(e.envoyVersion, '1.38.0') < 0) return { pass: tcp.length >= 2, evidence: `Envoy ${e.envoyVersion} has no %DOWNSTREAM_LOCAL_CLOSE_REASON%; ${tcp.length} tcp entries` };
    const idle = tcp.filter((a) => a.ds_close === 'tcp_session_idle_timeout');
    const pass = tcp.length >= 2 && (reason === 'not idle' ? idle.length === 0 : idle.length >= 2);
    return { pass, evidence: `${tcp.length} tcp entries to the databases, close reasons: ${tcp.map((a) => a.ds_close ?? '-').join(', ')}` };
  });

/** The seed's `netstat -o`: the app's socket to the server, and Envoy's, with or without keepalive timers. */
const netstatView = (envoyKeepalive: boolean) =>
  connectionTableShows(`the seed's netstat -o: the app's socket to MariaDB has a keepalive timer, Envoy's ${envoyKeepalive ? 'has one too' : 'has none'}`, 'during the idle gap', [
    { state: 'ESTAB', peer: (ip) => `${ip(DB.server)}:${DB.port}`, process: 'node', keepalive: true },
    { state: 'ESTAB', peer: (ip) => `${ip(DB.server)}:${DB.port}`, process: 'envoy', keepalive: envoyKeepalive },
  ]);

const serversTimeOut = { mariadb: { mariadb: { waitTimeoutS: SERVER_TIMEOUT_S } }, memcached: { memcached: { idleTimeoutS: SERVER_TIMEOUT_S } } };

export default defineScenario({
  id: 'idle-timeout-databases',
  title: '"invalid connection" from pooled MariaDB and memcached clients: Envoy or the server, who closed it?',
  seed: '"Istio Idle Timeout问题复现和解决" (2024-03-25), a write-up in Chinese whose author\'s reproduction is in reported',
  reported: ['seed 002, update 2024-04-01: mysql (sharding-sphere) and memcached still "invalid connection"'],
  symptom: "after a quiet period the app's first query on a pooled MariaDB or memcached connection fails",
  cause: "either tcp_proxy's idle_timeout or the server's own idle timeout (wait_timeout, idle_timeout) closes the idle connection; the app cannot tell which",
  timeScaling: "Envoy's idle_timeout, MariaDB's wait_timeout and memcached's idle_timeout → 2 s; the pool's idle gap 5 s",
  world: {
    upstreams: [
      { name: 'mariadb', octet: 40, kind: 'mariadb', port: DB.port },
      // memcached reports idle_kicks only when it has an idle_timeout: 1 h unless a phase says otherwise.
      { name: 'memcached', octet: 41, kind: 'memcached', port: CACHE.port, memcached: { idleTimeoutS: 3600 } },
    ],
    dns: { [DB.host]: 'mariadb', [CACHE.host]: 'memcached' },
  },
  phases: [
    {
      name: 'before',
      title: "Envoy the closer: idle_timeout 2 s, the pools idle 5 s, the servers' timeouts long",
      config: 'broken',
      signature: {
        says: "Envoy closed pooled database connections at the tcp_proxy idle_timeout (close reason tcp_session_idle_timeout, Envoy ≥ 1.38; the log alone cannot tell MariaDB/memcached from redis: idle-timeout has the same mark)",
        entries: { kind: 'tcp', closeReason: /tcp_session_idle_timeout/ },
        marks: ['poolConnectionClosed'],
        counters: [counterShapes.counted(/^tcp\..+\.idle_timeout$/, 'tcp_proxy closed idle connections (tcp.<cluster>.idle_timeout)')],
      },
      run: poolsIdleThenQuery({ tcpKeepAliveMs: 1000 }),
      expect: [
        appGotInvalidConnection(DB),
        appGotInvalidConnection(CACHE),
        ...envoyClosed(DB),
        ...envoyClosed(CACHE),
        mariadbSays('wait_timeout', 0, 0),
        mariadbSays('client side gone', 1),
        memcachedKicks(0, 0),
        closeReason('tcp_session_idle_timeout'),
        netstatView(false),
      ],
    },
    {
      name: 'fix-idle-timeout',
      title: "idle_timeout 1 h (Istio's default, DestinationRule tcp.idleTimeout): both connections survive the gap",
      config: 'fix-idle-timeout',
      run: poolsIdleThenQuery(),
      expect: [sameConnectionSurvived(DB), sameConnectionSurvived(CACHE), counterStayedZero("Envoy's idle timer never fired (MariaDB)", `tcp.${DB.cluster}.idle_timeout`), counterStayedZero("Envoy's idle timer never fired (memcached)", `tcp.${CACHE.cluster}.idle_timeout`)],
    },
    {
      name: 'fix-exclude',
      title: "The seed's workaround: excludeOutboundIPRanges for both servers: the pools talk to them directly",
      config: 'broken',
      excludeOutbound: ['mariadb', 'memcached'],
      run: poolsIdleThenQuery(),
      expect: [
        sameConnectionSurvived(DB),
        sameConnectionSurvived(CACHE),
        counterStayedZero('fix path: no MariaDB connection went through Envoy', `cluster.${DB.cluster}.upstream_cx_total`),
        counterStayedZero('fix path: no memcached connection went through Envoy', `cluster.${CACHE.cluster}.upstream_cx_total`),
      ],
    },
    {
      name: 'before-server-timeouts',
      title: "The update: idle_timeout raised to 1 h, still \"invalid connection\": wait_timeout and memcached's idle_timeout are 2 s",
      config: 'fix-idle-timeout',
      signature: { none: "the server closed its own idle connection: Envoy logs a TCP connection ending (MariaDB's reset as UR), as for any server going away; the server's own log says why" },
      upstreams: serversTimeOut,
      run: poolsIdleThenQuery(),
      expect: [
        appGotInvalidConnection(DB),
        appGotInvalidConnection(CACHE),
        ...serverClosed(DB),
        ...serverClosed(CACHE),
        mariadbSays('wait_timeout', 1),
        memcachedKicks(1),
        closeReason('not idle'),
      ],
    },
    {
      name: 'fix-pool-max-idle',
      title: 'The servers still close after 2 s; the pools retire connections idle > 1 s first (Go: SetConnMaxIdleTime)',
      config: 'fix-idle-timeout',
      upstreams: serversTimeOut,
      run: poolsIdleThenQuery({ maxIdleMs: 1000 }),
      expect: [poolRetiredIt(DB), poolRetiredIt(CACHE), mariadbSays('wait_timeout', 0, 0), memcachedKicks(0, 0)],
    },
    {
      name: 'control-tcp-keepalive',
      title: "Not a fix: TCP keepalive on Envoy's upstream sockets too: both netstat lines show timers, Envoy still closes at 2 s",
      config: 'control-tcp-keepalive',
      run: poolsIdleThenQuery({ tcpKeepAliveMs: 1000 }),
      expect: [netstatView(true), appGotInvalidConnection(DB), appGotInvalidConnection(CACHE), ...envoyClosed(DB), ...envoyClosed(CACHE)],
    },
  ],
});
