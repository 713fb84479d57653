import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts } from '../../src/upstreams/make-certs.js';

describe('the lab CA and its certificates (openssl)', () => {
  let dir = '';
  const text = async (file: string) => (await execa('openssl', ['x509', '-in', join(dir, file), '-noout', '-text'])).stdout;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'efl-certs-'));
    await makeCerts(dir, ['known.test', '*.example.com', 'spiffe://cluster.local/ns/default/sa/app']);
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('signs a DNS name as a server certificate with that CN and SAN, verified by the lab CA', async () => {
    const t = await text('known.test.crt');
    expect(t).toMatch(/Subject: CN ?= ?known\.test/);
    expect(t).toMatch(/DNS:known\.test/);
    expect(t).toMatch(/TLS Web Server Authentication/);
    expect(t).not.toMatch(/TLS Web Client Authentication/);
    expect((await execa('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'known.test.crt')])).stdout).toMatch(/OK$/);
  });

  it('spells a wildcard "wildcard" in the file name, and keeps the * in the SAN', async () => {
    expect(await text('wildcard.example.com.crt')).toMatch(/DNS:\*\.example\.com/);
  });

  it("signs a workload identity as Istio's CA does: a URI SAN, usable as client and server", async () => {
    const t = await text('spiffe-default-app.crt');
    expect(t).toMatch(/URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/app/);
    expect(t).toMatch(/TLS Web Server Authentication, TLS Web Client Authentication/);
  });
});
