/**
 * The traffic-policy scenarios' world: the pod's app calls one mesh service, app.test:8080
 * (envoy-configs/common/mesh-service-app.yaml), whose hosts are lab upstreams. Its cluster's
 * stats, and the calls the app makes, named once here.
 */
import type { RawRequest } from '../clients/raw-http.js';
import type { WebSocketChat } from '../clients/websocket-client.js';
import type { ScenarioLab as Lab } from '../lab/lab-context.js';
import type { World } from '../scenario/scenario.js';
import type { HttpUpstreamOptions } from '../upstreams/http-upstream.js';

export const SERVICE_URL = 'http://app.test:8080';
export const SERVICE_CLUSTER = 'outbound|8080||app.test';

/**
 * The world: one mesh service, app.test, whose one pod is the lab host `svc` (.30) serving HTTP on
 * 8080 with these options (a delay, a status, a body, WebSocket echo, …).
 */
export const meshService = (http?: Omit<HttpUpstreamOptions, 'name' | 'ports'>): World => ({
  upstreams: [{ name: 'svc', octet: 30, ports: [8080], ...(http ? { http } : {}) }],
  dns: { 'app.test': 'svc' },
});

/** A counter of the service's cluster, e.g. upstream_rq_pending_overflow. */
export const clusterStat = (name: string) => `cluster.${SERVICE_CLUSTER}.${name}`;

/** A request from the app to the service (path, method, headers; a label for the timeline). */
export function serviceRequest(path: string, o: Partial<Omit<RawRequest, 'url'>> = {}): RawRequest {
  const method = o.method ?? 'GET';
  return { headers: [], label: `${method} ${path}`, ...o, method, url: `${SERVICE_URL}${path}` };
}

/** A phase's run: the app does `once` 3 times, one after another; the service's own count is taken after. */
const threeTimes = (once: (lab: Lab) => Promise<unknown>) => async (lab: Lab) => {
  for (let i = 0; i < 3; i++) await once(lab);
  await lab.hosts.upstreamCounts('svc');
};

/** The app sends the request 3 times. */
export const sendThreeTimes = (r: RawRequest) => threeTimes((lab) => lab.app.send(r));

/** A WebSocket to the service (ws://app.test:8080<path>): 3 frames, each echoed by the app. */
export const serviceWebSocket = (path: string, label = `WebSocket ${path}`): WebSocketChat => ({ url: `ws://app.test:8080${path}`, messages: 3, label });

/**
 * The app opens the WebSocket 3 times. Envoy logs a WebSocket when its connection ends, often as DC
 * (the client closed first, measured); the lab reads a DC entry that ends within 50 ms of the app's
 * stop as cut by the stop (src/checks/slices.ts), so each ends 100 ms before the app does anything else.
 */
export const chatThreeTimes = (c: WebSocketChat) =>
  threeTimes(async (lab) => {
    await lab.app.websocket(c);
    await lab.sleep(100);
  });
