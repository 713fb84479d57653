/**
 * Envoy's response flags (%RESPONSE_FLAGS% in the access log, short form) and what each means,
 * from Envoy's access-log documentation. docs/response-flags.md lists each with the
 * scenarios that reproduce it (src/report/flag-table.ts).
 */
export const RESPONSE_FLAGS: Record<string, string> = {
  UH: 'no healthy upstream host in the cluster',
  UF: 'upstream connection failure',
  UO: 'upstream overflow (circuit breaking)',
  NR: 'no route configured for the request, or no matching filter chain for a connection',
  URX: 'rejected because the upstream retry limit (HTTP) or maximum connect attempts (TCP) was reached',
  NC: 'upstream cluster not found',
  DT: 'a request or connection exceeded max_connection_duration or max_downstream_connection_duration',
  DC: 'downstream connection termination',
  LH: 'local service failed its health check',
  UT: 'upstream request timeout',
  LR: 'connection local reset',
  UR: 'upstream remote reset',
  UC: 'upstream connection termination',
  DI: 'the request was delayed by fault injection',
  FI: 'the request was aborted by fault injection',
  RL: 'rate-limited locally by the HTTP rate limit filter',
  UAEX: 'denied by the external authorization service',
  RLSE: 'rejected because the rate limit service failed',
  IH: 'rejected for an invalid value in a strictly checked header',
  SI: 'stream idle timeout',
  DPE: 'the downstream request had an HTTP protocol error',
  UPE: 'the upstream response had an HTTP protocol error',
  UMSDR: 'the upstream request reached max stream duration',
  OM: 'overload manager terminated the request',
  DF: 'DNS resolution failed',
  DO: 'drop overload: dropped by the drop_overloads policy',
  DR: 'downstream remote reset',
};
