/** What the app did and how it went: the unit of the timeline, whatever the protocol. */
/** One thing the app did and how it went. HTTP fills status; other clients fill ok/op. */
export interface Outcome {
  seq: number;
  at: number;
  latencyMs: number;
  /** Set by non-HTTP clients (redis, raw TCP, TLS): did the operation succeed. */
  ok?: boolean;
  /** What was done, for non-HTTP clients: "GET k", "PING", "TLS handshake". */
  op?: string;
  status?: number;
  /** undici / errno code when no response arrived. */
  error?: string;
  errorMessage?: string;
  /** Local port of the connection the request went out on: same port = same connection. */
  localPort?: number;
  servedBy?: string;
  /** The response's Connection header, e.g. "close" when Envoy drains the connection. */
  connectionHeader?: string;
  /** Response header names as they arrived (their case kept): raw clients only. */
  responseHeaderNames?: string[];
  /** HTTP/2 clients: the trailers that ended the response ({} when it ended without any: a gRPC client's "no grpc-status"). */
  trailers?: Record<string, string>;
  /** First line of the body (Envoy's local reply text on a 503). */
  body?: string;
  /** Raw HTTP clients: the response body's whole length, bytes (`body` keeps its first 2000). */
  bodyBytes?: number;
  /** Raw TCP probes: how the connection ended and how long after its last byte. */
  closedBy?: 'fin' | 'rst' | 'still-open';
  closedAfterIdleMs?: number;
  /** HTTP/1.0 client: ms from the request to the first / last byte of the response, and to the server's close (raw HTTP/1.1 requests: to the last byte). */
  firstByteMs?: number;
  lastByteMs?: number;
  closedAfterMs?: number;
  /** HTTP/1.0 client: the status line as sent, and the Content-Length header if any. */
  statusLine?: string;
  contentLength?: number;
  /** With a gap schedule: how long the connection sat idle before this request (planned, ms). */
  idleGapMs?: number;
  /** Redis, SQL, memcached: the server's reply, as text. */
  result?: string;
  /** Redis: the server-side CLIENT ID of the connection that ran the command (same id = same connection). */
  clientId?: number;
  /** WebSocket: text frames sent, and how many of them came back (the app echoes each). */
  framesSent?: number;
  framesEchoed?: number;
  /** TLS: the certificate the other end presented, and Node's verdict on it. */
  certSubject?: string;
  certSan?: string;
  authorized?: boolean;
  authorizationError?: string;
}

