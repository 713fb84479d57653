/**
 * Lab agents start from one pre-bundled CommonJS file instead of through the TypeScript loader:
 * node starts it in about a tenth of the time, which is most of a phase's set-up cost. The bundle
 * is built once per harness process (esbuild, ~0.1 s) and named by its content hash, so
 * concurrent runs and stale copies never clash. Readable by the app's uid.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { AGENT_ENTRY, AGENTS_DIR, RUN_ROOT } from '../paths.js';

let bundle: Promise<string> | undefined;

export function agentBundle(): Promise<string> {
  bundle ??= buildBundle();
  return bundle;
}

async function buildBundle(): Promise<string> {
  const out = await build({
    entryPoints: [AGENT_ENTRY],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  });
  const code = out.outputFiles[0]!.contents;
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const dir = AGENTS_DIR;
  const file = join(dir, `agent-${hash}.cjs`);
  if (!existsSync(file)) {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await chmod(RUN_ROOT, 0o755);
    await writeFile(`${file}.${process.pid}.tmp`, code, { mode: 0o644 });
    await rename(`${file}.${process.pid}.tmp`, file);
  }
  return file;
}
