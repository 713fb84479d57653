/**
 * The lab's public entry: everything a scenario file uses, from one import.
 *   import { defineScenario, everyRequest, blackhole, … } from '../src/index.js';
 */
export { defineScenario, type Phase, type PhaseDefinition, type PhaseKind, type Scenario, type ScenarioDefinition, type World } from './scenario/scenario.js';
export type { ScenarioLab as Lab } from './lab/lab-context.js';
export type { Sidecar } from './lab/sidecar.js';
export type { Hosts } from './lab/hosts.js';
export type { App, PooledClient } from './lab/app.js';
export type { Caller } from './lab/caller.js';
export type { ConfigPushes } from './lab/config-pushes.js';
export type { XdsKind } from './envoy/envoy.js';
export type { UpstreamSpec } from './lab/lab-spec.js';

// Checks: the named vocabulary first, `check` for what only one scenario needs.
export { all, any, check, type Check, type Finding, type Verdict } from './checks/check.js';
export { everyRequest, everyRequestOk, oneConnection, recoveredOnNewConnection, servedNothing } from './checks/requests.js';
export { everyAccessEntry, noAccessEntries } from './checks/access-log.js';
export { configHas, counterGrew, counterStayedZero } from './checks/counters.js';
export { faultFired, faultNeverFired } from './checks/faults.js';
export { upstreamCounted, upstreamCountsOf } from './checks/upstream-counts.js';
export { hostsFlagged, hostsListed } from './checks/host-health.js';
export { clusterHas, routeActionOf, routeHas, runtimeHas } from './checks/config-dump.js';
export { connectionTableShows } from './checks/connections.js';
export { appPeerIp, appView, type AppView } from './checks/app-view.js';
export { accessAfter, accessIn, describeAccess, distinct, firstSuccessAfter, isConnectTimeout, isOk, localPorts, markerT, outcomeCounts, requestsAfter, requestsBefore, requestsIn } from './checks/slices.js';
export type { Evidence } from './evidence/evidence.js';
export { EvidenceMissing } from './evidence/evidence.js';
export type { AccessLogEntry } from './envoy/access-log.js';
export { envoyOwnMs } from './envoy/access-log.js';
export type { RequestEntry } from './timeline/timeline.js';

// Faults a scenario injects with lab.hosts.inject(fault, host).
export { blackhole } from './faults/blackhole.js';
export { acceptQueueFull } from './faults/accept-queue-full.js';
export { refuse } from './faults/refuse.js';
export { stop } from './faults/stop.js';
export { resetIdleReuse } from './faults/reset-idle-reuse.js';
export type { Fault } from './faults/fault.js';
export type { ResponseStep, UpstreamCounts } from './upstreams/http-upstream.js';
export type { RawRequest } from './clients/raw-http.js';

// Incident scripts several scenarios share.
export { CONNECTION_TERMINATION_503, SWEEP, callsWithIdleGaps, raceLost, raceRateMeasured, sweepIdleGaps, type RaceTarget } from './patterns/keepalive-race.js';
export { podServingCallers } from './patterns/pod-as-server.js';
export { SERVICE_CLUSTER, SERVICE_URL, chatThreeTimes, clusterStat, meshService, sendThreeTimes, serviceRequest, serviceWebSocket } from './patterns/mesh-service.js';

// Configs and versions.
export { variantPath } from './envoy/config.js';
export { compareVersions } from './envoy/version.js';
export { validateVariantFile } from './scenario/validate-variant.js';
export { facts as signatureFacts } from './triage/facts.js';
export type { NoSignature, Signature } from './triage/signature.js';
export { configShapes, counterShapes, socketShapes } from './triage/shapes.js';
export type { SidecarShutdown } from './lab/sidecar-shutdown.js';
