/**
 * The app's HTTPS call: a real TLS handshake to a name, through the sidecar's :443 listener.
 * Reports the certificate the other end presented (subject, SANs, issuer), whether Node trusts it
 * for that name (and if not, Node's own error code), and the HTTP answer.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Commands, Emit } from '../agent/protocol.js';

export interface TlsGetOptions {
  host: string;
  port: number;
  /** The lab CA, so lab certificates verify (none: Node's own CAs, for a handshake that never gets that far). */
  caFile?: string;
  /** false = curl -k: look at the body even when the certificate is wrong. */
  verify: boolean;
}

let seq = 0;

function get(o: TlsGetOptions, emit: Emit) {
  const at = Date.now();
  return new Promise((resolve) => {
    let cert: Record<string, string> = {};
    let tls: TLSSocket | undefined;
    // Read the certificate even when the handshake is rejected: that is the evidence.
    const readCert = (fromError?: PeerCertificate) => {
      const c = fromError ?? tls?.getPeerCertificate();
      if (c && Object.keys(c).length) cert = { certSubject: String(c.subject?.CN ?? ''), certSan: c.subjectaltname ?? '', certIssuer: String(c.issuer?.CN ?? '') };
    };
    const done = (fields: Record<string, unknown>) => {
      const outcome = { seq: ++seq, at, latencyMs: Date.now() - at, op: `GET https://${o.host}/${o.verify ? '' : ' (-k)'}`, servedBy: undefined, ...cert, ...fields };
      emit('outcome', outcome);
      resolve(outcome);
    };
    const req = request({ host: o.host, port: o.port, path: '/', ca: o.caFile ? readFileSync(o.caFile) : undefined, rejectUnauthorized: o.verify, servername: o.host, agent: false, timeout: 4000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => done({ ok: res.statusCode === 200 && (res.socket as TLSSocket).authorized !== false, status: res.statusCode, body: body.split('\n')[0], servedBy: res.headers['x-served-by'], authorized: (res.socket as TLSSocket).authorized, authorizationError: String((res.socket as TLSSocket).authorizationError ?? '') || undefined }));
    });
    req.on('socket', (s: TLSSocket) => {
      tls = s;
      s.on('secureConnect', readCert);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    // A hostname mismatch (ERR_TLS_CERT_ALTNAME_INVALID) carries the rejected certificate itself.
    req.on('error', (e: NodeJS.ErrnoException & { cert?: PeerCertificate }) => {
      readCert(e.cert);
      done({ ok: false, error: e.code ?? e.name, errorMessage: e.message });
    });
    req.end();
  });
}

/**
 * The same call made by `openssl s_client -servername` (--client openssl): the handshake with the
 * name as SNI, the presented certificate (its SANs read back with `openssl x509`), openssl's own
 * verification against the lab CA and the name, then the HTTP request over the session.
 */
async function opensslGet(o: TlsGetOptions, emit: Emit) {
  const at = Date.now();
  const request = `GET / HTTP/1.1\r\nHost: ${o.host}\r\nConnection: close\r\n\r\n`;
  // Without -verify_return_error, so the refused certificate is still printed (the evidence); a
  // verifying client's result is then what openssl's verification said, and no HTTP answer.
  const s = await run('openssl', ['s_client', '-connect', `${o.host}:${o.port}`, '-servername', o.host, ...(o.caFile ? ['-CAfile', o.caFile] : []), '-verify_hostname', o.host, '-ign_eof'], request);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(s.stdout)?.[0];
  const san = pem ? (await run('openssl', ['x509', '-noout', '-ext', 'subjectAltName'], pem)).stdout.split('\n').slice(1).map((l) => l.trim()).filter(Boolean).join(', ') : '';
  const verify = /Verify return code: (\d+) \(([^)]*)\)/.exec(s.stdout) ?? /verify error:num=(\d+):(.*)/.exec(s.stderr);
  const authorized = verify?.[1] === '0';
  const http = s.stdout.slice(s.stdout.indexOf('HTTP/1.'));
  const refused = o.verify && !authorized;
  const status = refused ? undefined : /^HTTP\/1\.\d (\d{3})/.exec(http)?.[1];
  const [head = '', rest = ''] = http.split('\r\n\r\n');
  const body = (/transfer-encoding: ?chunked/i.test(head) ? rest.split('\r\n')[1] : rest)?.split('\n')[0];
  const outcome = {
    seq: ++seq,
    at,
    latencyMs: Date.now() - at,
    op: `GET https://${o.host}/${o.verify ? '' : ' (-k)'}`,
    certSubject: /subject=.*?CN ?= ?([^,\n]+)/.exec(s.stdout)?.[1]?.trim() ?? '',
    certSan: san,
    certIssuer: /issuer=.*?CN ?= ?([^,\n]+)/.exec(s.stdout)?.[1]?.trim() ?? '',
    authorized,
    authorizationError: authorized ? undefined : verify?.[2]?.trim(),
    ...(status ? { status: Number(status), body, servedBy: /\r\nx-served-by: ?([^\r]+)/i.exec(http)?.[1], ok: status === '200' && authorized } : { ok: false, error: refused ? verify![2]!.trim() : 'no response', errorMessage: s.stderr.trim().split('\n').at(-1) }),
  };
  emit('outcome', outcome);
  return outcome;
}

function run(cmd: string, args: string[], input: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 5000 });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', () => resolve({ stdout, stderr }));
    p.on('error', (err) => resolve({ stdout, stderr: `${stderr}${err.message}` }));
    p.stdin.end(input);
  });
}

export const tlsClientCommands: Commands = {
  'tls.get': (o: TlsGetOptions & { impl?: 'openssl' }, emit) => (o.impl === 'openssl' ? opensslGet(o, emit) : get(o, emit)),
};
