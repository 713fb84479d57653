/**
 * The world of the inbound scenarios: the app serves in the pod, its sidecar captures inbound
 * connections (REDIRECT, Istio's default), and one caller host outside the pod ("client")
 * calls it on the pod's address.
 */
import type { AppServerSpec } from '../lab/lab-spec.js';
import type { World } from '../scenario/scenario.js';

export const podServingCallers = (appServer: AppServerSpec): World => ({
  upstreams: [{ name: 'client', octet: 60, kind: 'client' }],
  dns: {},
  appServer,
  inbound: 'REDIRECT',
});
