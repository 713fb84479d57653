import { describe, expect, it } from 'vitest';
import { ACCESS_LOG_FORMAT, accessLogFormat, parseAccessLog } from '../../src/envoy/access-log.js';

describe('parseAccessLog', () => {
  it('turns Envoy JSON lines into typed entries, dropping "-" and null', () => {
    const line = JSON.stringify({ kind: 'http', ts: '2026-11-22T03:00:00.000Z', cx: '7', code: 503, flags: 'UF', details: 'upstream_reset_before_response_started{connection_timeout}', up_host: '198.18.1.21:80', sni: null, up_fail: '-' });
    const [e] = parseAccessLog(`${line}\n`);
    expect(e).toMatchObject({ kind: 'http', cx: 7, code: 503, flags: 'UF', up_host: '198.18.1.21:80' });
    expect(e).not.toHaveProperty('sni');
    expect(e).not.toHaveProperty('up_fail');
  });

  it('skips a torn last line (Envoy still writing)', () => {
    expect(parseAccessLog('{"kind":"tcp","ts":"x"}\n{"kind":"ht')).toHaveLength(1);
  });

  it('asks each Envoy version only for the fields it has', () => {
    expect(accessLogFormat('1.37.0')).not.toHaveProperty('ds_close');
    expect(accessLogFormat('1.38.2')).toHaveProperty('ds_close', '%DOWNSTREAM_LOCAL_CLOSE_REASON%');
  });

  it('logs the fields the checks rely on', () => {
    for (const field of ['cx', 'code', 'flags', 'details', 'up_host', 'up_cluster', 'ds_local', 'sni']) expect(ACCESS_LOG_FORMAT).toHaveProperty(field);
  });
});
