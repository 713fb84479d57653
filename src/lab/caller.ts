/**
 * Who calls: the app in the pod (`lab.app`, app.ts) or a caller on another lab host that calls
 * into the pod (`lab.caller('client')`). Every call is recorded on the timeline with its outcome;
 * these typed verbs are the only way a scenario reaches a host's client.
 */
import type { HttpClientOptions } from '../clients/http-client.js';
import type { Outcome } from '../clients/outcome.js';
import type { RawRequest } from '../clients/raw-http.js';
import type { WebSocketChat, WebSocketHold } from '../clients/websocket-client.js';
import type { LabContext } from './lab-context.js';

/** Room beyond a call's own timeout for the agent's reply. */
const AGENT_SLACK_MS = 30_000;

export class Caller {
  constructor(
    protected readonly lab: LabContext,
    /** The lab host it runs on ('pod' for the app). */
    readonly host: string,
  ) {}

  /** One command of this host's agent, as the scenario's own time. */
  protected call<T>(cmd: string, args: unknown, timeoutMs = 60_000): Promise<T> {
    return this.lab.scripted(() => this.lab.agentOf(this.host).call<T>(cmd, args, timeoutMs));
  }

  /**
   * Starts the serial keep-alive HTTP client (src/clients/http-client.ts): a call every
   * `everyMs`, up to `maxRequests` or `maxDurationMs`. With --client, the chosen program plays it.
   */
  async start(o: HttpClientOptions): Promise<void> {
    const choice = this.lab.options.httpClient;
    if (this.lab.options.appOnly) {
      this.lab.note('lab client left out', `--app-only: your command is the app (the lab would have called ${o.url})`, { quiet: true });
      return;
    }
    const thirdParty = choice?.impl === 'curl' || choice?.impl === 'go' ? choice : undefined;
    this.lab.note('app started', `${thirdParty?.impl ?? "the lab's client"} on ${this.host}`, { quiet: true });
    await this.lab.narrate(`the app starts calling ${o.url}${o.everyMs ? ` every ${o.everyMs} ms` : ''}`, { why: "one request at a time over a kept-alive connection, as the seed's client did", pause: true });
    await this.lab.agentOf(this.host).call('client.start', { ...o, ...thirdParty });
  }

  /** Stops the client started with `start` (after its request in flight, which is the scenario's traffic: a 503 after a connect timeout takes its 1 s). */
  async stop(): Promise<void> {
    this.lab.note('app stopped', `the lab stops the client on ${this.host} (after its request in flight)`, { quiet: true });
    await this.call('client.stop', {});
  }

  /** One HTTP/1.1 request on a fresh connection, recorded with its outcome (src/clients/raw-http.ts). */
  send(r: RawRequest): Promise<Outcome> {
    return this.call<Outcome>('http.send', r, (r.timeoutMs ?? 3000) + AGENT_SLACK_MS);
  }

  /** The same request over HTTP/2 cleartext (h2c, prior knowledge). */
  sendH2(r: RawRequest): Promise<Outcome> {
    return this.call<Outcome>('http2.send', r, (r.timeoutMs ?? 3000) + AGENT_SLACK_MS);
  }

  /**
   * `count` copies of one request at the same moment, each on its own connection, each recorded
   * with its own outcome ("POST /pay 3/10"): what a connection pool or circuit breaker sees when
   * the app fans out.
   */
  async concurrent(count: number, r: RawRequest): Promise<Outcome[]> {
    await this.lab.narrate(`the app sends ${count} × ${r.label} at once`, { pause: true });
    return this.call<Outcome[]>('http.burst', { count, request: r }, (r.timeoutMs ?? 3000) + AGENT_SLACK_MS);
  }

  /** Opens a WebSocket and sends text frames, each waiting for its echo (src/clients/websocket-client.ts). */
  async websocket(c: WebSocketChat): Promise<Outcome> {
    await this.lab.narrate(`the app opens ${c.url} and sends ${c.messages ?? 3} WebSocket frame(s)`, { pause: true });
    return this.call<Outcome>('ws.chat', c, (c.timeoutMs ?? 3000) + AGENT_SLACK_MS);
  }

  /** A long-lived WebSocket, used every `everyMs` and kept `durationMs` unless it closes first. */
  holdWebSocket(h: WebSocketHold): Promise<Outcome> {
    return this.call<Outcome>('ws.hold', h, h.durationMs + AGENT_SLACK_MS);
  }
}
