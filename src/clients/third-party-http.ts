/**
 * The app as a third-party program instead of the lab's Node client (--client curl | go): the
 * agent runs it in the pod with the same pacing and bounds, reads one line per request and turns
 * it into the same Outcome record, so every check judges curl's or Go's requests exactly as it
 * judges the lab's own. curl: one invocation for all requests (so it reuses its connection),
 * paced by --rate, `-w` writing each transfer's JSON. go: lab/clients/go-http built with the
 * machine's Go toolchain (net/http's default transport, the seed's own client), printing Outcome
 * JSON itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Emit } from '../agent/protocol.js';
import type { HttpClientOptions } from './http-client.js';
import type { Outcome } from './outcome.js';

export type ThirdPartyHttpClient = 'curl' | 'go';

/** curl's exit code per transfer, named as the Node client names the error (checks read both alike). */
const CURL_ERRORS: Record<number, string> = { 6: 'ENOTFOUND', 7: 'ECONNREFUSED', 28: 'ETIMEDOUT', 52: 'EOF', 55: 'EPIPE', 56: 'ECONNRESET' };
/** curl's exit 28 covers both timeouts; its message says which (checks tell a connect timeout apart). */
const curlError = (code: number, message: string | null) => (code === 28 && /^(Connection timed out|Failed to connect)/.test(message ?? '') ? 'ECONNECT_TIMEOUT' : (CURL_ERRORS[code] ?? `curl exit ${code}`));
const MARK = 'efl-outcome ';  // not starting with @: curl reads `-w @file` as a file name

function curlArgv(o: HttpClientOptions): string[] {
  if (o.gapsMs || o.gapAfterMs !== undefined) throw new Error('curl paces requests with --rate: it cannot pause a set gap after each response (gapAfterMs / gapsMs); this phase needs --client go or the lab\'s client');
  const perMinute = Math.max(1, Math.round(60_000 / o.everyMs));
  const urls = Array.from({ length: o.maxRequests }, () => [o.url, '-o', '/dev/null']).flat();
  // stdbuf: curl's stdout is block-buffered into a pipe; each transfer's line must arrive as it ends.
  return ['stdbuf', '-oL', 'curl', '-s', '--rate', `${perMinute}/m`, '--connect-timeout', String(o.connectTimeoutMs / 1000), '-m', String(o.requestTimeoutMs / 1000), '-w', `${MARK}%header{x-served-by}|%header{connection}|%{json}\\n`, ...urls];
}

function goArgv(o: HttpClientOptions, binary: string): string[] {
  const pacing = o.gapsMs ? ['-gaps', o.gapsMs.join(',')] : o.gapAfterMs !== undefined ? ['-gap-after', `${o.gapAfterMs}ms`] : ['-every', `${o.everyMs}ms`];
  return [binary, '-json', '-url', o.url, ...pacing, '-n', String(o.maxRequests), '-max-duration', `${o.maxDurationMs}ms`, '-timeout', `${o.requestTimeoutMs}ms`, '-connect-timeout', `${o.connectTimeoutMs}ms`, '-idle-conn-timeout', `${o.keepAliveTimeoutMs}ms`];
}

/** One line of curl's -w output as an Outcome; undefined for body noise. */
export function curlOutcome(line: string, seq: number, now: number): Outcome | undefined {
  const at = line.indexOf(MARK);
  if (at < 0) return undefined;
  const [servedBy, connection, ...json] = line.slice(at + MARK.length).split('|');
  const w = JSON.parse(json.join('|')) as { http_code: number; local_port: number; time_total: number; exitcode: number; errormsg: string | null };
  const latencyMs = Math.round(w.time_total * 1000);
  const base = { seq, at: now - latencyMs, latencyMs, localPort: w.local_port || undefined };
  if (w.exitcode !== 0 && !w.http_code) return { ...base, error: curlError(w.exitcode, w.errormsg), errorMessage: w.errormsg ?? undefined };
  return { ...base, status: w.http_code, servedBy: servedBy || undefined, connectionHeader: connection || undefined };
}

let child: ChildProcess | undefined;
let sent = 0;
let exited: Promise<void> = Promise.resolve();
/** Resolves at the next outcome line: curl is stopped right after a transfer ends, not inside one. */
let nextLine: () => void = () => {};

export function startThirdParty(o: HttpClientOptions & { impl: ThirdPartyHttpClient; goBinary?: string }, emit: Emit): void {
  if (o.impl === 'go' && !o.goBinary) throw new Error('--client go: no go-http binary was given to the agent');
  const [cmd, ...args] = o.impl === 'curl' ? curlArgv(o) : goArgv(o, o.goBinary!);
  sent = 0;
  const proc = (child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const bound = setTimeout(() => proc.kill('SIGTERM'), o.maxDurationMs + o.requestTimeoutMs); // it always stops by itself
  exited = new Promise((resolve) => proc.on('close', () => (clearTimeout(bound), resolve())));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    const outcome = o.impl === 'curl' ? curlOutcome(line, sent + 1, Date.now()) : line.startsWith('{') ? (JSON.parse(line) as Outcome) : undefined;
    if (!outcome) return;
    sent++;
    emit('outcome', { ...outcome });
    nextLine();
  });
  createInterface({ input: proc.stderr! }).on('line', (line) => emit('app-event', { what: `${o.impl} stderr`, detail: line }));
  proc.on('error', (err) => emit('app-event', { what: `${o.impl} failed to start`, detail: err.message }));
}

/**
 * Stops after the request in flight, as the lab's own client does: go-http finishes it on SIGTERM
 * by itself; curl cannot, so it gets SIGTERM when that request's line arrives (or after `graceMs`).
 */
export async function stopThirdParty(graceMs = 5000): Promise<{ sent: number } | undefined> {
  if (!child) return undefined;
  if (child.exitCode === null && child.spawnargs.includes('curl')) {
    await Promise.race([new Promise<void>((r) => (nextLine = r)), exited, new Promise((r) => setTimeout(r, graceMs))]);
    nextLine = () => {};
  }
  if (child.exitCode === null) child.kill('SIGTERM');
  await exited;
  child = undefined;
  return { sent };
}
