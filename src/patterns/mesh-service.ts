/**
 * The traffic-policy scenarios' world: the pod's app calls one mesh service, app.test:8080
 * (envoy-configs/common/mesh-service-app.yaml), whose hosts are lab upstreams. Its cluster's
 * stats, and the calls the app makes, named once here.
 */
import type { RawRequest } from '../clients/raw-http.js';
import type { Lab } from '../lab/lab.js';

export const SERVICE_URL = 'http://app.test:8080';
export const SERVICE_CLUSTER = 'outbound|8080||app.test';

/** A counter of the service's cluster, e.g. upstream_rq_pending_overflow. */
export const clusterStat = (name: string) => `cluster.${SERVICE_CLUSTER}.${name}`;

/** A request from the app to the service (path, method, headers; a label for the timeline). */
export function serviceRequest(path: string, o: Partial<Omit<RawRequest, 'url'>> = {}): RawRequest {
  const method = o.method ?? 'GET';
  return { headers: [], label: `${method} ${path}`, ...o, method, url: `${SERVICE_URL}${path}` };
}

/** A phase's run: the app sends the request 3 times, one after another; the service's own count is taken after. */
export const sendThreeTimes = (r: RawRequest) => async (lab: Lab) => {
  for (let i = 0; i < 3; i++) await lab.send(r);
  await lab.upstreamCounts('app');
};
