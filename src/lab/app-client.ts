/**
 * --client: which program plays the app. `node` is the lab's own client; `curl` is the machine's
 * curl; `go` is lab/clients/go-http (net/http's default transport, the seed's own client), built
 * once with the machine's Go toolchain into the lab cache (readable by the app's uid, and mounted
 * into the Docker backend's containers at the same path).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ThirdPartyHttpClient } from '../clients/third-party-http.js';
import { PrerequisiteError } from '../errors.js';
import { CACHE_ROOT, LAB_DIR } from '../paths.js';

export const APP_CLIENTS = ['node', 'curl', 'go', 'openssl', 'redis-cli'] as const;
export type AppClient = (typeof APP_CLIENTS)[number];

/** What the app agent is told to run instead of its own client (HTTP: curl, go; TLS: openssl). */
export interface HttpClientChoice {
  impl: ThirdPartyHttpClient | 'openssl' | 'redis-cli';
  goBinary?: string;
}

const GO_SOURCE = join(LAB_DIR, 'clients/go-http');

let building: Promise<string> | undefined;

/** The go-http binary for this source (built on first use, by content hash). */
export function goHttpBinary(progress: (line: string) => void = () => {}): Promise<string> {
  building ??= buildGoHttp(progress).finally(() => (building = undefined));
  return building;
}

async function buildGoHttp(progress: (line: string) => void): Promise<string> {
  const source = (await Promise.all(['go.mod', 'main.go'].map((f) => readFile(join(GO_SOURCE, f), 'utf8')))).join('\0');
  const out = join(CACHE_ROOT, 'clients', `go-http-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`);
  if (existsSync(out)) return out;
  const go = await execa('go', ['version'], { reject: false });
  if (go.exitCode !== 0) throw new PrerequisiteError('--client go needs the Go toolchain to build lab/clients/go-http', { fix: 'apt-get install -y golang-go (or put go on PATH), or choose --client curl / node', evidence: go.stderr || String(go.message) });
  progress(`building lab/clients/go-http with ${go.stdout.trim()}…`);
  await mkdir(join(CACHE_ROOT, 'clients'), { recursive: true, mode: 0o755 });
  const tmp = `${out}.${process.pid}.tmp`;
  const r = await execa('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], { cwd: GO_SOURCE, reject: false, all: true, env: { CGO_ENABLED: '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod' } });
  if (r.exitCode !== 0) throw new PrerequisiteError('go build of lab/clients/go-http failed', { fix: 'read the compiler output; the module has no dependencies, so any Go ≥ 1.21 builds it', evidence: String(r.all ?? '') });
  await chmod(tmp, 0o755);
  await rename(tmp, out);
  return out;
}

/** The choice the lab passes to the app agent, or undefined for the lab's own client. */
export async function httpClientChoice(client: AppClient, progress?: (line: string) => void): Promise<HttpClientChoice | undefined> {
  if (client === 'node') return undefined;
  if (client === 'openssl' || client === 'redis-cli') return { impl: client }; // in every pod: the host's (netns) or the image's (docker)
  if (client === 'curl') {
    const curl = await execa('curl', ['--version'], { reject: false });
    if (curl.exitCode !== 0) throw new PrerequisiteError('--client curl needs curl on this machine (the netns backend runs it in the pod; the docker images carry their own)', { fix: 'apt-get install -y curl' });
    return { impl: 'curl' };
  }
  return { impl: 'go', goBinary: await goHttpBinary(progress) };
}
