/**
 * What the pod's app saw of a request, from its echo (src/upstreams/http-upstream.ts, `echo`):
 * its socket's peer, the header names as they arrived, the Content-Type lines, X-Forwarded-For,
 * and its own verdict. The inbound scenarios judge the app's view with it.
 */
import type { RequestEntry } from '../timeline/timeline.js';
import type { AppView } from '../upstreams/http-upstream.js';

export type { AppView };

/** The app's view of a request, or undefined when the response is not the app's echo (e.g. Envoy's 503). */
export function appView(r: RequestEntry): AppView | undefined {
  try {
    const v = JSON.parse(r.body ?? '') as AppView;
    return typeof v === 'object' && v && typeof v.peer === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The app's socket peer without the port ("127.0.0.6"). */
export const appPeerIp = (r: RequestEntry) => appView(r)?.peer.replace(/:\d+$/, '');
