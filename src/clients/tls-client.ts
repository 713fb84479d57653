/**
 * The app's HTTPS call: a real TLS handshake to a name, through the sidecar's :443 listener.
 * Reports the certificate the other end presented (subject, SANs, issuer), whether Node trusts it
 * for that name (and if not, Node's own error code), and the HTTP answer.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { Commands, Emit } from '../agent/protocol.js';

export interface TlsGetOptions {
  host: string;
  port: number;
  /** The lab CA, so lab certificates verify. */
  caFile: string;
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
    const req = request({ host: o.host, port: o.port, path: '/', ca: readFileSync(o.caFile), rejectUnauthorized: o.verify, servername: o.host, agent: false, timeout: 4000 }, (res) => {
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

export const tlsClientCommands: Commands = { 'tls.get': get };
